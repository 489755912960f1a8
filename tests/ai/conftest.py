from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from atende.ai.client import ModelClient
from tests.fakes.openai_server import FakeOpenAI, fake_openai, fake_openai_server

__all__ = ["fake_openai", "fake_openai_server"]

TEST_API_KEY = "sk-test-key-0123456789abcdef"


@pytest.fixture
async def model_client(fake_openai: FakeOpenAI) -> AsyncIterator[ModelClient]:
    """A real ``ModelClient`` pointed at the fake server, with a short timeout."""
    async with ModelClient(
        api_key=TEST_API_KEY, base_url=fake_openai.base_url, timeout_seconds=2.0
    ) as client:
        yield client
