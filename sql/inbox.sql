-- The team's inbox (the GraphQL API): conversations, contacts, messages, usage and
-- takeover. (sql/conversations.sql holds what the reply job and the upkeep read.)
-- Every query runs as the caller (role authenticated), so RLS decides what comes back;
-- none of them filters by membership itself.
--
-- Pages are keyset-paginated: the first page passes a keyset that sorts before every
-- row (see atende.graphql.pagination.NEWEST), so one query text serves every page and
-- the row comparison is always an index condition.
--
-- Lookups by a batch of ids that would otherwise be planned at every execution read
-- their array through a scalar subquery, `(select %(ids)s::uuid[])`: Postgres then plans
-- without the array's length, for the prepared statement's generic plan and a custom
-- plan alike, and keeps the generic one. Given the array itself, a custom plan for the
-- usual batch of one id always looked cheaper than the generic plan (costed for an array
-- of unknown length), so every execution was planned afresh: for a conversation's page,
-- half of its database time.

-- name: inbox_page
-- One page of an organization's conversations by last activity (conversations_inbox_idx),
-- each with its contact (contact__*) and newest message (last_message__*): what every
-- inbox shows, in the same round trip (private.inbox_entries, a view read as the caller).
-- The API primes its DataLoaders with them.
select c.*
from private.inbox_entries as c
where c.organization_id = %(organization_id)s
  and (c.last_message_at, c.id) < (%(after_at)s, %(after_id)s)
  and c.status = any(%(statuses)s::public.conversation_status[])
  and (%(assignee_id)s::uuid is null or c.assignee_id = %(assignee_id)s::uuid)
  and (not %(unassigned)s or c.assignee_id is null)
  and (%(ai_enabled)s::boolean is null or c.ai_enabled = %(ai_enabled)s::boolean)
  and (not %(unread)s or exists (
      select from public.messages as m
      where m.conversation_id = c.id
        and m.direction = 'inbound'
        and m.created_at > coalesce(
            (select r.last_read_at from public.conversation_reads as r
             where r.conversation_id = c.id and r.user_id = (select auth.uid())),
            '-infinity')
  ))
order by c.last_message_at desc, c.id desc
limit %(limit)s;

