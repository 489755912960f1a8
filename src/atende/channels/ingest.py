"""Group commit for webhooks: the deliveries that arrive while one transaction is
committing share the next one.

Why: ``ingest_inbound_message_v1`` notifies (the realtime event, and Procrastinate's
job trigger), and Postgres serialises the commits of transactions that notify (a
database-wide lock taken before commit and held until the commit's WAL flush). One
transaction per webhook therefore caps a database at one commit flush per message,
whatever the CPU: ~450 messages/s on the machine the benchmark ran on, where the same
Postgres took ~2,900 plain inserts/s. Sharing a transaction between the deliveries that
wait meanwhile lifts the cap without touching what each delivery does.

What stays the same: each message is still exactly one call of
``ingest_inbound_message_v1`` (the unique index judges duplicates, also two deliveries of
one sid in the same batch: the second is caught as a duplicate); the messages and their
jobs commit together or not at all, before any of their webhooks is answered 200. A
delivery that arrives when nothing is in flight runs at once, alone: no delay is added.

Status callbacks (``record_message_status_v1``, which notifies too) go the same way.

When a batch fails for a reason of its own input (a check violation, bad data), each of
its deliveries runs again alone, so one bad message cannot fail the others; when the
database is unavailable, every delivery of the batch gets the error (503: Twilio retries).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import orjson
import psycopg
from psycopg.rows import DictRow

from atende.db.queries import load_queries
from atende.db.session import Caller, Database

logger = logging.getLogger("atende.channels.ingest")
queries = load_queries("channels")

#: Deliveries one transaction takes at most (the rest wait for the next).
MAX_BATCH = 64
MAX_IN_FLIGHT = 2


@dataclass(frozen=True)
class InboundMessage:
    """One delivery's arguments to ``ingest_inbound_message_v1``."""

    channel_id: UUID
    message_sid: str
    from_number: str
    body: str
    media: list[dict[str, Any]]
    profile_name: str | None
    opt_out_type: str | None
    metadata: dict[str, Any]

    def as_item(self) -> dict[str, Any]:
        """The item of ``ingest_inbound_messages``."""
        return {
            "channel_id": str(self.channel_id),
            "message_sid": self.message_sid,
            "from_number": self.from_number,
            "body": self.body,
            "media": self.media,
            "profile_name": self.profile_name,
            "opt_out_type": self.opt_out_type,
            "metadata": self.metadata,
        }


@dataclass
class _Pending:
    item: Mapping[str, Any]
    result: asyncio.Future[DictRow]


@dataclass
class GroupCommit:
    """One per process and query: queues items and drains them, a batch per transaction.

    ``query`` names a query of ``sql/channels.sql`` that takes the batch as a JSON array
    (``%(items)s::jsonb``) and returns one row per item, in order.
    """

    database: Database
    query: str
    timeout: float | None = None
    max_batch: int = MAX_BATCH
    #: Batches in flight at once: while one waits for its commit, the next one runs.
    max_in_flight: int = MAX_IN_FLIGHT
    #: Items are run in this order within a batch (stable), so that concurrent batches
    #: take their row locks in one order and cannot deadlock.
    lock_order: Callable[[Mapping[str, Any]], str] | None = None
    _waiting: list[_Pending] = field(default_factory=list)
    _drainers: set[asyncio.Task[None]] = field(default_factory=set)

    async def submit(self, item: Mapping[str, Any]) -> DictRow:
        """Run the query for ``item`` (in some transaction, with others): its row."""
        result: asyncio.Future[DictRow] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Pending(item, result))
        # A drainer that has just ended stays in the set until its done-callback runs,
        # later in this turn of the loop; the webhook its last answer woke may already be
        # here with the next item. Counted, it would leave that item waiting for ever.
        in_flight = sum(not drainer.done() for drainer in self._drainers)
        if in_flight < self.max_in_flight:
            drainer = asyncio.create_task(self._drain(), name=f"{self.query} batches")
            self._drainers.add(drainer)
            drainer.add_done_callback(self._drainers.discard)
        return await result

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._waiting[: self.max_batch]
            del self._waiting[: self.max_batch]
            batch = [pending for pending in batch if not pending.result.done()]
            if self.lock_order is not None:
                key = self.lock_order
                batch.sort(key=lambda pending: key(pending.item))
            if batch:
                await self._run(batch)

    async def _run(self, batch: list[_Pending]) -> None:
        try:
            rows = await self._store([pending.item for pending in batch])
        except (psycopg.OperationalError, OSError) as error:
            for pending in batch:
                _settle(pending, error=error)
            return
        except psycopg.Error as error:
            if len(batch) == 1:
                _settle(batch[0], error=error)
                return
            logger.warning(
                "a %s batch failed (%s); running its items one by one",
                self.query,
                type(error).__name__,
            )
            for pending in batch:
                await self._run([pending])
            return
        except BaseException as error:  # never leave a webhook waiting forever
            for pending in batch:
                _settle(pending, error=error)
            raise
        for pending, row in zip(batch, rows, strict=True):
            _settle(pending, row=row)

    async def _store(self, items: list[Mapping[str, Any]]) -> list[DictRow]:
        rows = await self.database.fetch_all(
            Caller.service(),
            queries[self.query],
            # One JSON document, not one array per argument: quoted once, cheaply.
            {"items": orjson.dumps(items, default=str).decode()},
            timeout=self.timeout,
        )
        if len(rows) != len(items):
            raise RuntimeError(f"{self.query} returned {len(rows)} rows for {len(items)} items")
        return rows


def _settle(
    pending: _Pending, *, row: DictRow | None = None, error: BaseException | None = None
) -> None:
    if pending.result.done():  # the webhook's client went away meanwhile
        return
    if isinstance(error, asyncio.CancelledError):
        pending.result.cancel()
    elif error is not None:
        pending.result.set_exception(error)
    else:
        assert row is not None
        pending.result.set_result(row)
