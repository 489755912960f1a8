"""Retention and erasure (LGPD): how long messages are kept, and erasing a customer.

The rules are SQL (migration ``20261207001800_retention_and_erasure``): who may change
what, which rows go, and the usage counters that keep counting what went. This module
calls those functions as the caller (the team's mutations) or as the platform (the
upkeep jobs in ``privacy_tasks``), and removes the files of deleted messages from media
storage, which only Python can reach, after the commit that deleted their messages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString
from uuid import UUID

import psycopg

from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.errors import Forbidden, InvalidInput, NotFound, Refusal
from atende.media.storage import MediaStorage

logger = logging.getLogger("atende.conversations.privacy")
queries = load_queries("privacy")

#: Shortest and longest retention an organization may choose (the table's constraint).
MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650
#: Rows one retention statement deletes (one short transaction), and how many such
#: batches one run of the job does before leaving the rest to the next run.
RETENTION_BATCH_SIZE = 500
RETENTION_MAX_BATCHES = 200
#: Files removed from storage per transaction.
MEDIA_BATCH_SIZE = 100
#: Usage counters are folded over the last days' hours (later rows stay correct unfolded).
COMPACTION_WINDOW = timedelta(days=3)
COMPACTION_BATCH_SIZE = 1000
#: Months of public.messages' partitions made ahead of the current one.
PARTITION_MONTHS_AHEAD = 3

_FORBIDDEN = {
    "only owners can change how long messages are kept": (
        "Só proprietários podem mudar por quanto tempo as mensagens são guardadas."
    ),
    "only owners and admins can erase contacts": (
        "Só proprietários e administradores podem apagar os dados de um contato."
    ),
}
_NOT_FOUND = {
    "organization not found": "Organização não encontrada.",
    "contact not found": "Contato não encontrado.",
}


@dataclass(frozen=True, slots=True)
class PartitionChange:
    """One thing the partitions' upkeep did: ``created`` (with the rows it moved out of
    ``messages_after``), ``dropped``, or ``busy`` (the lock was not free: next run)."""

    action: str
    partition: str
    rows: int | None


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """What one run of the retention job deleted."""

    messages: int = 0
    runs: int = 0
    deliveries: int = 0


async def set_message_retention(conn: Connection, organization_id: UUID, days: int | None) -> None:
    """Keep the organization's messages ``days`` days (``None``: forever); owners only."""
    if days is not None and not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise InvalidInput(
            "days",
            f"Guarde as mensagens de {MIN_RETENTION_DAYS} a {MAX_RETENTION_DAYS} dias, ou para"
            " sempre (vazio).",
        )
    await _rpc(
        conn, queries["set_message_retention"], {"organization_id": organization_id, "days": days}
    )


async def message_retention(
    conn: Connection, organization_ids: list[UUID]
) -> dict[UUID, int | None]:
    """The retention of each organization the caller may read."""
    cursor = await conn.execute(
        queries["message_retention_of_organizations"], {"ids": organization_ids}
    )
    return {row["id"]: row["message_retention_days"] for row in await cursor.fetchall()}


async def erase_contact(conn: Connection, contact_id: UUID) -> dict[str, Any]:
    """Erase a contact as the caller (owners and admins): ``public.erase_contact_v1``;
    its audit row (``public.contact_erasures``)."""
    return await _rpc(conn, queries["erase_contact"], {"contact_id": contact_id})


async def contact_erasures(
    conn: Connection, organization_id: UUID, limit: int
) -> list[dict[str, Any]]:
    """The organization's erasures the caller may read (owners), newest first."""
    cursor = await conn.execute(
        queries["contact_erasures"], {"organization_id": organization_id, "limit": limit}
    )
    return await cursor.fetchall()


