-- Scheduled sends (issue 20, item 5): a member (or API key) writes a message now and
-- Atende sends it later, at `send_at`.
--
-- A row here is the promise; a Procrastinate job (`conversations:send_scheduled_message`,
-- queue `sends`), deferred with `scheduled_at = send_at` in the same transaction, keeps
-- it. The job calls private.send_scheduled_message_v1, which takes the row's lock, sends
-- only a row still `scheduled`, and queues the outbound message (and its send job) in
-- the same transaction as the row's move to `sent`: a retried, duplicated or resurrected
-- job finds the row `sent` and does nothing, so a scheduled message is queued exactly
-- once. From there on it is an ordinary outbound message (channels:send_message).
--
-- The rules are checked twice: when it is scheduled (the conversation, the template and
-- its values, the time) and again when it falls due, since much can change in between:
-- the customer opted out, the channel was disabled, WhatsApp's 24-hour window closed
-- (free text only: a template goes outside the window). What can no longer be sent is
-- `skipped`, with the reason; what cannot be sent as written (its template removed or
-- changed) is `failed`, with the reason. Neither ever reaches Twilio.

create type public.scheduled_message_status as enum (
    'scheduled', 'sent', 'cancelled', 'skipped', 'failed'
);

comment on type public.scheduled_message_status is
    'scheduled: waiting for send_at; sent: queued for Twilio as message_id; cancelled: by the '
    'team; skipped: a rule forbade it at send time (reason); failed: it could not be sent as '
    'written (reason).';

create table public.scheduled_messages (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    conversation_id uuid not null references public.conversations (id) on delete cascade,
    -- Free text, or a template of the conversation's channel with its values.
    body text,
    template_id uuid references public.channel_templates (id) on delete set null,
    -- The template's name when it was scheduled: the history still says which one it was
    -- after the template is removed.
    template_name text,
    variables jsonb not null default '{}',
    send_at timestamptz not null,
    status public.scheduled_message_status not null default 'scheduled',
    reason text,
    created_by uuid references public.profiles (id) on delete set null,
    created_by_api_key uuid references public.api_keys (id) on delete set null,
    message_id uuid references public.messages (id) on delete set null,
    job_id bigint,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    processed_at timestamptz,
    constraint scheduled_messages_content check (
        (body is not null) <> (template_name is not null)
    ),
    constraint scheduled_messages_body_length check (
        body is null or char_length(btrim(body)) between 1 and 4096
    ),
    constraint scheduled_messages_variables_object check (jsonb_typeof(variables) = 'object'),
    -- In the future when scheduled, and at most 90 days ahead: a promise much further
    -- out is more likely a typo (a year) than a plan, and holds a job that long.
    constraint scheduled_messages_send_at_horizon check (
        send_at > created_at and send_at <= created_at + interval '90 days'
    ),
    constraint scheduled_messages_reason check (
        (status in ('skipped', 'failed')) = (reason is not null)
    ),
    constraint scheduled_messages_sent_message check (
        status <> 'sent' or processed_at is not null
    )
);

comment on table public.scheduled_messages is
    'Messages the team scheduled for later (free text or a template): each is sent once, at '
    'send_at, by its job, if the rules still allow it then.';
comment on column public.scheduled_messages.reason is
    'Why it was skipped or failed: contact_opted_out, channel_disabled, '
    'outside_customer_service_window, conversation_closed, template_not_found, '
    'template_variables_invalid.';
comment on column public.scheduled_messages.message_id is
    'The outbound message it became, once sent (its delivery status is the message''s).';
comment on column public.scheduled_messages.job_id is
    'The Procrastinate job due at send_at (deleted when the message is cancelled).';

-- A conversation's scheduled messages, by time (Conversation.scheduledMessages); the
-- foreign keys' cascades.
create index scheduled_messages_conversation_idx
    on public.scheduled_messages (conversation_id, send_at, id);
create index scheduled_messages_organization_id_idx on public.scheduled_messages (organization_id);
create index scheduled_messages_template_id_idx on public.scheduled_messages (template_id)
    where template_id is not null;
create index scheduled_messages_created_by_idx on public.scheduled_messages (created_by)
    where created_by is not null;
create index scheduled_messages_created_by_api_key_idx
    on public.scheduled_messages (created_by_api_key) where created_by_api_key is not null;
create index scheduled_messages_message_id_idx on public.scheduled_messages (message_id)
    where message_id is not null;

create trigger tg_scheduled_messages__set_updated_at
    before update on public.scheduled_messages
    for each row execute function private.tg__set_updated_at();

alter table public.scheduled_messages enable row level security;

create policy "Members can read their organization's scheduled messages"
    on public.scheduled_messages for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));

-- Reading only: every write is one of the functions below.
revoke all on table public.scheduled_messages from public, anon, authenticated, service_role;
grant select on table public.scheduled_messages to authenticated;
grant select on table public.scheduled_messages to service_role;

-- A template's text with the values -------------------------------------------------------

