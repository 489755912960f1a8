-- Broadcasts keep their pace on a busy machine (20261207001560_broadcasts.sql).
--
-- claim_broadcast_batch_v1 restarted a broadcast's pacing clock from now whenever it was
-- more than one batch behind, so every slow batch (a load spike, a pause) lost its time for
-- good: a 10,000-recipient broadcast at 80/s ran at 70/s on the shared machine. It now
-- catches up, by at most one second's worth of messages; one far behind (a worker died)
-- still starts again from now. Nothing else changes.

create or replace function private.claim_broadcast_batch_v1(broadcast_id uuid, batch_size integer)
    returns table (status public.broadcast_status, handled integer, remaining integer,
                   wait_seconds double precision)
    language plpgsql security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_column
declare
    the_broadcast public.broadcasts;
    the_channel public.channels;
    recipient record;
    the_contact public.contacts;
    the_conversation public.conversations;
    new_message_id uuid;
    done integer := 0;
    interval_seconds double precision;
    started timestamptz := clock_timestamp();
    next_at timestamptz;
begin
    -- One batch at a time per broadcast (and cancel waits for it).
    select * into the_broadcast from public.broadcasts as b
    where b.id = claim_broadcast_batch_v1.broadcast_id
    for update;
    if not found then
        return query select 'cancelled'::public.broadcast_status, 0, 0, 0::double precision;
        return;
    end if;
    if the_broadcast.status <> 'sending' then
        return query select the_broadcast.status, 0, 0, 0::double precision;
        return;
    end if;
    -- Not yet: the previous batch's time is not over (a job that just took over, or a
    -- second job of the same broadcast, waits it out instead of sending early).
    if the_broadcast.next_batch_at > started then
        return query select 'sending'::public.broadcast_status, 0,
            (select count(*)::integer from public.broadcast_recipients as r
             where r.broadcast_id = the_broadcast.id and r.status = 'queued'),
            extract(epoch from the_broadcast.next_batch_at - started)::double precision;
        return;
    end if;
    select * into strict the_channel from public.channels where id = the_broadcast.channel_id;

    for recipient in
        select r.contact_id from public.broadcast_recipients as r
        where r.broadcast_id = the_broadcast.id and r.status = 'queued'
        order by r.position
        limit greatest(batch_size, 1)
        for update skip locked
    loop
        done := done + 1;
        select * into strict the_contact from public.contacts where id = recipient.contact_id;
        if not the_channel.enabled then
            update public.broadcast_recipients as r
            set status = 'failed', reason = 'channel_disabled', handled_at = now()
            where r.broadcast_id = the_broadcast.id and r.contact_id = recipient.contact_id;
            continue;
        end if;
        -- Opted out since the broadcast was made.
        if the_contact.opted_out_at is not null then
            update public.broadcast_recipients as r
            set status = 'skipped', reason = 'opted_out', handled_at = now()
            where r.broadcast_id = the_broadcast.id and r.contact_id = recipient.contact_id;
            continue;
        end if;
        -- Their conversation on this channel, started if they have none open (as when the
        -- customer writes first; the AI answers when they reply).
        insert into public.conversations as cv (organization_id, channel_id, contact_id,
                                                last_message_at)
        values (the_broadcast.organization_id, the_channel.id, the_contact.id, now())
        on conflict (channel_id, contact_id) where status <> 'closed' do update
            set last_message_at = cv.last_message_at
        returning * into the_conversation;

        new_message_id := private.queue_outbound_message(
            conversation_id => the_conversation.id,
            author => 'member',
            body => the_broadcast.body,
            author_member_id => the_broadcast.created_by,
            metadata => jsonb_build_object(
                'content_sid', the_broadcast.content_sid,
                'content_variables', the_broadcast.variables,
                'template_id', the_broadcast.template_id,
                'template_name', the_broadcast.template_name,
                'broadcast_id', the_broadcast.id,
                'broadcast_recipient', the_broadcast.id || ':' || the_contact.id
            ) || case when the_broadcast.api_key_id is null then '{}'::jsonb
                      else jsonb_build_object('api_key_id', the_broadcast.api_key_id) end
        );
        update public.broadcast_recipients as r
        set status = 'sent', conversation_id = the_conversation.id,
            message_id = new_message_id, handled_at = now()
        where r.broadcast_id = the_broadcast.id and r.contact_id = recipient.contact_id;
    end loop;

    select count(*) into remaining from public.broadcast_recipients as r
    where r.broadcast_id = the_broadcast.id and r.status = 'queued';

    -- The pace: each batch of n earns n / rate seconds after the previous one's slot. A
    -- broadcast a little behind (a slow batch, a busy machine) catches up, by at most one
    -- second's worth (Twilio queues a short burst at the sender's rate); one far behind
    -- (a worker died) starts again from now rather than bursting above the rate.
    interval_seconds := done / the_broadcast.rate_per_second;
    next_at := greatest(coalesce(the_broadcast.next_batch_at, started),
                        started - interval '1 second');
    next_at := next_at + make_interval(secs => interval_seconds);

    update public.broadcasts as b
    set next_batch_at = next_at,
        status = case when remaining = 0 then 'completed'::public.broadcast_status
                      else b.status end,
        finished_at = case when remaining = 0 then now() else b.finished_at end
    where b.id = the_broadcast.id;

    return query select
        case when remaining = 0 then 'completed'::public.broadcast_status
             else 'sending'::public.broadcast_status end,
        done, remaining,
        greatest(0, extract(epoch from next_at - clock_timestamp()))::double precision;
end;
$$;

comment on function private.claim_broadcast_batch_v1(uuid, integer) is
    'The broadcast job''s step: up to batch_size queued recipients get their template message (or are skipped or failed, with the reason) in one transaction; the broadcast''s state, what is left, and how long to wait to keep the channel''s pace.';
