-- The private schema: helpers that RPC functions and policies call, never clients.
--
-- Nothing here is granted to `anon` or `authenticated`; security definer functions in
-- `public` reach it as their owner.

create schema if not exists private;
revoke all on schema private from public;
grant usage on schema private to service_role;

-- Jobs -------------------------------------------------------------------------------

-- Defers a Procrastinate job inside the caller's transaction, so a row and the job about
-- it commit together or not at all.
--
-- A job whose `queueing_lock` already has a job waiting ('todo') is not added twice:
-- the function returns null instead of raising, and with `reschedule` pushes the waiting
-- job to the later `scheduled_at` (a sliding debounce: a burst of messages is answered
-- once, after the burst).
create function private.defer_job(
    task_name text,
    args jsonb,
    queue_name text default 'default',
    lock text default null,
    queueing_lock text default null,
    scheduled_at timestamptz default null,
    reschedule boolean default false
)
    returns bigint
    language plpgsql
    volatile
    security definer
    -- Procrastinate's functions and triggers name their tables unqualified.
    set search_path = procrastinate, pg_catalog
as $$
declare
    job_id bigint;
begin
    begin
        job_id := (procrastinate.procrastinate_defer_jobs_v1(array[
            row(queue_name, task_name, 0, lock, queueing_lock, args, scheduled_at)
        ]::procrastinate.procrastinate_job_to_defer_v1[]))[1];
    exception when unique_violation then
        if queueing_lock is null then
            raise;
        end if;
        if reschedule and scheduled_at is not null then
            update procrastinate.procrastinate_jobs as jobs
            set scheduled_at = greatest(coalesce(jobs.scheduled_at, now()),
                                        defer_job.scheduled_at)
            where jobs.queueing_lock = defer_job.queueing_lock
              and jobs.status = 'todo';
        end if;
        return null;
    end;
    return job_id;
end;
$$;

comment on function private.defer_job is
    'Defers a Procrastinate job in the current transaction; null when one with the same queueing_lock is already waiting.';

revoke all on function private.defer_job from public;
grant execute on function private.defer_job to service_role;

-- Realtime events ---------------------------------------------------------------------

-- One NOTIFY channel carries every event a team may see; each API process listens once
-- and fans events out to the subscriptions of that organization. Payloads carry ids, not
-- content: NOTIFY payloads are capped at 8000 bytes and subscribers re-read what they
-- may see through RLS.
create function private.publish_event(
    organization_id uuid,
    kind text,
    payload jsonb default '{}'
)
    returns void
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    select pg_notify(
        'atende_events',
        (jsonb_build_object('organization_id', organization_id, 'kind', kind)
            || coalesce(payload, '{}'))::text
    )
$$;

comment on function private.publish_event is
    'Announces a change to the listeners of an organization (LISTEN atende_events).';

revoke all on function private.publish_event from public;
grant execute on function private.publish_event to service_role;
