"""Realtime: one LISTEN connection per API process, fanned out to its subscriptions.

Postgres announces every change a team may see on the ``atende_events`` channel
(``private.publish_event``: ids only, never content). Each API process opens one
connection that listens (in the app's lifespan) and hands each event to the
subscriptions of that organization, in memory. Any number of API processes may run:
each listens for itself.

Delivery never waits for a subscriber: each has a bounded queue, and one that falls
behind loses what was waiting and gets a ``resync`` event instead (refetch what you
show). When the listening connection drops (the database restarted), the hub
reconnects with backoff, LISTENs again and sends ``resync`` to everyone, since events
may have been missed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterator
from uuid import UUID

import psycopg
from pydantic import BaseModel, ConfigDict, ValidationError

from atende.db.pool import with_connect_timeout

logger = logging.getLogger("atende.events")

CHANNEL = "atende_events"
#: A synthetic kind: events may have been lost; subscribers should refetch.
RESYNC = "resync"


class DatabaseEvent(BaseModel):
    """One notification on ``atende_events``: who it is about, and ids to read it by."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    organization_id: UUID
    kind: str
    conversation_id: UUID | None = None
    message_id: UUID | None = None


class Subscription:
    """One subscriber's bounded inbox of events for one organization."""

    def __init__(self, organization_id: UUID, max_queued: int) -> None:
        self.organization_id = organization_id
        self._queue: asyncio.Queue[DatabaseEvent] = asyncio.Queue(maxsize=max_queued)
        #: How many events this subscriber lost by falling behind.
        self.dropped = 0

    def offer(self, event: DatabaseEvent) -> None:
        """Queue ``event`` without waiting; a full queue is replaced by one resync."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            while not self._queue.empty():
                self._queue.get_nowait()
                self.dropped += 1
            self.dropped += 1
            self._queue.put_nowait(self.resync_event())

    def resync_event(self) -> DatabaseEvent:
        return DatabaseEvent(organization_id=self.organization_id, kind=RESYNC)

    async def get(self) -> DatabaseEvent:
        return await self._queue.get()


class EventHub:
    """The process's listener on ``atende_events`` and its subscriptions."""

    def __init__(
        self,
        conninfo: str,
        *,
        max_queued: int = 256,
        min_backoff: float = 0.1,
        max_backoff: float = 5.0,
        health_check_interval: float = 10.0,
        health_check_timeout: float = 5.0,
    ) -> None:
        self.conninfo = conninfo
        self.max_queued = max_queued
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.health_check_interval = health_check_interval
        self.health_check_timeout = health_check_timeout
        self._subscriptions: dict[UUID, set[Subscription]] = {}
        self._task: asyncio.Task[None] | None = None
        #: Set while the LISTEN is in place (tests and readiness wait on it).
        self.listening = asyncio.Event()
        #: How many times the listener has (re)connected.
        self.connections = 0
        self._failures = 0

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen_forever(), name="atende-events")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.listening.clear()

    @contextlib.contextmanager
    def subscribe(self, organization_id: UUID) -> Iterator[Subscription]:
        """A subscription to one organization's events, for the ``with`` block."""
        subscription = Subscription(organization_id, self.max_queued)
        self._subscriptions.setdefault(organization_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscriptions.get(organization_id)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscriptions[organization_id]

    @property
    def subscriber_count(self) -> int:
        return sum(len(subscribers) for subscribers in self._subscriptions.values())

    def dispatch(self, payload: str) -> None:
        """Hand one notification to the subscribers of its organization."""
        try:
            event = DatabaseEvent.model_validate_json(payload)
        except ValidationError:
            logger.warning("ignoring a malformed event on %s", CHANNEL)
            return
        subscribers = tuple(self._subscriptions.get(event.organization_id, ()))
        logger.debug("event %s: %d subscription(s)", event.kind, len(subscribers))
        for subscription in subscribers:
            subscription.offer(event)

    def _resync_everyone(self) -> None:
        for subscribers in tuple(self._subscriptions.values()):
            for subscription in tuple(subscribers):
                subscription.offer(subscription.resync_event())

    async def _listen_forever(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError, TimeoutError) as error:
                self._failures += 1
                logger.warning(
                    "event listener lost its connection (%s); reconnecting", type(error).__name__
                )
            finally:
                self.listening.clear()
            delay = min(self.max_backoff, self.min_backoff * 2 ** min(self._failures, 10))
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter

    async def _listen(self) -> None:
        conn = await psycopg.AsyncConnection.connect(
            with_connect_timeout(self.conninfo), autocommit=True, application_name="atende-events"
        )
        async with conn:
            await conn.execute(f"listen {CHANNEL}")
            self.connections += 1
            self._failures = 0
            self.listening.set()
            if self.connections > 1:
                # Whatever happened while we were away was not heard.
                logger.info("event listener back (LISTEN %s); sending RESYNC", CHANNEL)
                self._resync_everyone()
            while True:
                async for notify in conn.notifies(timeout=self.health_check_interval):
                    self.dispatch(notify.payload)
                # Quiet for a while: make sure the connection still lives and its answers
                # still reach us, in bounded time. Seen in the Postgres restart fault test
                # (about 1 run in 10, cause not found): after reconnecting, the session sat
                # idle on the server, its check answered, and nothing more reached the
                # listener; the next events were all lost. A check without an answer in
                # time means a new connection (and a RESYNC).
                async with asyncio.timeout(self.health_check_timeout):
                    await conn.execute("select 1")
