"""GraphQL types of the conversations module: the inbox, contacts, channels, messages.

Related rows are never loaded one by one: every field that reaches another table goes
through the operation's DataLoaders (``atende.conversations.loaders``), so a page of
50 conversations costs the same handful of statements as a page of 5.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypeVar, cast
from urllib.parse import urlencode
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from atende.channels.types import Channel  # one Channel type in the schema
from atende.conversations import loaders, service
from atende.conversations.contacts.types import ContactDetails, contact_details
from atende.conversations.scheduling_types import ScheduledMessage, conversation_scheduled_messages
from atende.conversations.service import ContactFilter, InboxFilter
from atende.graphql.context import Info
from atende.graphql.pagination import First, PageInfo, encode_cursor, encode_time_cursor
from atende.graphql.scalars import BigInt
from atende.knowledge.types import KnowledgePassage, knowledge_sources
from atende.media.types import MessageMedia, message_media
from atende.media.urls import MediaUrls

if TYPE_CHECKING:
    from atende.identity.types import User

UserType = Annotated["User", strawberry.lazy("atende.identity.types")]
T = TypeVar("T")
V = TypeVar("V")
E = TypeVar("E", bound=Enum)
#: What a resolver of a related row returns: the row at hand, or its pending load.
Resolved: TypeAlias = T | Awaitable[T]


async def _then(value: Resolved[T], function: Callable[[T], V]) -> V:
    """``function`` of a value that may still be loading."""
    if isinstance(value, Awaitable):
        value = await value
    return function(cast(T, value))


def node_id(value: UUID) -> strawberry.ID:
    return strawberry.ID(str(value))


@functools.cache
def prefixed(prefix: str, *columns: str) -> tuple[str, ...]:
    """``columns`` as a joined row names them (``contact__id``...): built once per prefix,
    not for every row read."""
    return tuple(prefix + column for column in columns)


def enum_by_value(enum: type[E]) -> Callable[[str], E]:
    """``enum(value)`` as a dict lookup: Enum's own call costs ten times more, per row."""
    return {member.value: member for member in enum}.__getitem__


# -- enums ------------------------------------------------------------------------------


@strawberry.enum(description="Where a conversation stands.")
class ConversationStatus(Enum):
    OPEN = strawberry.enum_value("open", description="Active; the AI answers if enabled.")
    HANDOFF = strawberry.enum_value(
        "handoff", description="The AI handed it to the team; it waits for a person."
    )
    CLOSED = strawberry.enum_value(
        "closed", description="Finished; a new message from the contact opens a new one."
    )


@strawberry.enum(description="Which way a message went.")
class MessageDirection(Enum):
    INBOUND = strawberry.enum_value("inbound", description="From the contact to the business.")
    OUTBOUND = strawberry.enum_value("outbound", description="From the business to the contact.")


@strawberry.enum(description="Who wrote a message.")
class MessageAuthor(Enum):
    CONTACT = strawberry.enum_value("contact", description="The customer.")
    AI = strawberry.enum_value("ai", description="The organization's AI assistant.")
    MEMBER = strawberry.enum_value(
        "member", description="A team member (see `Message.authorMember`)."
    )
    SYSTEM = strawberry.enum_value(
        "system", description="Atende itself (automatic notices, follow-ups)."
    )


@strawberry.enum(description="Delivery status, in Twilio's terms.")
class MessageStatus(Enum):
    RECEIVED = strawberry.enum_value("received", description="An inbound message, stored.")
    QUEUED = strawberry.enum_value("queued", description="Waiting to be sent.")
    SENDING = strawberry.enum_value("sending", description="Handed to Twilio.")
    SENT = strawberry.enum_value("sent", description="Accepted by the carrier or WhatsApp.")
    DELIVERED = strawberry.enum_value("delivered", description="On the contact's phone.")
    READ = strawberry.enum_value("read", description="Read by the contact (WhatsApp).")
    FAILED = strawberry.enum_value("failed", description="Could not be sent.")
    UNDELIVERED = strawberry.enum_value("undelivered", description="Sent but not delivered.")


CONVERSATION_STATUS = enum_by_value(ConversationStatus)
MESSAGE_DIRECTION = enum_by_value(MessageDirection)
MESSAGE_AUTHOR = enum_by_value(MessageAuthor)
MESSAGE_STATUS = enum_by_value(MessageStatus)


# -- contacts and channels --------------------------------------------------------------


