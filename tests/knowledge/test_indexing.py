"""The indexing job's failure paths, on a real worker and a real embeddings client: an
unavailable embedder is retried with backoff, a refusal or the last retry marks the
document failed (in words for the owner), a crash leaves it pending and never
half-indexed, a change made while it ran wins, and a change of embedder re-indexes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from procrastinate.jobs import Job, Status

from atende.db.session import Caller
from atende.knowledge import tasks as knowledge_tasks
from atende.knowledge.embeddings import Embedder, LocalEmbedder, Vector
from atende.knowledge.errors import TransientEmbeddingError
from atende.knowledge.extraction import from_text
from atende.knowledge.service import (
    EMBEDDER_REFUSED,
    EMBEDDER_UNAVAILABLE,
    Indexer,
    add_document,
    update_document,
)
from atende.knowledge.tasks import IndexRetryStrategy
from atende.services import Services
from tests.factories import Factory
from tests.factories import TestOrganization as Shop
from tests.knowledge.conftest import document_status, settled
from tests.knowledge.documents import MENU
from tests.knowledge.fake_embeddings import FakeEmbeddings
from tests.reply_fixtures import Inspector, Worker, eventually


async def add(services: Services, shop: Shop, text: str = MENU) -> UUID:
    async with services.database.transaction(Caller.user(shop.owner.claims)) as conn:
        document = await add_document(conn, shop.id, "Cardápio", from_text(text))
    return document.id


async def passages_of(services: Services, document_id: UUID) -> list[dict[str, Any]]:
    return await services.database.fetch_all(
        Caller.service(),
        "select position, content, embedder, dimensions from public.knowledge_passages"
        " where document_id = %s order by position",
        [document_id],
    )


async def index_jobs(services: Services) -> list[dict[str, Any]]:
    return await Inspector(services).jobs("knowledge:index_document")


@pytest.fixture
def knowledge_settings(fake_embeddings: FakeEmbeddings) -> dict[str, Any]:
    """A model's embeddings, at the fake server."""
    return {"embeddings": "text-embedding-3-small", "openai_base_url": fake_embeddings.base_url}


async def test_an_unavailable_embedder_is_retried_until_it_answers(
    factory: Factory,
    services: Services,
    fake_embeddings: FakeEmbeddings,
    knowledge_worker: Worker,
) -> None:
    fake_embeddings.fail_next(503, 500)
    shop = await factory.organization()

    document_id = await add(services, shop)
    row = await settled(services, document_id)

    assert (row["status"], row["embedder"]) == ("ready", "openai:text-embedding-3-small")
    assert len(fake_embeddings.requests) == 3
    assert {p["dimensions"] for p in await passages_of(services, document_id)} == {1536}
    jobs = await eventually(lambda: index_jobs(services), lambda jobs: jobs[0]["status"] != "doing")
    assert [(job["status"], job["attempts"]) for job in jobs] == [("succeeded", 3)]


async def test_a_refusal_fails_the_document_at_once(
    factory: Factory,
    services: Services,
    fake_embeddings: FakeEmbeddings,
    knowledge_worker: Worker,
) -> None:
    fake_embeddings.fail_next(401)
    shop = await factory.organization()

    document_id = await add(services, shop)
    row = await settled(services, document_id)

    assert (row["status"], row["error"], row["chunk_count"]) == ("failed", EMBEDDER_REFUSED, 0)
    assert len(fake_embeddings.requests) == 1
    assert await passages_of(services, document_id) == []


async def test_the_last_retry_fails_the_document(
    factory: Factory,
    services: Services,
    fake_embeddings: FakeEmbeddings,
    knowledge_worker: Worker,
) -> None:
    fake_embeddings.fail_next(*[503] * knowledge_tasks.MAX_ATTEMPTS)
    shop = await factory.organization()

    document_id = await add(services, shop)
    row = await settled(services, document_id, timeout=20)

    assert (row["status"], row["error"]) == ("failed", EMBEDDER_UNAVAILABLE)
    assert len(fake_embeddings.requests) == knowledge_tasks.MAX_ATTEMPTS


