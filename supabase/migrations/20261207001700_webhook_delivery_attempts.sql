-- Outgoing webhooks (issue 20, item 2): every attempt of a delivery, not only its last.
--
-- A delivery kept its last attempt's outcome in its own row (last_status_code, ...); a
-- team asking "why did the CRM miss this event yesterday" needs each try: when, what the
-- receiver answered, how long it took, what went wrong. `private.record_webhook_attempt_v1`
-- (same signature, so the delivery job is unchanged) now also appends one row here per
-- attempt, in the transaction that updates the delivery. A redelivery counts its attempts
-- afresh (attempt 1 again), so rows are ordered by time, not by number.
--
-- Bounded: rows older than the retention the webhooks' upkeep job passes
-- (`private.purge_webhook_attempts_v1`, hourly) are deleted; the delivery's own summary
-- (attempts, last_*) stays.

create table public.webhook_delivery_attempts (
    id bigint generated always as identity primary key,
    organization_id uuid not null references public.organizations (id) on delete cascade,
    delivery_id uuid not null references public.webhook_deliveries (id) on delete cascade,
    -- The delivery's attempt number (1 is the first after the event or a redelivery).
    attempt integer not null,
    -- The receiver's HTTP status; null when it did not answer.
    status_code integer,
    duration_ms integer,
    error text,
    attempted_at timestamptz not null default now(),
    constraint webhook_delivery_attempts_attempt check (attempt >= 1),
    constraint webhook_delivery_attempts_duration check (duration_ms is null or duration_ms >= 0),
    constraint webhook_delivery_attempts_error check (char_length(error) <= 500)
);

comment on table public.webhook_delivery_attempts is
    'Each attempt to post a webhook delivery: when, the receiver''s status, how long, why it '
    'failed. Purged after a retention period by the webhooks'' upkeep.';
comment on column public.webhook_delivery_attempts.error is
    'Why the attempt failed, in words (a timeout, a refused address, the status); never the '
    'response body.';

create index webhook_delivery_attempts_delivery_idx
    on public.webhook_delivery_attempts (delivery_id, attempted_at, id);
create index webhook_delivery_attempts_organization_id_idx
    on public.webhook_delivery_attempts (organization_id);
create index webhook_delivery_attempts_attempted_at_idx
    on public.webhook_delivery_attempts (attempted_at);

alter table public.webhook_delivery_attempts enable row level security;

create policy "Owners and admins can read their organization's webhook attempts"
    on public.webhook_delivery_attempts for select to authenticated
    using (organization_id in (select private.organizations_where_caller_is('{owner,admin}')));

revoke all on table public.webhook_delivery_attempts from public, anon, authenticated,
    service_role;
grant select on table public.webhook_delivery_attempts to authenticated;
grant select, insert, delete on table public.webhook_delivery_attempts to service_role;

-- As in 20261207001320, plus the attempt's row.
create or replace function private.record_webhook_attempt_v1(
    delivery_id uuid,
    status_code integer,
    duration_ms integer,
    error text,
    retry_at timestamptz,
    disable_after interval default interval '3 days'
)
    returns text
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    delivered boolean := record_webhook_attempt_v1.error is null
        and record_webhook_attempt_v1.status_code between 200 and 299;
    the_delivery public.webhook_deliveries;
begin
    update public.webhook_deliveries as d
    set attempts = d.attempts + 1,
        last_attempt_at = now(),
        last_status_code = record_webhook_attempt_v1.status_code,
        last_duration_ms = record_webhook_attempt_v1.duration_ms,
        last_error = left(record_webhook_attempt_v1.error, 500),
        status = case when delivered then 'delivered'
                      when record_webhook_attempt_v1.retry_at is null then 'failed'
                      else 'pending' end,
        delivered_at = case when delivered then now() end,
        next_attempt_at = case when delivered then null else record_webhook_attempt_v1.retry_at end
    where d.id = record_webhook_attempt_v1.delivery_id and d.status = 'pending'
    returning * into the_delivery;
    if not found then
        return null;
    end if;

    insert into public.webhook_delivery_attempts (organization_id, delivery_id, attempt,
                                                  status_code, duration_ms, error, attempted_at)
    values (the_delivery.organization_id, the_delivery.id, the_delivery.attempts,
            the_delivery.last_status_code, greatest(the_delivery.last_duration_ms, 0),
            the_delivery.last_error, the_delivery.last_attempt_at);

    if delivered then
        update public.webhook_endpoints as e set failing_since = null
        where e.id = the_delivery.endpoint_id and e.failing_since is not null;
    else
        update public.webhook_endpoints as e
        set failing_since = coalesce(e.failing_since, now())
        where e.id = the_delivery.endpoint_id and e.failing_since is null;
        update public.webhook_endpoints as e
        set enabled = false, disabled_reason = 'failing'
        where e.id = the_delivery.endpoint_id and e.enabled
          and e.failing_since < now() - record_webhook_attempt_v1.disable_after;
    end if;
    return the_delivery.status;
end;
$$;

comment on function private.record_webhook_attempt_v1 is
    'Records one delivery attempt (delivered on a 2xx; else pending until retry_at, or '
    'failed) and its row in webhook_delivery_attempts; disables an endpoint failing for '
    'longer than disable_after.';

-- Deletes attempts older than `keep`, at most `batch` of them (the upkeep calls it again
-- while it deletes a full batch, so one call never holds a long transaction); returns how
-- many.
create function private.purge_webhook_attempts_v1(keep interval, batch integer default 10000)
    returns integer
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    with old as (
        select a.id from public.webhook_delivery_attempts as a
        where a.attempted_at < now() - purge_webhook_attempts_v1.keep
        order by a.attempted_at
        limit purge_webhook_attempts_v1.batch
    ), deleted as (
        delete from public.webhook_delivery_attempts as a
        using old where a.id = old.id
        returning 1
    )
    select count(*)::integer from deleted
$$;

comment on function private.purge_webhook_attempts_v1 is
    'Deletes up to batch webhook attempts older than keep; returns how many.';

revoke all on function private.purge_webhook_attempts_v1(interval, integer)
    from public, anon, authenticated, service_role;
grant execute on function private.purge_webhook_attempts_v1(interval, integer) to service_role;
