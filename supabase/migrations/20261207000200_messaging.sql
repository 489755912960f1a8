-- Messaging: channels (a business's Twilio numbers), contacts (its customers),
-- conversations, messages, and the agent (the AI's settings) of each organization.
--
-- Every tenant table carries organization_id, even where it could be joined, so each
-- policy is one indexed membership check and the cross-tenant test suite can treat
-- every table alike.

-- Channels ----------------------------------------------------------------------------

create type public.channel_kind as enum ('whatsapp', 'sms');

create table public.channels (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    kind public.channel_kind not null,
    -- E.164, normalised by the API (phonenumbers) before it gets here.
    phone_number text not null,
    display_name text,
    twilio_account_sid text not null,
    -- Encrypted by the API with a key derived from ATENDE_SECRET_KEY; the database never
    -- sees the token or the key, and no client role may read this column.
    twilio_auth_token_ciphertext text not null,
    enabled boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint channels_phone_number_e164 check (phone_number ~ '^\+[1-9][0-9]{6,14}$'),
    constraint channels_twilio_account_sid_format
        check (twilio_account_sid ~ '^AC[0-9a-fA-F]{32}$'),
    constraint channels_display_name_length check (char_length(display_name) <= 120),
    -- A number belongs to one organization at a time, per kind.
    constraint channels_kind_phone_number_key unique (kind, phone_number),
    -- A template's channel must belong to the template's organization: the foreign key
    -- of channel_templates names both columns, so this pair needs a key of its own.
    constraint channels_id_organization_id_key unique (id, organization_id)
);

comment on table public.channels is 'A Twilio WhatsApp sender or SMS number of an organization.';

create index channels_organization_id_idx on public.channels (organization_id);

create trigger tg_channels__set_updated_at
    before update on public.channels
    for each row execute function private.tg__set_updated_at();

-- Contacts ----------------------------------------------------------------------------

create table public.contacts (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    phone_number text not null,
    -- WhatsApp's ProfileName, as the customer set it; kept when a later message lacks it.
    profile_name text,
    -- What the team calls the customer; overrides profile_name for display.
    display_name text,
    opted_out_at timestamptz,
    last_inbound_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint contacts_phone_number_e164 check (phone_number ~ '^\+[1-9][0-9]{6,14}$'),
    constraint contacts_display_name_length check (char_length(display_name) <= 200),
    constraint contacts_organization_phone_number_key unique (organization_id, phone_number)
);

comment on table public.contacts is 'A customer of an organization, known by phone number.';
comment on column public.contacts.opted_out_at is
    'Set when the customer wrote an opt-out keyword (STOP, ...); nothing is sent to them while set.';

create trigger tg_contacts__set_updated_at
    before update on public.contacts
    for each row execute function private.tg__set_updated_at();

-- Agents ------------------------------------------------------------------------------

create table public.agents (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null unique references public.organizations (id) on delete cascade,
    name text not null default 'Assistente',
    system_prompt text not null default
        'Você é o assistente virtual desta empresa no WhatsApp. Responda em português do '
        'Brasil, com cordialidade e em poucas frases. Se não souber a resposta ou se o cliente '
        'pedir, transfira a conversa para um atendente humano.',
    model text not null default 'gpt-4o-mini',
    temperature numeric(3, 2) not null default 0.3,
    history_messages integer not null default 20,
    history_tokens integer,
    debounce_seconds integer not null default 3,
    fallback_message text not null default
        'Desculpe, estamos com dificuldades técnicas no momento. Um atendente vai te '
        'responder em breve.',
    handoff_message text not null default
        'Certo! Vou chamar um atendente da nossa equipe, que vai te responder em breve.',
    inactivity_hours integer not null default 24,
    follow_up_message text,
    follow_up_after_minutes integer,
    ai_enabled boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint agents_name_length check (char_length(btrim(name)) between 1 and 80),
    constraint agents_system_prompt_length
        check (char_length(btrim(system_prompt)) between 1 and 20000),
    constraint agents_model_format check (model ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$'),
    constraint agents_temperature_range check (temperature between 0 and 2),
    constraint agents_history_messages_range check (history_messages between 1 and 200),
    constraint agents_history_tokens_range check (history_tokens between 100 and 200000),
    constraint agents_debounce_seconds_range check (debounce_seconds between 0 and 120),
    constraint agents_fallback_message_length
        check (char_length(btrim(fallback_message)) between 1 and 1600),
    constraint agents_handoff_message_length
        check (char_length(btrim(handoff_message)) between 1 and 1600),
    constraint agents_inactivity_hours_range check (inactivity_hours between 1 and 720),
    constraint agents_follow_up_pair check (
        (follow_up_message is null) = (follow_up_after_minutes is null)
    ),
    constraint agents_follow_up_after_minutes_range
        check (follow_up_after_minutes between 5 and 1380)
);

comment on table public.agents is 'The AI assistant of an organization: its voice, model and manners.';
comment on column public.agents.debounce_seconds is
    'How long to wait after a customer message for more before answering them all at once.';
comment on column public.agents.follow_up_after_minutes is
    'Send follow_up_message once when the customer went quiet this long inside the window.';

create trigger tg_agents__set_updated_at
    before update on public.agents
    for each row execute function private.tg__set_updated_at();

-- Every organization has its agent from the start, with the defaults above.
create function private.tg_organizations__create_agent() returns trigger
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
begin
    insert into public.agents (organization_id) values (new.id);
    return null;
end;
$$;

create trigger tg_organizations__create_agent
    after insert on public.organizations
    for each row execute function private.tg_organizations__create_agent();

-- Conversations -----------------------------------------------------------------------

create type public.conversation_status as enum ('open', 'handoff', 'closed');

create table public.conversations (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    channel_id uuid not null references public.channels (id) on delete cascade,
    contact_id uuid not null references public.contacts (id) on delete cascade,
    status public.conversation_status not null default 'open',
    -- The bot answers only while true; a team member replying switches it off.
    ai_enabled boolean not null default true,
    assignee_id uuid references public.profiles (id) on delete set null,
    -- Start of WhatsApp's customer-service window (24 h from the last inbound message).
    last_inbound_at timestamptz,
    last_message_at timestamptz not null default now(),
    follow_up_sent_at timestamptz,
    closed_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    -- What the AI has answered, so that a reply job that finds nothing newer does nothing,
    -- and a burst that arrived while the model was thinking is answered by the next job.
    ai_answered_through timestamptz
);

comment on table public.conversations is
    'A thread between an organization and a contact on one channel.';
comment on column public.conversations.ai_answered_through is
    'created_at of the newest customer message the AI has answered (reply, handoff or fallback).';

-- One conversation that is not closed per channel and contact: ingest finds it with
-- ON CONFLICT, so concurrent messages from one customer never open two.
create unique index conversations_active_channel_contact_key
    on public.conversations (channel_id, contact_id)
    where status <> 'closed';

-- The inbox: an organization's conversations by last activity (keyset pagination).
create index conversations_inbox_idx
    on public.conversations (organization_id, last_message_at desc, id desc);
create index conversations_contact_id_idx on public.conversations (contact_id);
create index conversations_assignee_id_idx on public.conversations (assignee_id)
    where assignee_id is not null;

create trigger tg_conversations__set_updated_at
    before update on public.conversations
    for each row execute function private.tg__set_updated_at();

-- Messages ----------------------------------------------------------------------------

create type public.message_direction as enum ('inbound', 'outbound');
create type public.message_author as enum ('contact', 'ai', 'member', 'system');
-- Twilio's status names; 'received' is what Twilio calls a stored inbound message.
create type public.message_status as enum (
    'received', 'queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'undelivered'
);

create table public.messages (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    conversation_id uuid not null references public.conversations (id) on delete cascade,
    direction public.message_direction not null,
    author public.message_author not null,
    author_member_id uuid references public.profiles (id) on delete set null,
    body text not null default '',
    -- [{"url": ..., "content_type": ...}], as Twilio's MediaUrlN/MediaContentTypeN.
    media jsonb not null default '[]',
    status public.message_status not null,
    -- Set on failures: Twilio's ErrorCode or the reason an AI reply fell back.
    error_code text,
    error_message text,
    -- The message records a failure (the AI fallback, a failed send) for the team to see.
    is_error boolean not null default false,
    -- Twilio's sid at metadata->>'message_sid', inbound and outbound alike.
    metadata jsonb not null default '{}',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint messages_body_length check (char_length(body) <= 10000),
    constraint messages_media_is_array check (jsonb_typeof(media) = 'array'),
    constraint messages_metadata_is_object check (jsonb_typeof(metadata) = 'object'),
    constraint messages_inbound_from_contact check (
        (direction = 'inbound') = (author = 'contact')
    ),
    constraint messages_member_author check (
        author_member_id is null or author = 'member'
    )
);

comment on table public.messages is 'Every message of a conversation, inbound and outbound.';

-- The only judge of duplicate webhooks: Twilio retries and repeats, and a message sid is
-- stored once. Ingest inserts and treats the conflict as "already stored".
create unique index messages_message_sid_key on public.messages ((metadata ->> 'message_sid'));

-- A conversation's history, newest first (keyset pagination).
create index messages_conversation_created_idx
    on public.messages (conversation_id, created_at desc, id desc);
create index messages_organization_created_idx
    on public.messages (organization_id, created_at);

create trigger tg_messages__set_updated_at
    before update on public.messages
    for each row execute function private.tg__set_updated_at();

-- Row-level security ------------------------------------------------------------------

alter table public.channels enable row level security;
alter table public.contacts enable row level security;
alter table public.agents enable row level security;
alter table public.conversations enable row level security;
alter table public.messages enable row level security;

create policy "Members can read their organizations' channels"
    on public.channels for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));

create policy "Owners and admins can add channels"
    on public.channels for insert to authenticated
    with check (organization_id in (select private.organizations_where_caller_is('{owner,admin}')));

create policy "Owners and admins can change channels"
    on public.channels for update to authenticated
    using (organization_id in (select private.organizations_where_caller_is('{owner,admin}')))
    with check (organization_id in (select private.organizations_where_caller_is('{owner,admin}')));

create policy "Members can read their organizations' contacts"
    on public.contacts for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));

