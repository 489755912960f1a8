-- public.messages partitioned by month (issue 21, "data that grows for years").
--
-- Messages are most of the database, and they only grow: a busy organization writes
-- millions a year. Partitioned by range on created_at, one partition a month, the table
-- an index scan sees stays the size of a month whatever the history, retention empties
-- whole months, and an empty month is detached and dropped in a moment instead of
-- vacuumed for hours. Native declarative partitioning: the built-in maintenance below
-- (private.maintain_message_partitions, run by the conversations:maintain_message_partitions
-- job) is the one path; pg_partman, present on Supabase, could do the same (docs/operations.md).
--
-- The table is recreated and its rows moved, in this migration's one transaction
-- (rename the old one away, create the partitioned one, copy, drop the old one), with
-- every index, trigger, policy, grant and comment it had.
--
-- Decisions, and why:
--
-- * The key is (id, organization_id, created_at). A primary key or unique index of a
--   partitioned table must include the partition key; id comes first so a lookup by id
--   alone still has an index (one probe per partition: the send job, media and
--   transcription jobs name a message by id, and probing a month's index is cheap, but
--   it is per partition, so the hot paths that know created_at pass it); organization_id
--   is in it because every tenant table's key includes the organization (Citus,
--   docs/scaling.md).
--
-- * The foreign keys that pointed at messages(id) (ai_runs, scheduled_messages and
--   broadcast_recipients: message_id, on delete set null) are dropped rather than
--   widened to the whole key: widening them would give three tables two more columns
--   each, written by every function that records a message, for a link that is only
--   ever read by id. What they did on delete (set null) is kept by the statement
--   trigger tg_messages__forget, which also forgets the message's sid (below); the
--   functions that write message_id write the id of the message they just inserted, in
--   the same transaction, so nothing dangles on insert.
--
-- * Webhook idempotency. A unique index cannot span partitions unless it includes
--   created_at, and a repeated delivery of a message (Twilio retries; two API processes
--   receive one webhook twice) arrives later, possibly in the next month. So the judge
--   moves to a small non-partitioned table keyed by the sid, private.message_sids, whose
--   primary key (still named messages_message_sid_key) is the one place a sid can exist
--   once. A trigger on messages claims the sid as the row goes in, in the same
--   statement: a concurrent duplicate waits on the key and gets unique_violation, as it
--   did with the old index, whichever partitions the two rows would go to. Ingest
--   catches it, as before, and answers "duplicate" with the stored message, found
--   through message_sids with its created_at so the lookup prunes to one partition; the
--   status callbacks that name only a sid go the same way. Outbound messages claim
--   their sid when Twilio answers (record_message_status_v1 sets metadata.message_sid,
--   and the same trigger runs on update). The rows go with their messages (retention,
--   erasure, an organization deleted: tg_messages__forget).
--   The broadcast guarantee (one message per broadcast and contact) had the same kind of
--   index; it moves the same way, to private.message_broadcast_recipients, whose key
--   keeps its name (messages_broadcast_recipient_key).
--
-- * Partitions live in the schema `partitions`, which no client role may use:
--   Supabase's default privileges grant every new table in public to anon and
--   authenticated, and a partition read directly skips its parent's row-level security.
--   They are reached only through public.messages.
--
-- * No DEFAULT partition (it would stop Postgres from reading partitions in date order:
--   see below); instead two open-ended range partitions, messages_before and
--   messages_after, catch a row older than the first month (a message imported with an
--   old date) or beyond the months made ahead (the job not having run for months), so an
--   insert never fails; the maintenance moves the latter into their month's partition
--   when it makes it.

create schema partitions;
revoke all on schema partitions from public;
comment on schema partitions is
    'The partitions of public.messages (one a month, and messages_before and messages_after around them); reached only through public.messages, never directly: no client role may use this schema.';

-- What depends on the old table's row type or reads it, recreated below.
drop view private.inbox_entries;
drop function private.announce_message_change(public.messages);
drop function private.webhook_message_data(public.messages);
drop function private.fail_outbound_message(uuid, text, text, public.message_status);

