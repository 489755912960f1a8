"""The contacts' job: ``contacts:import_contacts`` imports one CSV file of contacts.

``public.create_contact_import_v1`` defers it (queue ``contacts``, one running per
import) in the transaction that stores the file. The work is
``atende.conversations.contact_import.ContactImporter``. A worker killed mid-import
leaves nothing half-written (the rows are written in one transaction); the job run again
(a retry, or the upkeep's stalled-job rescue) starts the import over from its file. A job
whose workers died three times is given up by that rescue, and the import ends FAILED
(``ContactImporter.fail``, as here when the job fails for good).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

import procrastinate
import psycopg
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from atende.conversations.contacts.importer import ContactImporter
from atende.db.session import Database
from atende.dependencies import job_dependencies

logger = logging.getLogger("atende.conversations.contact_tasks")

blueprint = procrastinate.Blueprint()

MAX_ATTEMPTS = 5
RETRY_BACKOFF_SECONDS = 2.0


class ImportRetryStrategy(BaseRetryStrategy):
    """Retries a database that failed under the job; a refused file is a result."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if not isinstance(exception, psycopg.OperationalError):
            return None
        if job.attempts + 1 >= MAX_ATTEMPTS:
            return None
        delay = RETRY_BACKOFF_SECONDS * 2.0**job.attempts
        return RetryDecision(retry_at=datetime.now(UTC) + timedelta(seconds=delay))


#: What a failed import says when the job itself failed (the log has the cause).
JOB_FAILED = (
    "A importação falhou por um erro interno e nada foi gravado. Tente de novo; se"
    " continuar, fale com o suporte."
)


@blueprint.task(name="import_contacts", pass_context=True, retry=ImportRetryStrategy())
async def import_contacts(context: procrastinate.JobContext, import_id: str) -> None:
    importer = ContactImporter(job_dependencies(context).get(Database))
    try:
        status = await importer.run(UUID(import_id))
    except Exception as error:
        job = context.job
        retried = (
            isinstance(error, psycopg.OperationalError)
            and job is not None
            and job.attempts + 1 < MAX_ATTEMPTS
        )
        if not retried:
            # Nothing was written (the rows go in one transaction); say so rather than
            # leave the client polling an import that never finishes.
            with contextlib.suppress(Exception):
                await importer.fail(UUID(import_id), JOB_FAILED)
        raise
    logger.info("contact import %s: %s", import_id, status)
