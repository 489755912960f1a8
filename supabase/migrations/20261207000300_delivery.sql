-- What goes out: the channel templates a member may send, and the send pipeline (outbound
-- delivery) that hands every outbound message to Twilio once and follows its status.
--
-- Channel templates: the WhatsApp message templates (Twilio Content API, ContentSid
-- HX...) a channel may send outside the 24-hour customer-service window, and the
-- function through which a member sends one.

-- A template's variables: [{"key": "1", "name": "nome do cliente"}, ...], keys as Twilio's
-- ContentVariables names them ("1", "2", ... or named), each once.
create function private.template_variables_are_valid(variables jsonb)
    returns boolean
    language sql
    immutable
    parallel safe
    set search_path = pg_catalog
as $$
    select jsonb_typeof(variables) = 'array'
        and jsonb_array_length(variables) <= 50
        and not exists (
            select from jsonb_array_elements(variables) as v (item)
            where jsonb_typeof(v.item) <> 'object'
               or coalesce(v.item ->> 'key', '') !~ '^[A-Za-z0-9_]{1,64}$'
               or char_length(coalesce(v.item ->> 'name', '')) not between 1 and 100
        )
        and (select count(distinct v.item ->> 'key') from jsonb_array_elements(variables) as v (item))
            = jsonb_array_length(variables)
$$;

comment on function private.template_variables_are_valid is
    'A template''s variables: an array of {key, name} objects, keys unique and ContentVariables-shaped.';

create table public.channel_templates (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    channel_id uuid not null,
    -- What the team calls it ("lembrete_pedido").
    name text not null,
    -- The approved template in Twilio's Content API.
    content_sid text not null,
    language text not null default 'pt_BR',
    variables jsonb not null default '[]',
    -- The approved text with {{key}} placeholders, to show the sent message in the
    -- history; Twilio renders the real one from content_sid.
    body text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint channel_templates_channel_fkey foreign key (channel_id, organization_id)
        references public.channels (id, organization_id) on delete cascade,
    constraint channel_templates_name_length check (char_length(btrim(name)) between 1 and 100),
    constraint channel_templates_content_sid_format check (content_sid ~ '^HX[0-9a-fA-F]{32}$'),
    constraint channel_templates_language_format
        check (language ~ '^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$'),
    constraint channel_templates_variables_valid
        check (private.template_variables_are_valid(variables)),
    constraint channel_templates_body_length check (char_length(body) <= 1600),
    constraint channel_templates_channel_name_language_key unique (channel_id, name, language)
);

comment on table public.channel_templates is
    'Approved WhatsApp templates (ContentSid) a channel may send, also outside the 24-hour window.';

create index channel_templates_organization_id_idx on public.channel_templates (organization_id);

create trigger tg_channel_templates__set_updated_at
    before update on public.channel_templates
    for each row execute function private.tg__set_updated_at();

alter table public.channel_templates enable row level security;

create policy "Members can read their organizations' templates"
    on public.channel_templates for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));

create policy "Owners and admins can add templates"
    on public.channel_templates for insert to authenticated
    with check (organization_id in (select private.organizations_where_caller_is('{owner,admin}')));

create policy "Owners and admins can change templates"
    on public.channel_templates for update to authenticated
    using (organization_id in (select private.organizations_where_caller_is('{owner,admin}')))
    with check (organization_id in (select private.organizations_where_caller_is('{owner,admin}')));

create policy "Owners and admins can remove templates"
    on public.channel_templates for delete to authenticated
    using (organization_id in (select private.organizations_where_caller_is('{owner,admin}')));

revoke all on table public.channel_templates from anon, authenticated;
grant select on table public.channel_templates to authenticated;
grant insert (organization_id, channel_id, name, content_sid, language, variables, body)
    on table public.channel_templates to authenticated;
grant update (name, content_sid, language, variables, body)
    on table public.channel_templates to authenticated;
grant delete on table public.channel_templates to authenticated;

-- Sending a template -----------------------------------------------------------------

