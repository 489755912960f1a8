"""An organization's agent: reading its settings and changing them.

The work runs in the caller's transaction, as the caller: row-level security shows the
agent to the organization's members and lets only owners and admins change it. The rules
the database enforces (``public.agents``' constraints) are checked here first, so a
client learns which field is wrong in words a user can read (pt-BR).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from pydantic import BaseModel, ConfigDict

from atende.ai.errors import AgentChangeForbidden, AgentNotFound, InvalidAgentSetting
from atende.db.pool import Connection
from atende.db.queries import load_queries

queries = load_queries("agents")

#: The shape ``agents_model_format`` accepts: an OpenAI model id, or a local server's
#: (``llama3.2``, ``qwen2.5:7b``, ``meta-llama/Llama-3.1-8B-Instruct``).
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")
MAX_NAME = 80
MAX_SYSTEM_PROMPT = 20000
MAX_CUSTOMER_MESSAGE = 1600

#: Settings a client may change, in the order they are checked.
CHANGEABLE = (
    "name",
    "system_prompt",
    "model",
    "temperature",
    "history_messages",
    "history_tokens",
    "debounce_seconds",
    "fallback_message",
    "handoff_message",
    "inactivity_hours",
    "follow_up_message",
    "follow_up_after_minutes",
    "follow_up_template_id",
    "ai_enabled",
    "knowledge_enabled",
    "knowledge_passages",
    "answer_only_from_knowledge",
    "vision_enabled",
)

#: Which setting a database constraint is about, for the rare change that passes the
#: checks here and still breaks one (a concurrent change to the other follow-up field).
_CONSTRAINT_FIELDS = {
    "agents_name_length": "name",
    "agents_system_prompt_length": "system_prompt",
    "agents_model_format": "model",
    "agents_temperature_range": "temperature",
    "agents_history_messages_range": "history_messages",
    "agents_history_tokens_range": "history_tokens",
    "agents_debounce_seconds_range": "debounce_seconds",
    "agents_fallback_message_length": "fallback_message",
    "agents_handoff_message_length": "handoff_message",
    "agents_inactivity_hours_range": "inactivity_hours",
    "agents_follow_up_pair": "follow_up_message",
    "agents_follow_up_after_minutes_range": "follow_up_after_minutes",
    "agents_knowledge_passages_range": "knowledge_passages",
    "agents_follow_up_template_without_variables": "follow_up_template_id",
}

#: What the database says when the follow-up template cannot be the agent's: not one of
#: the organization's templates (the composite foreign key), or one with variables.
FOLLOW_UP_TEMPLATE_REFUSED = (
    "Escolha um modelo aprovado de um canal desta organização, sem variáveis "
    "(o acompanhamento é enviado sem ninguém para preenchê-las)."
)


class AgentSettings(BaseModel):
    """An agent as stored."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    organization_id: UUID
    name: str
    system_prompt: str
    model: str
    temperature: float
    history_messages: int
    history_tokens: int | None
    debounce_seconds: int
    fallback_message: str
    handoff_message: str
    inactivity_hours: int
    follow_up_message: str | None
    follow_up_after_minutes: int | None
    ai_enabled: bool
    created_at: datetime
    updated_at: datetime
    knowledge_enabled: bool = True
    knowledge_passages: int = 4
    answer_only_from_knowledge: bool = False
    follow_up_template_id: UUID | None = None
    vision_enabled: bool = False


async def get_agent(conn: Connection, organization_id: UUID) -> AgentSettings | None:
    """The organization's agent, if the caller may see it."""
    row = await (
        await conn.execute(queries["agent_by_organization"], {"organization_id": organization_id})
    ).fetchone()
    return None if row is None else AgentSettings.model_validate(row)


async def update_agent(
    conn: Connection, organization_id: UUID, changes: Mapping[str, Any]
) -> AgentSettings:
    """Apply ``changes`` (setting → value; absent settings stay) as the caller.

    Raises :class:`InvalidAgentSetting`, :class:`AgentNotFound` (not a member) or
    :class:`AgentChangeForbidden` (a member without the role).
    """
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise ValueError(f"not agent settings: {sorted(unknown)}")
    current = await get_agent(conn, organization_id)
    if current is None:
        raise AgentNotFound()
    normalised = validate_changes(current, changes)
    params: dict[str, Any] = {"organization_id": organization_id}
    for name in CHANGEABLE:
        params[f"set_{name}"] = name in normalised
        params[name] = normalised.get(name)
    try:
        async with conn.transaction():  # a savepoint: a refused change leaves no trace
            row = await (await conn.execute(queries["update_agent"], params)).fetchone()
    except psycopg.errors.ForeignKeyViolation as error:
        if error.diag.constraint_name != "agents_follow_up_template_fkey":
            raise
        raise InvalidAgentSetting("follow_up_template_id", FOLLOW_UP_TEMPLATE_REFUSED) from None
    except psycopg.errors.CheckViolation as error:
        field = _CONSTRAINT_FIELDS.get(error.diag.constraint_name or "", "input")
        if field == "follow_up_template_id":
            raise InvalidAgentSetting(field, FOLLOW_UP_TEMPLATE_REFUSED) from None
        raise InvalidAgentSetting(field, "Valor inválido para esta configuração.") from None
    if row is None:  # visible (a member) but not changeable (not owner or admin)
        raise AgentChangeForbidden()
    return AgentSettings.model_validate(row)


