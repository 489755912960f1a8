"""The ai module's root mutation: changing the organization's agent, with its input and
result types."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from atende.ai.errors import AgentNotFound
from atende.ai.service import CHANGEABLE, update_agent
from atende.ai.types import Agent
from atende.errors import Refusal
from atende.graphql.context import Info
from atende.graphql.ids import id_or_none
from atende.graphql.permissions import IsAuthenticated
from atende.graphql.results import ForbiddenResult, NotFound, ValidationError, refusal_result

# The expected failures every module shares (one set of types in the schema).


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
    follow_up_template_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="A template of one of the organization's channels, without variables,"
        " sent when the follow-up falls due outside the 24-hour window; null: none.",
    )
    ai_enabled: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether the AI answers at all."
    )
    knowledge_enabled: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether replies use the knowledge base."
    )
    knowledge_passages: int | None = strawberry.field(
        default=strawberry.UNSET, description="Knowledge passages per model request (1 to 10)."
    )
    answer_only_from_knowledge: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Answer only from the knowledge base; hand over when it has nothing.",
    )
    vision_enabled: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Send the customer's images to the model as images (a vision model).",
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
