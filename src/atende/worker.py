"""The worker process: Procrastinate running every module's jobs on the shared pool."""

from __future__ import annotations

import logging

from atende.config import Settings
from atende.queue import app as queue_app
from atende.services import open_services

logger = logging.getLogger("atende.worker")

#: How long a stopping worker lets running jobs finish before cancelling them.
SHUTDOWN_GRACE_SECONDS = 30.0


async def run_worker(settings: Settings, *, concurrency: int | None = None) -> None:
    """Run until SIGINT or SIGTERM; then finish (or, after the grace period, abort) jobs."""
    async with (
        open_services(settings, name="atende-worker") as services,
        queue_app.open_async(services.pool),
    ):
        logger.info("worker started with %d task(s)", len(queue_app.tasks))
        await queue_app.run_worker_async(
            concurrency=concurrency or settings.worker_concurrency,
            additional_context={"services": services},
            install_signal_handlers=True,
            shutdown_graceful_timeout=SHUTDOWN_GRACE_SECONDS,
        )
    logger.info("worker stopped")
