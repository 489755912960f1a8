"""GraphQL types of the channel module: channels (Twilio numbers) and their templates.

A channel's auth token is write-only: no type here has a field for it. ``channels`` on
``Organization`` is ``organization_channels``, attached in ``atende.api.organization``;
this module imports nothing from identity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from atende.channels.broadcasts.types import broadcast_rate_loader
from atende.db.queries import load_queries
from atende.graphql.context import Context, Info
from atende.graphql.ids import Node

queries = load_queries("channels")


@strawberry.enum(description="The kind of number a channel is.")
class ChannelKind(Enum):
    WHATSAPP = strawberry.enum_value("whatsapp", description="A WhatsApp sender.")
    SMS = strawberry.enum_value("sms", description="An SMS number.")


@strawberry.type(description="A placeholder of a template, as Twilio's ContentVariables names it.")
class TemplateVariable:
    key: str = strawberry.field(description='ContentVariables key: "1", "2", ... or a name.')
    name: str = strawberry.field(description="What the value is, for the team (pt-BR).")


@strawberry.type(
    description="An approved WhatsApp template (Twilio Content API), sendable outside the"
    " 24-hour window with `sendTemplate`."
)
class ChannelTemplate:
    id: strawberry.ID = strawberry.field(description="The template's id.")
    name: str = strawberry.field(description="What the team calls it.")
    content_sid: str = strawberry.field(description="The template's ContentSid (HX...).")
    language: str = strawberry.field(description="pt_BR, en, ...")
    variables: list[TemplateVariable] = strawberry.field(description="Its placeholders, in order.")
    body: str | None = strawberry.field(
        description="The approved text with {{key}} placeholders, shown in the history."
    )
    created_at: datetime = strawberry.field(description="When it was added.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ChannelTemplate:
        return cls(
            id=strawberry.ID(str(row["id"])),
            name=row["name"],
            content_sid=row["content_sid"],
            language=row["language"],
            variables=[
                TemplateVariable(key=str(item["key"]), name=str(item["name"]))
                for item in row["variables"] or []
            ],
            body=row["body"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@strawberry.type(
    description="A business's WhatsApp sender or SMS number on Twilio. Its auth token is"
    " stored encrypted and never returned."
)
class Channel:
    id: strawberry.ID = strawberry.field(description="The channel's id.")
    kind: ChannelKind = strawberry.field(description="WhatsApp sender or SMS number.")
    phone_number: str = strawberry.field(description="E.164 (+5511987654321).")
    display_name: str | None = strawberry.field(description="The name the team gave it.")
    twilio_account_sid: str = strawberry.field(description="The Twilio account (AC...).")
    enabled: bool = strawberry.field(description="Disabled channels neither receive nor send.")
    created_at: datetime = strawberry.field(description="When it was added.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @strawberry.field(description="The channel's approved templates, by name.")
    async def templates(self, info: Info) -> list[ChannelTemplate]:
        return await templates_loader(info.context).load(UUID(str(self.id)))

    @strawberry.field(
        description="Messages a second its broadcasts send: its setting, else Twilio's default"
        " (80 for a WhatsApp sender, 1 for an SMS number)."
    )
    async def broadcast_rate_per_second(self, info: Info) -> float:
        rate = await broadcast_rate_loader(info.context).load(UUID(str(self.id)))
        assert rate is not None  # the channel was just read, as the same caller
        return rate

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Channel:
        return cls(
            id=strawberry.ID(str(row["id"])),
            kind=ChannelKind(row["kind"]),
            phone_number=row["phone_number"],
            display_name=row["display_name"],
            twilio_account_sid=row["twilio_account_sid"],
            enabled=row["enabled"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


def channels_loader(context: Context) -> DataLoader[UUID, list[Channel]]:
    """Each organization's channels, batched per operation (RLS decides what shows)."""

    async def load(organization_ids: Sequence[UUID]) -> list[list[Channel]]:
        conn = await context.db()
        rows = await (
            await conn.execute(
                queries["channels_of_organizations"], {"organization_ids": list(organization_ids)}
            )
        ).fetchall()
        by_organization: dict[UUID, list[Channel]] = defaultdict(list)
        for row in rows:
            by_organization[row["organization_id"]].append(Channel.from_row(row))
        return [by_organization.get(organization_id, []) for organization_id in organization_ids]

    return context.loader("channels.by_organization", lambda: DataLoader(load_fn=load))


def templates_loader(context: Context) -> DataLoader[UUID, list[ChannelTemplate]]:
    async def load(channel_ids: Sequence[UUID]) -> list[list[ChannelTemplate]]:
        conn = await context.db()
        rows = await (
            await conn.execute(queries["templates_of_channels"], {"channel_ids": list(channel_ids)})
        ).fetchall()
        by_channel: dict[UUID, list[ChannelTemplate]] = defaultdict(list)
        for row in rows:
            by_channel[row["channel_id"]].append(ChannelTemplate.from_row(row))
        return [by_channel.get(channel_id, []) for channel_id in channel_ids]

    return context.loader("channels.templates_by_channel", lambda: DataLoader(load_fn=load))


async def organization_channels(root: strawberry.Parent[Node], info: Info) -> list[Channel]:
    """The organization's channels, oldest first."""
    return await channels_loader(info.context).load(UUID(str(root.id)))
