"""The reply pipeline's settings for the conversations tests: the model at the fake OpenAI
server, and short waits everywhere.

The fixtures that drive and watch the pipeline (a shop, a real worker, an inspector, the
event log) are ``tests/reply_fixtures.py``'s, registered for every directory by
``tests/conftest.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from atende.config import Environment, Settings
from tests.fakes.openai_server import FakeOpenAI, fake_openai, fake_openai_server

__all__ = ["fake_openai", "fake_openai_server"]

TEST_API_KEY = "sk-test-key-0123456789abcdef"


@pytest.fixture
def reply_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings a test changes (``@pytest.mark.parametrize("reply_settings", [{...}],
    indirect=True)``)."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, fake_openai: FakeOpenAI, reply_settings: dict[str, Any]
) -> Settings:
    """The test settings, with the model at the fake server and short waits everywhere."""
    values: dict[str, Any] = {
        "env": Environment.TEST,
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "public_url": "https://atende.test",
        "db_pool_min_size": 1,
        "db_pool_max_size": 10,
        "openai_api_key": TEST_API_KEY,
        "openai_base_url": fake_openai.base_url,
        "model_timeout_seconds": 2.0,
        "reply_max_attempts": 3,
        "reply_retry_backoff_seconds": 0.05,
        "reply_retry_max_backoff_seconds": 0.2,
        "worker_poll_interval_seconds": 0.05,
    }
    values.update(reply_settings)
    return Settings(**values)
