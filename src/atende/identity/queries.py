"""The identity module's root queries: the viewer, and an organization by id."""

from __future__ import annotations

from typing import Annotated

import strawberry

from atende.db.queries import load_queries
from atende.graphql.context import Info
from atende.graphql.ids import load_visible
from atende.graphql.permissions import IsAuthenticated
from atende.identity.types import (
    Membership,
    OrganizationBase,
    OrganizationType,
    User,
    Viewer,
    organization_loader,
    user_loader,
)

queries = load_queries("identity")


async def resolve_viewer(info: Info) -> Viewer | None:
    context = info.context
    if context.caller.user_id is None:
        return None
    conn = await context.db()
    profile = await (await conn.execute(queries["viewer_profile"])).fetchone()
    if profile is None:
        return None
    rows = await (await conn.execute(queries["viewer_memberships"])).fetchall()
    organizations = organization_loader(context)
    memberships = []
    for row in rows:
        organizations.prime(
            row["organization_id"],
            OrganizationBase(
                id=strawberry.ID(str(row["organization_id"])),
                name=row["organization_name"],
                created_at=row["organization_created_at"],
            ),
        )
        memberships.append(Membership.from_row(row))
    user = User.from_row(profile)
    user_loader(context).prime(profile["id"], user)
    return Viewer(user=user, memberships=memberships)


@strawberry.type
class IdentityQuery:
    viewer: Viewer | None = strawberry.field(
        resolver=resolve_viewer,
        description="The signed-in user; null for anonymous requests.",
    )

    @strawberry.field(
        description="An organization the caller belongs to; null otherwise.",
        permission_classes=[IsAuthenticated],
    )
    async def organization(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The organization's id.")],
    ) -> OrganizationType | None:
        return await load_visible(organization_loader(info.context), id)
