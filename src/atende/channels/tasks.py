"""The channel's jobs: ``channels:send_message`` hands a queued message to Twilio, and
``channels:fetch_media`` keeps a customer's files (``atende.channels.media``).

``private.queue_outbound_message`` defers it (queue ``sends``, lock
``send:<conversation_id>``, so one conversation's messages go one at a time, in order)
in the transaction that queues the message. The work is ``MessageSender.send``; this
module only maps its result onto Procrastinate: ``RetryLater`` becomes a retry of the
same job after the sender's backoff (the job keeps its place, so later messages of the
conversation wait behind it), everything else ends the job.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

import procrastinate
import psycopg
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from atende.channels.media import FETCH_ATTEMPTS, InboundMediaFetcher, retry_delay
from atende.channels.sending import MessageSender, RetryLater
from atende.channels.transport import MessagingTransport
from atende.config import Settings
from atende.db.session import Database
from atende.dependencies import job_dependencies
from atende.errors import AtendeError
from atende.media.storage import MediaStorage
from atende.media.urls import MediaUrls

logger = logging.getLogger("atende.channels.tasks")

blueprint = procrastinate.Blueprint()

#: A job that failed on the database itself (an outage) is retried this often.
DATABASE_RETRIES = 10


class RetrySend(AtendeError):
    """Twilio could not take the message now; the job runs again after ``delay_seconds``."""

    def __init__(self, delay_seconds: float, reason: str) -> None:
        super().__init__(f"retry in {delay_seconds:.2f}s: {reason}")
        self.delay_seconds = delay_seconds


class SendRetryStrategy(BaseRetryStrategy):
    """Retries when the sender asks to (its own backoff and attempt count, from
    settings), and when the database failed under the job (an outage: the message is
    still queued, or flagged by the claim if it got that far)."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, RetrySend):
            return RetryDecision(retry_at=_in_seconds(exception.delay_seconds))
        if isinstance(exception, psycopg.OperationalError) and job.attempts < DATABASE_RETRIES:
            return RetryDecision(retry_at=_in_seconds(min(60, 2**job.attempts)))
        return None


def _in_seconds(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


@blueprint.task(name="send_message", pass_context=True, retry=SendRetryStrategy())
async def send_message(context: procrastinate.JobContext, message_id: str) -> None:
    dependencies = job_dependencies(context)
    sender = MessageSender(
        dependencies.get(Database),
        dependencies.get(MessagingTransport),  # type: ignore[type-abstract]
        dependencies.get(Settings),
        media_urls=dependencies.get(MediaUrls),
    )
    result = await sender.send(UUID(message_id))
    logger.debug("send_message %s: %s", message_id, type(result).__name__)
    if isinstance(result, RetryLater):
        raise RetrySend(result.delay_seconds, result.reason)


class RetryFetch(AtendeError):
    """Some of a message's files could not be fetched or kept yet; the job runs again."""

    def __init__(self, delay_seconds: float) -> None:
        super().__init__(f"retry in {delay_seconds:.0f}s")
        self.delay_seconds = delay_seconds


class FetchRetryStrategy(BaseRetryStrategy):
    """Retries when the fetcher asks to (it records the failures itself on the last of
    ``FETCH_ATTEMPTS`` runs), and when the database failed under the job."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, RetryFetch) and job.attempts + 1 < FETCH_ATTEMPTS:
            return RetryDecision(retry_at=_in_seconds(exception.delay_seconds))
        if isinstance(exception, psycopg.OperationalError) and job.attempts < DATABASE_RETRIES:
            return RetryDecision(retry_at=_in_seconds(min(60, 2**job.attempts)))
        return None


@blueprint.task(name="fetch_media", pass_context=True, retry=FetchRetryStrategy())
async def fetch_media(context: procrastinate.JobContext, message_id: str) -> None:
    dependencies = job_dependencies(context)
    fetcher = InboundMediaFetcher(
        dependencies.get(Database),
        dependencies.get(MessagingTransport),  # type: ignore[type-abstract]
        dependencies.get(MediaStorage),  # type: ignore[type-abstract]
        dependencies.get(Settings),
    )
    attempts = context.job.attempts
    outcome = await fetcher.fetch(UUID(message_id), last_attempt=attempts + 1 >= FETCH_ATTEMPTS)
    if outcome.retry:
        raise RetryFetch(retry_delay(attempts))
