"""The ai module's root query: an organization's agent."""

from __future__ import annotations

from typing import Annotated

import strawberry

from atende.ai.service import get_agent
from atende.ai.types import Agent
from atende.graphql.context import Info
from atende.graphql.ids import id_or_none
from atende.graphql.permissions import IsAuthenticated


@strawberry.type
class AgentQuery:
    @strawberry.field(
        description="The AI assistant of an organization the caller belongs to; null otherwise.",
        permission_classes=[IsAuthenticated],
    )
    async def agent(
        self,
        info: Info,
        organization_id: Annotated[
            strawberry.ID, strawberry.argument(description="The organization.")
        ],
    ) -> Agent | None:
        context = info.context
        organization = id_or_none(organization_id)
        if organization is None:
            return None
        agent = await get_agent(await context.db(), organization)
        return None if agent is None else Agent.from_settings(agent)