-- The checks and the preview of send_template_message_v1, for a template and values given
-- now (scheduling) or long ago (sending: the template may have changed since).
create function private.render_template_message(
    the_template public.channel_templates, variables jsonb
) returns text
    language plpgsql
    stable
    set search_path = pg_catalog
as $$
declare
    given jsonb := coalesce(variables, '{}');
    expected text[];
    missing text;
    preview text;
    variable record;
begin
    if jsonb_typeof(given) <> 'object' then
        raise exception 'variables must be an object'
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;
    expected := array(
        select v.item ->> 'key' from jsonb_array_elements(the_template.variables) as v (item)
    );
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
    return left(preview, 10000);
end;
$$;

comment on function private.render_template_message is
    'A template''s text with the values, after checking them as sendTemplate does '
    '(template_variables_invalid otherwise).';

-- Scheduling ------------------------------------------------------------------------------

create function public.schedule_message_v1(
    conversation_id uuid,
    send_at timestamptz,
    body text default null,
    template_id uuid default null,
    variables jsonb default '{}'
) returns uuid
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    calling_key uuid := private.api_key_of_caller();
    the_conversation public.conversations;
    the_template public.channel_templates;
    the_contact public.contacts;
    given jsonb := coalesce(variables, '{}');
    text_body text := nullif(btrim(coalesce(body, '')), '');
    new_id uuid;
    new_job bigint;
begin
    select * into the_conversation from public.conversations as c
    where c.id = conversation_id
      and c.organization_id in (select private.organizations_of_caller());
    if not found then
        raise exception 'no such conversation'
            using errcode = 'no_data_found', constraint = 'conversation_not_found';
    end if;

    if (text_body is null) = (template_id is null) then
        raise exception 'a scheduled message is a body or a template, not both nor neither'
            using errcode = 'check_violation', constraint = 'scheduled_messages_content';
    end if;
    if text_body is not null and char_length(body) > 4096 then
        raise exception 'a free-form message has at most 4096 characters'
            using errcode = 'check_violation', constraint = 'scheduled_messages_body_length';
    end if;
    if send_at is null or send_at <= now() or send_at > now() + interval '90 days' then
        raise exception 'send_at must be in the future, within 90 days'
            using errcode = 'check_violation', constraint = 'scheduled_messages_send_at_horizon';
    end if;

    if template_id is not null then
        select * into the_template from public.channel_templates as t
        where t.id = template_id and t.channel_id = the_conversation.channel_id;
        if not found then
            raise exception 'no such template on this conversation''s channel'
                using errcode = 'no_data_found', constraint = 'template_not_found';
        end if;
        perform private.render_template_message(the_template, given);
    end if;

    -- What would refuse it now refuses it up front; it is checked again when it is due.
    select * into strict the_contact from public.contacts as ct
    where ct.id = the_conversation.contact_id;
    if the_contact.opted_out_at is not null then
        raise exception 'the contact opted out of messages'
            using errcode = 'check_violation', constraint = 'contact_opted_out';
    end if;
    if not (select ch.enabled from public.channels as ch where ch.id = the_conversation.channel_id)
    then
        raise exception 'the channel is disabled'
            using errcode = 'check_violation', constraint = 'channel_disabled';
    end if;

    insert into public.scheduled_messages as s
        (organization_id, conversation_id, body, template_id, template_name, variables,
         send_at, created_by, created_by_api_key)
    values (the_conversation.organization_id, the_conversation.id,
            case when template_id is null then body end,
            the_template.id, the_template.name,
            case when template_id is null then '{}'::jsonb else given end,
            send_at,
            case when calling_key is null then (select auth.uid()) end,
            calling_key)
    returning s.id into new_id;

    new_job := private.defer_job(
        task_name => 'conversations:send_scheduled_message',
        args => jsonb_build_object('scheduled_message_id', new_id),
        queue_name => 'sends',
        queueing_lock => 'scheduled_message:' || new_id,
        scheduled_at => send_at
    );
    update public.scheduled_messages as s set job_id = new_job where s.id = new_id;
    return new_id;
end;
$$;

comment on function public.schedule_message_v1 is
    'A member (or API key) schedules free text or a template in a conversation for send_at '
    '(future, within 90 days); its job is deferred to then in the same transaction.';

create function public.cancel_scheduled_message_v1(scheduled_message_id uuid)
    returns public.scheduled_message_status
    language plpgsql
    volatile
    security definer
    -- Procrastinate's functions and triggers name its tables unqualified.
    set search_path = procrastinate, pg_catalog
as $$
#variable_conflict use_variable
declare
    the_row public.scheduled_messages;
begin
    -- The lock orders this with the send: whichever comes second sees the other's outcome.
    select * into the_row from public.scheduled_messages as s
    where s.id = scheduled_message_id
      and s.organization_id in (select private.organizations_of_caller())
    for update;
    if not found then
        raise exception 'no such scheduled message'
            using errcode = 'no_data_found', constraint = 'scheduled_message_not_found';
    end if;
    if the_row.status = 'scheduled' then
        update public.scheduled_messages as s
        set status = 'cancelled', processed_at = now()
        where s.id = the_row.id;
        -- Its job, still waiting, goes too (one already running finds it cancelled).
        if the_row.job_id is not null then
            perform procrastinate.procrastinate_cancel_job_v1(the_row.job_id, false, true);
        end if;
        return 'cancelled';
    end if;
    -- Cancelled already: the same answer again. Sent, skipped or failed: the caller is
    -- told what became of it.
    return the_row.status;
