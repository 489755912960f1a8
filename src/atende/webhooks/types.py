"""GraphQL types of outgoing webhooks: endpoints, their deliveries, the event kinds, and
``Organization.webhookEndpoints`` (composed in ``atende.api.organization``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import orjson
import strawberry
from strawberry.dataloader import DataLoader

from atende.db.queries import load_queries
from atende.graphql.context import Context, Info
from atende.graphql.ids import Node
from atende.graphql.pagination import (
    NEWEST,
    After,
    First,
    PageInfo,
    decode_time_cursor,
    encode_time_cursor,
    page_size,
)
from atende.webhooks.delivery import webhook_id
from atende.webhooks.models import EventType

queries = load_queries("webhooks")

DELIVERY_CURSOR = "webhook_delivery"


@strawberry.enum(description="What an endpoint hears of: the `type` of the events posted to it.")
class WebhookEventKind(Enum):
    MESSAGE_RECEIVED = strawberry.enum_value(
        EventType.MESSAGE_RECEIVED.value, description="`message.received`: a contact wrote."
    )
    MESSAGE_SENT = strawberry.enum_value(
        EventType.MESSAGE_SENT.value,
        description="`message.sent`: a message to a contact left (Twilio took it).",
    )
    MESSAGE_STATUS_CHANGED = strawberry.enum_value(
        EventType.MESSAGE_STATUS_CHANGED.value,
        description="`message.status_changed`: sent, delivered, read, failed or undelivered.",
    )
    CONVERSATION_HANDED_OFF = strawberry.enum_value(
        EventType.CONVERSATION_HANDED_OFF.value,
        description="`conversation.handed_off`: the AI handed the conversation to the team.",
    )
    CONVERSATION_ASSIGNED = strawberry.enum_value(
        EventType.CONVERSATION_ASSIGNED.value,
        description="`conversation.assigned`: assigned to a member, or unassigned.",
    )
    CONVERSATION_CLOSED = strawberry.enum_value(
        EventType.CONVERSATION_CLOSED.value, description="`conversation.closed`."
    )
    CONVERSATION_REOPENED = strawberry.enum_value(
        EventType.CONVERSATION_REOPENED.value, description="`conversation.reopened`."
    )
    CONTACT_OPTED_OUT = strawberry.enum_value(
        EventType.CONTACT_OPTED_OUT.value,
        description="`contact.opted_out`: the contact asked for no more messages (PARAR, STOP).",
    )
    CONTACT_OPTED_IN = strawberry.enum_value(
        EventType.CONTACT_OPTED_IN.value,
        description="`contact.opted_in`: the contact opted back in (VOLTAR, START).",
    )

    def event_type(self) -> EventType:
        return EventType(str(self.value))


@strawberry.enum(description="Where a delivery stands.")
class WebhookDeliveryStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Not delivered yet; will be tried.")
    DELIVERED = strawberry.enum_value("delivered", description="The receiver answered 2xx.")
    FAILED = strawberry.enum_value(
        "failed", description="Every attempt failed (or the endpoint was disabled): no more."
    )


@strawberry.type(description="One attempt to post a delivery.")
class WebhookDeliveryAttempt:
    attempt: int = strawberry.field(
        description="Its number: 1 is the first after the event (or after a redelivery)."
    )
    status_code: int | None = strawberry.field(
        description="The receiver's HTTP status; null when it did not answer."
    )
    duration_ms: int | None = strawberry.field(description="How long it took, in milliseconds.")
    error: str | None = strawberry.field(
        description="Why it failed (a timeout, a refused address, a status); null when delivered."
    )
    attempted_at: datetime = strawberry.field(description="When it was made.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> WebhookDeliveryAttempt:
        return cls(
            attempt=row["attempt"],
            status_code=row["status_code"],
            duration_ms=row["duration_ms"],
            error=row["error"],
            attempted_at=row["attempted_at"],
        )


def attempts_loader(context: Context) -> DataLoader[UUID, list[WebhookDeliveryAttempt]]:
    """Deliveries' attempts, batched per operation (a page of deliveries: one statement)."""

    async def load(ids: Sequence[UUID]) -> list[list[WebhookDeliveryAttempt]]:
        conn = await context.db()
        rows = await (
            await conn.execute(queries["attempts_of_deliveries"], {"delivery_ids": list(ids)})
        ).fetchall()
        by_delivery: dict[UUID, list[WebhookDeliveryAttempt]] = {}
        for row in rows:
            by_delivery.setdefault(row["delivery_id"], []).append(
                WebhookDeliveryAttempt.from_row(row)
            )
        return [by_delivery.get(delivery_id, []) for delivery_id in ids]

    return context.loader("webhooks.attempts", lambda: DataLoader(load_fn=load))


