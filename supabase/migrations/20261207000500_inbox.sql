-- The team's inbox: what the GraphQL API needs beyond the message flow.
--
-- * search: trigram indexes so "find a conversation by the customer's name, number or
--   something they wrote" stays index-backed (ILIKE '%term%');
-- * what the inbox reads: one projection of a conversation, with its contact and newest
--   message, that every inbox query selects from;
-- * conversation_reads: where each member stopped reading, for unread counts;
-- * realtime: conversations and messages announce their changes on atende_events;
-- * send_member_message_v1: a team member's reply, which also pauses the bot.

-- Search ------------------------------------------------------------------------------

-- pg_trgm indexes ILIKE '%term%' (any substring, any case): names are typed partially
-- and phone numbers are searched by their last digits, which neither a btree nor
-- full-text search can serve. On Supabase the extension is available in `extensions`.
do $$
begin
    if not exists (select from pg_extension where extname = 'pg_trgm') then
        create extension pg_trgm with schema extensions;
    end if;
end
$$;

-- The text a contact is found by; the queries in sql/inbox.sql repeat this
-- expression exactly, so the planner matches it to the index.
create index contacts_search_idx on public.contacts using gin (
    (coalesce(display_name, '') || ' ' || coalesce(profile_name, '') || ' ' || phone_number)
    extensions.gin_trgm_ops
) with (gin_pending_list_limit = 256);

