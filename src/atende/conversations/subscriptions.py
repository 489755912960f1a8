"""Realtime subscriptions (graphql-transport-ws): the inbox and one conversation, live.

Authorised twice: when the subscription starts (the caller must see the organization
or conversation), and for every event, by reading the event's rows as the caller in a
transaction of that event's own (RLS): an event the caller may no longer see is not
sent, and a member removed from the organization gets a FORBIDDEN error that ends the
subscription at the next event. No transaction stays open between events.

A subscription outlives a database blip: when reading an event's rows fails because the
database is unreachable, restarting or too slow (a statement timeout), the client gets
RESYNC (refetch what you show) instead of an error that ends its subscription.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator
from enum import Enum
from typing import Annotated
from uuid import UUID

import psycopg
import strawberry

from atende.conversations import loaders
from atende.conversations.events import RESYNC, DatabaseEvent, EventHub
from atende.conversations.types import Conversation, Message
from atende.errors import Forbidden, NotFound
from atende.graphql.context import Context, Info
from atende.graphql.ids import id_or_none
from atende.graphql.permissions import IsAuthenticated
from atende.identity.types import organization_loader

logger = logging.getLogger(__name__)


@strawberry.enum(description="What happened in the inbox.")
class ConversationEventKind(Enum):
    MESSAGE_CREATED = strawberry.enum_value(
        "message.created", description="A message arrived or was queued (`message` is set)."
    )
    MESSAGE_UPDATED = strawberry.enum_value(
        "message.updated", description="A message's delivery status changed (`message` is set)."
    )
    STATUS_CHANGED = strawberry.enum_value(
        "conversation.status_changed", description="The conversation was closed or reopened."
    )
    HANDED_OFF = strawberry.enum_value(
        "conversation.handed_off", description="The AI handed the conversation to the team."
    )
    ASSIGNED = strawberry.enum_value(
        "conversation.assigned", description="The conversation's assignee changed."
    )
    AI_CHANGED = strawberry.enum_value(
        "conversation.ai_changed", description="The AI was switched on or off here."
    )
    RESYNC = strawberry.enum_value(
        RESYNC,
        description="Events may have been missed (this client fell behind, or the server"
        " lost its database connection for a moment): refetch what you show.",
    )


@strawberry.type(description="Something happened in the inbox.")
class ConversationEvent:
    kind: ConversationEventKind = strawberry.field(description="What happened.")
    conversation: Conversation | None = strawberry.field(
        description="The conversation as it is now; null only for RESYNC."
    )
    message: Message | None = strawberry.field(
        description="The message, for MESSAGE_CREATED and MESSAGE_UPDATED."
    )


@strawberry.enum(description="What happened to a conversation's messages.")
class MessageEventKind(Enum):
    CREATED = strawberry.enum_value("message.created", description="A new message.")
    UPDATED = strawberry.enum_value(
        "message.updated", description="A message's delivery status changed."
    )
    RESYNC = strawberry.enum_value(
        RESYNC, description="Events may have been missed: refetch the messages you show."
    )


@strawberry.type(description="A message of the conversation, new or changed.")
class MessageEvent:
    kind: MessageEventKind = strawberry.field(description="What happened.")
    message: Message | None = strawberry.field(description="The message; null only for RESYNC.")


# The database's kind names (the enums' values) to the enums.
_CONVERSATION_KINDS: dict[str, ConversationEventKind] = {
    str(kind.value): kind for kind in ConversationEventKind
}
_MESSAGE_KINDS: dict[str, MessageEventKind] = {str(kind.value): kind for kind in MessageEventKind}


async def _still_member(context: Context, organization_id: UUID) -> None:
    if await organization_loader(context).load(organization_id) is None:
        await context.release()
        raise Forbidden(user_message="You are no longer a member of this organization.")


async def _after_database_error(context: Context, error: psycopg.OperationalError) -> None:
    """Drop the event's transaction (its connection may be dead) so the next event starts
    afresh; the subscription goes on."""
    logger.warning("subscription event not readable (%s); sending RESYNC", type(error).__name__)
    with contextlib.suppress(psycopg.Error):
        await context.release(commit=False)


async def _conversation_event(context: Context, event: DatabaseEvent) -> ConversationEvent | None:
    """The event as the caller may see it now, or ``None`` when there is nothing to send."""
    kind = _CONVERSATION_KINDS.get(event.kind)
    if kind is None or event.conversation_id is None:
        return None
    conversation = await loaders.conversations(context).load(event.conversation_id)
    if conversation is None:
        await _still_member(context, event.organization_id)
        return None
    message = None
    if event.message_id is not None:
        message = await loaders.messages(context).load(event.message_id)
    return ConversationEvent(kind=kind, conversation=conversation, message=message)


@strawberry.type
class ConversationsSubscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Live changes in an organization's inbox: new messages, delivery"
        " updates, status changes, handoffs, assignments, AI switches.",
    )
    async def conversation_events(
        self,
        info: Info,
        organization_id: Annotated[
            strawberry.ID, strawberry.argument(description="An organization you belong to.")
        ],
    ) -> AsyncGenerator[ConversationEvent, None]:
        context = info.context
        organization = id_or_none(organization_id)
        if organization is None or await organization_loader(context).load(organization) is None:
            raise Forbidden(user_message="You are not a member of this organization.")
        with context.get(EventHub).subscribe(organization) as subscription:
            await context.release()
            while True:
                event = await subscription.get()
                if event.kind == RESYNC:
                    yield ConversationEvent(
                        kind=ConversationEventKind.RESYNC, conversation=None, message=None
                    )
                    continue
                try:
                    visible = await _conversation_event(context, event)
                    if visible is None:
                        logger.debug("subscription: event %s not visible", event.kind)
                        await context.release()
                        continue
                except psycopg.OperationalError as error:
                    await _after_database_error(context, error)
                    yield ConversationEvent(
                        kind=ConversationEventKind.RESYNC, conversation=None, message=None
                    )
                    continue
                yield visible

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Live messages of one conversation: new ones and delivery updates.",
    )
    async def message_events(
        self,
        info: Info,
        conversation_id: Annotated[
            strawberry.ID, strawberry.argument(description="A conversation of yours.")
        ],
    ) -> AsyncGenerator[MessageEvent, None]:
        context = info.context
        wanted = id_or_none(conversation_id)
        conversation = None
        if wanted is not None:
            conversation = await loaders.conversations(context).load(wanted)
        if wanted is None or conversation is None:
            raise NotFound(user_message="No such conversation.")
        organization = conversation.organization_id
        with context.get(EventHub).subscribe(organization) as subscription:
            await context.release()
            while True:
                event = await subscription.get()
                if event.kind == RESYNC:
                    yield MessageEvent(kind=MessageEventKind.RESYNC, message=None)
                    continue
                kind = _MESSAGE_KINDS.get(event.kind)
                if kind is None or event.conversation_id != wanted or event.message_id is None:
                    continue
                try:
                    message = await loaders.messages(context).load(event.message_id)
                    if message is None:
                        await _still_member(context, organization)
                        await context.release()
                        continue
                except psycopg.OperationalError as error:
                    await _after_database_error(context, error)
                    yield MessageEvent(kind=MessageEventKind.RESYNC, message=None)
                    continue
                yield MessageEvent(kind=kind, message=message)
