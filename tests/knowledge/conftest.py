"""The knowledge tests' settings: the reply model at the fake OpenAI server, the built-in
embedder (unless a test names a model), short waits; and a worker on the knowledge and
replies queues."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from atende.config import Environment, Settings
from atende.db.session import Caller
from atende.knowledge import tasks as knowledge_tasks
from atende.services import Services
from tests.fakes.openai_server import FakeOpenAI, fake_openai, fake_openai_server
from tests.knowledge.fake_embeddings import fake_embeddings, fake_embeddings_server
from tests.reply_fixtures import Worker, eventually, open_queue_app

__all__ = ["fake_embeddings", "fake_embeddings_server", "fake_openai", "fake_openai_server"]


@pytest.fixture
def knowledge_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings a test changes (``@pytest.mark.parametrize("knowledge_settings", [...],
    indirect=True)``)."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    knowledge_settings: dict[str, Any],
) -> Settings:
    values: dict[str, Any] = {
        "env": Environment.TEST,
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "public_url": "https://atende.test",
        "db_pool_min_size": 1,
        "db_pool_max_size": 10,
        "openai_api_key": "sk-test-key-0123456789abcdef",
        "openai_base_url": fake_openai.base_url,
        "embeddings": "local",
        "model_timeout_seconds": 2.0,
        "reply_max_attempts": 3,
        "reply_retry_backoff_seconds": 0.05,
        "reply_retry_max_backoff_seconds": 0.2,
        "worker_poll_interval_seconds": 0.05,
    }
    values.update(knowledge_settings)
    return Settings(**values)


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(knowledge_tasks, "RETRY_BACKOFF_SECONDS", 0.05)


@pytest.fixture
async def knowledge_worker(services: Services) -> AsyncIterator[Worker]:
    """A real worker on the knowledge and replies queues for the whole test."""
    async with open_queue_app(services):
        running = Worker(services, ["knowledge", "replies"])
        await running.start()
        try:
            yield running
        finally:
            await running.stop()


async def document_status(services: Services, document_id: UUID) -> dict[str, Any]:
    row = await services.database.fetch_one(
        Caller.service(),
        "select status, error, chunk_count, embedder, revision from public.knowledge_documents"
        " where id = %s",
        [document_id],
    )
    assert row is not None
    return dict(row)


async def settled(services: Services, document_id: UUID, timeout: float = 15.0) -> dict[str, Any]:
    """The document's row once it is no longer pending."""

    return await eventually(
        lambda: document_status(services, document_id),
        lambda row: row["status"] != "pending",
        timeout=timeout,
    )
