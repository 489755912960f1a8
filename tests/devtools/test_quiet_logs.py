"""An idle ``make dev`` is quiet at INFO: periodic upkeep jobs and the Twilio simulator's
polling log at DEBUG (``atende.logs.RoutineAtDebug``); a real job, a send, a failure
still log at their level."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import procrastinate
import pytest
from procrastinate.periodic import PeriodicDeferrer
from procrastinate.testing import InMemoryConnector

from atende.config import Settings
from atende.logs import configure_logging


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger, restored after the test configured it; ``uvicorn.access`` as the
    product's processes leave it (``log_config=None``: it propagates to the root), even
    when a server started by another test configured it its own way."""
    root = logging.getLogger()
    access = logging.getLogger("uvicorn.access")
    saved = (root.handlers[:], root.level)
    saved_access = (access.handlers[:], access.level, access.propagate, access.disabled)
    access.handlers[:], access.propagate, access.disabled = [], True, False
    access.setLevel(logging.NOTSET)
    try:
        yield root
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        access.handlers[:], _, access.propagate, access.disabled = saved_access
        access.setLevel(saved_access[1])


def procrastinate_app() -> procrastinate.App:
    """An app with a periodic upkeep task and a task that does real work."""
    app = procrastinate.App(connector=InMemoryConnector())

    @app.periodic(cron="* * * * *")
    @app.task(name="upkeep", queue="upkeep")
    async def upkeep(timestamp: int) -> None:
        pass

    @app.task(name="send_message")
    async def send_message(message_id: str) -> None:
        pass

    @app.task(name="broken_upkeep")
    async def broken_upkeep(timestamp: int) -> None:
        raise RuntimeError("the upkeep failed")

    return app


async def run_jobs(app: procrastinate.App) -> None:
    """What a worker does in a tick: defer what the schedule says, run what is queued."""
    async with app.open_async():
        deferrer = PeriodicDeferrer(registry=app.periodic_registry)
        await deferrer.defer_jobs(deferrer.get_previous_tasks(at=time.time()))
        await app.tasks["send_message"].defer_async(message_id="m-1")
        await app.tasks["broken_upkeep"].defer_async(timestamp=1)
        await app.run_worker_async(wait=False, install_signal_handlers=False)


def log_simulator_polls() -> None:
    """The access lines uvicorn writes for ``atende simulate``'s polls, and for a send."""
    access = logging.getLogger("uvicorn.access")
    line = '%s - "%s %s HTTP/%s" %d'
    access.info(
        line, "127.0.0.1:50000", "GET", "/__simulator/messages?to=whatsapp%3A%2B55", "1.1", 200
    )
    access.info(line, "127.0.0.1:50000", "GET", "/__simulator/messages?to=x", "1.1", 500)
    access.info(
        line, "127.0.0.1:50001", "POST", "/2010-04-01/Accounts/AC1/Messages.json", "1.1", 201
    )


async def test_at_info_routine_work_says_nothing_and_real_work_is_logged(
    root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings(log_level="INFO"))

    await run_jobs(procrastinate_app())
    log_simulator_polls()

    lines = capsys.readouterr().err.splitlines()
    assert not [line for line in lines if "upkeep[" in line and "broken" not in line], lines
    assert not [line for line in lines if " DEBUG " in line]
    assert any("INFO procrastinate.worker.worker: Starting job send_message[" in ln for ln in lines)
    assert any("Job send_message[" in line and "Success" in line for line in lines)
    assert any("ERROR procrastinate.worker: Job broken_upkeep[" in line for line in lines)
    access = [line for line in lines if "uvicorn.access" in line]
    assert len(access) == 2  # the failed poll and the send; the successful poll is routine
    assert "500" in access[0]
    assert "Messages.json" in access[1]


async def test_at_debug_routine_work_shows_as_debug(
    root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings(log_level="DEBUG"))

    await run_jobs(procrastinate_app())
    log_simulator_polls()

    lines = capsys.readouterr().err.splitlines()
    assert any("DEBUG procrastinate.periodic: Periodic job upkeep[" in line for line in lines)
    assert any("DEBUG procrastinate.worker.worker: Starting job upkeep[" in ln for ln in lines)
    assert any("DEBUG procrastinate.worker: Job upkeep[" in line for line in lines)
    assert any("DEBUG uvicorn.access:" in line and "__simulator" in line for line in lines)
    assert any("INFO procrastinate.worker: Job send_message[" in line for line in lines)
