-- The message flow's rules, as functions: inbound ingest (exactly once), opt-out
-- keywords, the WhatsApp customer-service window, and queueing outbound messages with
-- their send job. Called by the platform (service role) from webhooks and jobs, and by
-- the GraphQL API on behalf of members.

-- Assignees are members -----------------------------------------------------------------

create function private.tg_conversations__assignee_is_member() returns trigger
    language plpgsql
    stable
    security definer
    set search_path = pg_catalog
as $$
begin
    if new.assignee_id is not null and not exists (
        select from public.memberships
        where organization_id = new.organization_id and user_id = new.assignee_id
    ) then
        raise exception 'the assignee must be a member of the organization'
            using errcode = 'foreign_key_violation', constraint = 'conversations_assignee_is_member';
    end if;
    return new;
end;
$$;

create trigger tg_conversations__assignee_is_member
    before insert or update of assignee_id on public.conversations
    for each row execute function private.tg_conversations__assignee_is_member();

-- Opt-out keywords --------------------------------------------------------------------

-- What a customer's message asks of their subscription: 'opt_out', 'opt_in' or null.
-- Twilio's own keyword handling reports itself in OptOutType (STOP/START/HELP); the
-- keywords are matched too, as the whole trimmed message, case-insensitively, as Twilio
-- and carriers do.
create function private.subscription_intent(body text, opt_out_type text default null)
    returns text
    language sql
    immutable
    parallel safe
    set search_path = pg_catalog
as $$
    select case
        when upper(opt_out_type) = 'STOP' then 'opt_out'
        when upper(opt_out_type) = 'START' then 'opt_in'
        when upper(btrim(body)) in ('STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT',
                                    'REVOKE', 'OPTOUT') then 'opt_out'
        when upper(btrim(body)) in ('START', 'UNSTOP', 'YES') then 'opt_in'
    end
$$;

comment on function private.subscription_intent is
    'opt_out / opt_in / null for a customer message (Twilio''s OptOutType or the standard keywords).';

-- The customer-service window ---------------------------------------------------------

-- WhatsApp allows free-form messages only within 24 hours of the customer's last
-- message; SMS has no such window.
create function public.window_expires_at(conversation public.conversations)
    returns timestamptz
    language sql
    stable
    set search_path = pg_catalog
as $$
    select case
        when (select kind from public.channels where id = conversation.channel_id) = 'sms'
            then null
        else conversation.last_inbound_at + interval '24 hours'
    end
$$;

comment on function public.window_expires_at is
    'When free-form replies stop being allowed (WhatsApp: 24 h after the last inbound message; SMS: never).';

grant execute on function public.window_expires_at to authenticated, service_role;

-- Inbound ingest ----------------------------------------------------------------------

