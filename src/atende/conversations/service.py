"""What the team can do with conversations: read the inbox, search, reply, take over.

Stateless functions on the caller's connection (the GraphQL operation's transaction):
RLS and the SQL functions decide who may do what; these functions turn the database's
answers into typed outcomes. Refusals are values, never exceptions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from psycopg import errors
from psycopg.types.json import Jsonb

from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.graphql.errors import InvalidArgument
from atende.graphql.pagination import NEWEST

queries = load_queries("inbox")
contact_queries = load_queries("contacts")

ALL_STATUSES = ("open", "handoff", "closed")
MIN_SEARCH_LENGTH = 3
MAX_SEARCH_LENGTH = 100
MAX_USAGE_PERIOD = timedelta(days=366)
_PHONE_LIKE = re.compile(r"[\d\s()+.-]+")


# -- reading -----------------------------------------------------------------------------


def search_pattern(search: str | None) -> str | None:
    """The ILIKE pattern for a search box's text; ``None`` for no search.

    Phone numbers are stored as E.164 (+5511987654321): a search that looks like a
    number ("(11) 98765-4321") matches by its digits. Trigram indexes need three
    characters to narrow anything, so shorter searches are refused rather than scanning.
    """
    term = (search or "").strip()
    if not term:
        return None
    if len(term) > MAX_SEARCH_LENGTH:
        raise InvalidArgument(f"`search` must be at most {MAX_SEARCH_LENGTH} characters")
    if _PHONE_LIKE.fullmatch(term) and any(char.isdigit() for char in term):
        term = "".join(char for char in term if char.isdigit())
    if len(term) < MIN_SEARCH_LENGTH:
        raise InvalidArgument(f"`search` needs at least {MIN_SEARCH_LENGTH} characters")
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class InboxFilter:
    organization_id: UUID
    statuses: tuple[str, ...] = ALL_STATUSES
    assignee_id: UUID | None = None
    unassigned: bool = False
    pattern: str | None = None
    #: Only conversations whose AI is on (True) or off (False: the team's); None: both.
    ai_enabled: bool | None = None
    #: Only conversations with messages from the contact the caller has not read.
    unread: bool = False

    def parameters(self) -> dict[str, Any]:
        return {
            "organization_id": self.organization_id,
            "statuses": list(self.statuses),
            "assignee_id": self.assignee_id,
            "unassigned": self.unassigned,
            "pattern": self.pattern,
            "ai_enabled": self.ai_enabled,
            "unread": self.unread,
        }


async def inbox_page(
    conn: Connection,
    inbox: InboxFilter,
    *,
    limit: int,
    after: tuple[datetime, UUID] | None,
) -> tuple[list[dict[str, Any]], bool]:
    """Up to ``limit`` conversations past ``after`` (newest activity first), and whether
    more follow."""
    at, row_id = after or NEWEST
    query = queries["inbox_search_page" if inbox.pattern else "inbox_page"]
    cursor = await conn.execute(
        query, {**inbox.parameters(), "after_at": at, "after_id": row_id, "limit": limit + 1}
    )
    rows = await cursor.fetchall()
    return rows[:limit], len(rows) > limit


async def count_inbox(conn: Connection, inbox: InboxFilter) -> int:
    query = queries["inbox_search_count" if inbox.pattern else "inbox_count"]
    row = await (await conn.execute(query, inbox.parameters())).fetchone()
    return int(row["total"]) if row else 0


@dataclass(frozen=True)
class ContactFilter:
    organization_id: UUID
    pattern: str | None = None
    #: Only contacts with this tag (normalised as tags are stored).
    tag: str | None = None

    def parameters(self) -> dict[str, Any]:
        return {"organization_id": self.organization_id, "pattern": self.pattern, "tag": self.tag}


async def contacts_page(
    conn: Connection,
    contacts: ContactFilter,
    *,
    limit: int,
    after: tuple[str, UUID] | None,
) -> tuple[list[dict[str, Any]], bool]:
    """Up to ``limit`` contacts by name past ``after``, and whether more follow."""
    after_key, after_id = after or ("", UUID(int=0))
    if contacts.tag is not None:
        query = contact_queries["contacts_tag_page"]
    else:
        query = queries["contacts_search_page" if contacts.pattern else "contacts_page"]
    cursor = await conn.execute(
        query,
        {**contacts.parameters(), "after_key": after_key, "after_id": after_id, "limit": limit + 1},
    )
    rows = await cursor.fetchall()
    return rows[:limit], len(rows) > limit


async def count_contacts(conn: Connection, contacts: ContactFilter) -> int:
    if contacts.tag is not None:
        query = contact_queries["contacts_tag_count"]
    else:
        query = queries["contacts_search_count" if contacts.pattern else "contacts_count"]
    row = await (await conn.execute(query, contacts.parameters())).fetchone()
    return int(row["total"]) if row else 0


async def usage(
    conn: Connection, organization_id: UUID, start: datetime, end: datetime
) -> dict[str, Any]:
    """Usage counters of ``[start, end)``, in one statement."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidArgument("`from` and `to` need a time zone (e.g. 2026-11-01T00:00:00Z)")
    if end <= start:
        raise InvalidArgument("`to` must be after `from`")
    if end - start > MAX_USAGE_PERIOD:
        raise InvalidArgument("the period can be at most 366 days long")
    cursor = await conn.execute(
        queries["usage"], {"organization_id": organization_id, "from": start, "to": end}
    )
    row = await cursor.fetchone()
    assert row is not None  # aggregates without GROUP BY always return a row
    return row


