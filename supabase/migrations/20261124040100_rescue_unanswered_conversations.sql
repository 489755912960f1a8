-- A safety net under the reply job: a customer message the AI should answer, with no
-- reply job waiting or running for its conversation, gets one.
--
-- The reply job answers or falls back on every path it controls; what it cannot control
-- is a failure to record even the fallback (the database unreachable at that moment), a
-- job aborted when a worker is stopped past its grace period, or a job removed by hand.
-- Those leave a job 'failed' or 'aborted' and a customer waiting. The upkeep job
-- conversations:rescue_unanswered_conversations calls this every few minutes.

create function private.rescue_unanswered_conversations_v1(
    grace interval default interval '2 minutes',
    batch_size integer default 500
)
    returns integer
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    rescued integer := 0;
    stranded record;
begin
    for stranded in
        select c.id
        from public.conversations as c
        join public.agents as a on a.organization_id = c.organization_id
        where c.status = 'open'
          and c.ai_enabled
          and a.ai_enabled
          -- Quiet for longer than the debounce and the grace: a job would have run.
          and c.last_message_at < now() - grace - make_interval(secs => a.debounce_seconds)
          and c.last_message_at > now() - interval '24 hours'
          and private.ai_reply_blocker(c.id) is null
          and private.ai_reply_pending(c.id)
          and not exists (
              select from procrastinate.procrastinate_jobs as j
              where j.queueing_lock = 'reply:' || c.id and j.status = 'todo'
          )
          and not exists (
              select from procrastinate.procrastinate_jobs as j
              where j.lock = 'conversation:' || c.id and j.status = 'doing'
          )
        order by c.last_message_at
        limit batch_size
    loop
        perform private.defer_job(
            task_name => 'conversations:generate_reply',
            args => jsonb_build_object('conversation_id', stranded.id),
            queue_name => 'replies',
            lock => 'conversation:' || stranded.id,
            queueing_lock => 'reply:' || stranded.id
        );
        rescued := rescued + 1;
    end loop;
    return rescued;
end;
$$;

comment on function private.rescue_unanswered_conversations_v1 is
    'Defers a reply job for conversations whose customer waits for the AI with no reply job queued or running.';

revoke all on function private.rescue_unanswered_conversations_v1 from public;
grant execute on function private.rescue_unanswered_conversations_v1 to service_role;
