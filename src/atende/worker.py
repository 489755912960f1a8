"""The worker process: Procrastinate running every module's jobs on the shared pool."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from atende.config import Settings
from atende.queue import app as queue_app
from atende.services import open_services

logger = logging.getLogger("atende.worker")

#: How long a stopping worker lets running jobs finish before cancelling them.
SHUTDOWN_GRACE_SECONDS = 30.0


async def run_worker(settings: Settings, *, concurrency: int | None = None) -> None:
    """Run until SIGINT or SIGTERM; then finish (or, after the grace period, abort) jobs.

    The signal handlers are ours and installed first, so a signal that arrives while the
    pool is still opening stops the worker as gracefully as one that arrives later.
    """
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, stop_requested.set)
    async with (
        open_services(settings, name="atende-worker") as services,
        queue_app.open_async(services.pool),
    ):
        worker = asyncio.create_task(
            queue_app.run_worker_async(
                concurrency=concurrency or settings.worker_concurrency,
                additional_context={"services": services},
                fetch_job_polling_interval=settings.worker_poll_interval_seconds,
                install_signal_handlers=False,
                shutdown_graceful_timeout=SHUTDOWN_GRACE_SECONDS,
            ),
            name="procrastinate worker",
        )
        logger.info("worker started with %d task(s)", len(queue_app.tasks))
        stopper = asyncio.create_task(stop_requested.wait(), name="stop signal")
        await asyncio.wait({worker, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if worker.done():
            stopper.cancel()
            worker.result()
        else:
            # Cancelling run_worker_async makes Procrastinate stop taking jobs and wait
            # for the running ones (up to the grace period).
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
    logger.info("worker stopped")