class CrashingEmbedder(Embedder):
    """Dies mid-indexing, as a worker killed in the middle would."""

    name = "crashing"

    async def embed(self, texts: Sequence[str]) -> list[Vector]:
        raise RuntimeError("worker killed")


@pytest.mark.parametrize("knowledge_settings", [{"embeddings": "local"}], indirect=True)
async def test_a_crash_leaves_the_document_pending_and_a_retry_indexes_it(
    factory: Factory, services: Services
) -> None:
    shop = await factory.organization()
    document_id = await add(services, shop)

    with pytest.raises(RuntimeError):
        await Indexer(database=services.database, embedder=CrashingEmbedder()).index_document(
            document_id
        )
    assert (await document_status(services, document_id))["status"] == "pending"
    assert await passages_of(services, document_id) == []

    result = await Indexer(database=services.database, embedder=LocalEmbedder()).index_document(
        document_id
    )
    assert (result.outcome, result.passages) == ("stored", 5)
    assert (await document_status(services, document_id))["status"] == "ready"


class SlowEmbedder(LocalEmbedder):
    """Lets the test change the document while the passages are being embedded."""

    def __init__(self, during: Any) -> None:
        super().__init__()
        self.during = during

    async def embed(self, texts: Sequence[str]) -> list[Vector]:
        await self.during()
        return await super().embed(texts)


@pytest.mark.parametrize("knowledge_settings", [{"embeddings": "local"}], indirect=True)
async def test_a_change_made_while_indexing_wins(factory: Factory, services: Services) -> None:
    shop = await factory.organization()
    document_id = await add(services, shop, "O bolo custa R$ 48.")

    async def change() -> None:
        async with services.database.transaction(Caller.user(shop.owner.claims)) as conn:
            await update_document(
                conn, document_id, title=None, document=from_text("O bolo custa R$ 52.")
            )

    stale = await Indexer(database=services.database, embedder=SlowEmbedder(change)).index_document(
        document_id
    )
    assert stale.outcome == "stale"
    assert await passages_of(services, document_id) == []

    fresh = await Indexer(database=services.database, embedder=LocalEmbedder()).index_document(
        document_id
    )
    assert fresh.outcome == "stored"
    assert [p["content"] for p in await passages_of(services, document_id)] == [
        "O bolo custa R$ 52."
    ]


@pytest.mark.parametrize("knowledge_settings", [{"embeddings": "local"}], indirect=True)
async def test_a_new_embedder_reindexes_what_the_old_one_made(
    factory: Factory, services: Services, fake_embeddings: FakeEmbeddings
) -> None:
    shop = await factory.organization()
    document_id = await add(services, shop)
    local = Indexer(database=services.database, embedder=LocalEmbedder())
    await local.index_document(document_id)
    assert await local.reindex() == 0  # nothing to do for the same embedder

    class Model(LocalEmbedder):
        name = "openai:another-model"

    model = Indexer(database=services.database, embedder=Model())
    assert await model.reindex() == 1
    assert (await document_status(services, document_id))["status"] == "pending"
    await model.index_document(document_id)
    assert {p["embedder"] for p in await passages_of(services, document_id)} == {
        "openai:another-model"
    }
    assert await model.reindex(include_current=True) == 1


def test_the_retry_strategy_backs_off_and_gives_up() -> None:
    strategy = IndexRetryStrategy()

    def job(attempts: int) -> Job:
        return Job(
            id=1,
            queue="knowledge",
            lock=None,
            queueing_lock=None,
            task_name="knowledge:index_document",
            task_kwargs={},
            attempts=attempts,
            status=Status.DOING.value,
        )

    first = strategy.get_retry_decision(exception=TransientEmbeddingError("x"), job=job(0))
    later = strategy.get_retry_decision(exception=TransientEmbeddingError("x"), job=job(2))
    assert first is not None
    assert later is not None
    assert first.retry_at is not None
    assert later.retry_at is not None
    assert later.retry_at > first.retry_at > datetime.now(UTC)
    last = knowledge_tasks.MAX_ATTEMPTS - 1
    assert (
        strategy.get_retry_decision(exception=TransientEmbeddingError("x"), job=job(last)) is None
    )
    assert strategy.get_retry_decision(exception=ValueError("bug"), job=job(0)) is None