@strawberry.type(description="A customer of the organization, known by phone number.")
class Contact:
    id: strawberry.ID = strawberry.field(description="The contact's id.")
    phone_number: str = strawberry.field(description="E.164, e.g. +5511987654321.")
    display_name: str | None = strawberry.field(description="The name the team gave them.")
    profile_name: str | None = strawberry.field(
        description="The name the contact set in WhatsApp, as last seen."
    )
    opted_out_at: datetime | None = strawberry.field(
        description="When the contact asked to receive nothing more (STOP); null otherwise."
    )
    last_inbound_at: datetime | None = strawberry.field(description="When the contact last wrote.")
    created_at: datetime = strawberry.field(description="When the contact first wrote.")
    name: str = strawberry.field(
        description="How to show the contact: the team's name for them, else their WhatsApp"
        " profile name, else the phone number."
    )
    opted_out: bool = strawberry.field(
        description="True while the contact has opted out: nothing can be sent."
    )
    sort_key: strawberry.Private[str | None] = None
    #: Attributes and tags, when the row carried them; else loaded (contacts.types).
    details: strawberry.Private[ContactDetails | None] = None
    #: The same, by field name, for the executor's prefetched path (atende.api.execution),
    #: which then skips the resolvers: a page of 50 contacts would run 100 of them.
    prefetched: strawberry.Private[dict[str, Any] | None] = None

    @strawberry.field(
        description="The business's own fields about the contact: a JSON object"
        ' (`{"plano": "ouro", "cidade": "Recife"}`).',
        graphql_type=JSON,
    )
    def attributes(self, info: Info) -> Resolved[Any]:
        if self.details is not None:
            return self.details.attributes
        return _then(
            loaders.now_or_later(contact_details(info.context), UUID(self.id)),
            lambda details: details.attributes if details else {},
        )

    @strawberry.field(
        description="Its tags: lower-case, trimmed, sorted (see `Organization.contacts(tag)`).",
        graphql_type=list[str],
    )
    def tags(self, info: Info) -> Resolved[list[str]]:
        if self.details is not None:
            return self.details.tags
        return _then(
            loaders.now_or_later(contact_details(info.context), UUID(self.id)),
            lambda details: details.tags if details else [],
        )

    @classmethod
    def from_row(cls, row: dict[str, Any], prefix: str = "") -> Contact:
        """From a row of contacts, or a joined row's columns named ``<prefix><column>``."""
        id_, display, profile, phone, opted_out, last_inbound, created = prefixed(
            prefix,
            "id",
            "display_name",
            "profile_name",
            "phone_number",
            "opted_out_at",
            "last_inbound_at",
            "created_at",
        )
        display_name = row[display]
        profile_name = row[profile]
        phone_number = row[phone]
        opted_out_at = row[opted_out]
        details = (
            ContactDetails(row[prefix + "attributes"], list(row[prefix + "tags"]))
            if prefix + "tags" in row
            else None
        )
        return cls(
            id=node_id(row[id_]),
            phone_number=phone_number,
            display_name=display_name,
            profile_name=profile_name,
            opted_out_at=opted_out_at,
            last_inbound_at=row[last_inbound],
            created_at=row[created],
            # Computed here, not by resolvers: plain fields cost GraphQL far less.
            name=display_name or profile_name or phone_number,
            opted_out=opted_out_at is not None,
            sort_key=row.get(prefix + "sort_key"),
            details=details,
            prefetched=(
                {"attributes": details.attributes, "tags": details.tags}
                if details is not None
                else None
            ),
        )


# -- messages -----------------------------------------------------------------------------