@strawberry.type(description="One event posted (or to be posted) to one endpoint.")
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="The delivery's id.")
    webhook_id: str = strawberry.field(
        description="The `webhook-id` header: the same on every attempt and redelivery."
    )
    event: WebhookEventKind = strawberry.field(description="The event's type.")
    payload: str = strawberry.field(
        description="The body posted, as JSON text: an object of type, timestamp and data."
    )
    status: WebhookDeliveryStatus = strawberry.field(description="Where it stands.")
    attempts: int = strawberry.field(description="Attempts so far.")
    last_attempt_at: datetime | None = strawberry.field(description="When it was last tried.")
    last_status_code: int | None = strawberry.field(
        description="The receiver's HTTP status at the last attempt; null when it did not answer."
    )
    last_duration_ms: int | None = strawberry.field(
        description="How long the last attempt took, in milliseconds."
    )
    last_error: str | None = strawberry.field(
        description="Why the last attempt failed (a timeout, a refused address, a status)."
    )
    next_attempt_at: datetime | None = strawberry.field(
        description="When it will be tried again, while pending."
    )
    delivered_at: datetime | None = strawberry.field(description="When the receiver took it.")
    created_at: datetime = strawberry.field(description="When the event happened.")

    @strawberry.field(
        description=(
            "Each attempt, oldest first: attempt number, status code, duration, error, time. "
            "Attempts are kept 30 days (`attempts` and the `last*` fields stay)."
        )
    )
    async def attempt_history(self, info: Info) -> list[WebhookDeliveryAttempt]:
        return await attempts_loader(info.context).load(UUID(str(self.id)))

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(str(row["id"])),
            webhook_id=webhook_id(row["id"]),
            event=WebhookEventKind(row["event_type"]),
            payload=orjson.dumps(row["payload"]).decode(),
            status=WebhookDeliveryStatus(row["status"]),
            attempts=row["attempts"],
            last_attempt_at=row["last_attempt_at"],
            last_status_code=row["last_status_code"],
            last_duration_ms=row["last_duration_ms"],
            last_error=row["last_error"],
            next_attempt_at=row["next_attempt_at"],
            delivered_at=row["delivered_at"],
            created_at=row["created_at"],
        )


@strawberry.type(description="A delivery and its place in the list.")
class WebhookDeliveryEdge:
    cursor: str = strawberry.field(description="Where this delivery is in the list (opaque).")
    node: WebhookDelivery = strawberry.field(description="The delivery.")


@strawberry.type(description="A page of an endpoint's deliveries, newest first.")
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge] = strawberry.field(description="The page's deliveries.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")


@strawberry.type(
    description=(
        "A URL of the organization's own systems that hears of its events: signed POSTs "
        "following the Standard Webhooks specification."
    )
)
class WebhookEndpoint:
    id: strawberry.ID = strawberry.field(description="The endpoint's id.")
    url: str = strawberry.field(description="Where events are posted.")
    events: list[WebhookEventKind] = strawberry.field(description="What it hears of.")
    enabled: bool = strawberry.field(description="Whether events are posted to it.")
    disabled_reason: str | None = strawberry.field(
        description="`failing` when Atende disabled it after days of failed deliveries."
    )
    failing_since: datetime | None = strawberry.field(
        description="Since when every attempt to it has failed; null while it answers."
    )
    created_at: datetime = strawberry.field(description="When it was added.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(str(row["id"])),
            url=row["url"],
            events=[WebhookEventKind(event) for event in row["events"]],
            enabled=row["enabled"],
            disabled_reason=row["disabled_reason"],
            failing_since=row["failing_since"],
            created_at=row["created_at"],
        )

    @strawberry.field(description="Its deliveries, newest first.")
    async def deliveries(
        self, info: Info, first: First = None, after: After = None
    ) -> WebhookDeliveryConnection:
        size = page_size(first)
        at, row_id = decode_time_cursor(DELIVERY_CURSOR, after) if after else NEWEST
        conn = await info.context.db()
        rows = await (
            await conn.execute(
                queries["deliveries_of_endpoint"],
                {
                    "endpoint_id": UUID(str(self.id)),
                    "after_time": at,
                    "after_id": row_id,
                    "limit": size + 1,
                },
            )
        ).fetchall()
        edges = [
            WebhookDeliveryEdge(
                cursor=encode_time_cursor(DELIVERY_CURSOR, row["created_at"], row["id"]),
                node=WebhookDelivery.from_row(row),
            )
            for row in rows[:size]
        ]
        return WebhookDeliveryConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > size,
                has_previous_page=False,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )


def endpoint_loader(context: Context) -> DataLoader[UUID, WebhookEndpoint | None]:
    """Endpoints by id, batched per operation; RLS shows them to owners and admins."""

    async def load(ids: Sequence[UUID]) -> list[WebhookEndpoint | None]:
        conn = await context.db()
        rows = await (await conn.execute(queries["endpoints_by_id"], {"ids": list(ids)})).fetchall()
        by_id = {row["id"]: WebhookEndpoint.from_row(row) for row in rows}
        return [by_id.get(endpoint_id) for endpoint_id in ids]

    return context.loader("webhooks.endpoints", lambda: DataLoader(load_fn=load))


def organization_endpoints_loader(context: Context) -> DataLoader[UUID, list[WebhookEndpoint]]:
    async def load(ids: Sequence[UUID]) -> list[list[WebhookEndpoint]]:
        conn = await context.db()
        rows = await (
            await conn.execute(
                queries["endpoints_of_organizations"], {"organization_ids": list(ids)}
            )
        ).fetchall()
        by_organization: dict[UUID, list[WebhookEndpoint]] = {}
        for row in rows:
            by_organization.setdefault(row["organization_id"], []).append(
                WebhookEndpoint.from_row(row)
            )
        return [by_organization.get(organization_id, []) for organization_id in ids]

    return context.loader("webhooks.organization_endpoints", lambda: DataLoader(load_fn=load))


async def organization_webhook_endpoints(
    parent: strawberry.Parent[Node], info: Info
) -> list[WebhookEndpoint]:
    """``Organization.webhookEndpoints``: oldest first (owners and admins; empty for agents)."""
    if info.context.caller.user_id is None:
        return []
    return await organization_endpoints_loader(info.context).load(UUID(str(parent.id)))
