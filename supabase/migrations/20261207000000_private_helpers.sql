-- The private schema: helpers that RPC functions, triggers and policies call, never
-- clients directly.
--
-- PostgREST does not expose it. `authenticated` may look into it only because row-level
-- security's membership helpers live here (20261207000100_identity.sql) and policies run
-- as the caller; what it may execute is the reviewed list of the last migration
-- (function_grants). Security definer functions in `public` reach the rest as their owner.

create schema if not exists private;
revoke all on schema private from public;
grant usage on schema private to service_role;
grant usage on schema private to authenticated;

-- Shared trigger ----------------------------------------------------------------------

create function private.tg__set_updated_at() returns trigger
    language plpgsql
    volatile
    set search_path = pg_catalog
as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

comment on function private.tg__set_updated_at is 'Keeps updated_at current on every update.';

-- Jobs -------------------------------------------------------------------------------

-- Defers a Procrastinate job inside the caller's transaction, so a row and the job about
-- it commit together or not at all.
--
-- A job whose `queueing_lock` already has a job waiting ('todo') is not added twice: the
-- insert runs `on conflict (queueing_lock) where status = 'todo' do nothing`
-- (Procrastinate's own partial unique index judges; no subtransaction, no dead row when a
-- job already waits) and the function returns null. With `reschedule` it then pushes
-- the waiting job to the later `scheduled_at` (a sliding debounce).
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
#variable_conflict use_column
declare
    job_id bigint;
begin
    -- The columns procrastinate_defer_jobs_v1 fills, and the triggers fire as for it.
    insert into procrastinate.procrastinate_jobs as jobs
        (queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at)
    values (defer_job.queue_name, defer_job.task_name, 0, defer_job.lock,
            defer_job.queueing_lock, defer_job.args, defer_job.scheduled_at)
    on conflict (queueing_lock) where status = 'todo' do nothing
    returning jobs.id into job_id;
    if job_id is null and defer_job.reschedule and defer_job.scheduled_at is not null then
        update procrastinate.procrastinate_jobs as jobs
        set scheduled_at = greatest(coalesce(jobs.scheduled_at, now()), defer_job.scheduled_at)
        where jobs.queueing_lock = defer_job.queueing_lock
          and jobs.status = 'todo';
    end if;
    return job_id;
end;
$$;

comment on function private.defer_job is
    'Defers a Procrastinate job in the current transaction; null when one with the same queueing_lock is already waiting.';

-- The reply job of a conversation, as ingest defers it and as the job defers itself: one
-- definition, because the debounce works only while both name the same queueing lock.
--
-- The debounce is checked when the job runs, not on every message: ingest defers the
-- reply at `debounce` after a burst's first message and leaves a waiting job alone; the
-- job (private.start_ai_reply_v1) finds the customer still writing when their newest
-- message is younger than the debounce, defers itself to the end of the quiet time and
-- stops ('debounced'). A burst is answered once, seeing all of it, at `debounce` after
-- its last message, and costs no update per message.
create function private.defer_reply_job(
    conversation_id uuid,
    scheduled_at timestamptz,
    reschedule boolean default false
)
    returns bigint
    language plpgsql
    volatile
    set search_path = pg_catalog
as $$
begin
    return private.defer_job(
        task_name => 'conversations:generate_reply',
        args => jsonb_build_object('conversation_id', defer_reply_job.conversation_id),
        queue_name => 'replies',
        lock => 'conversation:' || defer_reply_job.conversation_id,
        queueing_lock => 'reply:' || defer_reply_job.conversation_id,
        scheduled_at => defer_reply_job.scheduled_at,
        reschedule => defer_reply_job.reschedule
    );
end;
$$;

comment on function private.defer_reply_job is
    'Defers a conversation''s reply job (its lock and queueing lock); null when one already waits.';

-- Realtime events ---------------------------------------------------------------------

-- One NOTIFY channel carries every event a team may see; each API process listens once
-- and fans events out to the subscriptions of that organization. Payloads carry ids, not
-- content: NOTIFY payloads are capped at 8000 bytes and subscribers re-read what they
-- may see through RLS.
--
-- plpgsql, not SQL: a `language sql` function with a `set` clause is never inlined, and
-- one that is not inlined is parsed and planned again at every call; plpgsql keeps its
-- plans for the session (20 -> 8.5 µs a call on PG 15; five calls per conversation in
-- bench/e2e).
create function private.publish_event(
    organization_id uuid,
    kind text,
    payload jsonb default '{}'
)
    returns void
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
begin
    perform pg_notify(
        'atende_events',
        (jsonb_build_object('organization_id', publish_event.organization_id,
                            'kind', publish_event.kind)
            || coalesce(publish_event.payload, '{}'))::text
    );
end;
$$;

comment on function private.publish_event is
    'Announces a change to the listeners of an organization (LISTEN atende_events).';