alter table public.ai_runs drop constraint ai_runs_message_id_fkey;
alter table public.scheduled_messages drop constraint scheduled_messages_message_id_fkey;
alter table public.broadcast_recipients drop constraint broadcast_recipients_message_id_fkey;

-- The old table, out of the way (its indexes go with it, freeing their names; the two
-- unique ones' names are the judges' keys below).
drop index public.messages_message_sid_key, public.messages_broadcast_recipient_key;
alter table public.messages set schema private;
alter table private.messages rename to messages_unpartitioned;

create table public.messages (
    id uuid not null default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    conversation_id uuid not null references public.conversations (id) on delete cascade,
    direction public.message_direction not null,
    author public.message_author not null,
    author_member_id uuid references public.profiles (id) on delete set null,
    body text not null default '',
    media jsonb not null default '[]',
    status public.message_status not null,
    error_code text,
    error_message text,
    is_error boolean not null default false,
    metadata jsonb not null default '{}',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    transcript text,
    constraint messages_pkey primary key (id, organization_id, created_at),
    constraint messages_body_length check (char_length(body) <= 10000),
    constraint messages_inbound_from_contact
        check ((direction = 'inbound') = (author = 'contact')),
    constraint messages_media_is_array check (jsonb_typeof(media) = 'array'),
    constraint messages_member_author check (author_member_id is null or author = 'member'),
    constraint messages_metadata_is_object check (jsonb_typeof(metadata) = 'object'),
    constraint messages_transcript_length check (char_length(transcript) <= 20000)
) partition by range (created_at);

comment on table public.messages is
    'Every message of a conversation, inbound and outbound. Partitioned by month on created_at (partitions in the schema partitions, made and dropped by private.maintain_message_partitions); its key is (id, organization_id, created_at); a sid is unique through private.message_sids.';
comment on column public.messages.transcript is
    'What the customer''s voice notes in this message say (their transcripts, in order); null when it has none transcribed.';

