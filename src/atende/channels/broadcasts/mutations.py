"""Broadcast mutations: send a template to many contacts, cancel it, set a channel's pace.
Owners and admins (people, or API keys with those roles), in the operation's transaction
as the caller; the SQL functions check the role, the template and the contacts."""

from __future__ import annotations

from typing import Annotated, TypeAlias
from uuid import UUID

import strawberry

from atende import errors as shared_errors
from atende.channels import errors
from atende.channels.broadcasts import service as broadcasts
from atende.channels.broadcasts.types import Broadcast, broadcast_loader
from atende.channels.mutations import SendRefusalReason, SendRefused, TemplateVariableValueInput
from atende.errors import Refusal
from atende.graphql.context import Info
from atende.graphql.ids import id_or_none, parse_id
from atende.graphql.permissions import IsAuthenticated
from atende.graphql.results import (
    ForbiddenResult,
    NotFound,
    UserError,
    ValidationError,
    refusal_result,
)

_NOT_FOUND = NotFound(message=shared_errors.NotFound.public_message)

# -- inputs ------------------------------------------------------------------------------------


@strawberry.input(description="One approved template to send to many contacts of a channel.")
class CreateBroadcastInput:
    channel_id: strawberry.ID = strawberry.field(description="The channel to send from.")
    template_id: strawberry.ID = strawberry.field(description="An approved template of it.")
    variables: list[TemplateVariableValueInput] = strawberry.field(
        default_factory=list,
        description="A value for each of the template's placeholders (the same for everyone).",
    )
    contact_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description=(
            "The contacts, in sending order (up to 100,000; repeats count once). Give this "
            "or `tag`. Opted-out ones are skipped and listed as such."
        ),
    )
    tag: str | None = strawberry.field(
        default=None,
        description="Or: every contact with this tag (oldest first). Give this or `contactIds`.",
    )


@strawberry.input(description="A broadcast to stop.")
class CancelBroadcastInput:
    broadcast_id: strawberry.ID = strawberry.field(description="The broadcast.")


@strawberry.input(description="How fast a channel's broadcasts go.")
class SetChannelBroadcastRateInput:
    channel_id: strawberry.ID = strawberry.field(description="The channel.")
    broadcast_rate_per_second: float | None = strawberry.field(
        description=(
            "Messages a second, 0.1 to 400; null for Twilio's default (80 for a WhatsApp "
            "sender, 1 for an SMS number)."
        )
    )


# -- results -----------------------------------------------------------------------------------


@strawberry.type(description="The broadcast is under way.")
class CreateBroadcastSuccess:
    broadcast: Broadcast = strawberry.field(description="The broadcast, as it starts.")


@strawberry.type(description="The broadcast was cancelled.")
class CancelBroadcastSuccess:
    broadcast: Broadcast = strawberry.field(description="The broadcast, as it stopped.")


@strawberry.type(description="The channel's pace was set.")
class SetChannelBroadcastRateSuccess:
    channel_id: strawberry.ID = strawberry.field(description="The channel.")
    broadcast_rate_per_second: float = strawberry.field(description="Its pace now.")


@strawberry.type(description="The broadcast already completed or was cancelled.")
class BroadcastFinished(UserError):
    pass


CreateBroadcastResult: TypeAlias = Annotated[
    CreateBroadcastSuccess | ValidationError | NotFound | ForbiddenResult | SendRefused,
    strawberry.union("CreateBroadcastResult", description="What `createBroadcast` did."),
]
CancelBroadcastResult: TypeAlias = Annotated[
    CancelBroadcastSuccess | NotFound | ForbiddenResult | BroadcastFinished,
    strawberry.union("CancelBroadcastResult", description="What `cancelBroadcast` did."),
]
SetChannelBroadcastRateResult: TypeAlias = Annotated[
    SetChannelBroadcastRateSuccess | ValidationError | NotFound | ForbiddenResult,
    strawberry.union(
        "SetChannelBroadcastRateResult", description="What `setChannelBroadcastRate` did."
    ),
]


def _refusal(error: Refusal) -> UserError:
    if isinstance(error, errors.SendRefused):
        if error.reason == "broadcast_finished":
            return BroadcastFinished(message=error.user_message)
        return SendRefused(message=error.user_message, reason=SendRefusalReason(error.reason))
    return refusal_result(error)


async def _load(info: Info, broadcast_id: UUID) -> Broadcast:
    broadcast = await broadcast_loader(info.context).load(broadcast_id)
    if broadcast is None:  # the caller just wrote it, and may read it
        raise LookupError("broadcast not visible after writing it")
    return broadcast


@strawberry.type
class BroadcastsMutation:
    @strawberry.mutation(
        description=(
            "Send an approved template to many contacts of a channel (owners and admins): "
            "each gets it in their own conversation (started if they have none), at the "
            "channel's pace; opted-out contacts are skipped."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def create_broadcast(
        self,
        info: Info,
        input: Annotated[CreateBroadcastInput, strawberry.argument(description="What to send.")],
    ) -> CreateBroadcastResult:
        values: dict[str, str] = {}
        for item in input.variables:
            if item.key in values:
                return ValidationError(
                    message=f"A variável {item.key[:20]} foi dada duas vezes.", field="variables"
                )
            values[item.key] = item.value
        channel = id_or_none(input.channel_id)
        template = id_or_none(input.template_id)
        if channel is None or template is None:
            return _NOT_FOUND
        try:
            contact_ids = (
                None
                if input.contact_ids is None
                else [parse_id(contact, "contactIds") for contact in input.contact_ids]
            )
            created = await broadcasts.create_broadcast(
                await info.context.db(),
                channel_id=channel,
                template_id=template,
                variables=values,
                contact_ids=contact_ids,
                tag=input.tag,
            )
        except Refusal as error:
            return _refusal(error)  # type: ignore[return-value]
        return CreateBroadcastSuccess(broadcast=await _load(info, created))

    @strawberry.mutation(
        description=(
            "Stop a broadcast (owners and admins): what was sent stays sent, the recipients "
            "still waiting are cancelled."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def cancel_broadcast(
        self,
        info: Info,
        input: Annotated[CancelBroadcastInput, strawberry.argument(description="Which.")],
    ) -> CancelBroadcastResult:
        broadcast = id_or_none(input.broadcast_id)
        if broadcast is None:
            return _NOT_FOUND
        try:
            cancelled = await broadcasts.cancel_broadcast(await info.context.db(), broadcast)
        except Refusal as error:
            return _refusal(error)  # type: ignore[return-value]
        return CancelBroadcastSuccess(broadcast=await _load(info, cancelled))

    @strawberry.mutation(
        description="Set how many messages a second a channel's broadcasts send (owners, admins).",
        permission_classes=[IsAuthenticated],
    )
    async def set_channel_broadcast_rate(
        self,
        info: Info,
        input: Annotated[SetChannelBroadcastRateInput, strawberry.argument(description="What.")],
    ) -> SetChannelBroadcastRateResult:
        channel = id_or_none(input.channel_id)
        if channel is None:
            return _NOT_FOUND
        conn = await info.context.db()
        try:
            await broadcasts.set_broadcast_rate(conn, channel, input.broadcast_rate_per_second)
        except Refusal as error:
            return _refusal(error)  # type: ignore[return-value]
        row = await (
            await conn.execute(
                broadcasts.queries["broadcast_rates_of_channels"], {"channel_ids": [channel]}
            )
        ).fetchone()
        assert row is not None
        return SetChannelBroadcastRateSuccess(
            channel_id=input.channel_id, broadcast_rate_per_second=float(row["rate"])
        )
