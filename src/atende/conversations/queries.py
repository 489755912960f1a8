"""The inbox's queries: fields of ``Organization`` and the root ``conversation``/``contact``.

The ``Organization`` fields are plain resolver functions, attached in
``atende.api.organization``; this module imports nothing from identity, so either module
can be imported first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import strawberry

from atende.conversations import loaders, service
from atende.conversations.contacts.service import normalize_tag
from atende.conversations.types import (
    CONTACT_CURSOR,
    CONVERSATION_CURSOR,
    Contact,
    ContactConnection,
    ContactEdge,
    Conversation,
    ConversationConnection,
    ConversationEdge,
    ConversationStatus,
    Usage,
    contact_cursor,
)
from atende.graphql.context import Info
from atende.graphql.ids import Node, load_visible, parse_id
from atende.graphql.pagination import (
    After,
    First,
    InvalidCursor,
    PageInfo,
    decode_cursor,
    decode_time_cursor,
    page_size,
)
from atende.graphql.permissions import IsAuthenticated
from atende.graphql.scalars import BigInt


async def organization_conversations(
    root: strawberry.Parent[Node],
    info: Info,
    *,
    first: First = 20,
    after: After = None,
    status: Annotated[
        list[ConversationStatus] | None,
        strawberry.argument(description="Only these statuses (default: all)."),
    ] = None,
    assigned_to: Annotated[
        strawberry.ID | None,
        strawberry.argument(description="Only conversations assigned to this member."),
    ] = None,
    unassigned: Annotated[
        bool, strawberry.argument(description="Only conversations nobody is assigned to.")
    ] = False,
    search: Annotated[
        str | None,
        strawberry.argument(
            description="Contact name, phone number or message text (3 to 100 characters;"
            " a number may be typed with spaces, dashes or parentheses)."
        ),
    ] = None,
    ai_enabled: Annotated[
        bool | None,
        strawberry.argument(
            description="Only conversations whose AI is on (true), or off (false: with the"
            " team, handed off or taken over)."
        ),
    ] = None,
    unread: Annotated[
        bool,
        strawberry.argument(
            description="Only conversations with messages from the contact you have not"
            " marked read (`markConversationRead`)."
        ),
    ] = False,
) -> ConversationConnection:
    limit = page_size(first)
    keyset = decode_time_cursor(CONVERSATION_CURSOR, after) if after is not None else None
    inbox = service.InboxFilter(
        organization_id=UUID(str(root.id)),
        statuses=tuple(str(item.value) for item in status) if status else service.ALL_STATUSES,
        assignee_id=parse_id(assigned_to, "assignedTo") if assigned_to is not None else None,
        unassigned=unassigned,
        pattern=service.search_pattern(search),
        ai_enabled=ai_enabled,
        unread=unread,
    )
    conn = await info.context.db()
    rows, more = await service.inbox_page(conn, inbox, limit=limit, after=keyset)
    conversations = attach_inbox_rows(rows)
    edges = [ConversationEdge(cursor=item.cursor(), node=item) for item in conversations]
    return ConversationConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=more,
            has_previous_page=False,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        filter=inbox,
    )


def attach_inbox_rows(rows: list[dict[str, Any]]) -> list[Conversation]:
    """Conversations of an inbox page, each with the contact and newest message its row
    carries (contact__*, last_message__*), so those fields load nothing more."""
    return [Conversation.with_related(row) for row in rows]


async def organization_contacts(
    root: strawberry.Parent[Node],
    info: Info,
    *,
    first: First = 20,
    after: After = None,
    search: Annotated[
        str | None,
        strawberry.argument(description="Name or phone number (3 to 100 characters)."),
    ] = None,
    tag: Annotated[
        str | None,
        strawberry.argument(
            description="Only contacts with this tag (compared as tags are stored: trimmed,"
            " lower-case)."
        ),
    ] = None,
) -> ContactConnection:
    limit = page_size(first)
    keyset: tuple[str, UUID] | None = None
    if after is not None:
        key, raw_id = decode_cursor(CONTACT_CURSOR, after, 2)
        try:
            keyset = (key, UUID(raw_id))
        except ValueError:
            raise InvalidCursor() from None
    contacts = service.ContactFilter(
        organization_id=UUID(str(root.id)),
        pattern=service.search_pattern(search),
        tag=normalize_tag(tag) if tag is not None else None,
    )
    conn = await info.context.db()
    rows, more = await service.contacts_page(conn, contacts, limit=limit, after=keyset)
    edges = [
        ContactEdge(cursor=contact_cursor(node), node=node) for node in map(Contact.from_row, rows)
    ]
    return ContactConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=more,
            has_previous_page=False,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        filter=contacts,
    )


async def organization_usage(
    root: strawberry.Parent[Node],
    info: Info,
    *,
    start: Annotated[
        datetime,
        strawberry.argument(name="from", description="Start of the period (included)."),
    ],
    end: Annotated[
        datetime,
        strawberry.argument(
            name="to", description="End of the period (excluded); at most 366 days after `from`."
        ),
    ],
) -> Usage:
    row = await service.usage(await info.context.db(), UUID(str(root.id)), start, end)
    return Usage(
        start=start,
        end=end,
        conversations=row["conversations"],
        messages_in=row["messages_in"],
        messages_out=row["messages_out"],
        ai_replies=row["ai_replies"],
        fallbacks=row["fallbacks"],
        tokens_in=BigInt(row["tokens_in"]),
        tokens_out=BigInt(row["tokens_out"]),
    )


@strawberry.type
class ConversationsQuery:
    @strawberry.field(
        description="A conversation of one of your organizations; null otherwise.",
        permission_classes=[IsAuthenticated],
    )
    async def conversation(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The conversation's id.")],
    ) -> Conversation | None:
        return await load_visible(loaders.conversations(info.context), id)

    @strawberry.field(
        description="A contact of one of your organizations; null otherwise.",
        permission_classes=[IsAuthenticated],
    )
    async def contact(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The contact's id.")],
    ) -> Contact | None:
        return await load_visible(loaders.contacts(info.context), id)