-- The partitions: one a month from the oldest row's month (or this month) to three months
-- ahead, and two open-ended ones around them, messages_before (MINVALUE to the first
-- month) and messages_after (the month after the last to MAXVALUE), so every created_at
-- has a partition and an insert never fails for a month without one. Ranges rather than
-- a DEFAULT partition: with a default partition (which may hold any date) Postgres cannot
-- scan the partitions in created_at order, so "a conversation's newest message" (the
-- inbox, a conversation's page) became a Merge Append probing every partition's index;
-- with ranges alone it is an ordered Append that stops at the newest partition holding
-- one, however many months exist behind it.
do $$
declare
    this_month timestamp := date_trunc('month', now() at time zone 'UTC');
    month timestamp;
begin
    select least(this_month, min(date_trunc('month', m.created_at at time zone 'UTC')))
    into month
    from private.messages_unpartitioned as m;
    execute format('create table partitions.messages_before partition of public.messages'
                   ' for values from (minvalue) to (%L)', month at time zone 'UTC');
    while month <= this_month + interval '3 months' loop
        execute format('create table partitions.%I partition of public.messages'
                       ' for values from (%L) to (%L)',
                       'messages_' || to_char(month, 'YYYY_MM'), month at time zone 'UTC',
                       (month + interval '1 month') at time zone 'UTC');
        month := month + interval '1 month';
    end loop;
    execute format('create table partitions.messages_after partition of public.messages'
                   ' for values from (%L) to (maxvalue)', month at time zone 'UTC');
end;
$$;

-- The copy (before the triggers exist: these messages were counted, announced and
-- fetched when they arrived).
insert into public.messages (id, organization_id, conversation_id, direction, author,
                             author_member_id, body, media, status, error_code, error_message,
                             is_error, metadata, created_at, updated_at, transcript)
select id, organization_id, conversation_id, direction, author, author_member_id, body, media,
       status, error_code, error_message, is_error, metadata, created_at, updated_at,
       transcript
from private.messages_unpartitioned;

-- The indexes (each partition gets its own).
create index messages_conversation_created_idx
    on public.messages (conversation_id, created_at desc, id desc);
create index messages_organization_created_idx on public.messages (organization_id, created_at);
create index messages_body_search_idx on public.messages
    using gin (body extensions.gin_trgm_ops) with (gin_pending_list_limit = 256);
create index messages_transcript_search_idx on public.messages
    using gin (transcript extensions.gin_trgm_ops) with (gin_pending_list_limit = 256)
    where transcript is not null;

-- The judges.
create table private.message_sids (
    message_sid text not null,
    organization_id uuid not null references public.organizations (id) on delete cascade,
    message_id uuid not null,
    message_created_at timestamptz not null,
    constraint messages_message_sid_key primary key (message_sid)
);

comment on table private.message_sids is
    'Each Twilio message sid Atende stored (inbound, and outbound once Twilio accepted the first part), once: the webhook idempotency judge across partitions of public.messages (a unique index there would have to include created_at). Claimed by the trigger tg_messages__claim_keys in the statement that stores the message; gone with it (tg_messages__forget). Lookups by sid read message_created_at to reach one partition.';

create table private.message_broadcast_recipients (
    broadcast_recipient text not null,
    organization_id uuid not null references public.organizations (id) on delete cascade,
    message_id uuid not null,
    message_created_at timestamptz not null,
    constraint messages_broadcast_recipient_key primary key (broadcast_recipient)
);

comment on table private.message_broadcast_recipients is
    'One message per broadcast and contact (metadata.broadcast_recipient, "<broadcast>:<contact>"), whatever happens to the broadcast job: the judge public.messages cannot hold across partitions. Claimed and forgotten with the message, as private.message_sids.';

revoke all on table private.message_sids, private.message_broadcast_recipients
    from public, anon, authenticated;
grant select on table private.message_sids, private.message_broadcast_recipients to service_role;

insert into private.message_sids (message_sid, organization_id, message_id, message_created_at)
select metadata ->> 'message_sid', organization_id, id, created_at
from public.messages where metadata ? 'message_sid';
insert into private.message_broadcast_recipients (broadcast_recipient, organization_id,
                                                  message_id, message_created_at)
select metadata ->> 'broadcast_recipient', organization_id, id, created_at
from public.messages where metadata ? 'broadcast_recipient';

-- A sid (or broadcast recipient) already held by another message raises unique_violation
-- on the judge's key, as the unique index on messages did; one held by this same message
-- (its created_at changed, or an update moved it to another partition) is brought up to
-- date.
create function private.tg_messages__claim_keys()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog
as $$
begin
    if tg_op = 'UPDATE' then
        delete from private.message_sids as s
        where s.message_sid = old.metadata ->> 'message_sid' and s.message_id = old.id
          and (old.metadata ->> 'message_sid') is distinct from (new.metadata ->> 'message_sid');
        delete from private.message_broadcast_recipients as b
        where b.broadcast_recipient = old.metadata ->> 'broadcast_recipient'
          and b.message_id = old.id
          and (old.metadata ->> 'broadcast_recipient')
              is distinct from (new.metadata ->> 'broadcast_recipient');
    end if;
    if new.metadata ? 'message_sid' then
        insert into private.message_sids as s (message_sid, organization_id, message_id,
                                               message_created_at)
        values (new.metadata ->> 'message_sid', new.organization_id, new.id, new.created_at)
        on conflict (message_sid) do update
            set organization_id = excluded.organization_id,
                message_created_at = excluded.message_created_at
            where s.message_id = excluded.message_id;
        if not found then
            raise unique_violation using
                message = format('duplicate key value violates unique constraint "%s"',
                                 'messages_message_sid_key'),
                detail = format('Key (message_sid)=(%s) already exists.',
                                new.metadata ->> 'message_sid'),
                constraint = 'messages_message_sid_key',
                schema = 'private', table = 'message_sids';
        end if;
    end if;
    if new.metadata ? 'broadcast_recipient' then
        insert into private.message_broadcast_recipients as b (broadcast_recipient,
                                                              organization_id, message_id,
                                                              message_created_at)
        values (new.metadata ->> 'broadcast_recipient', new.organization_id, new.id,
                new.created_at)
        on conflict (broadcast_recipient) do update
            set organization_id = excluded.organization_id,
                message_created_at = excluded.message_created_at
            where b.message_id = excluded.message_id;
        if not found then
            raise unique_violation using
                message = format('duplicate key value violates unique constraint "%s"',
                                 'messages_broadcast_recipient_key'),
                constraint = 'messages_broadcast_recipient_key',
                schema = 'private', table = 'message_broadcast_recipients';
        end if;
    end if;
    return new;
end;
$$;

comment on function private.tg_messages__claim_keys() is
    'Claims a message''s sid (private.message_sids) and broadcast recipient (private.message_broadcast_recipients) as it is stored or changed: unique_violation when another message holds either.';

-- What the dropped foreign keys did (on delete set null), and the judges' rows, for every
-- statement that deletes messages (retention, erasure's cascade, an organization's).
create function private.tg_messages__forget()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog
as $$
begin
    delete from private.message_sids as s using gone as g
    where s.message_sid = g.metadata ->> 'message_sid' and s.message_id = g.id;
    delete from private.message_broadcast_recipients as b using gone as g
    where b.broadcast_recipient = g.metadata ->> 'broadcast_recipient' and b.message_id = g.id;
    update public.ai_runs as r set message_id = null from gone as g where r.message_id = g.id;
    update public.scheduled_messages as s set message_id = null
    from gone as g where s.message_id = g.id;
    update public.broadcast_recipients as r set message_id = null
    from gone as g where r.message_id = g.id;
    return null;
end;
$$;

comment on function private.tg_messages__forget() is
    'After messages are deleted: their sids and broadcast keys are forgotten, and the AI runs, scheduled messages and broadcast recipients that named them keep the row with message_id null (the foreign keys'' on delete set null, which a partitioned key made too wide to keep).';

revoke all on function private.tg_messages__claim_keys() from public;
revoke all on function private.tg_messages__forget() from public;

-- The triggers the old table had, and the new ones.
create trigger tg_messages__claim_keys
    before insert on public.messages
    for each row when (new.metadata ? 'message_sid' or new.metadata ? 'broadcast_recipient')
    execute function private.tg_messages__claim_keys();
create trigger tg_messages__claim_keys_on_update
    before update of metadata, created_at, organization_id on public.messages
    for each row when ((old.metadata ->> 'message_sid') is distinct from (new.metadata ->> 'message_sid')
                       or (old.metadata ->> 'broadcast_recipient')
                          is distinct from (new.metadata ->> 'broadcast_recipient')
                       or ((new.metadata ? 'message_sid' or new.metadata ? 'broadcast_recipient')
                           and (old.created_at, old.organization_id)
                               is distinct from (new.created_at, new.organization_id)))
    execute function private.tg_messages__claim_keys();
create trigger tg_messages__forget
    after delete on public.messages
    referencing old table as gone
    for each statement execute function private.tg_messages__forget();

create trigger tg_messages__count_usage after insert on public.messages
    for each row execute function private.tg_messages__count_usage();
create trigger tg_messages__count_usage_change after update of is_error on public.messages
    for each row when (old.is_error is distinct from new.is_error and new.author = 'ai')
    execute function private.tg_messages__count_usage();
create trigger tg_messages__fetch_media after insert on public.messages
    for each row when (new.direction = 'inbound' and new.media <> '[]'::jsonb)
    execute function private.tg_messages__fetch_media();
create trigger tg_messages__media_changed after update of media on public.messages
    for each row when (new.direction = 'inbound' and new.media is distinct from old.media)
    execute function private.tg_messages__media_changed();
create trigger tg_messages__publish_changes after update of status, is_error, error_code
    on public.messages
    for each row execute function private.tg_messages__publish_changes();
create trigger tg_messages__set_updated_at before update on public.messages
    for each row execute function private.tg__set_updated_at();
create trigger tg_messages__webhook_events_on_insert after insert on public.messages
    for each row when (new.direction = 'inbound')
    execute function private.tg_messages__webhook_events();
create trigger tg_messages__webhook_events_on_update after update of status on public.messages
    for each row when (new.direction = 'outbound' and new.status is distinct from old.status)
    execute function private.tg_messages__webhook_events();

-- Row-level security and grants, as before (and nothing for the client roles beyond it,
-- whatever the project's default privileges gave the new table).
alter table public.messages enable row level security;
create policy "Members can read their organizations' messages" on public.messages
    for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));
