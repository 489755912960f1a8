"""The inbox's types as the selection compiler reads them (``atende.graphql.sql_selection``).

Each declaration reads what the general path's queries read (``sql/inbox.sql``) and
gives the value its resolver gives: a conversation from ``public.conversations`` (its
WhatsApp window as ``private.conversations_with_window`` computes it), its contact, channel and
assignee by id, its newest message as ``inbox_entries`` finds it, its unread count as
``unread_counts`` counts it (up to 100); the inbox and the contact list as their pages
and counts filter them, arguments checked by the same functions (``page_size``, the
cursors' decoders, ``search_pattern``, ``normalize_tag``): a value they refuse sends the
operation down the general path, which reports it. Resolvers not declared here
(``messages``, ``media``, ``location``, ``scheduledMessages``...) keep a query on the
general path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from atende.conversations import service
from atende.conversations.contacts.service import normalize_tag
from atende.conversations.types import CONTACT_CURSOR, CONVERSATION_CURSOR
from atende.errors import InvalidInput
from atende.graphql.context import Context
from atende.graphql.errors import InvalidArgument
from atende.graphql.ids import id_or_none, parse_id
from atende.graphql.pagination import (
    NEWEST,
    InvalidCursor,
    decode_cursor,
    decode_time_cursor,
    page_size,
)
from atende.graphql.sql_selection import (
    Filter,
    Page,
    Related,
    SqlType,
    Value,
    sql_cursor,
    sql_datetime,
    sql_enum,
    sql_id,
)

CONTACT = SqlType(
    {
        "id": Value(sql_id("{row}.id")),
        "phoneNumber": Value("{row}.phone_number"),
        "displayName": Value("{row}.display_name"),
        "profileName": Value("{row}.profile_name"),
        "optedOutAt": Value(sql_datetime("{row}.opted_out_at")),
        "lastInboundAt": Value(sql_datetime("{row}.last_inbound_at")),
        "createdAt": Value(sql_datetime("{row}.created_at")),
        # Contact.from_row: display_name or profile_name or phone_number (Python's `or`
        # passes over empty text too).
        "name": Value(
            "coalesce(nullif({row}.display_name, ''), nullif({row}.profile_name, ''),"
            " {row}.phone_number)"
        ),
        "optedOut": Value("({row}.opted_out_at is not null)"),
        "attributes": Value("{row}.attributes"),
        "tags": Value("to_json({row}.tags)"),
    }
)

MESSAGE = SqlType(
    {
        "id": Value(sql_id("{row}.id")),
        "conversationId": Value(sql_id("{row}.conversation_id")),
        "direction": Value(sql_enum("{row}.direction")),
        "author": Value(sql_enum("{row}.author")),
        "body": Value("{row}.body"),
        "status": Value(sql_enum("{row}.status")),
        "errorCode": Value("{row}.error_code"),
        "errorMessage": Value("{row}.error_message"),
        "isError": Value("{row}.is_error"),
        "createdAt": Value(sql_datetime("{row}.created_at")),
        "updatedAt": Value(sql_datetime("{row}.updated_at")),
        "transcript": Value("{row}.transcript"),
        # Users are identity's, read as loaders.users reads them (RLS: teammates).
        "authorMember": Related(
            "from public.profiles as {alias} where {alias}.id = {row}.author_member_id"
        ),
    }
)

#: The conversation ``{row}``'s unread messages: the contact's, after the caller's read
#: position (``unread_counts``, and ``inbox_page``'s ``unread`` filter).
UNREAD_MESSAGES = """select from public.messages as m
    where m.conversation_id = {row}.id
      and m.direction = 'inbound'
      and m.created_at > coalesce(
          (select r.last_read_at from public.conversation_reads as r
           where r.conversation_id = {row}.id and r.user_id = (select auth.uid())),
          '-infinity')"""

#: As ``unread_counts``: up to 100.
UNREAD_COUNT = "(select count(*) from ({unread} limit 100) as unread_messages)".replace(
    "{unread}", UNREAD_MESSAGES
)

CONVERSATION = SqlType(
    {
        "id": Value(sql_id("{row}.id")),
        "status": Value(sql_enum("{row}.status")),
        "aiEnabled": Value("{row}.ai_enabled"),
        "lastMessageAt": Value(sql_datetime("{row}.last_message_at")),
        "lastInboundAt": Value(sql_datetime("{row}.last_inbound_at")),
        # As private.conversations_with_window computes it; read only when selected (the
        # view's join to channels cost every page row a lookup).
        "windowExpiresAt": Value(
            sql_datetime(
                "(select private.window_end(ch.kind, {row}.last_inbound_at)"
                " from public.channels as ch where ch.id = {row}.channel_id)"
            )
        ),
        "closedAt": Value(sql_datetime("{row}.closed_at")),
        "createdAt": Value(sql_datetime("{row}.created_at")),
        "unreadCount": Value(UNREAD_COUNT),
        "contact": Related("from public.contacts as {alias} where {alias}.id = {row}.contact_id"),
        "channel": Related("from public.channels as {alias} where {alias}.id = {row}.channel_id"),
        "assignee": Related("from public.profiles as {alias} where {alias}.id = {row}.assignee_id"),
        "lastMessage": Related(
            "from public.messages as {alias} where {alias}.conversation_id = {row}.id"
            " order by {alias}.created_at desc, {alias}.id desc limit 1"
        ),
    }
)


def bind_conversations(arguments: Mapping[str, Any], context: Context) -> Mapping[str, Any] | None:
    """``organization_conversations``'s arguments, checked as it checks them."""
    try:
        limit = page_size(arguments.get("first"))
        after = arguments.get("after")
        at, row_id = decode_time_cursor(CONVERSATION_CURSOR, after) if after is not None else NEWEST
        status = arguments.get("status")
        assigned_to = arguments.get("assignedTo")
        pattern = service.search_pattern(arguments.get("search"))
        assignee = parse_id(assigned_to, "assignedTo") if assigned_to is not None else None
    except (InvalidArgument, InvalidInput):
        return None
    statuses = (
        [str(getattr(item, "value", item)) for item in status] if status else service.ALL_STATUSES
    )
    return {
        "limit": limit,
        "after_at": at,
        "after_id": row_id,
        "statuses": list(statuses),
        "assignee_id": assignee,
        # A filter's parameter is None when it is off (``Filter``).
        "unassigned": True if arguments.get("unassigned") else None,
        "ai_enabled": arguments.get("aiEnabled"),
        "unread": True if arguments.get("unread") else None,
        "pattern": pattern,
    }


