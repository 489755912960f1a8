"""GraphQL types of the identity module: the viewer, users, organizations, memberships."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from atende.conversations.queries import (
    organization_contacts,
    organization_conversations,
    organization_usage,
)
from atende.db.queries import load_queries
from atende.graphql.context import Context, Info

queries = load_queries("identity")


@strawberry.enum(description="What a member may do in an organization.")
class MembershipRole(Enum):
    OWNER = "owner"
    ADMIN = "admin"
    AGENT = "agent"


@strawberry.type(description="A person who can sign in to Atende.")
class User:
    id: strawberry.ID
    email: str
    full_name: str = strawberry.field(description="The name teammates see.")


@strawberry.type(description="A business using Atende: the tenant everything belongs to.")
class Organization:
    id: strawberry.ID
    name: str
    created_at: datetime
    # The inbox (atende.conversations.queries).
    conversations = strawberry.field(
        resolver=organization_conversations,
        description="The inbox: conversations by last activity, newest first.",
    )
    contacts = strawberry.field(
        resolver=organization_contacts, description="The organization's contacts, by name."
    )
    usage = strawberry.field(
        resolver=organization_usage,
        description="Conversations, messages, AI replies and tokens in a period.",
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Organization:
        return cls(id=strawberry.ID(str(row["id"])), name=row["name"], created_at=row["created_at"])


def organization_loader(context: Context) -> DataLoader[UUID, Organization | None]:
    """Organizations by id, batched per operation; RLS hides the caller's non-members."""

    async def load(ids: Sequence[UUID]) -> list[Organization | None]:
        conn = await context.db()
        rows = await (
            await conn.execute(queries["organizations_by_id"], {"ids": list(ids)})
        ).fetchall()
        by_id = {row["id"]: Organization.from_row(row) for row in rows}
        return [by_id.get(organization_id) for organization_id in ids]

    return context.loader("organizations", lambda: DataLoader(load_fn=load))


@strawberry.type(description="A user's place in an organization.")
class Membership:
    role: MembershipRole
    organization: Organization


@strawberry.type(description="The signed-in user and where they belong.")
class Viewer:
    user: User
    memberships: list[Membership]


async def resolve_viewer(info: Info) -> Viewer | None:
    context = info.context
    if context.caller.user_id is None:
        return None
    conn = await context.db()
    profile = await (await conn.execute(queries["viewer_profile"])).fetchone()
    if profile is None:
        return None
    rows = await (await conn.execute(queries["viewer_memberships"])).fetchall()
    return Viewer(
        user=User(
            id=strawberry.ID(str(profile["id"])),
            email=profile["email"],
            full_name=profile["full_name"],
        ),
        memberships=[
            Membership(
                role=MembershipRole(row["role"]),
                organization=Organization(
                    id=strawberry.ID(str(row["organization_id"])),
                    name=row["organization_name"],
                    created_at=row["organization_created_at"],
                ),
            )
            for row in rows
        ],
    )


@strawberry.type
class IdentityQuery:
    viewer: Viewer | None = strawberry.field(
        resolver=resolve_viewer,
        description="The signed-in user; null for anonymous requests.",
    )

    @strawberry.field(description="An organization the caller belongs to; null otherwise.")
    async def organization(self, info: Info, id: strawberry.ID) -> Organization | None:
        if info.context.caller.user_id is None:
            return None  # anonymous callers belong nowhere (and anon may not read the table)
        try:
            organization_id = UUID(str(id))
        except ValueError:
            return None
        return await organization_loader(info.context).load(organization_id)