revoke all on table public.messages from public, anon, authenticated, service_role;
grant all on table public.messages to service_role;
grant select on table public.messages to authenticated;

drop table private.messages_unpartitioned;

-- The functions and the view that depended on the old row type, as they were.
create function private.announce_message_change(the_message public.messages) returns void
language plpgsql immutable
as $$
begin
    -- The trigger tg_messages__publish_changes announces the change.
    null;
end;
$$;

comment on function private.announce_message_change(public.messages) is
    'Does nothing: the trigger tg_messages__publish_changes announces every change of a message (kept for its callers).';

create function private.fail_outbound_message(message_id uuid, error_code text,
                                              error_message text,
                                              status public.message_status default 'failed')
returns public.messages
language plpgsql
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

create function private.webhook_message_data(m public.messages) returns jsonb
language sql
stable
security definer
set search_path = pg_catalog
as $$
    select jsonb_build_object(
        'message', jsonb_build_object(
            'id', m.id, 'conversation_id', m.conversation_id, 'direction', m.direction,
            'author', m.author, 'body', m.body, 'media', m.media, 'status', m.status,
            'error_code', m.error_code, 'created_at', m.created_at
        ),
        'contact', (select jsonb_build_object('id', ct.id, 'phone_number', ct.phone_number,
                                              'name', coalesce(ct.display_name, ct.profile_name))
                    from public.conversations as c
                    join public.contacts as ct on ct.id = c.contact_id
                    where c.id = m.conversation_id)
    )
