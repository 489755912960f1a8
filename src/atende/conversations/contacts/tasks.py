"""The contacts' job: ``contacts:import_contacts`` imports one CSV file of contacts.

``public.create_contact_import_v1`` defers it (queue ``contacts``, one running per
import) in the transaction that stores the file. The work is
``atende.conversations.contact_import.ContactImporter``. A worker killed mid-import
leaves nothing half-written (the rows are written in one transaction); the job run again
(a retry, or the upkeep's stalled-job rescue) starts the import over from its file.
"""

from __future__ import annotations

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


@blueprint.task(name="import_contacts", pass_context=True, retry=ImportRetryStrategy())
async def import_contacts(context: procrastinate.JobContext, import_id: str) -> None:
    importer = ContactImporter(job_dependencies(context).get(Database))
    status = await importer.run(UUID(import_id))
    logger.info("contact import %s: %s", import_id, status)
