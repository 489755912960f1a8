"""Broadcasts: one approved template sent to many contacts of a channel, at its pace.

The team's side runs in the caller's transaction (``create_broadcast``,
``cancel_broadcast``, ``set_broadcast_rate``): the SQL functions check the caller's
organization and role (owners and admins), the template, its variables and the contacts,
and ``create_broadcast_v1`` defers ``channels:send_broadcast`` in the same transaction.

The job's side (``BroadcastSender.run``) paces the sends. Each step is one call to
``private.claim_broadcast_batch_v1``, one transaction that hands a batch of queued
recipients to the template send path (``private.queue_outbound_message``: the message and
its ``channels:send_message`` job, which does the rest as for any template) and says how
long to wait to keep the channel's rate. A batch is a quarter of a second's worth of
messages (at least one), so the sends reach Twilio evenly rather than in one burst a
second. A job runs for at most ``RUN_SECONDS`` and then hands over to the next one
(``continue_broadcast_v1``): a worker that stops never waits on a long broadcast (an SMS
number sends one a second), and a worker killed mid-broadcast loses only its
uncommitted batch, which the retried job claims again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import psycopg
from psycopg import errors as pg_errors

from atende.channels.errors import SendRefused
from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.errors import Forbidden, InvalidInput, NotFound

logger = logging.getLogger("atende.channels.broadcasts")
queries = load_queries("broadcasts")

MANAGERS_ONLY = "Só proprietários e administradores podem enviar ou cancelar transmissões."
#: A batch is this many seconds' worth of messages at the broadcast's rate.
BATCH_SECONDS = 0.25
#: A job hands over to the next after about this long (well within a worker's shutdown
#: grace period, so a stopping worker finishes its batch instead of being cancelled).
RUN_SECONDS = 20.0
#: The largest list a broadcast takes in one call (as create_broadcast_v1 checks).
MAX_RECIPIENTS = 100_000
MIN_RATE = Decimal("0.1")
MAX_RATE = Decimal("400")

_SEND_REFUSALS = {
    "channel_disabled": "O canal está desativado.",
    "broadcast_finished": "A transmissão já terminou ou foi cancelada.",
}
#: Constraint -> (field, message) of the refusals about what was given.
_INVALID = {
    "broadcast_recipients_empty": ("contactIds", "Informe ao menos um contato."),
    "broadcast_recipients_too_many": (
        "contactIds",
        f"Até {MAX_RECIPIENTS:,} contatos por transmissão.",
    ),
    "broadcast_contact_not_found": ("contactIds", "Algum contato não existe nesta organização."),
    "broadcast_audience_invalid": ("contactIds", "Informe os contatos ou uma etiqueta, só um."),
    "broadcast_tag_invalid": ("tag", "A etiqueta está vazia."),
}
_NOT_FOUND = frozenset({"channel_not_found", "template_not_found", "broadcast_not_found"})


# -- the team's side ------------------------------------------------------------------------


def _refusal(error: psycopg.Error, *, by_tag: bool = False) -> Exception | None:
    """The refusal a function's error means (None: not a refusal, a bug or an outage)."""
    constraint = error.diag.constraint_name or ""
    refusal: Exception | None = None
    if isinstance(error, pg_errors.InsufficientPrivilege):
        refusal = Forbidden(user_message=MANAGERS_ONLY)
    elif constraint in _NOT_FOUND:
        refusal = NotFound()
    elif constraint == "template_variables_invalid":
        refusal = InvalidInput("variables", _variables_message(error))
    elif constraint == "broadcast_recipients_empty" and by_tag:
        refusal = InvalidInput("tag", "Nenhum contato tem esta etiqueta.")
    elif constraint in _INVALID:
        refusal = InvalidInput(*_INVALID[constraint])
    elif constraint in _SEND_REFUSALS:
        refusal = SendRefused(constraint, _SEND_REFUSALS[constraint])
    return refusal


def _variables_message(error: psycopg.Error) -> str:
    detail = error.diag.message_primary or ""
    if "needs a value" in detail:
        return "Falta o valor de uma variável do modelo: " + detail.split()[2] + "."
    if "has no variable" in detail:
        return "O modelo não tem a variável " + detail.split()[-1] + "."
    return "Valores de variáveis inválidos (textos de até 1.000 caracteres)."


async def _call(
    conn: Connection, query: str, params: Mapping[str, Any], *, by_tag: bool = False
) -> dict[str, Any]:
    """One statement as the caller, in a savepoint (a refusal leaves the operation's
    transaction usable), its refusals mapped to the shared ones."""
    try:
        async with conn.transaction():
            row = await (await conn.execute(queries[query], params)).fetchone()
    except psycopg.Error as error:
        refusal = _refusal(error, by_tag=by_tag)
        if refusal is None:
            raise
        raise refusal from None
    assert row is not None
    return dict(row)