#: The filters of ``inbox_page`` / ``inbox_search_page`` and their counts, of ``{alias}``:
#: each in the statement only when its argument is given (``Filter``).
INBOX_FILTERS = (
    Filter("assignee_id", "and {alias}.assignee_id = %(assignee_id)s::uuid"),
    Filter("unassigned", "and {alias}.assignee_id is null"),
    Filter("ai_enabled", "and {alias}.ai_enabled = %(ai_enabled)s::boolean"),
    Filter("unread", "and exists (" + UNREAD_MESSAGES.replace("{row}", "{alias}") + ")"),
    Filter(
        "pattern",
        """and ({alias}.contact_id in (
              select ct.id from public.contacts as ct
              where ct.organization_id = {parent}.id
                and (coalesce(ct.display_name, '') || ' ' || coalesce(ct.profile_name, '')
                     || ' ' || ct.phone_number) ilike %(pattern)s::text)
          or {alias}.id in (
              select m.conversation_id from public.messages as m
              where m.organization_id = {parent}.id and m.body ilike %(pattern)s::text)
          or {alias}.id in (
              select m.conversation_id from public.messages as m
              where m.organization_id = {parent}.id and m.transcript ilike %(pattern)s::text))""",
    ),
)

ORGANIZATION_CONVERSATIONS = Page(
    source="from public.conversations as {alias}"
    " where {alias}.organization_id = {parent}.id"
    " and ({alias}.last_message_at, {alias}.id) < (%(after_at)s, %(after_id)s)"
    " and {alias}.status = any(%(statuses)s::public.conversation_status[]) {filters}",
    order="{alias}.last_message_at desc, {alias}.id desc",
    cursor=sql_cursor(
        CONVERSATION_CURSOR,
        sql_datetime("{alias}.last_message_at"),
        "replace({alias}.id::text, '-', '')",
    ),
    bind=bind_conversations,
    fields={
        "totalCount": Value(
            "(select count(*) from public.conversations as {alias}"
            " where {alias}.organization_id = {parent}.id"
            " and {alias}.status = any(%(statuses)s::public.conversation_status[]) {filters})"
        )
    },
    filters=INBOX_FILTERS,
)