end;
$$;

comment on function public.cancel_scheduled_message_v1 is
    'Cancels a scheduled message still waiting (returns cancelled); returns its status '
    'unchanged when it was already sent, skipped or failed.';

-- Sending, when it is due ---------------------------------------------------------------

create function private.send_scheduled_message_v1(scheduled_message_id uuid)
    returns table (status public.scheduled_message_status, reason text, message_id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_column
declare
    the_row public.scheduled_messages;
    the_conversation public.conversations;
    the_template public.channel_templates;
    text_body text;
    extra jsonb;
    refusal text;
    new_message_id uuid;
begin
    -- The claim: only the holder of this lock that finds the row still scheduled sends.
    select * into the_row from public.scheduled_messages as s
    where s.id = send_scheduled_message_v1.scheduled_message_id
    for update;
    if not found or the_row.status <> 'scheduled' then
        return query select the_row.status, the_row.reason, the_row.message_id;
        return;
    end if;

    select * into strict the_conversation from public.conversations as c
    where c.id = the_row.conversation_id;
    if not (select ch.enabled from public.channels as ch where ch.id = the_conversation.channel_id)
    then
        refusal := 'channel_disabled';
    end if;

    if refusal is null and the_row.template_name is not null then
        select * into the_template from public.channel_templates as t
        where t.id = the_row.template_id and t.channel_id = the_conversation.channel_id;
        if not found then
            update public.scheduled_messages as s
            set status = 'failed', reason = 'template_not_found', processed_at = now()
            where s.id = the_row.id;
            return query select 'failed'::public.scheduled_message_status,
                                'template_not_found'::text, null::uuid;
            return;
        end if;
        begin
            text_body := private.render_template_message(the_template, the_row.variables);
        exception when check_violation then
            update public.scheduled_messages as s
            set status = 'failed', reason = 'template_variables_invalid', processed_at = now()
            where s.id = the_row.id;
            return query select 'failed'::public.scheduled_message_status,
                                'template_variables_invalid'::text, null::uuid;
            return;
        end;
        extra := jsonb_build_object(
            'content_sid', the_template.content_sid,
            'content_variables', the_row.variables,
            'template_id', the_template.id,
            'template_name', the_template.name
        );
    elsif refusal is null then
        text_body := the_row.body;
        extra := '{}';
    end if;

    -- A conversation closed since (by the team, or for inactivity) opens again for it,
    -- as reopenConversation would; unless the customer has a newer one on this number.
    if refusal is null and the_conversation.status = 'closed' then
        begin
            update public.conversations as c
            set status = 'open', closed_at = null
            where c.id = the_conversation.id;
        exception when unique_violation then
            refusal := 'conversation_closed';
        end;
    end if;

    if refusal is null then
        begin
            -- The opt-out, closed-conversation and window rules are queue_outbound_message's.
            new_message_id := private.queue_outbound_message(
                conversation_id => the_conversation.id,
                author => 'member',
                body => text_body,
                author_member_id => the_row.created_by,
                metadata => extra
                    || jsonb_build_object('scheduled_message_id', the_row.id)
                    || case when the_row.created_by_api_key is null then '{}'::jsonb
                            else jsonb_build_object('api_key_id', the_row.created_by_api_key)
                       end
            );
        exception when check_violation then
            get stacked diagnostics refusal = constraint_name;
            if refusal not in ('conversation_closed', 'contact_opted_out',
                               'outside_customer_service_window') then
                raise;
            end if;
        end;
    end if;

    if refusal is not null then
        update public.scheduled_messages as s
        set status = 'skipped', reason = refusal, processed_at = now()
        where s.id = the_row.id;
        return query select 'skipped'::public.scheduled_message_status, refusal, null::uuid;
        return;
    end if;

    update public.scheduled_messages as s
    set status = 'sent', message_id = new_message_id, processed_at = now()
    where s.id = the_row.id;
    return query select 'sent'::public.scheduled_message_status, null::text, new_message_id;
end;
$$;

comment on function private.send_scheduled_message_v1 is
    'The job''s work: sends a scheduled message once (the row''s lock and status are the '
    'claim), skipping it with the reason when a rule forbids it now.';

revoke all on function private.render_template_message(public.channel_templates, jsonb),
    public.schedule_message_v1(uuid, timestamptz, text, uuid, jsonb),
    public.cancel_scheduled_message_v1(uuid),
    private.send_scheduled_message_v1(uuid)
    from public, anon, authenticated, service_role;
-- The team's actions, which check the caller's organization themselves.
grant execute on function public.schedule_message_v1(uuid, timestamptz, text, uuid, jsonb),
    public.cancel_scheduled_message_v1(uuid)
    to authenticated;
grant execute on function private.send_scheduled_message_v1(uuid) to service_role;
