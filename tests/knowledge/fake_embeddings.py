"""An OpenAI-compatible embeddings server for tests (``POST /v1/embeddings``), so the real
``openai`` client runs against it. Its vectors are deterministic (hashed words, 1536
dimensions, as text-embedding-3-small's), and failures can be scripted first::

    fake_embeddings.fail_next(503, 503)   # two unavailable answers, then vectors
"""

from __future__ import annotations

import threading
import zlib
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import BackgroundServer

DIMENSIONS = 1536


class FakeEmbeddings:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: deque[int] = deque()
        self.requests: list[dict[str, Any]] = []
        self.server = BackgroundServer(
            Starlette(routes=[Route("/v1/embeddings", self._embeddings, methods=["POST"])]),
            name="fake-embeddings",
        )

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/v1"

    def fail_next(self, *statuses: int) -> None:
        with self._lock:
            self._failures.extend(statuses)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self.requests.clear()

    async def _embeddings(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self.requests.append(body)
            status = self._failures.popleft() if self._failures else None
        if status is not None:
            kind = "insufficient_quota" if status == 429 else "server_error"
            return JSONResponse(
                {"error": {"message": f"scripted {status}", "type": kind, "code": kind}},
                status_code=status,
            )
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return JSONResponse(
            {
                "object": "list",
                "model": body["model"],
                "data": [
                    {"object": "embedding", "index": i, "embedding": vector(text)}
                    for i, text in enumerate(texts)
                ],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        )


def vector(text: str) -> list[float]:
    values = [0.0] * DIMENSIONS
    for word in text.lower().split():
        values[zlib.crc32(word.encode()) % DIMENSIONS] += 1.0
    values[0] += 0.01
    return values


@pytest.fixture(scope="session")
def fake_embeddings_server() -> Iterator[FakeEmbeddings]:
    fake = FakeEmbeddings()
    fake.server.start()
    try:
        yield fake
    finally:
        fake.server.stop()


@pytest.fixture
def fake_embeddings(fake_embeddings_server: FakeEmbeddings) -> Iterator[FakeEmbeddings]:
    fake_embeddings_server.reset()
    yield fake_embeddings_server
    fake_embeddings_server.reset()
