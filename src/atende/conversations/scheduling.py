"""Scheduled sends: a message written now and sent at ``send_at``.

The team schedules and cancels on the operation's connection, as the caller
(``public.schedule_message_v1`` and ``public.cancel_scheduled_message_v1`` check the
organization, the template's values and the time, in SQL); the job
(``conversations:send_scheduled_message``, deferred by the same function to ``send_at``)
calls ``send_due``, whose one SQL call claims the row and queues the outbound message in
one transaction, so a job run twice sends once. The rules are in
``supabase/migrations/20261207001540_scheduled_messages.sql``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from atende.channels.errors import SendRefused
from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.errors import InvalidInput, NotFound, Refusal

queries = load_queries("scheduled_messages")

#: How far ahead a message may be scheduled (the table's check says the same).
HORIZON_DAYS = 90
#: WhatsApp's limit for a free-form message.
MAX_BODY_CHARACTERS = 4096

#: Refusals of ``schedule_message_v1`` that send nothing now and would not later either.
SEND_REFUSALS = {
    "contact_opted_out": "O contato pediu para não receber mensagens (opt-out).",
    "channel_disabled": "O canal desta conversa está desativado.",
}


class ScheduledMessageNotPending(Refusal):
    """The scheduled message was already sent, skipped or failed: too late to cancel."""

    def __init__(self, status: str) -> None:
        messages = {
            "sent": "Esta mensagem agendada já foi enviada: não dá mais para cancelá-la.",
            "skipped": "Esta mensagem agendada não foi enviada (foi ignorada no horário).",
            "failed": "Esta mensagem agendada falhou no horário: não há o que cancelar.",
        }
        super().__init__(f"scheduled message already {status}", user_message=messages[status])
        self.status = status


@dataclass(frozen=True)
class NewScheduledMessage:
    conversation_id: UUID
    send_at: datetime
    body: str | None = None
    template_id: UUID | None = None
    variables: Mapping[str, str] | None = None


def _checked(message: NewScheduledMessage) -> NewScheduledMessage:
    """The refusals Python can word precisely; SQL checks each again."""
    if message.send_at.tzinfo is None:
        raise InvalidInput(
            "sendAt", "Informe o horário com fuso (por exemplo 2026-12-24T09:00:00-03:00)."
        )
    has_body = message.body is not None and message.body.strip() != ""
    if has_body == (message.template_id is not None):
        raise InvalidInput("body", "Informe o texto ou um modelo (templateId), um dos dois.")
    if message.template_id is None and message.variables:
        raise InvalidInput("variables", "Valores de variáveis só com um modelo.")
    if has_body and len(message.body or "") > MAX_BODY_CHARACTERS:
        raise InvalidInput("body", f"A mensagem pode ter até {MAX_BODY_CHARACTERS} caracteres.")
    return message


async def schedule(conn: Connection, message: NewScheduledMessage) -> dict[str, Any]:
    """Schedule a message as the caller; the row as stored."""
    message = _checked(message)
    try:
        async with conn.transaction():
            row = await (
                await conn.execute(
                    queries["schedule_message"],
                    {
                        "conversation_id": message.conversation_id,
                        "send_at": message.send_at,
                        "body": message.body if message.template_id is None else None,
                        "template_id": message.template_id,
                        "variables": json.dumps(dict(message.variables or {}), ensure_ascii=False),
                    },
                )
            ).fetchone()
    except psycopg.Error as error:
        raise _refusal(error) from None
    assert row is not None
    return await scheduled_message(conn, row["id"])


def _refusal(error: psycopg.Error) -> Exception:
    constraint = error.diag.constraint_name
    if constraint in {"conversation_not_found", "template_not_found"}:
        return NotFound()
    if constraint == "scheduled_messages_send_at_horizon":
        return InvalidInput(
            "sendAt", f"O horário deve estar no futuro, em até {HORIZON_DAYS} dias."
        )
    if constraint in {"scheduled_messages_content", "scheduled_messages_body_length"}:
        return InvalidInput("body", "Informe um texto de até 4.096 caracteres, ou um modelo.")
    if constraint == "template_variables_invalid":
        return InvalidInput("variables", _variables_message(error))
    if constraint in SEND_REFUSALS:
        return SendRefused(constraint, SEND_REFUSALS[constraint])
    return error


def _variables_message(error: psycopg.Error) -> str:
    detail = error.diag.message_primary or ""
    match = re.search(r"variable (\S+)", detail)
    if "needs a value" in detail and match:
        return f"Falta o valor da variável {match.group(1)}."
    if "has no variable" in detail and match:
        return f"O modelo não tem a variável {match.group(1)}."
    return "Valores de variáveis inválidos (textos de até 1.000 caracteres)."


async def cancel(conn: Connection, scheduled_message_id: UUID) -> dict[str, Any]:
    """Cancel a scheduled message still waiting (again: the same answer); refused once it
    was sent, skipped or failed."""
    try:
        async with conn.transaction():
            row = await (
                await conn.execute(
                    queries["cancel_scheduled_message"],
                    {"scheduled_message_id": scheduled_message_id},
                )
            ).fetchone()
    except psycopg.Error as error:
        if error.diag.constraint_name == "scheduled_message_not_found":
            raise NotFound() from None
        raise
    assert row is not None
    if row["status"] != "cancelled":
        raise ScheduledMessageNotPending(row["status"])
    return await scheduled_message(conn, scheduled_message_id)


async def scheduled_message(conn: Connection, scheduled_message_id: UUID) -> dict[str, Any]:
    row = await (
        await conn.execute(queries["scheduled_messages_by_id"], {"ids": [scheduled_message_id]})
    ).fetchone()
    if row is None:
        raise NotFound()
    return dict(row)


@dataclass(frozen=True)
class SendOutcome:
    """What the job did: ``status`` is the row's afterwards (``None``: no such row)."""

    status: str | None
    reason: str | None
    message_id: UUID | None


async def send_due(database: Database, scheduled_message_id: UUID) -> SendOutcome:
    """The job's work: one transaction as the platform claims the row and, if it may
    still go, queues it (with its send job); a row already handled is left as it is."""
    async with database.transaction(Caller.service()) as conn:
        row = await (
            await conn.execute(
                queries["send_scheduled_message"], {"scheduled_message_id": scheduled_message_id}
            )
        ).fetchone()
    assert row is not None
    return SendOutcome(status=row["status"], reason=row["reason"], message_id=row["message_id"])


#: The reason, in words, of a message whose send job was given up (GraphQL's
#: ``STALLED_JOB``): the row says how many times the worker died.
STALLED_JOB_REASON = "its send job stopped with its worker {times} times"


def is_stalled_job_reason(reason: str) -> bool:
    return reason.startswith(STALLED_JOB_REASON.split("{", 1)[0])


async def give_up(database: Database, scheduled_message_id: UUID, times: int) -> str | None:
    """Its send job was given up after its worker died ``times`` times: a message still
    ``scheduled`` fails, saying so (in SQL: ``private.give_up_scheduled_message_v1``);
    returns the row's status."""
    row = await database.fetch_one(
        Caller.service(),
        queries["give_up_scheduled_message"],
        {
            "scheduled_message_id": scheduled_message_id,
            "reason": STALLED_JOB_REASON.format(times=times),
        },
    )
    return None if row is None else row["status"]