# -- taking over -------------------------------------------------------------------------


class Refusal(StrEnum):
    """Why the database refused a team action (the names its functions return)."""

    NOT_FOUND = "not_found"
    INVALID_BODY = "invalid_body"
    INVALID_ATTACHMENTS = "invalid_attachments"
    CONVERSATION_CLOSED = "conversation_closed"
    CONTACT_OPTED_OUT = "contact_opted_out"
    OUTSIDE_CUSTOMER_SERVICE_WINDOW = "outside_customer_service_window"
    ASSIGNEE_NOT_A_MEMBER = "assignee_not_a_member"
    ALREADY_OPEN = "already_open"


@dataclass(frozen=True)
class Outcome:
    """What a team action did: the conversation it changed, or why it did nothing."""

    conversation_id: UUID | None = None
    message_id: UUID | None = None
    refusal: Refusal | None = None
    #: For ALREADY_OPEN: the conversation that is open.
    other_conversation_id: UUID | None = None


async def send_member_message(
    conn: Connection,
    conversation_id: UUID,
    body: str,
    media: Sequence[Mapping[str, Any]] = (),
) -> Outcome:
    """Queue a member's reply, with files already in media storage, and pause the AI
    (``send_member_message_v2``)."""
    cursor = await conn.execute(
        queries["send_member_message"],
        {"conversation_id": conversation_id, "body": body, "media": Jsonb(list(media))},
    )
    row = await cursor.fetchone()
    assert row is not None
    if row["outcome"] == "queued":
        return Outcome(conversation_id=conversation_id, message_id=row["message_id"])
    return Outcome(refusal=Refusal(row["outcome"]))


async def conversation_channel(conn: Connection, conversation_id: UUID) -> tuple[UUID, str] | None:
    """The conversation's organization and channel kind, if the caller may see it."""
    cursor = await conn.execute(
        queries["conversation_channel"], {"conversation_id": conversation_id}
    )
    row = await cursor.fetchone()
    return (row["organization_id"], row["channel_kind"]) if row is not None else None


async def _update(conn: Connection, query_name: str, params: dict[str, Any]) -> Outcome:
    row = await (await conn.execute(queries[query_name], params)).fetchone()
    if row is None:
        return Outcome(refusal=Refusal.NOT_FOUND)
    return Outcome(conversation_id=row["id"])


async def set_ai_enabled(conn: Connection, conversation_id: UUID, enabled: bool) -> Outcome:
    return await _update(
        conn, "set_conversation_ai", {"conversation_id": conversation_id, "enabled": enabled}
    )


async def assign(conn: Connection, conversation_id: UUID, assignee_id: UUID | None) -> Outcome:
    try:
        async with conn.transaction():
            return await _update(
                conn,
                "assign_conversation",
                {"conversation_id": conversation_id, "assignee_id": assignee_id},
            )
    except errors.ForeignKeyViolation as error:
        if error.diag.constraint_name in ("conversations_assignee_is_member",):
            return Outcome(refusal=Refusal.ASSIGNEE_NOT_A_MEMBER)
        raise


async def close(conn: Connection, conversation_id: UUID) -> Outcome:
    return await _update(conn, "close_conversation", {"conversation_id": conversation_id})


async def reopen(conn: Connection, conversation_id: UUID) -> Outcome:
    params = {"conversation_id": conversation_id}
    try:
        async with conn.transaction():
            return await _update(conn, "reopen_conversation", params)
    except errors.UniqueViolation as error:
        if error.diag.constraint_name != "conversations_active_channel_contact_key":
            raise
    row = await (await conn.execute(queries["active_conversation_like"], params)).fetchone()
    return Outcome(refusal=Refusal.ALREADY_OPEN, other_conversation_id=row["id"] if row else None)


async def mark_read(conn: Connection, conversation_id: UUID) -> Outcome:
    row = await (
        await conn.execute(queries["mark_conversation_read"], {"conversation_id": conversation_id})
    ).fetchone()
    if row is None:
        return Outcome(refusal=Refusal.NOT_FOUND)
    return Outcome(conversation_id=row["conversation_id"])
