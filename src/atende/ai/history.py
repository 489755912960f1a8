"""A conversation's stored messages, as the model should see them.

The reply job reads the agent's history window (its latest ``history_messages``
messages) and turns each into a :class:`ConversationTurn`: the customer's messages are
``customer`` turns, the AI's and the platform's are ``assistant`` turns, the team's are
``team`` turns (the customer hears one voice, so the model continues from what anyone
said). A customer's voice notes reach it as their transcripts ("[áudio transcrito] ..."),
a shared location as its label, address and coordinates, and, for an agent that sees
images, their images and stickers as images; other media gets a note in words instead
("o cliente enviou uma imagem"). Messages the customer never received (failed sends) are left out.
The token budget (``history_tokens``) is applied by the model client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from atende.ai.models import AgentPrompt, ConversationTurn, TurnImage, TurnRole

#: Outbound statuses of messages that never reached the customer.
UNDELIVERED_STATUSES = frozenset({"failed", "undelivered"})

#: What a media type is called in a note to the model (pt-BR, like the conversation).
_MEDIA_KINDS = (
    ("image/", "imagem", "imagens"),
    ("audio/", "áudio", "áudios"),
    ("video/", "vídeo", "vídeos"),
    ("application/pdf", "documento PDF", "documentos PDF"),
    ("text/vcard", "contato", "contatos"),
    ("text/x-vcard", "contato", "contatos"),
)


def agent_prompt(agent: Mapping[str, Any]) -> AgentPrompt:
    """The prompt settings of an agent row (``reply_state``)."""
    temperature = agent.get("temperature")
    return AgentPrompt(
        system_prompt=str(agent["system_prompt"]),
        model=str(agent["model"]),
        temperature=None if temperature is None else float(temperature),
        max_history_turns=int(agent["history_messages"]),
        max_history_tokens=agent.get("history_tokens"),
        handoff_enabled=True,
    )


def conversation_turns(
    messages: Iterable[Mapping[str, Any]], *, vision: bool = False
) -> list[ConversationTurn]:
    """The turns of stored messages (oldest first), skipping those with nothing to say.

    ``vision``: the customer's stored images and stickers become the turn's ``images`` (the
    reply pipeline reads them) instead of a note in words.
    """
    turns = []
    for message in messages:
        turn = message_turn(message, vision=vision)
        if turn is not None:
            turns.append(turn)
    return turns


def message_turn(message: Mapping[str, Any], *, vision: bool = False) -> ConversationTurn | None:
    direction = message["direction"]
    author = message["author"]
    if direction == "inbound":
        role = TurnRole.CUSTOMER
    elif message.get("status") in UNDELIVERED_STATUSES:
        return None
    elif author == "member":
        role = TurnRole.TEAM
    else:  # the AI, and the platform's own messages (fallback, follow-up) in its name
        role = TurnRole.ASSISTANT
    text = str(message.get("body") or "")
    customer = role is TurnRole.CUSTOMER
    described: list[Mapping[str, Any]] = []
    transcripts: list[str] = []
    images: list[TurnImage] = []
    unheard = False
    for item in message.get("media") or []:
        if not isinstance(item, Mapping):
            continue
        content_type = str(item.get("content_type") or "").lower()
        if customer and content_type.startswith("audio/"):
            transcript = str(item.get("transcript") or "").strip()
            if item.get("transcript_status") == "done" and transcript:
                transcripts.append(transcript)
                continue
            unheard = True
        elif (
            customer
            and vision
            and content_type.startswith("image/")
            and item.get("status") == "stored"
            and item.get("storage_key")
        ):
            images.append(
                TurnImage(
                    storage_key=str(item["storage_key"]),
                    content_type=content_type,
                    size=item.get("size") if isinstance(item.get("size"), int) else None,
                )
            )
            continue
        described.append(item)
    note = media_note(described, sender="o cliente" if customer else "nós")
    location = location_text(message.get("location")) if customer else None
    if not (text.strip() or note or transcripts or location or images):
        return None
    return ConversationTurn(
        role=role,
        text=text,
        media_note=note,
        transcripts=tuple(transcripts),
        location=location,
        images=tuple(images),
        waiting=customer and bool(message.get("waiting")),
        unheard_audio=unheard,
    )


def location_text(location: object) -> str | None:
    """A shared location in words: "Padaria Pão Quente, Rua das Flores, 12, São Paulo
    (latitude -23.55052, longitude -46.633308)"; None when there is none."""
    if not isinstance(location, Mapping):
        return None
    latitude, longitude = location.get("latitude"), location.get("longitude")
    if not isinstance(latitude, int | float | Decimal) or not isinstance(
        longitude, int | float | Decimal
    ):
        return None
    names = [
        str(location[key]).strip()
        for key in ("label", "address")
        if isinstance(location.get(key), str) and str(location[key]).strip()
    ]
    coordinates = f"latitude {latitude}, longitude {longitude}"
    return f"{', '.join(names)} ({coordinates})" if names else coordinates


def media_note(media: Sequence[Mapping[str, Any]], *, sender: str = "o cliente") -> str | None:
    """``media`` said in words: "o cliente enviou uma imagem e um áudio"."""
    if not media:
        return None
    counts: dict[tuple[str, str], int] = {}
    for item in media:
        names = _media_names(str(item.get("content_type") or ""))
        counts[names] = counts.get(names, 0) + 1
    parts = [
        f"{_article(singular)} {singular}" if count == 1 else f"{count} {plural}"
        for (singular, plural), count in counts.items()
    ]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " e " + parts[-1]
    verb = "enviou" if sender == "o cliente" else "enviamos"
    return f"{sender} {verb} {listed}; o conteúdo não está disponível para você"


def newest_inbound_at(messages: Iterable[Mapping[str, Any]]) -> datetime | None:
    """When the newest customer message among ``messages`` was stored."""
    times = [m["created_at"] for m in messages if m["direction"] == "inbound"]
    return max(times) if times else None


def _media_names(content_type: str) -> tuple[str, str]:
    kind = content_type.lower()
    for prefix, singular, plural in _MEDIA_KINDS:
        if kind.startswith(prefix):
            return singular, plural
    return "arquivo", "arquivos"


def _article(noun: str) -> str:
    return "uma" if noun in {"imagem"} else "um"
