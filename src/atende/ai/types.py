"""GraphQL types of the ai module: the organization's agent, and changing its settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from atende.ai.agents import (
    CHANGEABLE,
    AgentNotFound,
    AgentSettings,
    get_agent,
    update_agent,
)
from atende.errors import Refusal
from atende.graphql.context import Info
from atende.graphql.ids import id_or_none
from atende.graphql.permissions import IsAuthenticated
from atende.graphql.results import ForbiddenResult, NotFound, ValidationError, refusal_result

# The expected failures every module shares (one set of types in the schema).


@strawberry.type(description="An organization's AI assistant: its voice, model and manners.")
class Agent:
    id: strawberry.ID = strawberry.field(description="The agent's id.")
    organization_id: strawberry.ID = strawberry.field(description="The organization it serves.")
    name: str = strawberry.field(description="What the team calls it.")
    system_prompt: str = strawberry.field(
        description="Its instructions: who it is, what it knows, how it speaks."
    )
    model: str = strawberry.field(
        description="The model that answers (`gpt-4o-mini`, or a local server's, e.g. `llama3.2`)."
    )
    temperature: float = strawberry.field(description="0 (predictable) to 2 (inventive).")
    history_messages: int = strawberry.field(
        description="How many of the latest messages the model reads (1 to 200)."
    )
    history_tokens: int | None = strawberry.field(
        description="A budget for those messages in tokens (older ones drop first); null: none."
    )
    debounce_seconds: int = strawberry.field(
        description=(
            "How long to wait after a customer message for more (0 to 120): a burst gets "
            "one answer."
        )
    )
    fallback_message: str = strawberry.field(
        description="What the customer is told when the AI fails; the team takes over."
    )
    handoff_message: str = strawberry.field(
        description="What the customer is told when the AI hands the conversation to a person."
    )
    inactivity_hours: int = strawberry.field(
        description="Conversations with no message for this long are closed (1 to 720)."
    )
    follow_up_message: str | None = strawberry.field(
        description="Sent once when the customer goes quiet after an answer; null: never."
    )
    follow_up_after_minutes: int | None = strawberry.field(
        description="How long the customer must be quiet before the follow-up (5 to 1380)."
    )
    ai_enabled: bool = strawberry.field(
        description="Whether the AI answers at all in this organization."
    )
    updated_at: datetime = strawberry.field(description="When its settings last changed.")

    @classmethod
    def from_settings(cls, agent: AgentSettings) -> Agent:
        return cls(
            id=strawberry.ID(str(agent.id)),
            organization_id=strawberry.ID(str(agent.organization_id)),
            name=agent.name,
            system_prompt=agent.system_prompt,
            model=agent.model,
            temperature=agent.temperature,
            history_messages=agent.history_messages,
            history_tokens=agent.history_tokens,
            debounce_seconds=agent.debounce_seconds,
            fallback_message=agent.fallback_message,
            handoff_message=agent.handoff_message,
            inactivity_hours=agent.inactivity_hours,
            follow_up_message=agent.follow_up_message,
            follow_up_after_minutes=agent.follow_up_after_minutes,
            ai_enabled=agent.ai_enabled,
            updated_at=agent.updated_at,
        )


@strawberry.input(
    description="New settings for an organization's agent; fields left out stay as they are."
)
class UpdateAgentInput:
    organization_id: strawberry.ID = strawberry.field(
        description="The organization whose agent changes."
    )
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="What the team calls it (1 to 80 characters)."
    )
    system_prompt: str | None = strawberry.field(
        default=strawberry.UNSET, description="Its instructions (not blank; up to 20,000)."
    )
    model: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="A model name: letters, digits and . _ : / - (e.g. `gpt-4o-mini`, `llama3.2`).",
    )
    temperature: float | None = strawberry.field(
        default=strawberry.UNSET, description="0 to 2, kept to two decimals."
    )
    history_messages: int | None = strawberry.field(
        default=strawberry.UNSET, description="Latest messages the model reads (1 to 200)."
    )
    history_tokens: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="A token budget for them (100 to 200,000); null removes the budget.",
    )
    debounce_seconds: int | None = strawberry.field(
        default=strawberry.UNSET, description="Wait for more customer messages (0 to 120 s)."
    )
    fallback_message: str | None = strawberry.field(
        default=strawberry.UNSET, description="Told to the customer when the AI fails (1 to 1600)."
    )
    handoff_message: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Told to the customer when a person takes over (1 to 1600).",
    )
    inactivity_hours: int | None = strawberry.field(
        default=strawberry.UNSET, description="Close quiet conversations after (1 to 720 h)."
    )
    follow_up_message: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Set together with followUpAfterMinutes; null (both) turns follow-ups off.",
    )
    follow_up_after_minutes: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Quiet time before the follow-up (5 to 1380 min); null with the message.",
    )
    ai_enabled: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether the AI answers at all."
    )

    def changes(self) -> dict[str, Any]:
        """The settings the client sent (null included), by their Python names."""
        return {
            name: getattr(self, name)
            for name in CHANGEABLE
            if getattr(self, name) is not strawberry.UNSET
        }


@strawberry.type(description="The agent's settings changed.")
class UpdateAgentSuccess:
    agent: Agent = strawberry.field(description="The agent with its new settings.")


UpdateAgentResult = Annotated[
    UpdateAgentSuccess | ValidationError | NotFound | ForbiddenResult,
    strawberry.union(
        "UpdateAgentResult",
        description="The changed agent, or why nothing changed.",
    ),
]


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


@strawberry.type
class AgentMutation:
    @strawberry.mutation(
        description=(
            "Change the organization's AI assistant. Owners and admins only; other members "
            "get Forbidden, and another organization is NotFound."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def update_agent(
        self,
        info: Info,
        input: Annotated[
            UpdateAgentInput, strawberry.argument(description="The organization and the changes.")
        ],
    ) -> UpdateAgentResult:
        context = info.context
        try:
            organization = id_or_none(input.organization_id)
            if organization is None:
                raise AgentNotFound()
            agent = await update_agent(await context.db(), organization, input.changes())
        except Refusal as error:
            result = refusal_result(error)
            assert isinstance(result, ValidationError | NotFound | ForbiddenResult)
            return result
        return UpdateAgentSuccess(agent=Agent.from_settings(agent))