create policy "Members can rename their organizations' contacts"
    on public.contacts for update to authenticated
    using (organization_id in (select private.organizations_of_caller()))
    with check (organization_id in (select private.organizations_of_caller()));

create policy "Members can read their organizations' agent"
    on public.agents for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));

create policy "Owners and admins can configure their organizations' agent"
    on public.agents for update to authenticated
    using (organization_id in (select private.organizations_where_caller_is('{owner,admin}')))
    with check (organization_id in (select private.organizations_where_caller_is('{owner,admin}')));

create policy "Members can read their organizations' conversations"
    on public.conversations for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));

create policy "Members can work their organizations' conversations"
    on public.conversations for update to authenticated
    using (organization_id in (select private.organizations_of_caller()))
    with check (organization_id in (select private.organizations_of_caller()));

create policy "Members can read their organizations' messages"
    on public.messages for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));

-- Grants: after the policies, column by column where a client may write. Messages are
-- written only by the functions below (security definer), never directly.

revoke all on table public.channels, public.contacts, public.agents, public.conversations,
    public.messages from anon, authenticated;

grant select (id, organization_id, kind, phone_number, display_name, twilio_account_sid,
              enabled, created_at, updated_at)
    on table public.channels to authenticated;
grant insert (organization_id, kind, phone_number, display_name, twilio_account_sid,
              twilio_auth_token_ciphertext)
    on table public.channels to authenticated;
