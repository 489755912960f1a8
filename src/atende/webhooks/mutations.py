"""Webhook mutations: add, change (disable, enable), remove an endpoint, and send a
delivery again. Owners and admins (people, or API keys with those roles), in the
operation's transaction as the caller."""

from __future__ import annotations

from typing import Annotated, TypeAlias
from uuid import UUID

import strawberry

from atende import errors as shared_errors
from atende.channels.crypto import TokenCipher
from atende.config import Settings
from atende.errors import Refusal
from atende.graphql.context import Info
from atende.graphql.ids import id_or_none
from atende.graphql.permissions import IsAuthenticated
from atende.graphql.results import (
    ForbiddenResult,
    NotFound,
    UserError,
    ValidationError,
    refusal_result,
)
from atende.webhooks import errors, service
from atende.webhooks.types import (
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventKind,
    endpoint_loader,
)

# -- Inputs ------------------------------------------------------------------------------


@strawberry.input(description="A URL of the organization's systems, and what it hears of.")
class CreateWebhookEndpointInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    url: str = strawberry.field(
        description="Where to post: https:// on the public internet (at most 2000 characters)."
    )
    events: list[WebhookEventKind] = strawberry.field(description="What it hears of (one or more).")


@strawberry.input(description="What to change of an endpoint; what is left out stays.")
class UpdateWebhookEndpointInput:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint.")
    url: str | None = strawberry.field(default=None, description="A new URL.")
    events: list[WebhookEventKind] | None = strawberry.field(
        default=None, description="What it hears of from now on."
    )
    enabled: bool | None = strawberry.field(
        default=None, description="false: post nothing more to it; true: start again."
    )


@strawberry.input(description="An endpoint to remove.")
class RemoveWebhookEndpointInput:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint.")


@strawberry.input(description="A delivery to send again.")
class RedeliverWebhookInput:
    delivery_id: strawberry.ID = strawberry.field(description="The delivery.")


# -- Results -----------------------------------------------------------------------------


@strawberry.type(description="The endpoint was added.")
class CreateWebhookEndpointSuccess:
    endpoint: WebhookEndpoint = strawberry.field(description="The new endpoint.")
    secret: str = strawberry.field(
        description=(
            "The signing secret (`whsec_...`) to verify its deliveries with any Standard "
            "Webhooks library. Shown this once."
        )
    )


@strawberry.type(description="The endpoint was changed.")
class UpdateWebhookEndpointSuccess:
    endpoint: WebhookEndpoint = strawberry.field(description="The endpoint as it is now.")


@strawberry.type(description="The endpoint and its deliveries were removed.")
class RemoveWebhookEndpointSuccess:
    endpoint_id: strawberry.ID = strawberry.field(description="The removed endpoint's id.")


@strawberry.type(description="The delivery is queued again, with its webhook-id.")
class RedeliverWebhookSuccess:
    delivery: WebhookDelivery = strawberry.field(description="The delivery.")


@strawberry.type(description="The delivery's endpoint is disabled: enable it first.")
class WebhookEndpointDisabled(UserError):
    pass


CreateWebhookEndpointResult: TypeAlias = Annotated[
    CreateWebhookEndpointSuccess | ValidationError | NotFound | ForbiddenResult,
    strawberry.union(
        "CreateWebhookEndpointResult", description="The outcome of adding a webhook endpoint."
    ),
]
UpdateWebhookEndpointResult: TypeAlias = Annotated[
    UpdateWebhookEndpointSuccess | ValidationError | NotFound,
    strawberry.union(
        "UpdateWebhookEndpointResult", description="The outcome of changing a webhook endpoint."
    ),
]
RemoveWebhookEndpointResult: TypeAlias = Annotated[
    RemoveWebhookEndpointSuccess | NotFound,
    strawberry.union(
        "RemoveWebhookEndpointResult", description="The outcome of removing a webhook endpoint."
    ),
]
RedeliverWebhookResult: TypeAlias = Annotated[
    RedeliverWebhookSuccess | NotFound | WebhookEndpointDisabled,
    strawberry.union(
        "RedeliverWebhookResult", description="The outcome of sending a delivery again."
    ),
]

_NOT_FOUND = NotFound(message=shared_errors.NotFound.public_message)
_OWN: dict[type[Refusal], type[UserError]] = {errors.EndpointDisabled: WebhookEndpointDisabled}


