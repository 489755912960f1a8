-- A job whose workers died MAX_STALLED_ATTEMPTS times is given up by the stalled-job sweep
-- (atende.conversations.tasks: it may be what kills its workers). A reply job then sends
-- the fallback; these functions end the rows of the other jobs the same way, visibly,
-- instead of leaving them unfinished forever. Each changes only a row still waiting on
-- its job, under the row's lock, so a given-up job that had in fact finished its work
-- changes nothing.

-- A scheduled message: failed, with the reason in words (the job's work is one
-- transaction, so a row still `scheduled` was not sent).
create function private.give_up_scheduled_message_v1(scheduled_message_id uuid, reason text)
    returns public.scheduled_message_status
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    the_status public.scheduled_message_status;
begin
    update public.scheduled_messages as s
    set status = 'failed', reason = reason, processed_at = now()
    where s.id = scheduled_message_id and s.status = 'scheduled'
    returning s.status into the_status;
    if not found then
        select s.status into the_status from public.scheduled_messages as s
        where s.id = scheduled_message_id;
    end if;
    return the_status;
end;
$$;

comment on function private.give_up_scheduled_message_v1(uuid, text) is
    'The stalled-job sweep gave up the send job of a scheduled message: a message still '
    'scheduled fails with the reason; returns its status (null when it no longer exists).';

-- A broadcast: failed. Its job is given up rather than deferred again because a
-- broadcast that keeps killing its workers (a poison batch: every retry claims the same
-- recipients first) would loop forever at the head of the queue. The batch claim is
-- exactly-once, so ending it is safe: the recipients already sent stay sent (their
-- messages and send jobs committed with their batch), and the ones still queued fail
-- with the reason, so the team sees who got nothing and may send them a new broadcast.
alter type public.broadcast_status add value if not exists 'failed';

comment on type public.broadcast_status is
    'sending: recipients still being handed out at the channel''s pace; completed: every '
    'recipient handled; cancelled: by the team; failed: its job was given up (the '
    'recipients not sent to say why).';

create function private.give_up_broadcast_v1(broadcast_id uuid, reason text)
    returns public.broadcast_status
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    the_broadcast public.broadcasts;
begin
    -- The broadcast's lock orders this with a batch claim or a cancel still running.
    select * into the_broadcast from public.broadcasts as b
    where b.id = broadcast_id
    for update;
    if not found then
        return null;
    end if;
    if the_broadcast.status <> 'sending' then
        return the_broadcast.status;
    end if;
    update public.broadcast_recipients as r
    set status = 'failed', reason = left(reason, 200), handled_at = now()
    where r.broadcast_id = the_broadcast.id and r.status = 'queued';
    update public.broadcasts as b
    set status = 'failed', finished_at = now()
    where b.id = the_broadcast.id;
    return 'failed';
end;
$$;

comment on function private.give_up_broadcast_v1(uuid, text) is
    'The stalled-job sweep gave up a broadcast''s job: a broadcast still sending fails, its '
    'queued recipients fail with the reason, what was sent stays sent; returns its status.';

revoke all on function private.give_up_scheduled_message_v1(uuid, text),
    private.give_up_broadcast_v1(uuid, text)
    from public, anon, authenticated, service_role;
grant execute on function private.give_up_scheduled_message_v1(uuid, text),
    private.give_up_broadcast_v1(uuid, text)
    to service_role;