grant update (display_name, twilio_account_sid, twilio_auth_token_ciphertext, enabled)
    on table public.channels to authenticated;

grant select on table public.contacts to authenticated;
grant update (display_name) on table public.contacts to authenticated;

grant select on table public.agents to authenticated;
grant update (name, system_prompt, model, temperature, history_messages, history_tokens,
              debounce_seconds, fallback_message, handoff_message, inactivity_hours,
              follow_up_message, follow_up_after_minutes, ai_enabled)
    on table public.agents to authenticated;

grant select on table public.conversations to authenticated;
grant update (status, ai_enabled, assignee_id, closed_at)
    on table public.conversations to authenticated;

grant select on table public.messages to authenticated;

-- ======================================================================================
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

-- Asked only when there is an assignee: ingest's `insert ... on conflict do update` of the
-- conversation is an insert attempt on every inbound message, and with the condition on
-- the trigger Postgres does not call the function at all for an unassigned conversation
-- (~13 µs a message in bench/ingest).
create trigger tg_conversations__assignee_is_member
    before insert or update of assignee_id on public.conversations
    for each row
    when (new.assignee_id is not null)
    execute function private.tg_conversations__assignee_is_member();

-- Opt-out keywords --------------------------------------------------------------------

-- What a customer's message asks of their subscription: 'opt_out', 'opt_in' or null.
-- Twilio's own keyword handling reports itself in OptOutType (STOP/START/HELP); the
-- keywords are matched too, as the whole trimmed message, case-insensitively, as Twilio
-- and carriers do.
--
-- No `set search_path`: the clause makes a function uninlinable and costs a GUC
-- save/restore per call. This one is pure (a CASE over its arguments, built-ins only),
-- not security definer, references no table, and its callers set search_path themselves:
-- the clause would protect nothing. The status helpers of the send pipeline and
-- private.window_end below make the same choice for the same reason.
create function private.subscription_intent(body text, opt_out_type text default null)
    returns text
    language sql
    immutable
    parallel safe
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
-- message; SMS has no such window. The rule, on plain values: inlinable (no `set`
-- clause, no sub-select), so the inbox queries join the channel and call it, and the
-- planner inlines it instead of paying a function call and a planned subquery per
-- conversation, which was most of the inbox's time.
create function private.window_end(kind public.channel_kind, last_inbound_at timestamptz)
    returns timestamptz
    language sql
    stable
    parallel safe
