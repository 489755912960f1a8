"""GraphQL types of the ai module: the organization's agent."""

from __future__ import annotations

from datetime import datetime

import strawberry

from atende.ai.service import AgentSettings


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
    follow_up_template_id: strawberry.ID | None = strawberry.field(
        description=(
            "The approved template (without variables) sent as the follow-up when it falls "
            "due outside WhatsApp's 24-hour window; null: such a follow-up is skipped."
        )
    )
    ai_enabled: bool = strawberry.field(
        description="Whether the AI answers at all in this organization."
    )
    knowledge_enabled: bool = strawberry.field(
        description="Whether replies use the organization's knowledge base (on by default)."
    )
    knowledge_passages: int = strawberry.field(
        description="How many knowledge passages at most go into a model request (1 to 10)."
    )
    answer_only_from_knowledge: bool = strawberry.field(
        description=(
            "Answer only from the knowledge base: when it has nothing relevant, the customer "
            "is told the team will check and the conversation is handed over."
        )
    )
    vision_enabled: bool = strawberry.field(
        description=(
            "Whether the model is sent the customer's images and stickers as images (for a "
            "model that accepts them); off: it is told in words that an image was sent."
        )
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
            follow_up_template_id=(
                strawberry.ID(str(agent.follow_up_template_id))
                if agent.follow_up_template_id is not None
                else None
            ),
            ai_enabled=agent.ai_enabled,
            knowledge_enabled=agent.knowledge_enabled,
            knowledge_passages=agent.knowledge_passages,
            answer_only_from_knowledge=agent.answer_only_from_knowledge,
            vision_enabled=agent.vision_enabled,
            updated_at=agent.updated_at,
        )