@strawberry.type(description="One message of a conversation, either way.")
class Message:
    id: strawberry.ID = strawberry.field(description="The message's id.")
    conversation_id: strawberry.ID = strawberry.field(description="Its conversation's id.")
    direction: MessageDirection = strawberry.field(description="Which way it went.")
    author: MessageAuthor = strawberry.field(description="Who wrote it.")
    body: str = strawberry.field(description="The text; empty for media-only messages.")
    status: MessageStatus = strawberry.field(description="Delivery status.")
    error_code: str | None = strawberry.field(
        description="Twilio's error code, or why an AI reply fell back; null when all is well."
    )
    error_message: str | None = strawberry.field(description="The error, in words.")
    is_error: bool = strawberry.field(
        description="The message records a failure the team should see (an AI fallback, a"
        " failed send)."
    )
    created_at: datetime = strawberry.field(
        description="When it was received or queued: the history's order."
    )
    updated_at: datetime = strawberry.field(description="When its status last changed.")
    transcript: str | None = strawberry.field(
        default=None,
        description="What the customer's voice notes in it say (their transcripts, in order;"
        " searched by the inbox); null until transcribed, and for messages without one.",
    )
    author_member_id: strawberry.Private[UUID | None] = None
    row_id: strawberry.Private[UUID | None] = None
    #: As stored (JSON text), parsed only when a client selects ``media``.
    media_json: strawberry.Private[str] = "[]"
    #: The shared location as JSON text (``private.message_location``), or None.
    location_json: strawberry.Private[str | None] = None
    #: The resolved fields whose value the row alone settles (no media, no location, no
    #: member author, not the AI's), by name, for the executor's prefetched path
    #: (atende.api.execution): a page of 50 messages would otherwise run 200 resolvers
    #: to learn as much. The resolvers below give the same values.
    prefetched: strawberry.Private[dict[str, Any] | None] = None

    @strawberry.field(
        description="The place the customer shared (WhatsApp's location message); null for"
        " other messages."
    )
    def location(self) -> MessageLocation | None:
        return message_location(self.location_json)

    @strawberry.field(description="Attached files, in order.")
    def media(self, info: Info) -> list[MessageMedia]:
        if self.media_json == "[]":
            return []
        return message_media(self.row_id, self.media_json, info.context.get(MediaUrls))

    @strawberry.field(
        description="The team member who wrote it, for `author: MEMBER`.",
        graphql_type=UserType | None,
    )
    def author_member(self, info: Info) -> Resolved[User | None]:
        if self.author_member_id is None:
            return None
        return loaders.now_or_later(loaders.users(info.context), self.author_member_id)

    @strawberry.field(
        description=(
            "The knowledge base's passages the AI was given when it wrote this message "
            "(why it said what it said); empty when it was given none, null for messages "
            "the AI did not write."
        )
    )
    async def knowledge_sources(self, info: Info) -> list[KnowledgePassage] | None:
        if self.author is not MessageAuthor.AI or self.row_id is None:
            return None
        return await knowledge_sources(info.context).load(self.row_id)

    @classmethod
    def from_row(cls, row: dict[str, Any], prefix: str = "") -> Message:
        """From a row of messages, or a joined row's columns named ``<prefix><column>``."""
        (
            id_,
            conversation_id,
            direction,
            author,
            body,
            media,
            status,
            error_code,
            error_message,
            is_error,
            created_at,
            updated_at,
            author_member_id,
        ) = prefixed(
            prefix,
            "id",
            "conversation_id",
            "direction",
            "author",
            "body",
            "media",
            "status",
            "error_code",
            "error_message",
            "is_error",
            "created_at",
            "updated_at",
            "author_member_id",
        )
        row_id = row[id_]
        message_author = MESSAGE_AUTHOR(row[author])
        location_json = row.get(prefix + "location")
        settled: dict[str, Any] = {}
        if row[media] == "[]":
            settled["media"] = []
        if location_json is None:
            settled["location"] = None
        if row[author_member_id] is None:
            settled["author_member"] = None
        if message_author is not MessageAuthor.AI:
            settled["knowledge_sources"] = None
        return cls(
            prefetched=settled,
            transcript=row.get(prefix + "transcript"),
            location_json=location_json,
            id=node_id(row_id),
            conversation_id=node_id(row[conversation_id]),
            direction=MESSAGE_DIRECTION(row[direction]),
            author=message_author,
            body=row[body],
            media_json=row[media],
            status=MESSAGE_STATUS(row[status]),
            error_code=row[error_code],
            error_message=row[error_message],
            is_error=row[is_error],
            created_at=row[created_at],
            updated_at=row[updated_at],
            author_member_id=row[author_member_id],
            row_id=row_id,
        )

    def cursor(self) -> str:
        assert self.row_id is not None
        return encode_time_cursor(MESSAGE_CURSOR, self.created_at, self.row_id)


@strawberry.type(description="A place a customer shared, with a link to it on a map.")
class MessageLocation:
    latitude: float = strawberry.field(description="Degrees north (negative: south).")
    longitude: float = strawberry.field(description="Degrees east (negative: west).")
    address: str | None = strawberry.field(description="Its address, when WhatsApp sent one.")
    label: str | None = strawberry.field(description="Its name (a business, a place), if any.")
    map_url: str = strawberry.field(description="The place on Google Maps.")