-- Stores one inbound message exactly once, in one transaction with everything it
-- implies: the contact (created or updated, WhatsApp profile name kept), the open
-- conversation (found or opened), the window start, the subscription change, the AI
-- reply job (debounced: one job per conversation waits; more messages push it back) and
-- the realtime event.
--
-- Duplicates are judged by the unique index on metadata->>'message_sid' alone: the
-- insert runs, and a unique violation rolls back this block's work and reports
-- duplicate = true. Nothing is checked before inserting.
create function public.ingest_inbound_message_v1(
    channel_id uuid,
    message_sid text,
    from_number text,
    body text,
    media jsonb default '[]',
    profile_name text default null,
    opt_out_type text default null,
    metadata jsonb default '{}'
)
    returns table (
        message_id uuid,
        conversation_id uuid,
        contact_id uuid,
        duplicate boolean,
        reply_job_id bigint
    )
    language plpgsql
    volatile
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
        -- Only the message sid can collide here: this delivery was stored before.
        return query select m.id, m.conversation_id, c.contact_id, true, null::bigint
            from public.messages as m
            join public.conversations as c on c.id = m.conversation_id
            where m.metadata ->> 'message_sid' = ingest_inbound_message_v1.message_sid;
        return;
    end;

    if intent is null
        and the_contact.opted_out_at is null
        and the_agent.ai_enabled
        and the_conversation.ai_enabled
        and the_conversation.status = 'open' then
        job := private.defer_job(
            task_name => 'conversations:generate_reply',
            args => jsonb_build_object('conversation_id', the_conversation.id),
            queue_name => 'replies',
            lock => 'conversation:' || the_conversation.id,
            queueing_lock => 'reply:' || the_conversation.id,
            scheduled_at => received_at + make_interval(secs => the_agent.debounce_seconds),
            reschedule => true
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

comment on function public.ingest_inbound_message_v1 is
    'Stores an inbound Twilio message exactly once (by MessageSid) with its contact, conversation and reply job.';

revoke all on function public.ingest_inbound_message_v1 from public;
grant execute on function public.ingest_inbound_message_v1 to service_role;

-- Outbound messages -------------------------------------------------------------------

-- Queues an outbound message and its send job in the caller's transaction, after the
-- rules that apply to every sender (AI, team member, system): the contact has not
-- opted out, and free-form text to WhatsApp goes only inside the customer-service window
-- (templates, with content_sid in metadata, may go outside it).
--
-- Refusals raise with a named constraint the API maps to typed results:
-- contact_opted_out, outside_customer_service_window, conversation_closed.
create function private.queue_outbound_message(
    conversation_id uuid,
    author public.message_author,
    body text,
    author_member_id uuid default null,
    is_error boolean default false,
    error_code text default null,
    error_message text default null,
    metadata jsonb default '{}'
)
    returns uuid
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    the_conversation public.conversations;
    the_contact public.contacts;
    is_template boolean := coalesce(metadata ? 'content_sid', false);
    new_message_id uuid;
    sent_at timestamptz := now();
begin
    select * into strict the_conversation from public.conversations
    where id = conversation_id
    for update;
    select * into strict the_contact from public.contacts where id = the_conversation.contact_id;

    if the_conversation.status = 'closed' then
        raise exception 'the conversation is closed'
            using errcode = 'check_violation', constraint = 'conversation_closed';
    end if;
    if the_contact.opted_out_at is not null then
        raise exception 'the contact opted out of messages'
            using errcode = 'check_violation', constraint = 'contact_opted_out';
    end if;
    -- A WhatsApp conversation the customer never wrote in has no window at all.
    if not is_template
        and (select kind from public.channels where id = the_conversation.channel_id) = 'whatsapp'
        and coalesce(public.window_expires_at(the_conversation), '-infinity') <= sent_at then
        raise exception 'outside the WhatsApp customer-service window'
            using errcode = 'check_violation', constraint = 'outside_customer_service_window';
    end if;

    insert into public.messages (organization_id, conversation_id, direction, author,
                                 author_member_id, body, status, is_error, error_code,
                                 error_message, metadata)
    values (the_conversation.organization_id, the_conversation.id, 'outbound', author,
            author_member_id, coalesce(body, ''), 'queued', is_error, error_code,
            error_message, coalesce(metadata, '{}'))
    returning id into new_message_id;

    update public.conversations set last_message_at = sent_at where id = the_conversation.id;

    perform private.defer_job(
        task_name => 'channels:send_message',
        args => jsonb_build_object('message_id', new_message_id),
        queue_name => 'sends',
        lock => 'send:' || the_conversation.id
    );
    perform private.publish_event(
        the_conversation.organization_id,
        'message.created',
        jsonb_build_object('conversation_id', the_conversation.id, 'message_id', new_message_id)
    );
    return new_message_id;
end;
$$;

comment on function private.queue_outbound_message is
    'Queues an outbound message and its send job, refusing opted-out contacts, closed conversations and WhatsApp free-form text outside the window.';

revoke all on function private.queue_outbound_message from public;
grant execute on function private.queue_outbound_message to service_role;