def _allow_private(info: Info) -> bool:
    return info.context.get(Settings).outgoing_webhooks_private_allowed


async def load_endpoint(info: Info, endpoint_id: UUID) -> WebhookEndpoint:
    endpoint = await endpoint_loader(info.context).load(endpoint_id)
    if endpoint is None:  # the caller just wrote it, and may read it
        raise LookupError("webhook endpoint not visible after writing it")
    return endpoint


@strawberry.type
class WebhooksMutation:
    @strawberry.mutation(
        description=(
            "Add a webhook endpoint (owners and admins): events of the kinds given are "
            "posted to its URL, signed. The answer holds the signing secret, shown once."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def create_webhook_endpoint(
        self,
        info: Info,
        input: Annotated[
            CreateWebhookEndpointInput,
            strawberry.argument(description="The organization, URL and events."),
        ],
    ) -> CreateWebhookEndpointResult:
        organization = id_or_none(input.organization_id)
        if organization is None:
            return _NOT_FOUND
        try:
            endpoint_id, secret = await service.create_endpoint(
                await info.context.db(),
                info.context.get(TokenCipher),
                organization_id=organization,
                url=input.url,
                events=[event.event_type() for event in input.events],
                allow_private=_allow_private(info),
            )
        except Refusal as error:
            result = refusal_result(error)
            if isinstance(result, ValidationError | NotFound | ForbiddenResult):
                return result
            raise
        return CreateWebhookEndpointSuccess(
            endpoint=await load_endpoint(info, endpoint_id), secret=secret
        )

    @strawberry.mutation(
        description=(
            "Change a webhook endpoint (owners and admins): its URL, its events, or whether "
            "it is enabled (`enabled: false` stops posting to it)."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def update_webhook_endpoint(
        self,
        info: Info,
        input: Annotated[
            UpdateWebhookEndpointInput, strawberry.argument(description="What to change.")
        ],
    ) -> UpdateWebhookEndpointResult:
        endpoint = id_or_none(input.endpoint_id)
        if endpoint is None:
            return _NOT_FOUND
        try:
            changed = await service.update_endpoint(
                await info.context.db(),
                endpoint_id=endpoint,
                url=input.url,
                events=None
                if input.events is None
                else [event.event_type() for event in input.events],
                enabled=input.enabled,
                allow_private=_allow_private(info),
            )
        except Refusal as error:
            result = refusal_result(error)
            if isinstance(result, ValidationError | NotFound):
                return result
            raise
        return UpdateWebhookEndpointSuccess(endpoint=await load_endpoint(info, changed))

    @strawberry.mutation(
        description="Remove a webhook endpoint and its deliveries (owners and admins).",
        permission_classes=[IsAuthenticated],
    )
    async def remove_webhook_endpoint(
        self,
        info: Info,
        input: Annotated[RemoveWebhookEndpointInput, strawberry.argument(description="Which.")],
    ) -> RemoveWebhookEndpointResult:
        endpoint = id_or_none(input.endpoint_id)
        if endpoint is None:
            return _NOT_FOUND
        try:
            await service.remove_endpoint(await info.context.db(), endpoint)
        except Refusal as error:
            result = refusal_result(error)
            if isinstance(result, NotFound):
                return result
            raise
        return RemoveWebhookEndpointSuccess(endpoint_id=input.endpoint_id)

    @strawberry.mutation(
        description=(
            "Send a delivery again (owners and admins): the same webhook-id and payload, "
            "attempts counted afresh."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def redeliver_webhook(
        self,
        info: Info,
        input: Annotated[RedeliverWebhookInput, strawberry.argument(description="Which.")],
    ) -> RedeliverWebhookResult:
        delivery = id_or_none(input.delivery_id)
        if delivery is None:
            return _NOT_FOUND
        try:
            redelivered = await service.redeliver(await info.context.db(), delivery)
        except Refusal as error:
            result = refusal_result(error, _OWN)
            if isinstance(result, NotFound | WebhookEndpointDisabled):
                return result
            raise
        conn = await info.context.db()
        row = await (
            await conn.execute(service.queries["delivery_by_id"], {"delivery_id": redelivered})
        ).fetchone()
        if row is None:  # the caller just changed it, and may read it
            raise LookupError("webhook delivery not visible after writing it")
        return RedeliverWebhookSuccess(delivery=WebhookDelivery.from_row(row))
