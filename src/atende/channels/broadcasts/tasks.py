"""The broadcast job: ``channels:send_broadcast`` (registered under the channels namespace by
``atende.queue``).

``create_broadcast_v1`` defers it (queue ``broadcasts``, lock ``broadcast:<id>``, so one
job of a broadcast runs at a time) in the transaction that stores the broadcast; each job
paces batches for a bounded time and defers its successor (``BroadcastSender``). A worker
killed mid-job leaves it ``doing``; the stalled-job sweep retries it, and the retry claims
what the dead worker had not committed. A job whose workers died three times is given up
and the broadcast ends ``failed`` (``give_up_broadcast``, called by the sweep).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

import procrastinate
import psycopg
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from atende.channels.broadcasts.service import BroadcastSender
from atende.db.session import Database
from atende.dependencies import job_dependencies

logger = logging.getLogger("atende.channels.broadcasts.tasks")

blueprint = procrastinate.Blueprint()

#: A job that failed on the database itself (an outage) is retried this often.
DATABASE_RETRIES = 10


class BroadcastRetryStrategy(BaseRetryStrategy):
    """Retries when the database failed under the job: the batch it was claiming rolled
    back, so the retry claims it again."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, psycopg.OperationalError) and job.attempts < DATABASE_RETRIES:
            return RetryDecision(
                retry_at=datetime.now(UTC) + timedelta(seconds=min(60, 2**job.attempts))
            )
        return None


@blueprint.task(
    name="send_broadcast", queue="broadcasts", pass_context=True, retry=BroadcastRetryStrategy()
)
async def send_broadcast(context: procrastinate.JobContext, broadcast_id: str) -> None:
    sender = BroadcastSender(job_dependencies(context).get(Database))
    run = await sender.run(UUID(broadcast_id))
    logger.info(
        "broadcast %s: %d recipient(s) handled, %s, %d left%s",
        broadcast_id,
        run.handled,
        run.status,
        run.remaining,
        " (next job deferred)" if run.handed_over else "",
    )
