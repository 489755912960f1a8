"""The ai module's own job: ``ai:transcribe_audio`` (``atende.ai.transcription``).

The reply job is declared with the conversation's jobs (``conversations:generate_reply``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import procrastinate
import psycopg
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from atende.ai.transcription import TRANSCRIBE_ATTEMPTS, AudioTranscriber, retry_delay
from atende.config import Settings
from atende.db.session import Database
from atende.dependencies import job_dependencies
from atende.errors import AtendeError
from atende.media.storage import MediaStorage

blueprint = procrastinate.Blueprint()

#: A job that failed on the database itself (an outage) is retried this often.
DATABASE_RETRIES = 10
TRANSCRIBE_QUEUE = "media"


class RetryTranscription(AtendeError):
    """Some of a message's voice notes could not be transcribed yet; the job runs again."""

    def __init__(self, delay_seconds: float) -> None:
        super().__init__(f"retry in {delay_seconds:.0f}s")
        self.delay_seconds = delay_seconds


class TranscriptionRetryStrategy(BaseRetryStrategy):
    """Retries when the transcriber asks to (it records the failures itself on the last of
    ``TRANSCRIBE_ATTEMPTS`` runs), and when the database failed under the job."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, RetryTranscription) and job.attempts + 1 < TRANSCRIBE_ATTEMPTS:
            return RetryDecision(retry_at=_in_seconds(exception.delay_seconds))
        if isinstance(exception, psycopg.OperationalError) and job.attempts < DATABASE_RETRIES:
            return RetryDecision(retry_at=_in_seconds(min(60, 2**job.attempts)))
        return None


def _in_seconds(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


@blueprint.task(
    name="transcribe_audio",
    queue=TRANSCRIBE_QUEUE,
    pass_context=True,
    retry=TranscriptionRetryStrategy(),
)
async def transcribe_audio(context: procrastinate.JobContext, message_id: str) -> None:
    from atende.ai.client import ModelClient  # noqa: PLC0415 - slow import, see transcription

    dependencies = job_dependencies(context)
    transcriber = AudioTranscriber(
        database=dependencies.get(Database),
        model=dependencies.get(ModelClient),
        storage=dependencies.get(MediaStorage),  # type: ignore[type-abstract]
        settings=dependencies.get(Settings),
    )
    attempts = context.job.attempts
    outcome = await transcriber.transcribe(
        UUID(message_id), last_attempt=attempts + 1 >= TRANSCRIBE_ATTEMPTS
    )
    if outcome.retry:
        raise RetryTranscription(retry_delay(attempts))