def message_location(location_json: str | None) -> MessageLocation | None:
    """The location of ``private.message_location``'s JSON (checked there: numbers on the
    globe), with a map link."""
    if not location_json:
        return None
    raw = json.loads(location_json)
    if not isinstance(raw, dict):
        return None
    latitude, longitude = raw.get("latitude"), raw.get("longitude")
    if not isinstance(latitude, int | float) or not isinstance(longitude, int | float):
        return None
    query = urlencode({"api": "1", "query": f"{latitude},{longitude}"})
    return MessageLocation(
        latitude=float(latitude),
        longitude=float(longitude),
        address=raw.get("address") if isinstance(raw.get("address"), str) else None,
        label=raw.get("label") if isinstance(raw.get("label"), str) else None,
        map_url=f"https://www.google.com/maps/search/?{query}",
    )


MESSAGE_CURSOR = "message"
CONVERSATION_CURSOR = "conversation"
CONTACT_CURSOR = "contact"


@strawberry.type(description="A message and its place in the list.")
class MessageEdge:
    cursor: str = strawberry.field(description="Where this message is in the list (opaque).")
    node: Message = strawberry.field(description="The message.")


@strawberry.type(description="A page of a conversation's messages, newest first.")
class MessageConnection:
    edges: list[MessageEdge] = strawberry.field(description="The page's messages.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")


# -- conversations ------------------------------------------------------------------------


@strawberry.type(description="A thread between the organization and a contact on one channel.")
class Conversation:
    id: strawberry.ID = strawberry.field(description="The conversation's id.")
    status: ConversationStatus = strawberry.field(description="Where it stands.")
    ai_enabled: bool = strawberry.field(
        description="Whether the AI answers here; a member's reply switches it off."
    )
    last_message_at: datetime = strawberry.field(
        description="Last activity, either way: the inbox's order."
    )
    last_inbound_at: datetime | None = strawberry.field(description="When the contact last wrote.")
    window_expires_at: datetime | None = strawberry.field(
        description="WhatsApp: free-form replies are allowed until then (24 h after the"
        " contact's last message); null for SMS, or when the contact never wrote."
    )
    closed_at: datetime | None = strawberry.field(
        description="When it was closed; null while open."
    )
    created_at: datetime = strawberry.field(description="When the conversation began.")
    row_id: strawberry.Private[UUID]
    organization_id: strawberry.Private[UUID]
    contact_id: strawberry.Private[UUID]
    channel_id: strawberry.Private[UUID]
    assignee_id: strawberry.Private[UUID | None]
    #: Rows that came with the conversation (the inbox page joins them): no load needed.
    #: Related rows that came with the conversation (the inbox page joins its contact
    #: and last message), by field name: those fields load nothing. The executor serves
    #: them without calling the resolvers (atende.api.execution).
    prefetched: strawberry.Private[dict[str, Any]] = dataclasses.field(default_factory=dict)

    # Resolvers of related rows are plain functions returning the row when the operation
    # already has it (see loaders.now_or_later), else the pending load. A conversation's
    # contact and channel are in its organization, so RLS shows them with it (the
    # schema types them non-null).

    @strawberry.field(description="The customer.", graphql_type=Contact)
    def contact(self, info: Info) -> Resolved[Contact | None]:
        if "contact" in self.prefetched:
            return cast(Contact, self.prefetched["contact"])
        return loaders.now_or_later(loaders.contacts(info.context), self.contact_id)

    @strawberry.field(description="The number the conversation happens on.", graphql_type=Channel)
    def channel(self, info: Info) -> Resolved[Channel | None]:
        return loaders.now_or_later(loaders.channels(info.context), self.channel_id)

    @strawberry.field(
        description="The team member responsible for it; null when unassigned.",
        graphql_type=UserType | None,
    )
    def assignee(self, info: Info) -> Resolved[User | None]:
        if self.assignee_id is None:
            return None
        return loaders.now_or_later(loaders.users(info.context), self.assignee_id)

    @strawberry.field(description="The newest message, either way.", graphql_type=Message | None)
    def last_message(self, info: Info) -> Resolved[Message | None]:
        if "last_message" in self.prefetched:
            return cast(Message | None, self.prefetched["last_message"])
        return loaders.now_or_later(loaders.last_messages(info.context), self.row_id)

    @strawberry.field(
        description="Messages from the contact since you last marked it read, up to 100"
        " (show 99+ beyond)."
    )
    async def unread_count(self, info: Info) -> int:
        return await loaders.unread_counts(info.context).load(self.row_id)

    @strawberry.field(
        description="Messages, newest first. Pass `after` (an endCursor) for older ones, or"
        " `before` (a startCursor) for those that arrived since; not both. `first`: 0 to 100."
    )
    async def messages(
        self,
        info: Info,
        first: First = 20,
        after: Annotated[
            str | None,
            strawberry.argument(description="An `endCursor`: the messages before it (older)."),
        ] = None,
        before: Annotated[
            str | None,
            strawberry.argument(
                description="A `startCursor`: the messages after it (newer), to catch up."
            ),
        ] = None,
    ) -> MessageConnection:
        request = loaders.MessagePageRequest.from_arguments(first, after=after, before=before)
        page = await loaders.message_pages(info.context).load((self.row_id, request))
        return MessageConnection(
            edges=[MessageEdge(cursor=message.cursor(), node=message) for message in page.items],
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.items[0].cursor() if page.items else None,
                end_cursor=page.items[-1].cursor() if page.items else None,
            ),
        )

    @strawberry.field(
        description="Messages the team scheduled here (`scheduleMessage`), by `sendAt`:"
        " waiting, sent, cancelled, skipped or failed (the latest 100)."
    )
    async def scheduled_messages(self, info: Info) -> list[ScheduledMessage]:
        return await conversation_scheduled_messages(info, self.row_id)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Conversation:
        return cls(
            id=node_id(row["id"]),
            status=CONVERSATION_STATUS(row["status"]),
            ai_enabled=row["ai_enabled"],
            last_message_at=row["last_message_at"],
            last_inbound_at=row["last_inbound_at"],
            window_expires_at=row["window_expires_at"],
            closed_at=row["closed_at"],
            created_at=row["created_at"],
            row_id=row["id"],
            organization_id=row["organization_id"],
            contact_id=row["contact_id"],
            channel_id=row["channel_id"],
            assignee_id=row["assignee_id"],
        )

    @classmethod
    def with_related(cls, row: dict[str, Any]) -> Conversation:
        """From a row of private.inbox_entries: the conversation with the contact and
        newest message the row carries (contact__*, last_message__*), so those fields
        load nothing more."""
        conversation = cls.from_row(row)
        if row["contact__id"] is not None:
            conversation.prefetched["contact"] = Contact.from_row(row, prefix="contact__")
        conversation.prefetched["last_message"] = (
            Message.from_row(row, prefix="last_message__")
            if row["last_message__id"] is not None
            else None
        )
        return conversation

    def cursor(self) -> str:
        return encode_time_cursor(CONVERSATION_CURSOR, self.last_message_at, self.row_id)