class Upkeep:
    """The platform's side: expired messages, usage counters, files of deleted messages."""

    def __init__(self, database: Database, storage: MediaStorage) -> None:
        self.database = database
        self.storage = storage

    async def delete_expired_messages(
        self, batch_size: int = RETENTION_BATCH_SIZE, max_batches: int = RETENTION_MAX_BATCHES
    ) -> RetentionRun:
        """Delete messages past their organization's retention, a batch per transaction."""
        messages = runs = deliveries = 0
        for _ in range(max_batches):
            row = await self.database.fetch_one(
                Caller.service(), queries["delete_expired_messages"], {"batch_size": batch_size}
            )
            assert row is not None  # the function returns one row
            messages += row["messages"]
            runs += row["runs"]
            deliveries += row["deliveries"]
            if max(row["messages"], row["runs"], row["deliveries"]) < batch_size:
                break
        if messages or runs or deliveries:
            logger.info(
                "retention deleted %d message(s), %d AI run(s), %d webhook deliveries",
                messages,
                runs,
                deliveries,
            )
        return RetentionRun(messages=messages, runs=runs, deliveries=deliveries)

    async def maintain_message_partitions(
        self, ahead: int = PARTITION_MONTHS_AHEAD, now: datetime | None = None
    ) -> list[PartitionChange]:
        """Make the coming months' partitions of messages; drop the old empty ones.

        One transaction (``private.maintain_message_partitions``): each detach holds the
        table's lock only for a moment, and gives up after 2 s behind a long query.
        """
        rows = await self.database.fetch_all(
            Caller.service(),
            queries["maintain_message_partitions"],
            {"ahead": ahead, "as_of": now},
        )
        changes = [
            PartitionChange(
                action=str(row["action"]),
                partition=str(row["partition_name"]),
                rows=None if row["row_count"] is None else int(row["row_count"]),
            )
            for row in rows
        ]
        for change in changes:
            if change.action == "busy":
                logger.warning(
                    "messages partition %s left for the next run: its lock was busy",
                    change.partition,
                )
            elif change.rows:
                logger.warning(
                    "messages partition %s made with %d row(s) messages_after had caught"
                    " (the upkeep had not run for months?)",
                    change.partition,
                    change.rows,
                )
            else:
                logger.info("messages partition %s %s", change.partition, change.action)
        return changes

    async def compact_usage_counters(self, now: datetime | None = None) -> int:
        """Fold the recent hours' usage counters into one row per conversation and hour."""
        since = (now or datetime.now(UTC)) - COMPACTION_WINDOW
        folded = 0
        while True:
            row = await self.database.fetch_one(
                Caller.service(),
                queries["compact_usage_counters"],
                {"since": since, "batch_size": COMPACTION_BATCH_SIZE},
            )
            done = int(row["folded"]) if row else 0
            folded += done
            if done < COMPACTION_BATCH_SIZE:
                return folded

    async def delete_media_files(self, batch_size: int = MEDIA_BATCH_SIZE) -> int:
        """Remove from media storage the files of deleted messages.

        Each batch stays locked (``for update skip locked``) while storage removes its
        files and is forgotten in the same transaction: a failure leaves it queued for
        the next run, and two workers never remove the same batch.
        """
        removed = 0
        while True:
            async with self.database.transaction(Caller.service()) as conn:
                cursor = await conn.execute(
                    queries["claim_media_deletions"], {"batch_size": batch_size}
                )
                rows = await cursor.fetchall()
                if rows:
                    await self.storage.delete([str(row["storage_key"]) for row in rows])
                    await conn.execute(
                        queries["forget_media_deletions"], {"ids": [row["id"] for row in rows]}
                    )
            removed += len(rows)
            if len(rows) < batch_size:
                return removed


async def _rpc(conn: Connection, query: LiteralString, params: dict[str, object]) -> dict[str, Any]:
    """A rule-checking function, in a savepoint so a refusal leaves the caller's
    transaction usable; SQL's refusals become ``Refusal``s."""
    try:
        async with conn.transaction():
            row = await (await conn.execute(query, params)).fetchone()
    except psycopg.Error as error:
        translated = _translate(error)
        if translated is None:
            raise
        raise translated from error
    if row is None:
        raise RuntimeError("the function returned no row")
    return row


def _translate(error: psycopg.Error) -> Refusal | None:
    message = error.diag.message_primary or ""
    match error.sqlstate:
        case "PT403":
            return Forbidden(message, user_message=_FORBIDDEN.get(message))
        case "PT404":
            return NotFound(message, user_message=_NOT_FOUND.get(message))
        case "23514" if error.diag.constraint_name == "organizations_message_retention_days":
            return InvalidInput(
                "days",
                f"Guarde as mensagens de {MIN_RETENTION_DAYS} a {MAX_RETENTION_DAYS} dias.",
            )
    return None
