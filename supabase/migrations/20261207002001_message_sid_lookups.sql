-- Lookups by a message's Twilio sid go through private.message_sids (migration
-- 20261207002000_messages_partitioned): it holds each sid once with its message's id and
-- created_at, so a lookup reaches one partition of public.messages instead of probing
-- every partition's index, however many months there are.
--
-- * ingest_inbound_message_v1: a repeated delivery (unique_violation on the sid's key) is
--   answered with the stored message, found by id and created_at.
-- * record_message_status_v1: a status callback that names only a sid (a sender-wide
--   callback URL) finds its message the same way; the update names created_at too.
--
-- Both are otherwise as they were (20261207000200, 20261207000300 and what changed them).

create or replace function private.ingest_inbound_message_v1(channel_id uuid, message_sid text, from_number text, body text, media jsonb default '[]'::jsonb, profile_name text default NULL::text, opt_out_type text default NULL::text, metadata jsonb default '{}'::jsonb) returns table(message_id uuid, conversation_id uuid, contact_id uuid, duplicate boolean, reply_job_id bigint)
language plpgsql
security definer
set search_path = pg_catalog
as $$
#variable_conflict use_column
declare
    the_channel public.channels;
    the_agent public.agents;
    the_contact public.contacts;
    the_conversation public.conversations;
    intent text := private.subscription_intent(body, opt_out_type);
    new_message_id uuid;
    job bigint;
    received_at timestamptz := now();
    known_id uuid;
    known_at timestamptz;
begin
    select * into strict the_channel from public.channels where id = channel_id;
    select * into strict the_agent from public.agents
    where organization_id = the_channel.organization_id;

    begin
        insert into public.contacts as c (organization_id, phone_number, profile_name,
                                          last_inbound_at, opted_out_at)
        values (the_channel.organization_id, from_number, nullif(btrim(profile_name), ''),
                received_at, case when intent = 'opt_out' then received_at end)
        on conflict (organization_id, phone_number) do update
            set profile_name = coalesce(excluded.profile_name, c.profile_name),
                last_inbound_at = excluded.last_inbound_at,
                opted_out_at = case intent
                    when 'opt_out' then coalesce(c.opted_out_at, excluded.last_inbound_at)
                    when 'opt_in' then null
                    else c.opted_out_at
                end
        returning * into the_contact;

        insert into public.conversations as cv (organization_id, channel_id, contact_id,
                                                last_inbound_at, last_message_at)
        values (the_channel.organization_id, the_channel.id, the_contact.id, received_at,
                received_at)
        on conflict (channel_id, contact_id) where status <> 'closed' do update
            set last_inbound_at = excluded.last_inbound_at,
                last_message_at = excluded.last_message_at,
                follow_up_sent_at = null
        returning * into the_conversation;

        insert into public.messages (organization_id, conversation_id, direction, author,
                                     body, media, status, metadata)
        values (the_channel.organization_id, the_conversation.id, 'inbound', 'contact',
                coalesce(body, ''), coalesce(media, '[]'), 'received',
                coalesce(metadata, '{}') || jsonb_build_object('message_sid', message_sid))
        returning id into new_message_id;
    exception when unique_violation then
        -- Only the message sid can collide here (private.message_sids' key, claimed by
        -- tg_messages__claim_keys as the message goes in): this delivery was stored
        -- before, maybe in another month's partition. Found by id and created_at, so the
        -- lookup reaches one partition.
        select s.message_id, s.message_created_at into known_id, known_at
        from private.message_sids as s
        where s.message_sid = ingest_inbound_message_v1.message_sid;
        return query select m.id, m.conversation_id, c.contact_id, true, null::bigint
            from public.messages as m
            join public.conversations as c on c.id = m.conversation_id
            where m.id = known_id and m.created_at = known_at;
        return;
    end;

    if intent is null
        and the_contact.opted_out_at is null
        and the_agent.ai_enabled
        and the_conversation.ai_enabled
        and the_conversation.status = 'open' then
        -- A job already waiting is left as it is: it debounces itself when it runs
        -- (private.start_ai_reply_v1), so a burst costs no update per message.
        job := private.defer_reply_job(
            the_conversation.id,
            received_at + make_interval(secs => the_agent.debounce_seconds)
        );
    end if;

    perform private.publish_event(
        the_channel.organization_id,
        'message.created',
        jsonb_build_object('conversation_id', the_conversation.id, 'message_id', new_message_id)
    );

    return query select new_message_id, the_conversation.id, the_contact.id, false, job;
end;
$$;


create or replace function private.record_message_status_v1(message_id uuid, message_sid text, twilio_status text, part_index integer default NULL::integer, part_count integer default NULL::integer, error_code text default NULL::text, error_message text default NULL::text) returns table(outcome text, target_message_id uuid, message_status public.message_status)
language plpgsql
security definer
set search_path = pg_catalog
as $$
#variable_conflict use_column
declare
    the_message public.messages;
    previous public.messages;
    reported public.message_status := private.twilio_message_status(twilio_status);
    parts jsonb;
    part jsonb;
    total integer;
    next_status public.message_status;
    cleared boolean;
    known_id uuid;
    known_at timestamptz;
begin
    if message_id is not null then
        select * into the_message from public.messages as m
        where m.id = record_message_status_v1.message_id
        for update;
    else
        -- Through the sid's judge, which knows the message's created_at: one partition.
        select s.message_id, s.message_created_at into known_id, known_at
        from private.message_sids as s
        where s.message_sid = record_message_status_v1.message_sid;
        select * into the_message from public.messages as m
        where m.id = known_id and m.created_at = known_at
        for update;
        part_index := 0;
    end if;
    if not found or the_message.direction <> 'outbound' or message_sid is null then
        return query select 'unknown', the_message.id, the_message.status;
        return;
    end if;
    previous := the_message;

    parts := coalesce(the_message.metadata -> 'parts', '[]');
    select p.item into part from jsonb_array_elements(parts) as p (item)
    where (p.item ->> 'sid') = message_sid;
    if part is null then
        if part_index is null
            or part_index < 0
            or exists (select from jsonb_array_elements(parts) as p (item)
                       where (p.item ->> 'index')::integer = part_index) then
            -- A sid this message does not know, or a part known by another sid.
            return query select 'unknown', the_message.id, the_message.status;
            return;
        end if;
        part := jsonb_build_object('index', part_index, 'sid', message_sid, 'status', 'sending');
    end if;
    if reported is not null
        and private.message_status_may_advance((part ->> 'status')::public.message_status, reported) then
        part := part || jsonb_build_object('status', reported);
    end if;
    select coalesce(jsonb_agg(p.item order by (p.item ->> 'index')::integer), '[]') into parts
    from (
        select p.item from jsonb_array_elements(parts) as p (item)
        where (p.item ->> 'sid') <> message_sid
        union all
        select part
    ) as p;
    total := greatest(coalesce(part_count, (the_message.metadata ->> 'part_count')::integer, 1),
                      jsonb_array_length(parts));

    next_status := private.message_status_of_parts(parts, total);
    if not private.message_status_may_advance(the_message.status, next_status)
        or (the_message.status = 'queued' and next_status not in ('failed', 'undelivered')) then
        next_status := the_message.status;
    end if;
    -- A message flagged "delivery unknown" that Twilio turns out to have is settled.
    cleared := the_message.error_code = 'delivery_unknown'
        and next_status in ('sent', 'delivered', 'read');

    update public.messages as m
    set metadata = m.metadata
            || jsonb_build_object('parts', parts, 'part_count', total)
            || case when (part ->> 'index')::integer = 0
                    then jsonb_build_object('message_sid', part ->> 'sid') else '{}' end,
        status = next_status,
        is_error = case
            when next_status in ('failed', 'undelivered') then true
            when cleared then false
            else m.is_error end,
        error_code = case
            when next_status in ('failed', 'undelivered') and next_status <> the_message.status
                then coalesce(record_message_status_v1.error_code, next_status::text)
            when cleared then null
            else m.error_code end,
        error_message = case
            when next_status in ('failed', 'undelivered') and next_status <> the_message.status
                then left(coalesce(record_message_status_v1.error_message,
                                   'O Twilio informou que a mensagem não foi entregue.'), 1000)
            when cleared then null
            else m.error_message end
    where m.id = the_message.id and m.created_at = the_message.created_at
    returning * into the_message;

    if the_message.status is distinct from previous.status
        or the_message.is_error is distinct from previous.is_error then
        perform private.announce_message_change(the_message);
        return query select 'updated', the_message.id, the_message.status;
    elsif the_message.metadata is distinct from previous.metadata then
        return query select 'updated', the_message.id, the_message.status;
    else
        return query select 'unchanged', the_message.id, the_message.status;
    end if;
end;
$$;

