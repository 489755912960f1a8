"""GraphQL types of broadcasts: ``Broadcast`` (its summary and its recipients, paged),
``Organization.broadcasts`` (composed in ``atende.api.organization``) and
``Channel.broadcastRatePerSecond``'s loader."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from atende.db.queries import load_queries
from atende.graphql.context import Context, Info
from atende.graphql.ids import Node
from atende.graphql.pagination import (
    NEWEST,
    After,
    First,
    InvalidCursor,
    PageInfo,
    decode_cursor,
    decode_time_cursor,
    encode_cursor,
    encode_time_cursor,
    page_size,
)

queries = load_queries("broadcasts")

BROADCAST_CURSOR = "broadcast"
RECIPIENT_CURSOR = "broadcast_recipient"


@strawberry.enum(description="Where a broadcast stands.")
class BroadcastStatus(Enum):
    SENDING = strawberry.enum_value(
        "sending", description="Recipients are still being sent to, at the channel's pace."
    )
    COMPLETED = strawberry.enum_value(
        "completed", description="Every recipient was handled (sent, skipped or failed)."
    )
    CANCELLED = strawberry.enum_value(
        "cancelled", description="Cancelled: what was sent stays sent, the rest was not."
    )
    FAILED = strawberry.enum_value(
        "failed",
        description="Its job was given up (its workers died): what was sent stays sent,"
        " the recipients still queued failed, with the reason.",
    )


@strawberry.enum(description="Where one recipient of a broadcast stands.")
class BroadcastRecipientStatus(Enum):
    QUEUED = strawberry.enum_value("queued", description="Waiting for its turn.")
    SENDING = strawberry.enum_value(
        "sending", description="Its message is queued or being handed to Twilio."
    )
    SENT = strawberry.enum_value("sent", description="Twilio took its message.")
    DELIVERED = strawberry.enum_value("delivered", description="Delivered (or read).")
    FAILED = strawberry.enum_value(
        "failed", description="Not delivered: see `reason` or the message's error."
    )
    SKIPPED = strawberry.enum_value(
        "skipped", description="Not sent on purpose: `reason` `opted_out` (the contact opted out)."
    )
    CANCELLED = strawberry.enum_value(
        "cancelled", description="The broadcast was cancelled before its turn."
    )


@strawberry.type(description="One contact of a broadcast and what happened to their message.")
class BroadcastRecipient:
    contact_id: strawberry.ID = strawberry.field(description="The contact.")
    contact_name: str = strawberry.field(
        description="How to show the contact: the team's name for them, else their WhatsApp"
        " profile name, else the phone number (as `Contact.name`)."
    )
    contact_phone_number: str = strawberry.field(description="The contact's number, E.164.")
    status: BroadcastRecipientStatus = strawberry.field(description="Where it stands.")
    reason: str | None = strawberry.field(
        description=(
            "Why it was skipped, failed or cancelled: `opted_out`, `channel_disabled`, "
            "`cancelled`, or Twilio's error code when the message failed."
        )
    )
    conversation_id: strawberry.ID | None = strawberry.field(
        description="The contact's conversation the message went to (started if they had none)."
    )
    message_id: strawberry.ID | None = strawberry.field(description="The message, once queued.")
    handled_at: datetime | None = strawberry.field(
        description="When its turn came (sent, skipped, failed or cancelled)."
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> BroadcastRecipient:
        status = BroadcastRecipientStatus(row["state"])
        reason = row["reason"]
        if status is BroadcastRecipientStatus.FAILED and reason is None:
            reason = row["error_code"]
        return cls(
            contact_id=strawberry.ID(str(row["contact_id"])),
            contact_name=row["contact_name"],
            contact_phone_number=row["contact_phone_number"],
            status=status,
            reason=reason,
            conversation_id=_id_or_none(row["conversation_id"]),
            message_id=_id_or_none(row["message_id"]),
            handled_at=row["handled_at"],
        )


def _id_or_none(value: UUID | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type(description="A recipient and its place in the list.")
class BroadcastRecipientEdge:
    cursor: str = strawberry.field(description="Where this recipient is in the list (opaque).")
    node: BroadcastRecipient = strawberry.field(description="The recipient.")


@strawberry.type(description="A page of a broadcast's recipients, in sending order.")
class BroadcastRecipientConnection:
    edges: list[BroadcastRecipientEdge] = strawberry.field(description="The page's recipients.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")


@strawberry.type(
    description=(
        "One approved template sent to many contacts of a channel, at the channel's pace, "
        "with a summary of where its recipients stand."
    )
)
class Broadcast:
    id: strawberry.ID = strawberry.field(description="The broadcast's id.")
    channel_id: strawberry.ID = strawberry.field(description="The channel it goes out on.")
    template_id: strawberry.ID | None = strawberry.field(
        description="The template sent (null once the template was removed)."
    )
    template_name: str = strawberry.field(description="The template's name when sent.")
    body: str = strawberry.field(description="The text sent, with its variables.")
    rate_per_second: float = strawberry.field(description="Its pace: messages a second.")
    status: BroadcastStatus = strawberry.field(description="Where it stands.")
    total: int = strawberry.field(description="Recipients, all told.")
    queued: int = strawberry.field(description="Recipients waiting for their turn.")
    sent: int = strawberry.field(
        description="Recipients whose message went (or is going) to Twilio, delivered ones too."
    )
    delivered: int = strawberry.field(description="Recipients whose message was delivered.")
    failed: int = strawberry.field(description="Recipients whose message failed.")
    skipped: int = strawberry.field(description="Recipients skipped (they opted out).")
    cancelled: int = strawberry.field(description="Recipients not sent to: cancelled.")
    created_at: datetime = strawberry.field(description="When it was made.")
    finished_at: datetime | None = strawberry.field(
        description="When it completed, was cancelled or failed."
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Broadcast:
        return cls(
            id=strawberry.ID(str(row["id"])),
            channel_id=strawberry.ID(str(row["channel_id"])),
            template_id=_id_or_none(row["template_id"]),
            template_name=row["template_name"],
            body=row["body"],
            rate_per_second=float(row["rate_per_second"]),
            status=BroadcastStatus(row["status"]),
            total=row["total"],
            queued=row["queued"],
            sent=row["sent"],
            delivered=row["delivered"],
            failed=row["failed"],
            skipped=row["skipped"],
            cancelled=row["cancelled"],
            created_at=row["created_at"],
            finished_at=row["finished_at"],
        )

    @strawberry.field(description="Its recipients, in sending order.")
    async def recipients(
        self, info: Info, first: First = None, after: After = None
    ) -> BroadcastRecipientConnection:
        size = page_size(first)
        position = 0
        if after:
            [raw] = decode_cursor(RECIPIENT_CURSOR, after, 1)
            if not raw.isdigit():
                raise InvalidCursor()
            position = int(raw)
        conn = await info.context.db()
        rows = await (
            await conn.execute(
                queries["recipients_of_broadcast"],
                {
                    "broadcast_id": UUID(str(self.id)),
                    "after_position": position,
                    "limit": size + 1,
                },
            )
        ).fetchall()
        edges = [
            BroadcastRecipientEdge(
                cursor=encode_cursor(RECIPIENT_CURSOR, str(row["position"])),
                node=BroadcastRecipient.from_row(row),
            )
            for row in rows[:size]
        ]
        return BroadcastRecipientConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > size,
                has_previous_page=False,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )


@strawberry.type(description="A broadcast and its place in the list.")
class BroadcastEdge:
    cursor: str = strawberry.field(description="Where this broadcast is in the list (opaque).")
    node: Broadcast = strawberry.field(description="The broadcast.")


@strawberry.type(description="A page of an organization's broadcasts, newest first.")
class BroadcastConnection:
    edges: list[BroadcastEdge] = strawberry.field(description="The page's broadcasts.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")


def broadcast_loader(context: Context) -> DataLoader[UUID, Broadcast | None]:
    """Broadcasts with their counts by id, batched per operation (RLS: members see their
    organizations')."""

    async def load(ids: Sequence[UUID]) -> list[Broadcast | None]:
        conn = await context.db()
        rows = await (
            await conn.execute(queries["broadcasts_by_id"], {"ids": list(ids)})
        ).fetchall()
        by_id = {row["id"]: Broadcast.from_row(row) for row in rows}
        return [by_id.get(broadcast_id) for broadcast_id in ids]

    return context.loader("channels.broadcasts", lambda: DataLoader(load_fn=load))


def broadcast_rate_loader(context: Context) -> DataLoader[UUID, float | None]:
    async def load(ids: Sequence[UUID]) -> list[float | None]:
        conn = await context.db()
        rows = await (
            await conn.execute(queries["broadcast_rates_of_channels"], {"channel_ids": list(ids)})
        ).fetchall()
        by_id = {row["id"]: float(row["rate"]) for row in rows}
        return [by_id.get(channel_id) for channel_id in ids]

    return context.loader("channels.broadcast_rates", lambda: DataLoader(load_fn=load))


async def organization_broadcasts(
    parent: strawberry.Parent[Node], info: Info, first: First = None, after: After = None
) -> BroadcastConnection:
    """``Organization.broadcasts``: newest first."""
    size = page_size(first)
    at, row_id = decode_time_cursor(BROADCAST_CURSOR, after) if after else NEWEST
    conn = await info.context.db()
    rows = await (
        await conn.execute(
            queries["broadcast_ids_of_organization"],
            {
                "organization_id": UUID(str(parent.id)),
                "after_time": at,
                "after_id": row_id,
                "limit": size + 1,
            },
        )
    ).fetchall()
    page = rows[:size]
    loaded = await broadcast_loader(info.context).load_many([row["id"] for row in page])
    edges = [
        BroadcastEdge(
            cursor=encode_time_cursor(BROADCAST_CURSOR, row["created_at"], row["id"]), node=node
        )
        for row, node in zip(page, loaded, strict=True)
        if node is not None
    ]
    return BroadcastConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > size,
            has_previous_page=False,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