as $$
    select case when kind = 'sms'::public.channel_kind then null
                else last_inbound_at + interval '24 hours' end
$$;

comment on function private.window_end is
    'When free-form replies stop being allowed, from the channel kind and the last inbound message.';

-- The same rule for a conversation row, as every other caller asks it. plpgsql, not SQL:
-- a `language sql` function with a `set` clause is never inlined and is planned again at
-- every call, while plpgsql keeps its plans for the session (66 -> 8.5 µs a call on
-- PG 15; four calls per conversation in bench/e2e).
create function public.window_expires_at(conversation public.conversations)
    returns timestamptz
    language plpgsql
    stable
    set search_path = pg_catalog
as $$
begin
    -- The rule itself is private.window_end.
    return private.window_end(
        (select ch.kind from public.channels as ch where ch.id = conversation.channel_id),
        conversation.last_inbound_at
    );
end;
$$;

comment on function public.window_expires_at is
    'When free-form replies stop being allowed (WhatsApp: 24 h after the last inbound message; SMS: never).';

-- Inbound ingest ----------------------------------------------------------------------

-- Stores one inbound message exactly once, in one transaction with everything it
-- implies: the contact (created or updated, WhatsApp profile name kept), the open
-- conversation (found or opened), the window start, the subscription change, the AI
-- reply job (private.defer_reply_job: one job per conversation waits, and debounces
-- itself when it runs) and the realtime event.
--
-- Duplicates are judged by the unique index on metadata->>'message_sid' alone: the
-- insert runs, and a unique violation rolls back this block's work and reports
-- duplicate = true. Nothing is checked before inserting.
create function private.ingest_inbound_message_v1(
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

comment on function private.ingest_inbound_message_v1 is
    'Stores an inbound Twilio message exactly once (by MessageSid) with its contact, conversation and reply job.';

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