def bind_contacts(arguments: Mapping[str, Any], context: Context) -> Mapping[str, Any] | None:
    """``organization_contacts``'s arguments, checked as it checks them."""
    try:
        limit = page_size(arguments.get("first"))
        after = arguments.get("after")
        key, after_id = "", UUID(int=0)
        if after is not None:
            key, raw_id = decode_cursor(CONTACT_CURSOR, after, 2)
            try:
                after_id = UUID(raw_id)
            except ValueError:
                raise InvalidCursor() from None
        pattern = service.search_pattern(arguments.get("search"))
    except InvalidArgument:
        return None
    tag = arguments.get("tag")
    return {
        "limit": limit,
        "after_key": key,
        "after_id": after_id,
        "pattern": pattern,
        "tag": normalize_tag(tag) if tag is not None else None,
    }


#: The contact list's order: ``contacts_page``'s (contacts_organization_name_idx).
CONTACT_SORT_KEY = (
    "lower(coalesce({alias}.display_name, {alias}.profile_name, {alias}.phone_number))"
)

#: ``contacts_page``, ``contacts_search_page`` and ``contacts_tag_page``'s filters.
CONTACT_FILTERS = (
    Filter("tag", "and {alias}.tags @> array[%(tag)s::text]"),
    Filter(
        "pattern",
        "and (coalesce({alias}.display_name, '') || ' ' || coalesce({alias}.profile_name, '')"
        " || ' ' || {alias}.phone_number) ilike %(pattern)s::text",
    ),
)

ORGANIZATION_CONTACTS = Page(
    source="from public.contacts as {alias} where {alias}.organization_id = {parent}.id"
    f" and ({CONTACT_SORT_KEY}, {{alias}}.id) > (%(after_key)s::text, %(after_id)s::uuid)"
    " {filters}",
    order=f"{CONTACT_SORT_KEY}, {{alias}}.id",
    cursor=sql_cursor(CONTACT_CURSOR, CONTACT_SORT_KEY, "{alias}.id::text"),
    bind=bind_contacts,
    fields={
        "totalCount": Value(
            "(select count(*) from public.contacts as {alias}"
            " where {alias}.organization_id = {parent}.id {filters})"
        )
    },
    filters=CONTACT_FILTERS,
)


def bind_by_id(arguments: Mapping[str, Any], context: Context) -> Mapping[str, Any] | None:
    """``conversation(id:)`` and ``contact(id:)``: ``load_visible``'s lookup (an id that is
    not one finds nothing; RLS hides another organization's); ``IsAuthenticated``'s
    refusal is the general path's."""
    if context.caller.user_id is None:
        return None
    return {"id": id_or_none(arguments["id"])}


#: The root fields this domain declares (``ConversationsQuery``): what
#: ``conversations_by_id`` and ``contacts_by_id`` read.
QUERY_FIELDS: Mapping[str, Related] = {
    "conversation": Related(
        "from public.conversations as {alias} where {alias}.id = %(id)s::uuid",
        bind=bind_by_id,
    ),
    "contact": Related(
        "from public.contacts as {alias} where {alias}.id = %(id)s::uuid", bind=bind_by_id
    ),
}

#: The types this domain declares, by GraphQL name.
SQL_TYPES: Mapping[str, SqlType] = {
    "Contact": CONTACT,
    "Message": MESSAGE,
    "Conversation": CONVERSATION,
}

#: ``Organization``'s fields that are this domain's (composed in ``atende.api``).
ORGANIZATION_FIELDS: Mapping[str, Page] = {
    "conversations": ORGANIZATION_CONVERSATIONS,
    "contacts": ORGANIZATION_CONTACTS,
}
