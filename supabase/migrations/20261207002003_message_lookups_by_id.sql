-- Lookups of a message by id alone on the send and status paths, made independent of
-- how many partitions public.messages has (20261207002000_messages_partitioned).
--
-- The key is (id, organization_id, created_at), so `where id = $1` probes the id index
-- of every partition: measured on the development machine, 20,000 such lookups took
-- ~0.6 s with 6 partitions and ~5 s with 27, so each year of history would have added
-- to every send and every status callback. private.message_created_at finds the
-- message's created_at among the last 32 days' partitions first (the send job, the
-- status callbacks and the delivery-unknown flag name messages made minutes ago) and
-- only then in every partition; the lookup itself then names created_at and reaches one
-- partition (~1.3-1.6 s for the same 20,000, at 27 partitions).
--
-- claim_outbound_message_v1 (the send job's claim) and record_message_status_v1 (each
-- part Twilio accepts, each status callback) use it; both are otherwise as they were.

create function private.message_created_at(message_id uuid)
returns timestamptz
language plpgsql
stable
security definer
set search_path = pg_catalog
as $$
declare
    found_at timestamptz;
begin
    select m.created_at into found_at from public.messages as m
    where m.id = message_created_at.message_id
      and m.created_at >= now() - interval '32 days'
      and m.created_at < now() + interval '1 day';
    if not found then
        select m.created_at into found_at from public.messages as m
        where m.id = message_created_at.message_id;
    end if;
    return found_at;
end;
$$;

comment on function private.message_created_at(uuid) is
    'A message''s created_at (its partition of public.messages), looked for in the last 32 days'' partitions first, then in all; null when there is no such message.';

revoke all on function private.message_created_at(uuid) from public;
grant execute on function private.message_created_at(uuid) to service_role;

create or replace function private.claim_outbound_message_v1(message_id uuid) returns table(outcome text, organization_id uuid, conversation_id uuid, body text, media jsonb, metadata jsonb, attempts integer, channel_kind public.channel_kind, channel_phone_number text, twilio_account_sid text, twilio_auth_token_ciphertext text, contact_phone_number text)
language plpgsql
security definer
set search_path = pg_catalog
as $$
#variable_conflict use_column
declare
    the_message public.messages;
    the_conversation public.conversations;
    the_channel public.channels;
    the_contact public.contacts;
    parts_known integer;
    verdict text;
begin
    select * into the_message from public.messages as m
    where m.id = claim_outbound_message_v1.message_id
      and m.created_at = private.message_created_at(claim_outbound_message_v1.message_id)
    for update;
    if not found then
        return query select 'not_found', null::uuid, null::uuid, null::text, null::jsonb,
            null::jsonb, null::integer, null::public.channel_kind, null::text, null::text,
            null::text, null::text;
        return;
    end if;
    select * into strict the_conversation from public.conversations
    where id = the_message.conversation_id;
    select * into strict the_channel from public.channels where id = the_conversation.channel_id;
    select * into strict the_contact from public.contacts where id = the_conversation.contact_id;

    if the_message.direction <> 'outbound' then
        verdict := 'not_queued';
    elsif the_message.status = 'sending' then
        parts_known := jsonb_array_length(coalesce(the_message.metadata -> 'parts', '[]'));
        if parts_known > 0
            and parts_known >= coalesce((the_message.metadata ->> 'part_count')::integer, 1) then
            verdict := 'already_sent';
        else
            verdict := 'delivery_unknown';
            if the_message.error_code is distinct from 'delivery_unknown' then
                update public.messages
                set is_error = true,
                    error_code = 'delivery_unknown',
                    error_message = 'O envio foi interrompido e não sabemos se a mensagem '
                        'chegou ao Twilio; ela não será reenviada automaticamente.'
                where id = the_message.id and created_at = the_message.created_at
                returning * into the_message;
                perform private.announce_message_change(the_message);
            end if;
        end if;
    elsif the_message.status <> 'queued' then
        verdict := 'not_queued';
    elsif the_contact.opted_out_at is not null then
        verdict := 'contact_opted_out';
        perform private.fail_outbound_message(the_message.id, verdict,
            'O contato pediu para não receber mensagens (opt-out).');
    elsif not the_channel.enabled then
        verdict := 'channel_disabled';
        perform private.fail_outbound_message(the_message.id, verdict,
            'O canal está desativado.');
    elsif the_channel.kind = 'whatsapp'
        and not coalesce(the_message.metadata ? 'content_sid', false)
        and coalesce(public.window_expires_at(the_conversation), '-infinity') <= now() then
        verdict := 'outside_customer_service_window';
        perform private.fail_outbound_message(the_message.id, verdict,
            'Fora da janela de 24 horas do WhatsApp: só modelos aprovados podem ser enviados.');
    else
        verdict := 'claimed';
        update public.messages
        set status = 'sending',
            metadata = the_message.metadata || jsonb_build_object(
                'send_attempts', coalesce((the_message.metadata ->> 'send_attempts')::integer, 0) + 1)
        where id = the_message.id and created_at = the_message.created_at
        returning * into the_message;
        perform private.announce_message_change(the_message);
    end if;

    return query select verdict, the_message.organization_id, the_message.conversation_id,
        the_message.body, the_message.media, the_message.metadata,
        coalesce((the_message.metadata ->> 'send_attempts')::integer, 0),
        the_channel.kind, the_channel.phone_number, the_channel.twilio_account_sid,
        the_channel.twilio_auth_token_ciphertext, the_contact.phone_number;
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
          and m.created_at = private.message_created_at(record_message_status_v1.message_id)
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

