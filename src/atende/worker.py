"""The worker process: Procrastinate running every module's jobs (with the service pool for
the jobs' own work, and a small autocommit pool for the queue's statements)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from atende.config import Settings
from atende.db.pool import Pool, create_pool, first_line, open_pool
from atende.dependencies import JOB_CONTEXT_KEY
from atende.queue import app as queue_app
from atende.services import database_url, open_services

logger = logging.getLogger("atende.worker")

#: How long a stopping worker lets running jobs finish before cancelling them.
SHUTDOWN_GRACE_SECONDS = 30.0
#: Connections for Procrastinate's statements: each is short (one round trip), so a few
#: serve any concurrency; a job finishing while all are busy waits a moment.
QUEUE_POOL_MAX_SIZE = 4
#: How long a queue statement waits for one of those connections. Short, because they are
#: never busy for long: a longer wait means the database is away, and the queue worker
#: should stop (and be restarted) rather than hold its jobs waiting (30 s each, measured,
#: with the pool's default), which kept a worker from noticing an outage for 90 s.
QUEUE_POOL_WAIT_SECONDS = 5.0


#: Pause before restarting a queue worker that stopped by itself (doubling, up to the
#: maximum, while it keeps stopping; back to the first after it ran for a while).
RESTART_DELAY_SECONDS = 0.5
MAX_RESTART_DELAY_SECONDS = 8.0
#: A queue worker that ran this long before stopping starts again after the first delay.
STABLE_RUN_SECONDS = 60.0


@contextlib.asynccontextmanager
async def _opened(pool: Pool) -> AsyncIterator[Pool]:
    await open_pool(pool)
    try:
        yield pool
    finally:
        await pool.close()


async def run_worker(settings: Settings, *, concurrency: int | None = None) -> None:
    """Run until SIGINT or SIGTERM; then finish (or, after the grace period, abort) jobs.

    The signal handlers are ours and installed first, so a signal that arrives while the
    pool is still opening stops the worker as gracefully as one that arrives later.
    """
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, stop_requested.set)
    # Procrastinate's own statements (fetch a job, finish it, heartbeats) are each a
    # transaction of one statement: on a pool of autocommit connections each costs one
    # round trip instead of three (BEGIN, statement, COMMIT). Jobs run on the service pool.
    # Their commits stay durable (synchronous_commit on): a fetch lost in a Postgres crash
    # would let another worker run the same reply job concurrently (two replies), and a
    # finish lost would leave the job 'doing' under a live worker, holding its
    # conversation's lock until that worker stops. Measured saving: under 1.5 ms a fetch.
    queue_pool = create_pool(
        database_url(settings),
        min_size=1,
        max_size=QUEUE_POOL_MAX_SIZE,
        name="atende-worker-queue",
        autocommit=True,
        wait_timeout=QUEUE_POOL_WAIT_SECONDS,
    )
    async with (
        open_services(settings, name="atende-worker", serves_team=False) as services,
        _opened(queue_pool),
        queue_app.open_async(queue_pool),
    ):
        logger.info("worker started with %d task(s)", len(queue_app.tasks))
        delay = RESTART_DELAY_SECONDS
        while True:
            started = loop.time()
            worker = asyncio.create_task(
                queue_app.run_worker_async(
                    concurrency=concurrency or settings.worker_concurrency,
                    additional_context={JOB_CONTEXT_KEY: services.dependencies},
                    fetch_job_polling_interval=settings.worker_poll_interval_seconds,
                    install_signal_handlers=False,
                    shutdown_graceful_timeout=SHUTDOWN_GRACE_SECONDS,
                ),
                name="procrastinate worker",
            )
            stopper = asyncio.create_task(stop_requested.wait(), name="stop signal")
            await asyncio.wait({worker, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not worker.done():
                # Cancelling run_worker_async makes Procrastinate stop taking jobs and wait
                # for the running ones (up to the grace period).
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
                break
            stopper.cancel()
            if stop_requested.is_set():
                worker.result()
                break
            # Procrastinate stops its worker when a side task (the LISTEN connection, the
            # heartbeat) meets a database error, as during a Postgres restart or failover.
            # The process stays up and starts a new one, once the database answers again.
            error = worker.exception()
            cause = "" if error is None else f": {type(error).__name__}: {_cause(error)}"
            if loop.time() - started > STABLE_RUN_SECONDS:
                delay = RESTART_DELAY_SECONDS
            logger.error("queue worker stopped by itself%s; restarting in %.1f s", cause, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_requested.wait(), delay)
            if stop_requested.is_set():
                break
            delay = min(delay * 2, MAX_RESTART_DELAY_SECONDS)
    logger.info("worker stopped")


def _cause(error: BaseException) -> str:
    """The first line of what went wrong, from the database error under Procrastinate's
    (libpq's cause, without the address or any credentials of the connection)."""
    while error.__cause__ is not None:
        error = error.__cause__
    return first_line(error)
