-- A broadcast's next job goes before the sends it queued (20261207001560_broadcasts.sql).
--
-- Procrastinate fetches the waiting job of highest priority, then the oldest. A broadcast's
-- job hands over to a new one every 20 s (continue_broadcast_v1); at priority 0, like the
-- send jobs, the new one waited behind every send job queued before it, and each handover
-- cost the broadcast its pace (75/s for 80/s measured with 10,000 recipients on the shared
-- machine). It is now deferred at priority 10: it starts as soon as a worker has a free
-- slot, and the sends keep their order among themselves.

create or replace function private.continue_broadcast_v1(broadcast_id uuid)
    returns bigint
    language sql security definer
    -- Procrastinate's triggers name its tables unqualified (as for private.defer_job).
    set search_path = procrastinate, pg_catalog
as $$
    -- private.defer_job's insert (the columns procrastinate_defer_jobs_v1 fills, so its
    -- triggers fire as for it), with a priority, which defer_job does not take.
    insert into procrastinate.procrastinate_jobs
        (queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at)
    select 'broadcasts', 'channels:send_broadcast', 10,
           'broadcast:' || continue_broadcast_v1.broadcast_id, null,
           jsonb_build_object('broadcast_id', continue_broadcast_v1.broadcast_id), null
    from public.broadcasts as b
    where b.id = continue_broadcast_v1.broadcast_id and b.status = 'sending'
    returning id
$$;

comment on function private.continue_broadcast_v1(uuid) is
    'Defers the next link of a broadcast''s job chain, ahead of the sends (priority 10): a job runs for a bounded time, so a worker stopping never waits on a long broadcast.';
