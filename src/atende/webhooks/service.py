"""Webhook endpoints (the team's, as the caller) and delivering one event (the platform's).

Endpoints are written in the operation's transaction as the caller: row-level security
lets owners and admins (people or API keys with those roles) through. Their signing
secret is made here, returned once, and stored encrypted (``TokenCipher``, the key of the
channels' Twilio tokens). Events are recorded by the database itself, with their jobs, in
the transaction of the change (``20261207001320_outgoing_webhooks.sql``); ``deliver``
is what the job does with one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString
from urllib.parse import urlsplit
from uuid import UUID

import orjson
import psycopg

from atende.channels.crypto import RotationReport, TokenCipher, TokenDecryptionFailed
from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.errors import Forbidden, InvalidInput, NotFound
from atende.mail.outbox import queue_mail
from atende.webhooks import mails  # noqa: F401 - registers the webhooks' mail
from atende.webhooks.delivery import (
    RefusedAddress,
    WebhookSender,
    checked_addresses,
    new_secret,
    retry_delay,
    webhook_id,
)
from atende.webhooks.errors import EndpointDisabled
from atende.webhooks.models import EventType

queries = load_queries("webhooks")
logger = logging.getLogger("atende.webhooks")

MANAGERS = frozenset({"owner", "admin"})
MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class DeliveryOutcome:
    """What the job does next: nothing (``retry_at`` None) or come back at ``retry_at``."""

    status: str | None
    retry_at: datetime | None = None


# -- The team's -------------------------------------------------------------------------------


async def check_url(url: str, *, allow_private: bool) -> str:
    """The URL, trimmed, if webhooks may be sent to it: http(s) with a host (https only
    where private addresses are refused, as in production), resolving only to public
    addresses unless ``allow_private``; else ``InvalidInput('url')``."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidInput("url", "Informe um endereço http(s) válido.") from None
    schemes = {"http", "https"} if allow_private else {"https"}
    if (
        parts.scheme not in schemes
        or not parts.hostname
        or parts.username
        or parts.password
        or len(url) > MAX_URL_LENGTH
    ):
        raise InvalidInput(
            "url",
            "Informe um endereço https:// válido, sem usuário e senha (até 2000 caracteres).",
        )
    if allow_private:
        return url  # nothing to guard against: not even resolved (offline development)
    try:
        await checked_addresses(parts.hostname, port, allow_private=False)
    except RefusedAddress:
        raise InvalidInput(
            "url", "Este endereço é de uma rede privada: webhooks vão só para a internet."
        ) from None
    except OSError:
        raise InvalidInput("url", "Não foi possível encontrar este endereço (DNS).") from None
    return url


def check_events(events: list[EventType]) -> list[str]:
    if not events:
        raise InvalidInput("events", "Escolha ao menos um evento.")
    return sorted({event.value for event in events})


async def _caller_may_manage(conn: Connection, organization_id: UUID) -> None:
    row = await (
        await conn.execute(queries["caller_role"], {"organization_id": organization_id})
    ).fetchone()
    role = row["role"] if row else None
    if role is None:
        raise NotFound()
    if role not in MANAGERS:
        raise Forbidden()


async def create_endpoint(
    conn: Connection,
    cipher: TokenCipher,
    *,
    organization_id: UUID,
    url: str,
    events: list[EventType],
    allow_private: bool,
) -> tuple[UUID, str]:
    """A new endpoint (owners and admins): its id and its signing secret."""
    await _caller_may_manage(conn, organization_id)
    kinds = check_events(events)
    checked_url = await check_url(url, allow_private=allow_private)
    secret = new_secret()
    row = await _one(
        conn,
        queries["create_endpoint"],
        {
            "organization_id": organization_id,
            "url": checked_url,
            "events": kinds,
            "secret_ciphertext": cipher.encrypt(secret),
        },
    )
    if row is None:
        raise NotFound()
    return row["id"], secret


async def update_endpoint(
    conn: Connection,
    *,
    endpoint_id: UUID,
    url: str | None,
    events: list[EventType] | None,
    enabled: bool | None,
    allow_private: bool,
) -> UUID:
    """Change what is given (owners and admins; ``NotFound`` for anyone else)."""
    row = await _one(
        conn,
        queries["update_endpoint"],
        {
            "endpoint_id": endpoint_id,
            "url": None if url is None else await check_url(url, allow_private=allow_private),
            "events": None if events is None else check_events(events),
            "enabled": enabled,
        },
    )
    if row is None:
        raise NotFound()
    return UUID(str(row["id"]))


async def remove_endpoint(conn: Connection, endpoint_id: UUID) -> None:
    """Delete an endpoint and its deliveries (owners and admins)."""
    if await _one(conn, queries["remove_endpoint"], {"endpoint_id": endpoint_id}) is None:
        raise NotFound()


async def redeliver(conn: Connection, delivery_id: UUID) -> UUID:
    """Queue a delivery again, with its webhook-id (owners and admins)."""
    row = await _one(conn, queries["redeliver"], {"delivery_id": delivery_id})
    assert row is not None  # the function returns its id or raises
    return UUID(str(row["delivery_id"]))


async def _one(
    conn: Connection, query: LiteralString, params: dict[str, Any]
) -> dict[str, Any] | None:
    """One statement in a savepoint: a refusal leaves the operation's transaction usable."""
    try:
        async with conn.transaction():
            return await (await conn.execute(query, params)).fetchone()
    except psycopg.Error as error:
        match error.sqlstate:
            case "PT404" | "42501":  # not found, or row-level security said no
                raise NotFound() from error
            case "PT409":
                raise EndpointDisabled() from error
            case "23514" if error.diag.constraint_name == "webhook_endpoints_url_format":
                raise InvalidInput("url", "Informe um endereço https:// válido.") from error
        raise


