"""The delivery job: ``webhooks:deliver_webhook`` posts one delivery (``WebhookDeliveries``).

The database defers it (queue ``webhooks``) in the transaction that records the event,
and again for a redelivery. A failed attempt brings the same job back at the delivery's
next attempt time (backoff with jitter, ``delivery.RETRY_SCHEDULE``); a job that finds
its process's delivery lane full comes back later without counting an attempt (in a
moment, or around when the endpoint's slow request in flight times out). A
worker killed mid-delivery leaves the job to the stalled-job upkeep, which runs it again:
at least once, and the receiver deduplicates by ``webhook-id``.

``webhooks:purge_attempts`` (hourly) deletes the attempts older than
``ATTEMPT_RETENTION`` from each delivery's history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import procrastinate
import psycopg
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from atende.dependencies import job_dependencies
from atende.errors import AtendeError
from atende.webhooks.delivery import LaneBusy
from atende.webhooks.service import WebhookDeliveries

blueprint = procrastinate.Blueprint()

#: A job that failed on the database itself (an outage) is retried this often.
DATABASE_RETRIES = 10
#: How long each attempt of a delivery is kept (``WebhookDelivery.attemptHistory``); the
#: delivery's own summary (attempts, last status) stays as long as the delivery.
ATTEMPT_RETENTION = timedelta(days=30)


class RetryDelivery(AtendeError):
    """The delivery is not done; the job runs again at ``retry_at``."""

    def __init__(self, retry_at: datetime, reason: str) -> None:
        super().__init__(f"retry at {retry_at.isoformat()}: {reason}")
        self.retry_at = retry_at


class DeliveryRetryStrategy(BaseRetryStrategy):
    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, RetryDelivery):
            return RetryDecision(retry_at=exception.retry_at)
        if isinstance(exception, psycopg.OperationalError) and job.attempts < DATABASE_RETRIES:
            delay = timedelta(seconds=min(300, 2 ** (job.attempts + 1)))
            return RetryDecision(retry_at=datetime.now(UTC) + delay)
        return None


@blueprint.task(
    name="deliver_webhook", queue="webhooks", pass_context=True, retry=DeliveryRetryStrategy()
)
async def deliver_webhook(
    context: procrastinate.JobContext, delivery_id: str, endpoint_id: str | None = None
) -> None:
    """``endpoint_id``: the delivery's endpoint, so a full lane is seen before any
    statement (jobs deferred before 20261207001710 have none, and claim first)."""
    deliveries = job_dependencies(context).get(WebhookDeliveries)
    try:
        outcome = await deliveries.deliver(
            UUID(delivery_id), endpoint_id=None if endpoint_id is None else UUID(endpoint_id)
        )
    except LaneBusy as busy:
        pause = timedelta(seconds=busy.retry_in)
        raise RetryDelivery(datetime.now(UTC) + pause, "the delivery lane is full") from None
    if outcome.retry_at is not None:
        raise RetryDelivery(outcome.retry_at, "the receiver did not take it")


@blueprint.periodic(cron="41 * * * *", periodic_id="hourly")
@blueprint.task(
    name="purge_attempts",
    queue="upkeep",
    queueing_lock="upkeep:purge_webhook_attempts",
    pass_context=True,
)
async def purge_attempts(context: procrastinate.JobContext, timestamp: int) -> None:
    await job_dependencies(context).get(WebhookDeliveries).purge_attempts(ATTEMPT_RETENTION)
