"""open_services: what it opened is closed, however far the opening got."""

from __future__ import annotations

from typing import Any

import pytest

from atende import services as services_module
from atende.ai.client import ModelClient
from atende.config import Settings
from atende.db.pool import Pool, create_pool
from atende.db.session import Caller


class ModelSettingsRejected(Exception):
    pass


async def test_a_failure_after_the_pools_opened_closes_both(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[Pool] = []

    def recording_create_pool(*args: Any, **kwargs: Any) -> Pool:
        pool = create_pool(*args, **kwargs)
        created.append(pool)
        return pool

    def failing_model(settings: Settings) -> ModelClient:
        raise ModelSettingsRejected

    monkeypatch.setattr(services_module, "create_pool", recording_create_pool)
    monkeypatch.setattr(ModelClient, "from_settings", staticmethod(failing_model))

    with pytest.raises(ModelSettingsRejected):
        async with services_module.open_services(settings, name="atende-test-teardown"):
            pass

    assert [pool.name for pool in created] == [
        "atende-test-teardown",
        "atende-test-teardown-service",
    ]
    assert all(pool.closed for pool in created)


async def test_a_worker_keeps_no_idle_connection_for_the_team(settings: Settings) -> None:
    async with services_module.open_services(
        settings, name="atende-test-worker", serves_team=False
    ) as services:
        assert services.database.pool.get_stats()["pool_size"] == 0
        row = await services.database.fetch_one(Caller.service(), "select current_user as r")
        assert row == {"r": "service_role"}
