"""GraphQL types of scheduled sends: ``ScheduledMessage`` and ``Conversation.scheduledMessages``.

A conversation's scheduled messages load through one DataLoader per operation (a page
of conversations costs one statement), as the caller: row-level security shows only the
caller's organizations'. The message a scheduled one became, and who scheduled it, load
through the conversations module's loaders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from atende.conversations import loaders, scheduling
from atende.graphql.context import Context, Info

if TYPE_CHECKING:
    from atende.conversations.types import Message
    from atende.identity.types import User

MessageType = Annotated["Message", strawberry.lazy("atende.conversations.types")]
UserType = Annotated["User", strawberry.lazy("atende.identity.types")]


@strawberry.enum(description="Where a scheduled message stands.")
class ScheduledMessageStatus(Enum):
    SCHEDULED = strawberry.enum_value("scheduled", description="Waiting for `sendAt`.")
    SENT = strawberry.enum_value(
        "sent", description="Handed to the send queue at `sendAt`: see `message` for delivery."
    )
    CANCELLED = strawberry.enum_value("cancelled", description="Cancelled by the team.")
    SKIPPED = strawberry.enum_value(
        "skipped", description="Not sent: a rule forbade it at `sendAt` (see `reason`)."
    )
    FAILED = strawberry.enum_value(
        "failed", description="Not sent: it could not be sent as written (see `reason`)."
    )


@strawberry.enum(description="Why a scheduled message was skipped or failed.")
class ScheduledMessageReason(Enum):
    CONTACT_OPTED_OUT = strawberry.enum_value(
        "contact_opted_out", description="The contact had opted out by then."
    )
    CHANNEL_DISABLED = strawberry.enum_value(
        "channel_disabled", description="The conversation's channel was disabled."
    )
    OUTSIDE_CUSTOMER_SERVICE_WINDOW = strawberry.enum_value(
        "outside_customer_service_window",
        description="Free text on WhatsApp, and the 24-hour window had closed (a template"
        " would have gone).",
    )
    CONVERSATION_CLOSED = strawberry.enum_value(
        "conversation_closed",
        description="The conversation was closed and the contact has a newer one on this number.",
    )
    TEMPLATE_NOT_FOUND = strawberry.enum_value(
        "template_not_found", description="Its template was removed from the channel."
    )
    TEMPLATE_VARIABLES_INVALID = strawberry.enum_value(
        "template_variables_invalid",
        description="Its template's placeholders changed and the values no longer fit.",
    )
    STALLED_JOB = strawberry.enum_value(
        "stalled_job",
        description="Its send job was given up: the worker running it died 3 times (nothing"
        " was sent).",
    )


@strawberry.type(description="A value given for a template placeholder.")
class TemplateVariableValue:
    key: str = strawberry.field(description="The placeholder's key.")
    value: str = strawberry.field(description="Its value.")


_STATUS = {member.value: member for member in ScheduledMessageStatus}
_REASON = {member.value: member for member in ScheduledMessageReason}


def _reason(reason: Any) -> ScheduledMessageReason | None:
    # A given-up job's reason is in words (how many times its worker died), not a code.
    if isinstance(reason, str) and scheduling.is_stalled_job_reason(reason):
        return ScheduledMessageReason.STALLED_JOB
    return _REASON.get(reason) if reason is not None else None


@strawberry.type(
    description="A message the team scheduled for later: free text (`body`) or a template"
    " (`templateName` and `variables`). Sent once, at `sendAt`, if the rules allow it then."
)
class ScheduledMessage:
    id: strawberry.ID = strawberry.field(description="The scheduled message's id.")
    conversation_id: strawberry.ID = strawberry.field(description="Its conversation's id.")
    body: str | None = strawberry.field(description="The free text; null for a template.")
    template_id: strawberry.ID | None = strawberry.field(
        description="The template's id; null for free text, or when it was removed since."
    )
    template_name: str | None = strawberry.field(
        description="The template's name when it was scheduled; null for free text."
    )
    variables: list[TemplateVariableValue] = strawberry.field(
        description="The template's values (none for free text)."
    )
    send_at: datetime = strawberry.field(description="When it is (or was) due.")
    status: ScheduledMessageStatus = strawberry.field(description="Where it stands.")
    reason: ScheduledMessageReason | None = strawberry.field(
        description="Why it was skipped or failed; null otherwise."
    )
    created_at: datetime = strawberry.field(description="When it was scheduled.")
    processed_at: datetime | None = strawberry.field(
        description="When it was sent, skipped, failed or cancelled; null while scheduled."
    )
    created_by_id: strawberry.Private[UUID | None]
    message_id: strawberry.Private[UUID | None]

    @strawberry.field(
        description="Who scheduled it; null for an API key (or a removed account).",
        graphql_type=UserType | None,
    )
    async def created_by(self, info: Info) -> User | None:
        if self.created_by_id is None:
            return None
        return await loaders.users(info.context).load(self.created_by_id)

    @strawberry.field(
        description="The message it became once sent (its delivery status); null before.",
        graphql_type=MessageType | None,
    )
    async def message(self, info: Info) -> Message | None:
        if self.message_id is None:
            return None
        return await loaders.messages(info.context).load(self.message_id)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ScheduledMessage:
        template_id = row["template_id"]
        return cls(
            id=strawberry.ID(str(row["id"])),
            conversation_id=strawberry.ID(str(row["conversation_id"])),
            body=row["body"],
            template_id=strawberry.ID(str(template_id)) if template_id is not None else None,
            template_name=row["template_name"],
            variables=[
                TemplateVariableValue(key=key, value=str(value))
                for key, value in (row["variables"] or {}).items()
            ],
            send_at=row["send_at"],
            status=_STATUS[row["status"]],
            reason=_reason(row["reason"]),
            created_at=row["created_at"],
            processed_at=row["processed_at"],
            created_by_id=row["created_by"],
            message_id=row["message_id"],
        )


def scheduled_messages_loader(context: Context) -> DataLoader[UUID, list[ScheduledMessage]]:
    """Each conversation's scheduled messages (soonest first), in one statement."""

    async def load(conversation_ids: Sequence[UUID]) -> list[list[ScheduledMessage]]:
        conn = await context.db()
        rows = await (
            await conn.execute(
                scheduling.queries["scheduled_messages_of_conversations"],
                {"conversation_ids": list(conversation_ids)},
            )
        ).fetchall()
        found: dict[UUID, list[ScheduledMessage]] = defaultdict(list)
        for row in rows:
            found[row["conversation_id"]].append(ScheduledMessage.from_row(row))
        return [found.get(key, []) for key in conversation_ids]

    return context.loader("conversations.scheduled_messages", lambda: DataLoader(load_fn=load))


async def conversation_scheduled_messages(
    info: Info, conversation_id: UUID
) -> list[ScheduledMessage]:
    """``Conversation.scheduledMessages``'s resolver (the conversation's type calls it)."""
    return await scheduled_messages_loader(info.context).load(conversation_id)
