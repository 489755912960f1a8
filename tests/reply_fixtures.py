"""Fixtures for the reply pipeline, for any test directory (registered by
``tests/conftest.py``): the fake model's customers, a real worker, and ways to watch them.

Tests drive replies as a customer would (``private.ingest_inbound_message_v1``, what the
webhook calls), run a real Procrastinate worker on the ``replies`` queue, and point the
real ``openai`` client at the fake OpenAI server (``tests/conversations/conftest.py``'s
settings). The send job belongs to the channels module; here it is asserted as a queued
message and a deferred ``channels:send_message`` job.

- ``replies``: a ``ReplyFactory`` (channels, agents, inbound messages).
- ``shop``: an organization with a WhatsApp channel, its agent answering at once.
- ``worker`` / ``paused_worker``: a real worker on the ``replies`` queue, running or not
  yet started; ``tasks``: the handlers, called directly.
- ``inspect``: reads what the pipeline left behind; ``events``: the NOTIFY events.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

import procrastinate
import psycopg
import pytest

from atende.conversations.tasks import ConversationTasks
from atende.queue import app as queue_app
from atende.services import Services
from tests.factories import Factory, ReplyFactory, ReplyTestChannel, TestOrganization
from tests.fakes.openai_server import FakeOpenAI

T = TypeVar("T")


@pytest.fixture
def replies(services: Services) -> ReplyFactory:
    return ReplyFactory(services)


@dataclass
class Shop:
    """An organization with a WhatsApp channel, its agent answering at once."""

    organization: TestOrganization
    channel: ReplyTestChannel


@pytest.fixture
async def shop(factory: Factory, replies: ReplyFactory) -> Shop:
    organization = await factory.organization(name="Padaria Pão Quente")
    channel = await replies.channel(organization)
    await replies.configure_agent(
        organization.id,
        debounce_seconds=0,
        system_prompt="Você é a assistente da Padaria Pão Quente.",
    )
    return Shop(organization, channel)


class Worker:
    """A real Procrastinate worker on the product's queue app, in this event loop."""

    def __init__(self, services: Services, queues: list[str]) -> None:
        self.services = services
        self.queues = queues
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(
            queue_app.run_worker_async(
                queues=self.queues,
                concurrency=4,
                additional_context={"dependencies": self.services.dependencies},
                fetch_job_polling_interval=self.services.settings.worker_poll_interval_seconds,
                install_signal_handlers=False,
                shutdown_graceful_timeout=2.0,
                name="test-worker",
            ),
            name="test worker",
        )

    async def stop(self) -> None:
        if self._task is None:
            return
        if self._task.done():
            self._task.result()  # a worker that died should fail the test
            return
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task


@pytest.fixture
async def worker(services: Services) -> AsyncIterator[Worker]:
    """A worker running the reply queue for the whole test (sends are asserted, not run)."""
    async with open_queue_app(services):
        running = Worker(services, ["replies"])
        await running.start()
        try:
            yield running
        finally:
            await running.stop()


@pytest.fixture
async def paused_worker(services: Services) -> AsyncIterator[Worker]:
    """A worker the test starts when it is ready (jobs wait in the queue until then)."""
    async with open_queue_app(services):
        paused = Worker(services, ["replies"])
        try:
            yield paused
        finally:
            await paused.stop()


@asynccontextmanager
async def open_queue_app(services: Services) -> AsyncIterator[procrastinate.App]:
    """The product's queue app on this test's pool (a fresh connector per test: an app
    keeps the first pool it was opened with)."""
    with queue_app.replace_connector(procrastinate.PsycopgConnector()) as app:
        async with app.open_async(services.database.pool):
            yield app


@pytest.fixture
def tasks(services: Services) -> ConversationTasks:
    """The handlers, called directly (no worker, no job manager)."""
    return ConversationTasks(
        database=services.database, model=services.model, settings=services.settings
    )


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    timeout: float = 10.0,
    interval: float = 0.03,
) -> T:
    """``probe()`` once ``accept`` says so; fails with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout}s; last value: {value!r}")
        await asyncio.sleep(interval)


class Inspector:
    """Reads what the pipeline left behind, as the platform (the queue's tables too)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def rows(self, query: str, *params: object) -> list[dict[str, Any]]:
        async with self.services.database.pool.connection() as conn:
            return await (await conn.execute(query, list(params))).fetchall()

    async def runs(self, conversation_id: UUID) -> list[dict[str, Any]]:
        return await self.rows(
            "select outcome, model, prompt_tokens, completion_tokens, latency_ms, error,"
            " message_id from public.ai_runs where conversation_id = %s order by created_at",
            conversation_id,
        )

    async def outcomes(self, conversation_id: UUID) -> list[str]:
        return [run["outcome"] for run in await self.runs(conversation_id)]

    async def outbound(self, conversation_id: UUID) -> list[dict[str, Any]]:
        return await self.rows(
            "select id, author::text, body, status::text, is_error, error_code, error_message,"
            " metadata from public.messages"
            " where conversation_id = %s and direction = 'outbound' order by created_at, id",
            conversation_id,
        )

    async def conversation(self, conversation_id: UUID) -> dict[str, Any]:
        [row] = await self.rows(
            "select status::text, ai_enabled, follow_up_sent_at, closed_at, ai_answered_through"
            " from public.conversations where id = %s",
            conversation_id,
        )
        return row

    async def jobs(self, task_name: str) -> list[dict[str, Any]]:
        return await self.rows(
            "select id, status::text, args, queue_name, lock, queueing_lock, attempts"
            " from procrastinate.procrastinate_jobs where task_name = %s order by id",
            task_name,
        )

    async def settled_outcomes(
        self, conversation_id: UUID, count: int, *, timeout: float = 10.0
    ) -> list[str]:
        """The run outcomes, once ``count`` runs exist and no reply job is left to run."""

        async def probe() -> tuple[list[str], int]:
            outcomes = await self.outcomes(conversation_id)
            [pending] = await self.rows(
                "select count(*) as n from procrastinate.procrastinate_jobs"
                " where task_name = 'conversations:generate_reply'"
                " and status in ('todo', 'doing') and args ->> 'conversation_id' = %s",
                str(conversation_id),
            )
            return outcomes, int(pending["n"])

        outcomes, _ = await eventually(
            probe, lambda value: len(value[0]) >= count and value[1] == 0, timeout=timeout
        )
        return outcomes


@pytest.fixture
def inspect(services: Services) -> Inspector:
    return Inspector(services)


@dataclass
class EventLog:
    """NOTIFY events on ``atende_events``, as API processes receive them."""

    events: list[dict[str, Any]] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event.get("kind") == kind]


@pytest.fixture
async def events(database_url: str) -> AsyncIterator[EventLog]:
    log = EventLog()
    conn = await psycopg.AsyncConnection.connect(database_url, autocommit=True)

    def record(notification: psycopg.Notify) -> None:
        log.events.append(json.loads(notification.payload))

    conn.add_notify_handler(record)
    await conn.execute("listen atende_events")
    # psycopg delivers notifications while the connection is used; a tiny loop keeps it
    # reading for the test's duration.
    stop = asyncio.Event()

    async def pump() -> None:
        while not stop.is_set():
            await conn.execute("select 1")
            await asyncio.sleep(0.02)

    pumping = asyncio.create_task(pump())
    try:
        yield log
    finally:
        stop.set()
        await pumping
        await conn.close()


def iter_user_texts(fake: FakeOpenAI) -> Iterator[list[str]]:
    for request in fake.requests:
        yield request.user_texts
