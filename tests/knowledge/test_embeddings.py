"""The embedders: the built-in one (offline, from the wordllama wheel's files) and an
OpenAI-compatible model through the official client, against a local server."""

from __future__ import annotations

import math
import socket

import pytest
from pydantic import SecretStr

from atende.config import Settings
from atende.knowledge.embeddings import (
    DEFAULT_OPENAI_MODEL,
    LocalEmbedder,
    OpenAIEmbedder,
    embedder_from_settings,
    words_of,
)
from atende.knowledge.errors import PermanentEmbeddingError, TransientEmbeddingError
from tests.knowledge.fake_embeddings import DIMENSIONS, FakeEmbeddings


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_the_local_embedder_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the local embedder tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    embedder = LocalEmbedder()

    vectors = await embedder.embed(
        ["quanto custa o bolo de cenoura?", "qnto ta o bolo de cenora", "horário de domingo"]
    )

    assert [len(v) for v in vectors] == [768, 768, 768]
    assert all(math.isclose(cosine(v, v), 1.0, rel_tol=1e-5) for v in vectors)
    # A misspelled, abbreviated question stays closer to its meaning than another topic.
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.2
    assert embedder.name.startswith("local:wordllama")


def test_colloquial_words_are_read_as_what_they_mean() -> None:
    assert words_of("Vcs aceitam PIX? qnto é o frete hj") == [
        "voces",
        "aceitam",
        "pix",
        "quanto",
        "e",
        "o",
        "frete",
        "hoje",
    ]


def test_the_embedder_follows_the_settings() -> None:
    assert isinstance(embedder_from_settings(Settings()), LocalEmbedder)
    keyed = Settings(openai_api_key=SecretStr("sk-test-0123456789"))
    chosen = embedder_from_settings(keyed)
    assert isinstance(chosen, OpenAIEmbedder)
    assert chosen.name == f"openai:{DEFAULT_OPENAI_MODEL}"
    local = embedder_from_settings(keyed.model_copy(update={"embeddings": "local"}))
    assert isinstance(local, LocalEmbedder)


async def test_a_model_embeds_through_the_openai_client(fake_embeddings: FakeEmbeddings) -> None:
    embedder = OpenAIEmbedder(
        model="text-embedding-3-small",
        api_key="sk-test-abcdefghijklmnop",
        base_url=fake_embeddings.base_url,
        timeout_seconds=2,
    )
    try:
        texts = [f"texto {n}" for n in range(70)]
        vectors = await embedder.embed(texts)
    finally:
        await embedder.close()

    assert len(vectors) == 70
    assert {len(v) for v in vectors} == {DIMENSIONS}
    assert math.isclose(cosine(vectors[0], vectors[0]), 1.0, rel_tol=1e-6)
    assert [len(r["input"]) for r in fake_embeddings.requests] == [64, 6]  # in batches
    assert fake_embeddings.requests[0]["model"] == "text-embedding-3-small"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (503, TransientEmbeddingError),
        (429, PermanentEmbeddingError),
        (401, PermanentEmbeddingError),
    ],
)
async def test_model_failures_are_typed(
    fake_embeddings: FakeEmbeddings, status: int, error: type[Exception]
) -> None:
    fake_embeddings.fail_next(status)
    embedder = OpenAIEmbedder(
        model="m",
        api_key="sk-test-abcdefghijklmnop",
        base_url=fake_embeddings.base_url,
        timeout_seconds=2,
    )
    try:
        with pytest.raises(error) as failed:
            await embedder.embed(["oi"])
    finally:
        await embedder.close()
    assert "sk-test" not in str(failed.value)


async def test_an_unreachable_server_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    embedder = OpenAIEmbedder(
        model="m", api_key=None, base_url=f"http://127.0.0.1:{port}/v1", timeout_seconds=1
    )
    try:
        with pytest.raises(TransientEmbeddingError):
            await embedder.embed(["oi"])
    finally:
        await embedder.close()
