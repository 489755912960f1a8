-- A reply job woken by a change to its message's files (20261207001600:
-- tg_messages__media_changed) is announced to the workers as Procrastinate announces a new
-- job, so one fetches it at once: an update of scheduled_at notifies nobody, and the job
-- waited for the next poll (ATENDE_WORKER_POLL_INTERVAL_SECONDS, 0.5 s by default) after
-- its voice note was transcribed.

create or replace function private.tg_messages__media_changed()
    returns trigger
    language plpgsql
    volatile
    security definer
    -- procrastinate first: its own triggers on the jobs table name its tables unqualified.
    set search_path = procrastinate, pg_catalog
as $$
declare
    woken record;
    payload text;
begin
    if exists (
        select from jsonb_array_elements(new.media) as i (item)
        where i.item ->> 'status' = 'stored' and private.media_item_awaits_transcript(i.item)
    ) then
        perform private.defer_job(
            task_name => 'ai:transcribe_audio',
            args => jsonb_build_object('message_id', new.id),
            queue_name => 'media',
            queueing_lock => 'transcribe:' || new.id
        );
    end if;

    for woken in
        update procrastinate.procrastinate_jobs as j
        set scheduled_at = quiet.since
        from (
            select greatest(now(), c.last_inbound_at + make_interval(secs => a.debounce_seconds))
            from public.conversations as c
            join public.agents as a on a.organization_id = c.organization_id
            where c.id = new.conversation_id
        ) as quiet (since)
        where j.queueing_lock = 'reply:' || new.conversation_id
          and j.status = 'todo'
          and j.scheduled_at > quiet.since
        returning j.id, j.queue_name
    loop
        -- What Procrastinate's own insert trigger says (procrastinate_notify_queue_job_
        -- inserted_v1): a listening worker fetches the job at once, not at its next poll.
        payload := json_build_object('type', 'job_inserted', 'job_id', woken.id)::text;
        perform pg_notify('procrastinate_queue_v1#' || woken.queue_name, payload);
        perform pg_notify('procrastinate_any_queue_v1', payload);
    end loop;
    return null;
end;
$$;

revoke all on function private.tg_messages__media_changed()
    from public, anon, authenticated, service_role;
