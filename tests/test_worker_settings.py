"""`atende worker` runs ATENDE_WORKER_CONCURRENCY jobs at once (``--concurrency``
overrides it) and looks for jobs that became due every ATENDE_WORKER_POLL_INTERVAL_SECONDS
at the longest, as README's configuration table says."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest

from atende import worker as worker_module
from atende.config import Settings
from atende.queue import app as queue_app


async def run_worker_recording(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, concurrency: int | None
) -> dict[str, Any]:
    """What ``run_worker`` asks Procrastinate for; the worker is stopped as by SIGTERM."""
    asked: dict[str, Any] = {}

    async def procrastinate_worker(**options: Any) -> None:
        asked.update(options)
        os.kill(os.getpid(), signal.SIGTERM)  # run_worker's own handler takes it
        await asyncio.sleep(3600)

    monkeypatch.setattr(queue_app, "run_worker_async", procrastinate_worker)
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(30):
            await worker_module.run_worker(settings, concurrency=concurrency)
    finally:
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(stop_signal)
    return asked


async def test_the_worker_runs_the_configured_number_of_jobs_and_polls_as_configured(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = settings.model_copy(
        update={"worker_concurrency": 7, "worker_poll_interval_seconds": 0.25}
    )

    asked = await run_worker_recording(configured, monkeypatch, concurrency=None)

    assert asked["concurrency"] == 7
    assert asked["fetch_job_polling_interval"] == 0.25


async def test_the_concurrency_option_overrides_the_setting(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = await run_worker_recording(settings, monkeypatch, concurrency=3)

    assert asked["concurrency"] == 3
