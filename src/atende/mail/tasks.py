"""The mail job: ``mail:send_mail`` sends one outbox row (``MailOutbox.send``).

``private.queue_mail_v1`` defers it (queue ``mail``) in the transaction that writes the
mail. A transient failure becomes a retry of the same job after the outbox's backoff; a
permanent refusal, or the last attempt, ends it with the row marked ``failed``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import procrastinate
import psycopg
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from atende.db.session import Database
from atende.dependencies import job_dependencies
from atende.errors import AtendeError
from atende.mail.outbox import MailOutbox, RetryLater, retry_delay
from atende.mail.sender import Mailer

blueprint = procrastinate.Blueprint()

#: A job that failed on the database itself (an outage) is retried this often.
DATABASE_RETRIES = 10


class RetryMail(AtendeError):
    """The mail was not sent; the job runs again at ``retry_at``."""

    def __init__(self, retry_at: datetime, reason: str) -> None:
        super().__init__(f"retry at {retry_at.isoformat()}: {reason}")
        self.retry_at = retry_at


class MailRetryStrategy(BaseRetryStrategy):
    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, RetryMail):
            return RetryDecision(retry_at=exception.retry_at)
        if isinstance(exception, psycopg.OperationalError) and job.attempts < DATABASE_RETRIES:
            return RetryDecision(retry_at=datetime.now(UTC) + retry_delay(job.attempts + 1))
        return None


@blueprint.task(name="send_mail", pass_context=True, retry=MailRetryStrategy())
async def send_mail(context: procrastinate.JobContext, mail_id: str) -> None:
    dependencies = job_dependencies(context)
    outbox = MailOutbox(dependencies.get(Database), dependencies.get(Mailer))
    outcome = await outbox.send(UUID(mail_id))
    if isinstance(outcome, RetryLater):
        raise RetryMail(datetime.now(UTC) + outcome.delay, outcome.reason)