-- A member sends an approved template in a conversation of their organization: the
-- template must be one of the conversation's channel, every variable given (and no
-- other), the channel enabled. Then it is queued like any outbound message
-- (private.queue_outbound_message: opted-out contacts and closed conversations are
-- refused there; templates may go outside the WhatsApp window).
--
-- Refusals raise with a named constraint the API maps to typed results:
-- conversation_not_found, template_not_found, template_variables_invalid,
-- channel_disabled (and queue_outbound_message's).
create function public.send_template_message_v1(
    conversation_id uuid,
    template_id uuid,
    variables jsonb default '{}'
)
    returns uuid
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    the_conversation public.conversations;
    the_template public.channel_templates;
    the_channel public.channels;
    given jsonb := coalesce(variables, '{}');
    expected text[];
    missing text;
    preview text;
    variable record;
begin
    select * into the_conversation from public.conversations
    where id = send_template_message_v1.conversation_id
      and organization_id in (select private.organizations_of_caller());
    if not found then
        raise exception 'no such conversation'
            using errcode = 'no_data_found', constraint = 'conversation_not_found';
    end if;
    select * into the_template from public.channel_templates
    where id = template_id and channel_id = the_conversation.channel_id;
    if not found then
        raise exception 'no such template on this conversation''s channel'
            using errcode = 'no_data_found', constraint = 'template_not_found';
    end if;
    select * into strict the_channel from public.channels where id = the_conversation.channel_id;
    if not the_channel.enabled then
        raise exception 'the channel is disabled'
            using errcode = 'check_violation', constraint = 'channel_disabled';
    end if;

    if jsonb_typeof(given) <> 'object' then
        raise exception 'variables must be an object'
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;
    expected := array(select v.item ->> 'key' from jsonb_array_elements(the_template.variables) as v (item));
    select key into missing from unnest(expected) as key
    where char_length(btrim(coalesce(given ->> key, ''))) = 0
    limit 1;
    if missing is not null then
        raise exception 'the variable % needs a value', missing
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;
    select key into missing from jsonb_object_keys(given) as key
    where key <> all (expected)
    limit 1;
    if missing is not null then
        raise exception 'the template has no variable %', missing
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;
    if exists (
        select from jsonb_each(given) as g
        where jsonb_typeof(g.value) <> 'string' or char_length(g.value #>> '{}') > 1000
    ) then
        raise exception 'variable values are texts of up to 1000 characters'
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;

    preview := coalesce(the_template.body, '');
    for variable in select * from jsonb_each_text(given) loop
        preview := replace(preview, '{{' || variable.key || '}}', variable.value);
    end loop;

    return private.queue_outbound_message(
        conversation_id => the_conversation.id,
        author => 'member',
        body => left(preview, 10000),
        author_member_id => (select auth.uid()),
        metadata => jsonb_build_object(
            'content_sid', the_template.content_sid,
            'content_variables', given,
            'template_id', the_template.id,
            'template_name', the_template.name
        )
    );
end;
$$;

comment on function public.send_template_message_v1 is
    'A member sends an approved template (ContentSid) in a conversation; queued with its send job.';

-- ======================================================================================
-- Outbound delivery: the send job's claim on a message, the record of what Twilio
-- accepted, retries and failures, and delivery status callbacks. Called by the platform
-- (service role) only.
--
-- An outbound message moves   queued -> sending -> sent -> delivered -> read
-- and may end failed or undelivered (final). `queued` belongs to the send job: only
-- its claim moves a message out of it, so a message is handed to Twilio by one attempt
-- at most, whatever crashes or retries happen. `sending` means "claimed": the job is
-- sending it, or Twilio accepted it and has not reported it sent yet.
--
-- A body longer than Twilio's 1,600 characters goes as ordered parts, each its own
-- Twilio message. metadata.parts records each part Twilio accepted
-- ([{"index": 0, "sid": "SM...", "status": "sent"}, ...]), metadata.part_count how
-- many there are, and metadata.message_sid is the first part's sid (the unique index).
-- The message's status is the least advanced of its parts' (a failed part fails it).

-- Status order ------------------------------------------------------------------------

-- The pure status helpers carry no `set search_path` (see private.subscription_intent),
-- so the planner inlines them: record_message_status_v1 calls them a dozen times per
-- delivery callback (private.message_status_may_advance cost 91 µs a call before).

create function private.message_status_rank(status public.message_status)
    returns integer
    language sql
    immutable
    parallel safe
as $$
    select case status
        when 'received' then 0
        when 'queued' then 1
        when 'sending' then 2
        when 'sent' then 3
        when 'delivered' then 4
        when 'read' then 5
        when 'undelivered' then 6
        when 'failed' then 6
    end
$$;

-- Whether a message (or a part) may move from `current` to `next`: forward only;
-- failed and undelivered are final, and reachable only before delivery.
create function private.message_status_may_advance(
    current public.message_status,
    next public.message_status
)
    returns boolean
    language sql
    immutable
    parallel safe
as $$
    select case
        when current in ('failed', 'undelivered', 'received') then false
        when next in ('failed', 'undelivered') then current in ('queued', 'sending', 'sent')
        else private.message_status_rank(next) > private.message_status_rank(current)
    end
$$;

comment on function private.message_status_may_advance is
    'Forward only (queued < sending < sent < delivered < read); failed/undelivered are final.';

-- Twilio's status names onto ours; null for the ones that say nothing new.
create function private.twilio_message_status(twilio_status text)
    returns public.message_status
    language sql
    immutable
    parallel safe
as $$
    select case lower(btrim(twilio_status))
        -- Accepted by Twilio, not yet sent: what `sending` means here.
        when 'accepted' then 'sending'
        when 'scheduled' then 'sending'
        when 'queued' then 'sending'
        when 'sending' then 'sending'
        when 'sent' then 'sent'
        when 'delivered' then 'delivered'
        when 'read' then 'read'
        when 'undelivered' then 'undelivered'
        when 'failed' then 'failed'
        when 'canceled' then 'failed'
        when 'partially_delivered' then 'sent'
    end::public.message_status
$$;

-- A message's status from its parts: a failed part fails it; a part not yet handed to
-- Twilio holds it at `sending`; else the least advanced part. An aggregate over the
-- parts is never inlinable: plpgsql keeps its plan.
create function private.message_status_of_parts(parts jsonb, part_count integer)
    returns public.message_status
    language plpgsql
    immutable
as $$
begin
    return (
        select case
            when bool_or(p.status in ('failed', 'undelivered')) then
                (array_agg(p.status order by p.status = 'failed' desc)
                    filter (where p.status in ('failed', 'undelivered')))[1]
            when count(*) < greatest(part_count, 1) then 'sending'
            else (array_agg(p.status order by private.message_status_rank(p.status)))[1]
        end
        from jsonb_to_recordset(coalesce(parts, '[]')) as p (index integer, sid text,
                                                              status public.message_status)
    );
end;
$$;

-- Changes ---------------------------------------------------------------------------------

-- Every change of a message is announced once, by the trigger tg_messages__publish_changes
-- (20261207000500_inbox.sql), whoever makes it. The send pipeline's functions below call
-- this after each change; it does nothing and stays for them.
create function private.announce_message_change(the_message public.messages)
    returns void
    language plpgsql
    immutable
as $$
begin
    -- The trigger tg_messages__publish_changes announces the change.
    null;
end;
$$;

comment on function private.announce_message_change is
    'Does nothing: the trigger tg_messages__publish_changes announces every change of a message (kept for its callers).';

-- Fails a message visibly: final status, the reason for the team, a realtime event.
create function private.fail_outbound_message(
    message_id uuid,
    error_code text,
    error_message text,
    status public.message_status default 'failed'
)
    returns public.messages
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    the_message public.messages;
begin
    update public.messages as m
    set status = fail_outbound_message.status,
        is_error = true,
        error_code = fail_outbound_message.error_code,
        error_message = left(fail_outbound_message.error_message, 1000)
    where m.id = message_id
      and private.message_status_may_advance(m.status, fail_outbound_message.status)
    returning * into the_message;
    if found then
        perform private.announce_message_change(the_message);
    end if;
    return the_message;
end;
$$;

-- The claim ---------------------------------------------------------------------------

-- The send job's first step, in one transaction: lock the message, re-check the rules
-- that may have changed since it was queued (the contact opted out, the channel was
-- disabled, the WhatsApp window closed), and move it queued -> sending. Only a claimed
-- message may be handed to Twilio.
--
-- outcome:
--   claimed            send it (the parts in metadata.parts are already with Twilio)
--   already_sent       every part is with Twilio: a repeated job, nothing to do
--   delivery_unknown   an earlier attempt claimed it and never said what Twilio did
--                      (the worker died, or Twilio did not answer): it is not sent
--                      again; it is flagged for the team, and the status callback
--                      (whose URL names the message) settles it if Twilio has it
--   contact_opted_out, channel_disabled, outside_customer_service_window
--                      refused before reaching Twilio: the message is failed
--   not_queued         already sent, failed or not an outbound message: nothing to do
--   not_found          no such message
create function private.claim_outbound_message_v1(message_id uuid)
    returns table (
        outcome text,
        organization_id uuid,
        conversation_id uuid,
        body text,
        media jsonb,
        metadata jsonb,
        attempts integer,
        channel_kind public.channel_kind,
        channel_phone_number text,
        twilio_account_sid text,
        twilio_auth_token_ciphertext text,
        contact_phone_number text
    )
    language plpgsql
    volatile
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
                where id = the_message.id
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
        where id = the_message.id
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

comment on function private.claim_outbound_message_v1 is
    'The send job claims a queued message (queued -> sending) after re-checking opt-out, channel and window.';

-- Parts Twilio accepted, and statuses -------------------------------------------------

-- Records a part's sid and Twilio status (from the send's answer or a status
-- callback) and moves the message's status forward only. The message is named by id
-- (the status callback URL carries it, so a callback settles a message whose sid the
-- job never recorded) or, failing that, by the sid of its first part.
--
-- A message back in `queued` (waiting for a retry of its remaining parts) leaves that
-- state only through the claim, or to a final failure.
--
-- outcome: updated | unchanged | unknown (no such message or part: ignore it).
create function private.record_message_status_v1(
    message_id uuid,
    message_sid text,
    twilio_status text,
    part_index integer default null,
    part_count integer default null,
    error_code text default null,
    error_message text default null
)
    returns table (outcome text, target_message_id uuid, message_status public.message_status)
    language plpgsql
    volatile
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
begin
    if message_id is not null then
        select * into the_message from public.messages as m
        where m.id = record_message_status_v1.message_id
        for update;
    else
        select * into the_message from public.messages as m
        where m.metadata ->> 'message_sid' = message_sid
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
    where m.id = the_message.id
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

comment on function private.record_message_status_v1 is
    'Records a part Twilio accepted or reported on, moving the message status forward only.';

-- A retryable failure (Twilio certainly did not take the part): back to queued, so the
-- job's retry claims it again and sends the parts not yet with Twilio.
create function private.requeue_outbound_message_v1(
    message_id uuid,
    error_code text,
    error_message text
)
    returns boolean
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    the_message public.messages;
begin
    update public.messages as m
    set status = 'queued',
        metadata = m.metadata || jsonb_build_object('last_error', jsonb_build_object(
            'code', requeue_outbound_message_v1.error_code,
            'message', left(requeue_outbound_message_v1.error_message, 1000),
            'at', now()))
    where m.id = message_id and m.status = 'sending'
    returning * into the_message;
    if found then
        perform private.announce_message_change(the_message);
    end if;
    return found;
end;
$$;

comment on function private.requeue_outbound_message_v1 is
    'A send that Twilio certainly did not take goes back to queued for the job''s retry.';

-- A permanent failure (or retries exhausted): failed, visibly. Twilio's 21610 (the
-- recipient unsubscribed at Twilio) also marks the contact opted out.
create function private.fail_outbound_message_v1(
    message_id uuid,
    error_code text,
    error_message text
)
    returns boolean
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    the_message public.messages;
begin
    the_message := private.fail_outbound_message(message_id, error_code, error_message);
    if the_message.id is null then
        return false;
    end if;
    if error_code = '21610' then
        update public.contacts as c
        set opted_out_at = coalesce(c.opted_out_at, now())
        from public.conversations as cv
        where cv.id = the_message.conversation_id and c.id = cv.contact_id;
    end if;
    return true;
end;
$$;

comment on function private.fail_outbound_message_v1 is
    'Fails an outbound message visibly with Twilio''s code and message.';

-- Twilio may or may not have the message (no answer in time, an unreadable answer):
-- never resent; flagged for the team until a status callback settles it.
create function private.mark_delivery_unknown_v1(message_id uuid, error_message text)
    returns boolean
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    the_message public.messages;
begin
    update public.messages as m
    set is_error = true,
        error_code = 'delivery_unknown',
        error_message = left(mark_delivery_unknown_v1.error_message, 1000)
    where m.id = message_id and m.status = 'sending'
    returning * into the_message;
    if found then
        perform private.announce_message_change(the_message);
    end if;
    return found;
end;
$$;

comment on function private.mark_delivery_unknown_v1 is
    'Flags a claimed message whose fate at Twilio is unknown; it is never sent again.';