# -- The platform's: one delivery -------------------------------------------------------------


class WebhookDeliveries:
    """Posts deliveries (the ``webhooks:deliver_webhook`` job's work). ``link_base``:
    where links in mails point (``Settings.mail_link_base``)."""

    def __init__(
        self,
        database: Database,
        cipher: TokenCipher,
        sender: WebhookSender,
        *,
        link_base: str = "http://localhost:8000",
    ) -> None:
        self.database = database
        self.cipher = cipher
        self.sender = sender
        self.link_base = link_base

    async def deliver(
        self, delivery_id: UUID, *, endpoint_id: UUID | None = None
    ) -> DeliveryOutcome:
        """Post a pending delivery once and record how it went; nothing for one that is
        no longer pending (delivered meanwhile, or its endpoint disabled or removed).
        ``endpoint_id`` (the job's): ``LaneBusy`` before any statement when its lane is
        full."""
        if endpoint_id is not None:
            self.sender.check_lane(endpoint_id)
        row = await self.database.fetch_one(
            Caller.service(), queries["claim_delivery"], {"delivery_id": delivery_id}
        )
        if row is None:
            return DeliveryOutcome(status=None)
        secret = self.cipher.decrypt(row["secret_ciphertext"]).get_secret_value()
        body = orjson.dumps(row["payload"]).decode()
        async with self.sender.lane(row["endpoint_id"]):
            attempt = await self.sender.post(
                row["url"], secret=secret, message_id=webhook_id(delivery_id), body=body
            )
        delay = None if attempt.delivered else retry_delay(row["attempts"] + 1)
        retry_at = None if delay is None else datetime.now(UTC) + delay
        recorded = await self.database.fetch_one(
            Caller.service(),
            queries["record_attempt"],
            {
                "delivery_id": delivery_id,
                "status_code": attempt.status_code,
                "duration_ms": attempt.duration_ms,
                "error": attempt.error,
                "retry_at": retry_at,
            },
        )
        status = recorded["status"] if recorded else None
        if status == "failed":
            logger.warning("webhook delivery %s failed for good: %s", delivery_id, attempt.error)
        if status in ("pending", "failed"):
            await self.tell_owners_if_disabled(row["endpoint_id"])
        return DeliveryOutcome(status=status, retry_at=retry_at if status == "pending" else None)

    async def purge_attempts(self, keep: timedelta, *, batch: int = 10_000) -> int:
        """Delete the attempts older than ``keep``, a batch a transaction; how many."""
        purged = 0
        while True:
            row = await self.database.fetch_one(
                Caller.service(), queries["purge_attempts"], {"keep": keep, "batch": batch}
            )
            done = row["purged"] if row else 0
            purged += done
            if done < batch:
                if purged:
                    logger.info("purged %d webhook attempt(s) older than %s", purged, keep)
                return purged

    async def tell_owners_if_disabled(self, endpoint_id: UUID) -> int:
        """Mail the owners, once, when the endpoint was just disabled for failing; returns
        how many mails were queued (with the mark, in one transaction)."""
        async with self.database.transaction(Caller.service()) as conn:
            owners = await (
                await conn.execute(queries["claim_disabled_notice"], {"endpoint_id": endpoint_id})
            ).fetchall()
            for owner in owners:
                await queue_mail(
                    conn,
                    recipient=owner["email"],
                    kind="webhook_endpoint_disabled",
                    params={
                        "full_name": owner["full_name"],
                        "organization_name": owner["organization_name"],
                        "url": owner["url"],
                        "failing_since": owner["failing_since"].strftime("%d/%m/%Y %H:%M UTC"),
                    },
                    link_base=self.link_base,
                )
        if owners:
            logger.warning("webhook endpoint %s disabled after failing; owners mailed", endpoint_id)
        return len(owners)


# -- Key rotation (atende rotate-secrets) ---------------------------------------------------


async def rotate_endpoint_secrets(
    database: Database, cipher: TokenCipher, *, batch_size: int = 100
) -> RotationReport:
    """Re-encrypt every endpoint's signing secret with ``cipher``'s current key, as
    ``channels.crypto.rotate_secrets`` does the channels' tokens (batches by id, a
    compare-and-set per stale secret, current ones left alone, unreadable ones reported)."""
    reencrypted = already_current = 0
    unreadable: list[UUID] = []
    after = UUID(int=0)
    while True:
        rows = await database.fetch_all(
            Caller.service(),
            queries["endpoint_secrets_after"],
            {"after": after, "limit": batch_size},
        )
        for row in rows:
            try:
                rotated = await _rotate_endpoint(
                    database, cipher, row["id"], row["secret_ciphertext"]
                )
            except TokenDecryptionFailed:
                unreadable.append(row["id"])
                continue
            if rotated:
                reencrypted += 1
            else:
                already_current += 1
        if len(rows) < batch_size:
            return RotationReport(reencrypted, already_current, tuple(unreadable))
        after = rows[-1]["id"]


async def _rotate_endpoint(
    database: Database, cipher: TokenCipher, endpoint_id: UUID, ciphertext: str
) -> bool:
    while True:
        secret = cipher.decrypt(ciphertext)
        if cipher.is_current(ciphertext):
            return False
        replaced = await database.fetch_one(
            Caller.service(),
            queries["replace_endpoint_secret"],
            {
                "endpoint_id": endpoint_id,
                "expected": ciphertext,
                "ciphertext": cipher.encrypt(secret.get_secret_value()),
            },
        )
        if replaced is not None:
            return True
        row = await database.fetch_one(
            Caller.service(), queries["endpoint_secret"], {"endpoint_id": endpoint_id}
        )
        if row is None:
            return False
        ciphertext = row["secret_ciphertext"]
