-- Rate limits shared by every API process (issue 17, item 5).
--
-- The API asks before a costly or guessable step (a password check, a registration, a
-- refresh): `rate_limit_hit_v1` counts the attempt and answers whether it may go on and,
-- when not, in how many seconds to try again. Counters live here, not in a process, so
-- several API processes behind a load balancer share them.
--
-- Design: fixed windows. An attempt counts in the row of (action, key, window start),
-- the start being now() rounded down to a multiple of the window since the epoch; one
-- upsert per attempt, atomic under concurrency (the conflicting row is locked and
-- incremented), one row per key and window. Refused attempts count too (a client that
-- keeps trying gains nothing; the window still ends on time). A fixed window lets at
-- most 2 x max through across a window's boundary; a sliding log would be exact but
-- costs a row per attempt, and these limits stand against floods of thousands, where
-- that factor does not matter. Keys are digests the API computes (never an e-mail or an
-- address in clear). Rows past their window are purged by identity's upkeep job
-- (`purge_rate_limits_v1`, every five minutes).

create table private.rate_limit_counters (
    action text not null,
    key text not null,
    window_start timestamptz not null,
    expires_at timestamptz not null,
    attempts integer not null,
    constraint rate_limit_counters_pkey primary key (action, key, window_start),
    constraint rate_limit_counters_attempts_positive check (attempts > 0)
);

comment on table private.rate_limit_counters is
    'Attempts per action, key (a digest) and fixed window; purged once expired.';

create index rate_limit_counters_expires_at_idx on private.rate_limit_counters (expires_at);

revoke all on table private.rate_limit_counters from public, anon, authenticated;

create function private.rate_limit_hit_v1(action text, key text, max integer, "window" interval)
    returns table (allowed boolean, retry_after_seconds integer, attempts_in_window integer)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    seconds double precision := extract(epoch from rate_limit_hit_v1."window");
    started timestamptz;
    counted integer;
begin
    if seconds is null or seconds < 1 or rate_limit_hit_v1.max is null
            or rate_limit_hit_v1.max < 1 then
        raise exception using
            errcode = '22023',
            message = 'max must be positive and window at least one second';
    end if;
    started := to_timestamp(floor(extract(epoch from now()) / seconds) * seconds);
    insert into private.rate_limit_counters as c (action, key, window_start, expires_at, attempts)
    values (rate_limit_hit_v1.action, rate_limit_hit_v1.key, started,
            started + rate_limit_hit_v1."window", 1)
    on conflict on constraint rate_limit_counters_pkey
        do update set attempts = least(c.attempts, 2147483646) + 1
    returning c.attempts into counted;

    return query select
        counted <= rate_limit_hit_v1.max,
        case when counted <= rate_limit_hit_v1.max then 0
             else greatest(1, ceil(extract(epoch from
                 started + rate_limit_hit_v1."window" - now())))::integer
        end,
        counted;
end;
$$;

comment on function private.rate_limit_hit_v1 is
    'Counts an attempt at action by key in the current fixed window: allowed while the '
    'window''s attempts stay within max; else seconds until the window ends.';

create function private.purge_rate_limits_v1()
    returns integer
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    with purged as (
        delete from private.rate_limit_counters as c where c.expires_at <= now() returning 1
    )
    select count(*)::integer from purged
$$;

comment on function private.purge_rate_limits_v1 is
    'Deletes the counters of windows that have ended; returns how many.';

revoke all on function private.rate_limit_hit_v1(text, text, integer, interval),
    private.purge_rate_limits_v1()
    from public, anon, authenticated;
grant execute on function private.rate_limit_hit_v1(text, text, integer, interval),
    private.purge_rate_limits_v1()
    to service_role;