async def create_broadcast(
    conn: Connection,
    *,
    channel_id: UUID,
    template_id: UUID,
    variables: Mapping[str, str],
    contact_ids: Sequence[UUID] | None = None,
    tag: str | None = None,
) -> UUID:
    """Make a broadcast to ``contact_ids`` (in that order) or to the contacts tagged
    ``tag`` (oldest first): exactly one of the two."""
    # Before sending Postgres a huge array.
    if contact_ids is not None and len(contact_ids) > MAX_RECIPIENTS:
        raise InvalidInput("contactIds", f"Até {MAX_RECIPIENTS:,} contatos por transmissão.")
    row = await _call(
        conn,
        "create_broadcast",
        {
            "channel_id": channel_id,
            "template_id": template_id,
            "variables": json.dumps(dict(variables), ensure_ascii=False),
            "contact_ids": None if contact_ids is None else list(contact_ids),
            "tag": tag,
        },
        by_tag=tag is not None,
    )
    return UUID(str(row["broadcast_id"]))


async def cancel_broadcast(conn: Connection, broadcast_id: UUID) -> UUID:
    row = await _call(conn, "cancel_broadcast", {"broadcast_id": broadcast_id})
    return UUID(str(row["broadcast_id"]))


def broadcast_rate(value: float | None) -> Decimal | None:
    """A rate a second, checked (None: the kind's default)."""
    if value is None:
        return None
    try:
        rate = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        rate = Decimal(-1)
    if not MIN_RATE <= rate <= MAX_RATE:
        raise InvalidInput(
            "broadcastRatePerSecond", "O ritmo vai de 0,1 a 400 mensagens por segundo."
        )
    return rate


async def set_broadcast_rate(conn: Connection, channel_id: UUID, rate: float | None) -> None:
    """Set a channel's broadcast pace (owners and admins); ``None``: its kind's default.
    The range is also a constraint on the column."""
    checked = broadcast_rate(rate)
    current = await (
        await conn.execute(queries["channel_caller_role"], {"channel_id": channel_id})
    ).fetchone()
    if current is None:
        raise NotFound()
    if current["caller_role"] not in {"owner", "admin"}:
        raise Forbidden(user_message=MANAGERS_ONLY)
    try:
        async with conn.transaction():
            row = await (
                await conn.execute(
                    queries["set_channel_broadcast_rate"],
                    {"channel_id": channel_id, "rate": checked},
                )
            ).fetchone()
    except pg_errors.InsufficientPrivilege:
        raise Forbidden(user_message=MANAGERS_ONLY) from None
    if row is None:
        raise Forbidden(user_message=MANAGERS_ONLY)


# -- the job's side --------------------------------------------------------------------------


@dataclass(frozen=True)
class BroadcastRun:
    """What one job did: recipients handled, and whether the broadcast goes on."""

    broadcast_id: UUID
    handled: int
    status: str
    remaining: int
    handed_over: bool


async def give_up_broadcast(database: Database, broadcast_id: UUID, reason: str) -> str | None:
    """Its job was given up (its workers died): a broadcast still sending fails, its queued
    recipients fail with ``reason``, what was sent stays sent (in SQL:
    ``private.give_up_broadcast_v1``); returns the broadcast's status."""
    row = await database.fetch_one(
        Caller.service(),
        queries["give_up_broadcast"],
        {"broadcast_id": broadcast_id, "reason": reason},
    )
    return None if row is None else row["status"]


class BroadcastSender:
    """Sends a broadcast's recipients at its rate, batch by batch, for a bounded time."""

    def __init__(self, database: Database, *, run_seconds: float = RUN_SECONDS) -> None:
        self.database = database
        self.run_seconds = run_seconds

    async def run(self, broadcast_id: UUID) -> BroadcastRun:
        rate = await self.database.fetch_one(
            Caller.service(), queries["broadcast_rate"], {"broadcast_id": broadcast_id}
        )
        if rate is None:  # removed with its channel or organization
            return BroadcastRun(broadcast_id, 0, "gone", 0, handed_over=False)
        batch = max(1, int(float(rate["rate_per_second"]) * BATCH_SECONDS))
        started = time.monotonic()
        handled = 0
        while True:
            row = await self.database.fetch_one(
                Caller.service(),
                queries["claim_broadcast_batch"],
                {"broadcast_id": broadcast_id, "batch_size": batch},
            )
            assert row is not None
            handled += int(row["handled"])
            status, remaining = str(row["status"]), int(row["remaining"])
            if status != "sending" or remaining == 0:
                return BroadcastRun(broadcast_id, handled, status, remaining, handed_over=False)
            wait = float(row["wait_seconds"])
            if time.monotonic() + wait - started >= self.run_seconds:
                # The next batch is the next job's; the claim makes it wait out the pace
                # (the broadcast's next_batch_at), so handing over costs no burst.
                await self.database.fetch_one(
                    Caller.service(), queries["continue_broadcast"], {"broadcast_id": broadcast_id}
                )
                logger.debug("broadcast %s: %d handled, handing over", broadcast_id, handled)
                return BroadcastRun(broadcast_id, handled, status, remaining, handed_over=True)
            await asyncio.sleep(wait)
