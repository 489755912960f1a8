"""GraphQL types of API keys (``identity.api_keys``): the key as the team sees it, and
``Organization.apiKeys`` (composed in ``atende.api.organization``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from atende.db.queries import load_queries
from atende.graphql.context import Context, Info
from atende.graphql.ids import Node
from atende.identity.types import MembershipRole, User, user_loader

queries = load_queries("api_keys")


@strawberry.type(
    description=(
        "A credential for the organization's own systems (a CRM, an order system): sent as "
        "`Authorization: Bearer <secret>`, it acts for this organization alone with its "
        "role, as a member with that role would, until it is revoked. Its secret was shown "
        "once, when it was created."
    )
)
class ApiKey:
    id: strawberry.ID = strawberry.field(description="The key's id.")
    name: str = strawberry.field(description="What the key is for, as the team named it.")
    role: MembershipRole = strawberry.field(description="What the key may do.")
    prefix: str = strawberry.field(
        description="The secret's first characters (`atende_` and 8 more): to tell keys apart."
    )
    created_at: datetime = strawberry.field(description="When the key was created.")
    last_used_at: datetime | None = strawberry.field(
        description="When the key was last used, to the minute; null if never."
    )
    revoked_at: datetime | None = strawberry.field(
        description="When the key was revoked; null while it works."
    )
    created_by_id: strawberry.Private[UUID | None]
    organization_id: strawberry.Private[UUID]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ApiKey:
        return cls(
            id=strawberry.ID(str(row["id"])),
            name=row["name"],
            role=MembershipRole(row["role"]),
            prefix=row["prefix"],
            created_at=row["created_at"],
            last_used_at=row["last_used_at"],
            revoked_at=row["revoked_at"],
            created_by_id=row["created_by"],
            organization_id=row["organization_id"],
        )

    @strawberry.field(description="Who created it; null when they are no longer a teammate.")
    async def created_by(self, info: Info) -> User | None:
        if self.created_by_id is None:
            return None
        return await user_loader(info.context).load(self.created_by_id)


def api_key_loader(context: Context) -> DataLoader[UUID, ApiKey | None]:
    """Keys by id, batched per operation; RLS shows them to owners and admins."""

    async def load(ids: Sequence[UUID]) -> list[ApiKey | None]:
        conn = await context.db()
        rows = await (await conn.execute(queries["api_keys_by_id"], {"ids": list(ids)})).fetchall()
        by_id = {row["id"]: ApiKey.from_row(row) for row in rows}
        return [by_id.get(key_id) for key_id in ids]

    return context.loader("identity.api_keys", lambda: DataLoader(load_fn=load))


def organization_api_keys_loader(context: Context) -> DataLoader[UUID, list[ApiKey]]:
    """The keys of organizations by organization id, batched per operation."""

    async def load(ids: Sequence[UUID]) -> list[list[ApiKey]]:
        conn = await context.db()
        rows = await (
            await conn.execute(
                queries["api_keys_of_organizations"], {"organization_ids": list(ids)}
            )
        ).fetchall()
        by_organization: dict[UUID, list[ApiKey]] = {}
        for row in rows:
            by_organization.setdefault(row["organization_id"], []).append(ApiKey.from_row(row))
        return [by_organization.get(organization_id, []) for organization_id in ids]

    return context.loader("identity.organization_api_keys", lambda: DataLoader(load_fn=load))


async def organization_api_keys(parent: strawberry.Parent[Node], info: Info) -> list[ApiKey]:
    """``Organization.apiKeys``: every key, newest first, revoked ones too (owners and
    admins; empty for agents)."""
    if info.context.caller.user_id is None:
        return []
    return await organization_api_keys_loader(info.context).load(UUID(str(parent.id)))