def validate_changes(current: AgentSettings, changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` checked and normalised (text trimmed, temperature rounded).

    Raises :class:`InvalidAgentSetting` naming the first setting at fault.
    """
    checked: dict[str, Any] = {}
    for name in CHANGEABLE:
        if name in changes:
            checked[name] = _CHECKS[name](name, changes[name])
    message = checked.get("follow_up_message", current.follow_up_message)
    minutes = checked.get("follow_up_after_minutes", current.follow_up_after_minutes)
    if (message is None) != (minutes is None):
        field = "follow_up_after_minutes" if message is not None else "follow_up_message"
        raise InvalidAgentSetting(
            field,
            "Informe a mensagem de acompanhamento e o tempo de espera juntos "
            "(ou deixe os dois vazios para não enviar).",
        )
    return checked


def _text(max_length: int, *, what: str) -> Any:
    def check(name: str, value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise InvalidAgentSetting(name, f"Informe {what}.")
        text = value.strip()
        if len(text) > max_length:
            raise InvalidAgentSetting(name, f"Use no máximo {max_length} caracteres.")
        return text

    return check


def _optional_text(max_length: int, *, what: str) -> Any:
    required = _text(max_length, what=what)

    def check(name: str, value: object) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return str(required(name, value))

    return check


def _whole(low: int, high: int, *, unit: str, optional: bool = False) -> Any:
    def check(name: str, value: object) -> int | None:
        if value is None and optional:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidAgentSetting(name, f"Use um número inteiro de {low} a {high} {unit}.")
        return value

    return check


def _model_name(name: str, value: object) -> str:
    model = value.strip() if isinstance(value, str) else ""
    if not MODEL_NAME.fullmatch(model):
        raise InvalidAgentSetting(
            name,
            "Informe o nome de um modelo, como gpt-4o-mini ou llama3.2 "
            "(letras, números e . _ : / -, até 128 caracteres).",
        )
    return model


def _temperature(name: str, value: object) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not 0 <= value <= 2
    ):
        raise InvalidAgentSetting(name, "Use uma temperatura de 0 a 2.")
    return round(float(value), 2)


def _template_id(name: str, value: object) -> UUID | None:
    """A template's id, or ``None`` (no follow-up template). Whether it is one of the
    organization's, without variables, the database decides (a foreign key, a trigger)."""
    if value is None or isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidAgentSetting(name, FOLLOW_UP_TEMPLATE_REFUSED) from None


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidAgentSetting(name, "Use verdadeiro ou falso.")
    return value


_CHECKS: dict[str, Any] = {
    "name": _text(MAX_NAME, what="o nome do assistente"),
    "system_prompt": _text(MAX_SYSTEM_PROMPT, what="as instruções do assistente"),
    "model": _model_name,
    "temperature": _temperature,
    "history_messages": _whole(1, 200, unit="mensagens"),
    "history_tokens": _whole(100, 200_000, unit="tokens", optional=True),
    "debounce_seconds": _whole(0, 120, unit="segundos"),
    "fallback_message": _text(MAX_CUSTOMER_MESSAGE, what="a mensagem de contingência"),
    "handoff_message": _text(MAX_CUSTOMER_MESSAGE, what="a mensagem de transferência"),
    "inactivity_hours": _whole(1, 720, unit="horas"),
    "follow_up_message": _optional_text(MAX_CUSTOMER_MESSAGE, what="a mensagem de acompanhamento"),
    "follow_up_after_minutes": _whole(5, 1380, unit="minutos", optional=True),
    "follow_up_template_id": _template_id,
    "ai_enabled": _flag,
    "knowledge_enabled": _flag,
    "knowledge_passages": _whole(1, 10, unit="trechos"),
    "answer_only_from_knowledge": _flag,
    "vision_enabled": _flag,
}