$$;

revoke all on function private.announce_message_change(public.messages) from public;
grant all on function private.announce_message_change(public.messages) to service_role;
revoke all on function private.fail_outbound_message(uuid, text, text, public.message_status)
    from public;
grant all on function private.fail_outbound_message(uuid, text, text, public.message_status)
    to service_role;
revoke all on function private.webhook_message_data(public.messages) from public;
grant all on function private.webhook_message_data(public.messages) to service_role;

create view private.inbox_entries with (security_invoker = true) as
select c.id, c.organization_id, c.channel_id, c.contact_id, c.status, c.ai_enabled,
       c.assignee_id, c.last_inbound_at, c.last_message_at, c.closed_at, c.created_at,
       c.window_expires_at,
       ct.id as contact__id,
       ct.organization_id as contact__organization_id,
       ct.phone_number as contact__phone_number,
       ct.profile_name as contact__profile_name,
       ct.display_name as contact__display_name,
       ct.opted_out_at as contact__opted_out_at,
       ct.last_inbound_at as contact__last_inbound_at,
       ct.created_at as contact__created_at,
       lm.id as last_message__id,
       lm.organization_id as last_message__organization_id,
       lm.conversation_id as last_message__conversation_id,
       lm.direction as last_message__direction,
       lm.author as last_message__author,
       lm.author_member_id as last_message__author_member_id,
       lm.body as last_message__body,
       lm.media::text as last_message__media,
       lm.status as last_message__status,
       lm.error_code as last_message__error_code,
       lm.error_message as last_message__error_message,
       lm.is_error as last_message__is_error,
       lm.created_at as last_message__created_at,
       lm.updated_at as last_message__updated_at,
       lm.transcript as last_message__transcript,
       private.message_location(lm.metadata)::text as last_message__location
from private.conversations_with_window as c
left join public.contacts as ct on ct.id = c.contact_id
left join lateral (
    select m.id, m.organization_id, m.conversation_id, m.direction, m.author,
           m.author_member_id, m.body, m.media, m.status, m.error_code, m.error_message,
           m.is_error, m.metadata, m.created_at, m.updated_at, m.transcript
    from public.messages as m
    where m.conversation_id = c.id
    order by m.created_at desc, m.id desc
    limit 1
) as lm on true;

comment on view private.inbox_entries is
    'A conversation with its contact (contact__*) and newest message (last_message__*); as the caller.';
grant select on private.inbox_entries to authenticated, service_role;