-- name: inbox_search_page
-- inbox_page, narrowed to conversations whose contact's name or number, or any of
-- whose messages (their text or their voice notes' transcripts), match: each side is a
-- trigram index scan (contacts_search_idx, messages_body_search_idx,
-- messages_transcript_search_idx), hashed and probed while walking the inbox index.
select c.*
from private.inbox_entries as c
where c.organization_id = %(organization_id)s
  and (c.last_message_at, c.id) < (%(after_at)s, %(after_id)s)
  and c.status = any(%(statuses)s::public.conversation_status[])
  and (%(assignee_id)s::uuid is null or c.assignee_id = %(assignee_id)s::uuid)
  and (not %(unassigned)s or c.assignee_id is null)
  and (%(ai_enabled)s::boolean is null or c.ai_enabled = %(ai_enabled)s::boolean)
  and (not %(unread)s or exists (
      select from public.messages as m
      where m.conversation_id = c.id
        and m.direction = 'inbound'
        and m.created_at > coalesce(
            (select r.last_read_at from public.conversation_reads as r
             where r.conversation_id = c.id and r.user_id = (select auth.uid())),
            '-infinity')
  ))
  and (
      c.contact_id in (
          select ct.id from public.contacts as ct
          where ct.organization_id = %(organization_id)s
            and (coalesce(ct.display_name, '') || ' ' || coalesce(ct.profile_name, '') || ' '
                 || ct.phone_number) ilike %(pattern)s
      )
      or c.id in (
          select m.conversation_id from public.messages as m
          where m.organization_id = %(organization_id)s and m.body ilike %(pattern)s
      )
      or c.id in (
          select m.conversation_id from public.messages as m
          where m.organization_id = %(organization_id)s and m.transcript ilike %(pattern)s
      )
  )
order by c.last_message_at desc, c.id desc
limit %(limit)s;

-- name: inbox_count
select count(*) as total
from public.conversations as c
where c.organization_id = %(organization_id)s
  and c.status = any(%(statuses)s::public.conversation_status[])
  and (%(assignee_id)s::uuid is null or c.assignee_id = %(assignee_id)s::uuid)
  and (not %(unassigned)s or c.assignee_id is null)
  and (%(ai_enabled)s::boolean is null or c.ai_enabled = %(ai_enabled)s::boolean)
  and (not %(unread)s or exists (
      select from public.messages as m
      where m.conversation_id = c.id
        and m.direction = 'inbound'
        and m.created_at > coalesce(
            (select r.last_read_at from public.conversation_reads as r
             where r.conversation_id = c.id and r.user_id = (select auth.uid())),
            '-infinity')
  ));

-- name: inbox_search_count
select count(*) as total
from public.conversations as c
where c.organization_id = %(organization_id)s
  and c.status = any(%(statuses)s::public.conversation_status[])
  and (%(assignee_id)s::uuid is null or c.assignee_id = %(assignee_id)s::uuid)
  and (not %(unassigned)s or c.assignee_id is null)
  and (%(ai_enabled)s::boolean is null or c.ai_enabled = %(ai_enabled)s::boolean)
  and (not %(unread)s or exists (
      select from public.messages as m
      where m.conversation_id = c.id
        and m.direction = 'inbound'
        and m.created_at > coalesce(
            (select r.last_read_at from public.conversation_reads as r
             where r.conversation_id = c.id and r.user_id = (select auth.uid())),
            '-infinity')
  ))
  and (
      c.contact_id in (
          select ct.id from public.contacts as ct
          where ct.organization_id = %(organization_id)s
            and (coalesce(ct.display_name, '') || ' ' || coalesce(ct.profile_name, '') || ' '
                 || ct.phone_number) ilike %(pattern)s
      )
      or c.id in (
          select m.conversation_id from public.messages as m
          where m.organization_id = %(organization_id)s and m.body ilike %(pattern)s
      )
      or c.id in (
          select m.conversation_id from public.messages as m
          where m.organization_id = %(organization_id)s and m.transcript ilike %(pattern)s
      )
  );

-- name: conversations_by_id
-- With each one's contact and newest message, as the inbox has them: whoever asks for a
-- conversation shows those too, and they come in this round trip. The ids through a
-- subquery (see the top of this file), cast so that `any` reads an array, not a subquery.
select c.*
from private.inbox_entries as c
where c.id = any((select %(ids)s::uuid[])::uuid[]);

-- name: contacts_by_id
select id, organization_id, phone_number, profile_name, display_name, opted_out_at,
       last_inbound_at, created_at
from public.contacts
where id = any(%(ids)s::uuid[]);

-- name: channels_by_id
select id, organization_id, kind, phone_number, display_name, twilio_account_sid, enabled,
       created_at, updated_at
from public.channels
where id = any(%(ids)s::uuid[]);

-- name: messages_by_id
-- Messages come with `media` as JSON text: the API parses it only for clients that ask.
select id, organization_id, conversation_id, direction, author, author_member_id, body,
       media::text as media, status, error_code, error_message, is_error, created_at,
       updated_at, transcript, private.message_location(metadata)::text as location
from public.messages
where id = any(%(ids)s::uuid[]);

-- name: messages_older
-- For each conversation, up to `limit` messages older than the keyset, newest first
-- (messages_conversation_created_idx). The first page passes NEWEST; lastMessage is
-- the first page with limit 1.
select m.id, m.organization_id, m.conversation_id, m.direction, m.author,
       m.author_member_id, m.body, m.media::text as media, m.status, m.error_code, m.error_message,
       m.is_error, m.created_at, m.updated_at, m.transcript,
       private.message_location(m.metadata)::text as location
from unnest((select %(conversation_ids)s::uuid[])) as wanted (conversation_id)
cross join lateral (
    select *
    from public.messages as m
    where m.conversation_id = wanted.conversation_id
      and (m.created_at, m.id) < (%(at)s, %(id)s)
    order by m.created_at desc, m.id desc
    limit %(limit)s
) as m;

-- name: messages_newer
-- For each conversation, up to `limit` messages just newer than the keyset, oldest
-- first (the caller reverses them): catching up after a cursor.
select m.id, m.organization_id, m.conversation_id, m.direction, m.author,
       m.author_member_id, m.body, m.media::text as media, m.status, m.error_code, m.error_message,
       m.is_error, m.created_at, m.updated_at, m.transcript,
       private.message_location(m.metadata)::text as location
from unnest((select %(conversation_ids)s::uuid[])) as wanted (conversation_id)
cross join lateral (
    select *
    from public.messages as m
    where m.conversation_id = wanted.conversation_id
      and (m.created_at, m.id) > (%(at)s, %(id)s)
    order by m.created_at, m.id
    limit %(limit)s
) as m;

-- name: unread_counts
-- Inbound messages after the caller's last read of each conversation, counted up to
-- 100 (clients show "99+"): the inbox costs the same however long a thread went unread.
select wanted.conversation_id,
       (select count(*)
        from (select
              from public.messages as m
              where m.conversation_id = wanted.conversation_id
                and m.direction = 'inbound'
                and m.created_at > coalesce(r.last_read_at, '-infinity')
              limit 100) as unread_messages) as unread
from unnest((select %(conversation_ids)s::uuid[])) as wanted (conversation_id)
left join public.conversation_reads as r
    on r.conversation_id = wanted.conversation_id and r.user_id = (select auth.uid());

-- name: contacts_page
-- One page of an organization's contacts by name (contacts_organization_name_idx), with
-- their attributes and tags: the contact list shows them, and a second statement for them
-- cost the page more than this one.
select id, organization_id, phone_number, profile_name, display_name, opted_out_at,
       last_inbound_at, created_at, attributes, tags,
       lower(coalesce(display_name, profile_name, phone_number)) as sort_key
from public.contacts
where organization_id = %(organization_id)s
  and (lower(coalesce(display_name, profile_name, phone_number)), id)
      > (%(after_key)s, %(after_id)s)
order by lower(coalesce(display_name, profile_name, phone_number)), id
limit %(limit)s;

-- name: contacts_search_page
select id, organization_id, phone_number, profile_name, display_name, opted_out_at,
       last_inbound_at, created_at, attributes, tags,
       lower(coalesce(display_name, profile_name, phone_number)) as sort_key
from public.contacts
where organization_id = %(organization_id)s
  and (lower(coalesce(display_name, profile_name, phone_number)), id)
      > (%(after_key)s, %(after_id)s)
  and (coalesce(display_name, '') || ' ' || coalesce(profile_name, '') || ' ' || phone_number)
      ilike %(pattern)s
order by lower(coalesce(display_name, profile_name, phone_number)), id
limit %(limit)s;

-- name: contacts_count
select count(*) as total
from public.contacts
where organization_id = %(organization_id)s;

-- name: contacts_search_count
select count(*) as total
from public.contacts
where organization_id = %(organization_id)s
  and (coalesce(display_name, '') || ' ' || coalesce(profile_name, '') || ' ' || phone_number)
      ilike %(pattern)s;

-- name: usage
-- An organization's usage over [from, to), from public.usage_counters (kept when messages
-- expire or a contact is erased): every UTC hour that overlaps the period, on
-- usage_counters_organization_hour_idx. Aggregates without GROUP BY: always one row.
select count(distinct u.conversation_id) filter (where u.messages_in + u.messages_out > 0)
           ::integer as conversations,
       coalesce(sum(u.messages_in), 0)::integer as messages_in,
       coalesce(sum(u.messages_out), 0)::integer as messages_out,
       coalesce(sum(u.ai_replies), 0)::integer as ai_replies,
       coalesce(sum(u.fallbacks), 0)::integer as fallbacks,
       coalesce(sum(u.tokens_in), 0)::bigint as tokens_in,
       coalesce(sum(u.tokens_out), 0)::bigint as tokens_out
