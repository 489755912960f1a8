"""The vocabulary between a reply job and the model: turns in, a reply (or a handoff) out.

Nothing here touches the database. The reply job reads a conversation's messages and its
agent's settings from Postgres, turns them into :class:`ConversationTurn` and
:class:`AgentPrompt`, and records what :class:`ModelReply` says happened.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The model an agent uses when its settings name none.
DEFAULT_MODEL = "gpt-4o-mini"
#: The tool the model calls to hand the conversation to a person.
HANDOFF_TOOL_NAME = "handoff_to_human"
#: How many recent turns an agent sends the model when its settings say nothing.
DEFAULT_MAX_HISTORY_TURNS = 20
#: How the model request's knowledge message begins (the demo model looks for it).
KNOWLEDGE_HEADER = "Base de conhecimento da empresa"


class TurnRole(StrEnum):
    """Who wrote a turn of the conversation."""

    #: The customer, writing from WhatsApp (sent to the model as ``user``).
    CUSTOMER = "customer"
    #: The AI agent (sent as ``assistant``).
    ASSISTANT = "assistant"
    #: A member of the business's team, answering by hand (sent as ``assistant``: the
    #: customer sees one voice, and the model must continue from what was said).
    TEAM = "team"
    #: A note for the model, not a message anyone sent (sent as ``system``).
    SYSTEM = "system"


#: How a voice note's transcript is introduced to the model.
TRANSCRIPT_PREFIX = "[áudio transcrito]"
#: How a shared location is introduced to the model.
LOCATION_PREFIX = "[localização compartilhada]"


class TurnImage(BaseModel):
    """An image (or sticker) of a message, for a model that sees images: the stored file
    (``storage_key``) until the reply pipeline reads it into ``data_url``."""

    model_config = ConfigDict(frozen=True)

    storage_key: str
    content_type: str
    size: int | None = None
    #: ``data:<type>;base64,...`` of the stored file; never Twilio's URL.
    data_url: str | None = None


class ConversationTurn(BaseModel):
    """One message of the conversation, as the model should see it."""

    model_config = ConfigDict(frozen=True)

    role: TurnRole
    text: str = ""
    #: What a message carried besides text, said in words, e.g. "o cliente enviou uma
    #: imagem (comprovante.jpg)", for what the model cannot be given.
    media_note: str | None = None
    #: What its voice notes said (their transcripts, in order).
    transcripts: tuple[str, ...] = ()
    #: A shared location in words (label, address, coordinates).
    location: str | None = None
    #: Images given to a model that sees them (only those with a ``data_url`` are sent).
    images: tuple[TurnImage, ...] = ()
    #: A customer message still to be answered.
    waiting: bool = False
    #: It holds a voice note with no transcript (not fetched, or not transcribed).
    unheard_audio: bool = False

    @model_validator(mode="after")
    def _says_something(self) -> ConversationTurn:
        if not (
            self.text.strip()
            or (self.media_note and self.media_note.strip())
            or any(t.strip() for t in self.transcripts)
            or self.location
            or self.images
        ):
            raise ValueError("a turn needs text or a media note (or a transcript, location, image)")
        return self

    def spoken_text(self) -> str:
        """What the customer said: the text, what their voice notes said, the place they
        shared (for searching the knowledge base)."""
        parts = [self.text.strip(), *(t.strip() for t in self.transcripts)]
        if self.location:
            parts.append(self.location)
        return " ".join(part for part in parts if part)

    def content(self) -> str:
        """The text the model receives: the message, its transcripts and location, then
        its media note in brackets."""
        parts = [self.text.strip()] if self.text.strip() else []
        parts.extend(f"{TRANSCRIPT_PREFIX} {t.strip()}" for t in self.transcripts if t.strip())
        if self.location:
            parts.append(f"{LOCATION_PREFIX} {self.location}")
        if self.media_note and self.media_note.strip():
            parts.append(f"[{self.media_note.strip()}]")
        return "\n".join(parts)

    def sent_images(self) -> list[TurnImage]:
        return [image for image in self.images if image.data_url]


class KnowledgeExcerpt(BaseModel):
    """A passage of the business's knowledge base, as the model request carries it."""

    model_config = ConfigDict(frozen=True)

    #: The document's title.
    title: str
    #: The headings above the passage in its document ("Padaria > Bolos").
    heading: str = ""
    text: str


class AgentPrompt(BaseModel):
    """An organization's agent settings, as one reply needs them."""

    model_config = ConfigDict(frozen=True)

    system_prompt: str
    model: str = Field(default=DEFAULT_MODEL, min_length=1)
    #: ``None`` sends no temperature (some reasoning models accept only their default).
    temperature: float | None = Field(default=0.3, ge=0.0, le=2.0)
    #: How many of the most recent turns the model sees.
    max_history_turns: int = Field(default=DEFAULT_MAX_HISTORY_TURNS, ge=1, le=500)
    #: A rough budget for those turns, in tokens (estimated at four characters a token);
    #: older turns are dropped first, the latest one is always sent. ``None``: no budget.
    max_history_tokens: int | None = Field(default=None, ge=1)
    #: Offer the model the ``handoff_to_human`` tool.
    handoff_enabled: bool = True
    #: Passages of the knowledge base retrieved for the conversation, most relevant first.
    knowledge: tuple[KnowledgeExcerpt, ...] = ()
    #: Answer only from ``knowledge``; hand over to the team when it does not answer.
    answer_only_from_knowledge: bool = False


class HandoffRequest(BaseModel):
    """The model asked for a person to take over the conversation."""

    model_config = ConfigDict(frozen=True)

    #: Why, in the model's words, for the team to read.
    reason: str


class ModelReply(BaseModel):
    """What one model call produced, with what the run record needs.

    ``text`` is what to send the customer. ``handoff`` is set when the model asked for
    a person; ``text`` may then hold a line for the customer too ("Vou chamar alguém da
    equipe"). At least one of them is set.
    """

    model_config = ConfigDict(frozen=True)

    text: str | None = None
    handoff: HandoffRequest | None = None
    #: The model that answered, as the server named it.
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    #: Wall-clock time of the request, in milliseconds.
    latency_ms: int
    #: ``stop``, ``tool_calls``, ``length``, ``content_filter``, ... as the server said.
    finish_reason: str | None = None

    @model_validator(mode="after")
    def _is_text_or_handoff(self) -> ModelReply:
        if self.text is None and self.handoff is None:
            raise ValueError("a reply needs text or a handoff request")
        return self

    @property
    def wants_handoff(self) -> bool:
        return self.handoff is not None