@strawberry.type(description="A conversation and its place in the inbox.")
class ConversationEdge:
    cursor: str = strawberry.field(description="Where this conversation is in the list (opaque).")
    node: Conversation = strawberry.field(description="The conversation.")


@strawberry.type(description="A page of the inbox: conversations by last activity, newest first.")
class ConversationConnection:
    edges: list[ConversationEdge] = strawberry.field(description="The page's conversations.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")
    filter: strawberry.Private[InboxFilter]

    @strawberry.field(description="How many conversations match the filters, on every page.")
    async def total_count(self, info: Info) -> int:
        return await service.count_inbox(await info.context.db(), self.filter)


@strawberry.type(description="A contact and its place in the list.")
class ContactEdge:
    cursor: str = strawberry.field(description="Where this contact is in the list (opaque).")
    node: Contact = strawberry.field(description="The contact.")


@strawberry.type(description="A page of contacts, by name.")
class ContactConnection:
    edges: list[ContactEdge] = strawberry.field(description="The page's contacts.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")
    filter: strawberry.Private[ContactFilter]

    @strawberry.field(description="How many contacts match, on every page.")
    async def total_count(self, info: Info) -> int:
        return await service.count_contacts(await info.context.db(), self.filter)


def contact_cursor(contact: Contact) -> str:
    return encode_cursor(CONTACT_CURSOR, contact.sort_key or "", str(contact.id))


# -- usage ---------------------------------------------------------------------------------


@strawberry.type(description="What an organization used in a period, as counted for billing.")
class Usage:
    start: datetime = strawberry.field(name="from", description="Start of the period (included).")
    end: datetime = strawberry.field(name="to", description="End of the period (excluded).")
    conversations: int = strawberry.field(
        description="Conversations with at least one message in the period."
    )
    messages_in: int = strawberry.field(description="Messages received from contacts.")
    messages_out: int = strawberry.field(
        description="Messages sent (AI, team and system; failed sends included)."
    )
    ai_replies: int = strawberry.field(description="Replies the AI wrote (fallbacks excluded).")
    fallbacks: int = strawberry.field(
        description="Times the AI failed and the contact got the fallback message."
    )
    tokens_in: BigInt = strawberry.field(description="Prompt tokens the AI runs used.")
    tokens_out: BigInt = strawberry.field(description="Completion tokens the AI runs used.")