-- Message text search. A GIN index costs some write time on every message; its pending
-- list (fastupdate, on by default) batches that work, and the alternative (scanning an
-- organization's history on every search) grows without bound.
--
-- The pending list is kept short (256 kB, not gin_pending_list_limit's 4 MB) so that no
-- webhook pays for merging a long one: the insert that passes the limit merges the whole
-- list into the tree inside its own transaction. At 4 MB that was every ~4,000 messages
-- and took 50-60 ms, and at 1,100 webhooks/s each merge stalled an ingest batch and made
-- a good part of the webhook's p99 (bench/ingest, issue 4). With 256 kB the merges are
-- 16 times as frequent, each of a sixteenth of the entries; Postgres' CPU per message
-- did not change, and autovacuum still empties the lists. Without fastupdate every
-- insert updates the tree, measured slower. Contacts' index above is written less often
-- but merges the same way, and keeps the same limit.
create index messages_body_search_idx on public.messages
    using gin (body extensions.gin_trgm_ops)
    with (gin_pending_list_limit = 256);

-- The contact list, by name (keyset pagination on the same expression).
create index contacts_organization_name_idx on public.contacts (
    organization_id, lower(coalesce(display_name, profile_name, phone_number)), id
);

-- What the inbox reads --------------------------------------------------------------

-- The columns of a conversation as the API reads it, written once: the conversation and
-- when its window closes (private.window_end, inlined, with the channel joined).
-- security_invoker: the caller's privileges and row-level security decide, as if the
-- query named the tables itself (a view otherwise reads as its owner, past RLS). In
-- `private`, which PostgREST does not serve: these are the API's, not a REST endpoint.
create view private.conversations_with_window with (security_invoker = true) as
select c.id, c.organization_id, c.channel_id, c.contact_id, c.status, c.ai_enabled,
       c.assignee_id, c.last_inbound_at, c.last_message_at, c.closed_at, c.created_at,
       private.window_end(ch.kind, c.last_inbound_at) as window_expires_at
from public.conversations as c
left join public.channels as ch on ch.id = c.channel_id;

comment on view private.conversations_with_window is
    'A conversation as the API reads it, with window_expires_at; as the caller (security_invoker).';

-- An inbox entry: the conversation, its contact (contact__*) and its newest message
-- (last_message__*), what every inbox shows, so that a page costs one round trip and the
-- API primes its DataLoaders with them. The views are flattened into the query that
-- selects from them: the inbox index, the contact by key and the newest message by
-- messages_conversation_created_idx, per row of the page, as if written out there.
-- Messages come with `media` as JSON text: the API parses it only for clients that ask.
create view private.inbox_entries with (security_invoker = true) as
select c.*,
       ct.id as contact__id, ct.organization_id as contact__organization_id,
       ct.phone_number as contact__phone_number, ct.profile_name as contact__profile_name,
       ct.display_name as contact__display_name, ct.opted_out_at as contact__opted_out_at,
       ct.last_inbound_at as contact__last_inbound_at, ct.created_at as contact__created_at,
       lm.id as last_message__id, lm.organization_id as last_message__organization_id,
       lm.conversation_id as last_message__conversation_id,
       lm.direction as last_message__direction, lm.author as last_message__author,
       lm.author_member_id as last_message__author_member_id, lm.body as last_message__body,
       lm.media::text as last_message__media, lm.status as last_message__status,
       lm.error_code as last_message__error_code,
       lm.error_message as last_message__error_message,
       lm.is_error as last_message__is_error, lm.created_at as last_message__created_at,
       lm.updated_at as last_message__updated_at
from private.conversations_with_window as c
left join public.contacts as ct on ct.id = c.contact_id
left join lateral (
    select *
    from public.messages as m
    where m.conversation_id = c.id
    order by m.created_at desc, m.id desc
    limit 1
) as lm on true;

comment on view private.inbox_entries is
    'A conversation with its contact (contact__*) and newest message (last_message__*); as the caller.';

-- Members read them (the inbox's queries); the platform may too. Nothing else.
revoke all on table private.conversations_with_window, private.inbox_entries
    from public, anon, authenticated;
grant select on table private.conversations_with_window, private.inbox_entries
    to authenticated, service_role;

-- Read positions ----------------------------------------------------------------------

create table public.conversation_reads (
    organization_id uuid not null references public.organizations (id) on delete cascade,
    conversation_id uuid not null references public.conversations (id) on delete cascade,
    user_id uuid not null references public.profiles (id) on delete cascade,
    last_read_at timestamptz not null default now(),
    primary key (conversation_id, user_id)
);

comment on table public.conversation_reads is
    'Where each member stopped reading a conversation: unread = inbound messages after last_read_at.';

create index conversation_reads_user_id_idx on public.conversation_reads (user_id);
create index conversation_reads_organization_id_idx on public.conversation_reads (organization_id);

-- The organization is the conversation's, whatever a client sends: a read position can
-- never be filed under another tenant.
create function private.tg_conversation_reads__set_organization() returns trigger
    language plpgsql
    stable
    security definer
    set search_path = pg_catalog
as $$
begin
    new.organization_id := (
        select organization_id from public.conversations where id = new.conversation_id
    );
    return new;
end;
$$;

create trigger tg_conversation_reads__set_organization
    before insert or update of conversation_id, organization_id on public.conversation_reads
    for each row execute function private.tg_conversation_reads__set_organization();

alter table public.conversation_reads enable row level security;

create policy "Members can read their own read positions"
    on public.conversation_reads for select to authenticated
    using (user_id = (select auth.uid()));

create policy "Members can record their own read positions"
    on public.conversation_reads for insert to authenticated
    with check (
        user_id = (select auth.uid())
        and organization_id in (select private.organizations_of_caller())
    );

create policy "Members can move their own read positions"
    on public.conversation_reads for update to authenticated
    using (user_id = (select auth.uid()))
    with check (
        user_id = (select auth.uid())
        and organization_id in (select private.organizations_of_caller())
    );

revoke all on table public.conversation_reads from anon, authenticated;
grant select on table public.conversation_reads to authenticated;
grant insert (conversation_id, user_id, last_read_at)
    on table public.conversation_reads to authenticated;
grant update (last_read_at) on table public.conversation_reads to authenticated;

-- Realtime: changes announce themselves -------------------------------------------------

-- Status, assignee and AI switch changes reach the team's open inboxes, whoever made
-- them (a member through the API, the AI handing off, a job closing idle conversations).
-- One event per kind of change; payloads carry ids only.
create function private.tg_conversations__publish_changes() returns trigger
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    payload jsonb := jsonb_build_object('conversation_id', new.id);
begin
    if new.status is distinct from old.status then
        perform private.publish_event(
            new.organization_id,
            case when new.status = 'handoff' then 'conversation.handed_off'
                 else 'conversation.status_changed' end,
            payload
        );
    end if;
    if new.assignee_id is distinct from old.assignee_id then
        perform private.publish_event(new.organization_id, 'conversation.assigned', payload);
    end if;
    if new.ai_enabled is distinct from old.ai_enabled then
        perform private.publish_event(new.organization_id, 'conversation.ai_changed', payload);
    end if;
    return null;
end;
$$;

create trigger tg_conversations__publish_changes
    after update of status, assignee_id, ai_enabled on public.conversations
    for each row execute function private.tg_conversations__publish_changes();

-- Delivery progress (sent, delivered, read, failed) and a send flagged "delivery unknown"
-- without a change of status show in open conversations. This trigger is the one place
-- that announces a change of a message (once: subscribers got MESSAGE_UPDATED twice when
-- the send pipeline announced its changes too, and each NOTIFY serialises commits).
create function private.tg_messages__publish_changes() returns trigger
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
begin
    if new.status is distinct from old.status
        or new.is_error is distinct from old.is_error
        or new.error_code is distinct from old.error_code then
        perform private.publish_event(
            new.organization_id,
            'message.updated',
            jsonb_build_object('conversation_id', new.conversation_id, 'message_id', new.id)
        );
    end if;
    return null;
end;
$$;

create trigger tg_messages__publish_changes
    after update of status, is_error, error_code on public.messages
    for each row execute function private.tg_messages__publish_changes();

-- A team member's reply ---------------------------------------------------------------

-- Queues a member's message (same send job and WhatsApp rules as every outbound
-- message) and pauses the bot in that conversation: a human has taken over. Runs as its
-- owner to reach the queue, so it checks membership itself, through auth.uid().
--
-- Refusals are results, not errors: outcome is 'queued' (with message_id), or
-- 'not_found' (no such conversation, or not the caller's), 'invalid_body',
-- 'conversation_closed', 'contact_opted_out', 'outside_customer_service_window'.
create function public.send_member_message_v1(conversation_id uuid, body text)
    returns table (outcome text, message_id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    caller uuid := auth.uid();
    the_conversation public.conversations;
    new_message_id uuid;
    refusal text;
begin
    select * into the_conversation from public.conversations as c
    where c.id = send_member_message_v1.conversation_id;
    if not found or caller is null or not exists (
        select from public.memberships
        where organization_id = the_conversation.organization_id and user_id = caller
    ) then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;

    -- WhatsApp's limit for a free-form message.
    if body is null or btrim(body) = '' or char_length(body) > 4096 then
        return query select 'invalid_body'::text, null::uuid;
        return;
    end if;

    begin
        new_message_id := private.queue_outbound_message(
            conversation_id => the_conversation.id,
            author => 'member',
            body => body,
            author_member_id => caller
        );
    exception when check_violation then
        get stacked diagnostics refusal = constraint_name;
        if refusal in ('conversation_closed', 'contact_opted_out',
                       'outside_customer_service_window') then
            return query select refusal, null::uuid;
            return;
        end if;
        raise;
    end;

    update public.conversations set ai_enabled = false
    where id = the_conversation.id and ai_enabled;

    return query select 'queued'::text, new_message_id;
end;
$$;

comment on function public.send_member_message_v1 is
    'A team member''s reply: queued with its send job under the WhatsApp rules; pauses the AI in the conversation.';

