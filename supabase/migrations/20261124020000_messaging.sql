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
    constraint channels_kind_phone_number_key unique (kind, phone_number)
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
    updated_at timestamptz not null default now()
);

comment on table public.conversations is
    'A thread between an organization and a contact on one channel.';

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