from public.usage_counters as u
where u.organization_id = %(organization_id)s
  and u.hour >= date_bin(interval '1 hour', %(from)s, timestamptz '2000-01-01 00:00:00+00')
  and u.hour < %(to)s;

-- name: send_member_message
select outcome, message_id
from public.send_member_message_v2(%(conversation_id)s, %(body)s, %(media)s::jsonb);

-- name: conversation_channel
-- The conversation's organization and channel kind, when the caller may see it.
select c.organization_id, ch.kind::text as channel_kind
from public.conversations as c
join public.channels as ch on ch.id = c.channel_id
where c.id = %(conversation_id)s;

-- name: set_conversation_ai
-- Switching the AI back on hands a conversation the AI had handed off back to it.
update public.conversations
set ai_enabled = %(enabled)s,
    status = case when %(enabled)s and status = 'handoff' then 'open'::public.conversation_status
                  else status end
where id = %(conversation_id)s
returning id;

-- name: assign_conversation
update public.conversations
set assignee_id = %(assignee_id)s
where id = %(conversation_id)s
returning id;

-- name: close_conversation
update public.conversations
set status = 'closed', closed_at = coalesce(closed_at, now())
where id = %(conversation_id)s
returning id;

-- name: reopen_conversation
-- Reopening a conversation that is not closed changes nothing. A second open
-- conversation with the same contact on the same channel is refused by
-- conversations_active_channel_contact_key.
update public.conversations
set status = case when status = 'closed' then 'open'::public.conversation_status
                  else status end,
    closed_at = null
where id = %(conversation_id)s
returning id;

-- name: active_conversation_like
-- The conversation that is not closed, with the same channel and contact as another.
select active.id
from public.conversations as c
join public.conversations as active
    on active.channel_id = c.channel_id and active.contact_id = c.contact_id
   and active.status <> 'closed'
where c.id = %(conversation_id)s;

-- name: mark_conversation_read
-- A person's read position; an API key (no profile of its own) has none: nothing found.
-- The conflict target is the primary key, organization_id last (migration
-- 20261207002100_tenant_keys): a trigger sets it from the conversation before the check.
insert into public.conversation_reads (conversation_id, user_id, last_read_at)
select c.id, (select auth.uid()), now()
from public.conversations as c
where c.id = %(conversation_id)s
  and exists (select from public.profiles as p where p.id = (select auth.uid()))
on conflict (conversation_id, user_id, organization_id) do update
    set last_read_at = greatest(public.conversation_reads.last_read_at, excluded.last_read_at)
returning conversation_id;
