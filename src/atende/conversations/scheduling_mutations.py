"""Scheduled sends' mutations: ``scheduleMessage`` and ``cancelScheduledMessage``.

Any member of the conversation's organization (or API key) schedules and cancels; the
operation's transaction runs them as the caller. Refusals change nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry

from atende.channels.errors import SendRefused as SendRefusedError
from atende.channels.mutations import SendRefusalReason, SendRefused, TemplateVariableValueInput
from atende.conversations import scheduling
from atende.conversations.scheduling import NewScheduledMessage, ScheduledMessageNotPending
from atende.conversations.scheduling_types import ScheduledMessage, ScheduledMessageStatus
from atende.errors import Refusal
from atende.graphql.context import Info
from atende.graphql.ids import parse_id
from atende.graphql.permissions import IsAuthenticated
from atende.graphql.results import NotFound, UserError, ValidationError, refusal_result


@strawberry.input(
    description="A message to send later in a conversation: `body` (free text) or"
    " `templateId` with `variables`, one of the two."
)
class ScheduleMessageInput:
    conversation_id: strawberry.ID = strawberry.field(description="The conversation's id.")
    send_at: datetime = strawberry.field(
        description="When to send it, with a time zone: in the future, within 90 days."
    )
    body: str | None = strawberry.field(
        default=None,
        description="Free text (up to 4,096 characters). On WhatsApp it goes only if the"
        " customer's 24-hour window is open at `sendAt`; otherwise it is skipped.",
    )
    template_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="An approved template of the conversation's channel: goes also outside"
        " the window.",
    )
    variables: list[TemplateVariableValueInput] = strawberry.field(
        default_factory=list, description="A value for every placeholder of the template."
    )


@strawberry.input(description="The scheduled message to cancel.")
class CancelScheduledMessageInput:
    scheduled_message_id: strawberry.ID = strawberry.field(
        description="The scheduled message's id."
    )


@strawberry.type(description="The message is scheduled; it is sent at `sendAt`.")
class ScheduleMessageSuccess:
    scheduled_message: ScheduledMessage = strawberry.field(description="The message, scheduled.")


@strawberry.type(description="The scheduled message is cancelled: it will not be sent.")
class CancelScheduledMessageSuccess:
    scheduled_message: ScheduledMessage = strawberry.field(description="The message, cancelled.")


@strawberry.type(
    description="Too late to cancel: the scheduled message was already sent (or skipped or"
    " failed at its time); `status` says which."
)
class ScheduledMessageNotCancellable(UserError):
    status: ScheduledMessageStatus = strawberry.field(description="What became of it.")


ScheduleMessageResult = Annotated[
    ScheduleMessageSuccess | ValidationError | NotFound | SendRefused,
    strawberry.union("ScheduleMessageResult", description="What `scheduleMessage` did."),
]
CancelScheduledMessageResult = Annotated[
    CancelScheduledMessageSuccess | ValidationError | NotFound | ScheduledMessageNotCancellable,
    strawberry.union(
        "CancelScheduledMessageResult", description="What `cancelScheduledMessage` did."
    ),
]


def _refusal(error: Refusal) -> UserError:
    if isinstance(error, SendRefusedError):
        return SendRefused(message=error.user_message, reason=SendRefusalReason(error.reason))
    if isinstance(error, ScheduledMessageNotPending):
        return ScheduledMessageNotCancellable(
            message=error.user_message, status=ScheduledMessageStatus(error.status)
        )
    return refusal_result(error)


def _optional_id(value: strawberry.ID | None, field: str) -> UUID | None:
    return None if value is None else parse_id(value, field)


@strawberry.type
class SchedulingMutation:
    @strawberry.mutation(
        description="Schedule free text or a template in a conversation for `sendAt`. At"
        " that time the opt-out, the channel and (for free text) WhatsApp's 24-hour window"
        " are checked again: what may not go then is skipped, with the reason.",
        permission_classes=[IsAuthenticated],
    )
    async def schedule_message(
        self,
        info: Info,
        input: Annotated[ScheduleMessageInput, strawberry.argument(description="What to send.")],
    ) -> ScheduleMessageResult:
        try:
            row = await scheduling.schedule(
                await info.context.db(),
                NewScheduledMessage(
                    conversation_id=parse_id(input.conversation_id, "conversationId"),
                    send_at=input.send_at,
                    body=input.body,
                    template_id=_optional_id(input.template_id, "templateId"),
                    variables={item.key: item.value for item in input.variables},
                ),
            )
        except Refusal as error:
            return _refusal(error)  # type: ignore[return-value]
        return ScheduleMessageSuccess(scheduled_message=ScheduledMessage.from_row(row))

    @strawberry.mutation(
        description="Cancel a scheduled message that has not gone yet; refused once it was"
        " sent (or skipped or failed).",
        permission_classes=[IsAuthenticated],
    )
    async def cancel_scheduled_message(
        self,
        info: Info,
        input: Annotated[
            CancelScheduledMessageInput, strawberry.argument(description="What to cancel.")
        ],
    ) -> CancelScheduledMessageResult:
        try:
            row = await scheduling.cancel(
                await info.context.db(),
                parse_id(input.scheduled_message_id, "scheduledMessageId"),
            )
        except Refusal as error:
            return _refusal(error)  # type: ignore[return-value]
        return CancelScheduledMessageSuccess(scheduled_message=ScheduledMessage.from_row(row))
