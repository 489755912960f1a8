"""The knowledge module's job: ``knowledge:index_document`` indexes one document.

The document's change deferred it (``private.defer_knowledge_indexing``: queue
``knowledge``, one waiting and one running per document). The work is
``Indexer.index_document``; this module maps its failures onto Procrastinate: an
unavailable embedder is retried with exponential backoff up to ``MAX_ATTEMPTS`` runs,
and on the last one the document is marked failed. A worker killed mid-job leaves the
document pending (its passages are stored in one transaction at the end, never in
part); the stalled job is retried by the upkeep's ``retry_stalled_jobs``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

import procrastinate
import psycopg
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from atende.db.session import Database
from atende.dependencies import job_dependencies
from atende.knowledge.embeddings import Embedder
from atende.knowledge.errors import TransientEmbeddingError
from atende.knowledge.service import Indexer

logger = logging.getLogger("atende.knowledge.tasks")

blueprint = procrastinate.Blueprint()

INDEX_TASK = "knowledge:index_document"
#: Runs of one indexing job at most, the first included.
MAX_ATTEMPTS = 5
#: The first retry's delay; each next one doubles, up to ``MAX_BACKOFF_SECONDS``.
RETRY_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 60.0


class IndexRetryStrategy(BaseRetryStrategy):
    """Retries an unavailable embedder, and a database that failed under the job."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        retryable = isinstance(exception, TransientEmbeddingError | psycopg.OperationalError)
        if not retryable or job.attempts + 1 >= MAX_ATTEMPTS:
            return None
        delay = min(MAX_BACKOFF_SECONDS, RETRY_BACKOFF_SECONDS * 2.0**job.attempts)
        return RetryDecision(retry_at=datetime.now(UTC) + timedelta(seconds=delay))


@blueprint.task(name="index_document", pass_context=True, retry=IndexRetryStrategy())
async def index_document(context: procrastinate.JobContext, document_id: str) -> None:
    dependencies = job_dependencies(context)
    indexer = Indexer(
        database=dependencies.get(Database),
        embedder=dependencies.get(Embedder),  # type: ignore[type-abstract]
    )
    attempts = context.job.attempts if context.job is not None else 0
    result = await indexer.index_document(
        UUID(document_id), last_attempt=attempts + 1 >= MAX_ATTEMPTS
    )
    logger.debug("index_document %s: %s", document_id, result.outcome)
