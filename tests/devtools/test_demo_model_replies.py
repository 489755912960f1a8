"""The offline demo model behind the real pipeline: what `atende dev` runs without a key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atende.config import Environment, Settings
from atende.devtools.demo_model import DEMO_LABEL, create_demo_model_app, demo_model_environment
from tests.factories import ReplyFactory
from tests.fakes.server import BackgroundServer
from tests.reply_fixtures import Inspector, Shop, Worker


@pytest.fixture(scope="module")
def demo_model() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_demo_model_app(), name="demo-model") as server:
        yield server


@pytest.fixture
def settings(database_url: str, tmp_path: Path, demo_model: BackgroundServer) -> Settings:
    """Settings as `atende dev` gives the worker when no model is configured."""
    environment = demo_model_environment(demo_model.port)
    values: dict[str, Any] = {
        "env": Environment.TEST,
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "openai_base_url": environment["OPENAI_BASE_URL"],
        "openai_api_key": environment["OPENAI_API_KEY"],
        "worker_poll_interval_seconds": 0.05,
    }
    return Settings(**values)


async def test_a_demo_conversation_is_answered_then_handed_to_a_person(
    shop: Shop, replies: ReplyFactory, worker: Worker, inspect: Inspector
) -> None:
    first = await replies.inbound(shop.channel, "Oi, vocês entregam no centro?")
    assert await inspect.settled_outcomes(first.conversation_id, 1) == ["replied"]
    [answer] = await inspect.outbound(first.conversation_id)
    assert answer["body"].startswith(DEMO_LABEL)
    assert "Oi, vocês entregam no centro?" in answer["body"]

    await replies.inbound(shop.channel, "Quero falar com um atendente, por favor")
    assert await inspect.settled_outcomes(first.conversation_id, 2) == ["replied", "handoff"]
    conversation = await inspect.conversation(first.conversation_id)
    assert (conversation["status"], conversation["ai_enabled"]) == ("handoff", False)
    notice = (await inspect.outbound(first.conversation_id))[-1]
    assert notice["metadata"]["kind"] == "handoff"
    runs = await inspect.runs(first.conversation_id)
    assert all(run["model"] for run in runs)
    assert runs[0]["prompt_tokens"] > 0
