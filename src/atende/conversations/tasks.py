"""Jobs of the conversations module: the AI reply's job and the scheduled upkeep.

``ConversationTasks`` does the work and holds what it needs (the database door, the
reply pipeline, settings, the queue's job manager). The Procrastinate tasks at the
bottom are thin: each builds a ``ConversationTasks`` from its job context and calls one
method. The reply itself (``conversations:generate_reply``) is the AI's:
``atende.ai.replies``. The periodic jobs are deferred on schedule by every worker's
periodic deferrer (Procrastinate records each defer, so many workers defer each tick
once); the handlers do the work, with set-based SQL that is safe to run twice or side by
side.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any
from uuid import UUID

import procrastinate
import psycopg
from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.jobs import Job, Status
from procrastinate.manager import JobManager

from atende.ai.replies import REPLY_QUEUE, REPLY_TASK, ReplyPipeline, ReplyResult
from atende.channels.broadcasts.service import give_up_broadcast
from atende.config import Settings
from atende.conversations import scheduling
from atende.conversations.contacts.importer import ContactImporter
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.dependencies import job_dependencies
from atende.knowledge.search import KnowledgeSearch
from atende.media.storage import MediaStorage

if TYPE_CHECKING:  # the openai package is slow to import; the worker imports it at start
    from atende.ai.client import ModelClient

logger = logging.getLogger("atende.conversations.tasks")
queries = load_queries("conversations")

UPKEEP_QUEUE = "upkeep"
#: Scheduled sends share the send jobs' queue: a worker that sends, sends them too.
SCHEDULED_SEND_QUEUE = "sends"

#: Rows an upkeep statement handles at once, and how many such batches one job runs.
UPKEEP_BATCH_SIZE = 500
UPKEEP_MAX_BATCHES = 20
#: How long past its debounce a waiting customer message may go without a reply job
#: before the rescue defers one.
RESCUE_GRACE_SECONDS = 120.0
#: A job whose worker died this many times is given up (and a reply falls back).
MAX_STALLED_ATTEMPTS = 3
#: ``error_code`` of the fallback of a reply job given up after its workers died.
STALLED_JOB = "stalled_job"
#: What a contact import whose job was given up says (its rows go in one transaction,
#: so nothing was written).
STALLED_IMPORT = (
    "A importação parou: o processo que a executava caiu {times} vezes e nada foi gravado."
    " Tente de novo; se continuar, fale com o suporte."
)


class ConversationTasks:
    """The handlers of the conversations module's jobs."""

    def __init__(
        self,
        *,
        database: Database,
        model: ModelClient,
        settings: Settings,
        job_manager: JobManager | None = None,
        knowledge: KnowledgeSearch | None = None,
        storage: MediaStorage | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.job_manager = job_manager
        self.replies = ReplyPipeline(
            database=database,
            model=model,
            settings=settings,
            knowledge=knowledge,
            storage=storage,
        )

    @classmethod
    def from_context(cls, context: procrastinate.JobContext) -> ConversationTasks:
        from atende.ai.client import ModelClient  # noqa: PLC0415 - see TYPE_CHECKING above

        dependencies = job_dependencies(context)
        return cls(
            database=dependencies.get(Database),
            model=dependencies.get(ModelClient),
            settings=dependencies.get(Settings),
            job_manager=context.app.job_manager,
            knowledge=dependencies.get(KnowledgeSearch),
            storage=dependencies.get(MediaStorage),  # type: ignore[type-abstract]
        )

    async def generate_reply(self, conversation_id: UUID) -> ReplyResult:
        """The AI's answer to what the customer wrote (``ReplyPipeline.generate_reply``)."""
        return await self.replies.generate_reply(conversation_id)

    # -- scheduled upkeep -----------------------------------------------------------------

    async def close_inactive_conversations(self) -> int:
        """Close conversations inactive for their agent's ``inactivity_hours``."""
        closed = await self._in_batches(queries["close_inactive_conversations"], "closed")
        if closed:
            logger.info("closed %d inactive conversation(s)", closed)
        return closed

    async def send_follow_ups(self) -> int:
        """Queue the agent's follow-up, once, to customers who went quiet in the window."""
        sent = await self._in_batches(queries["send_due_follow_ups"], "sent")
        if sent:
            logger.info("queued %d follow-up(s)", sent)
        return sent

    async def rescue_unanswered_conversations(
        self, grace_seconds: float = RESCUE_GRACE_SECONDS
    ) -> int:
        """Give a reply job to conversations whose customer waits with none queued or
        running (a job that failed even to record its fallback, or was aborted)."""
        rescued = await self._in_batches(
            queries["rescue_unanswered_conversations"],
            "rescued",
            grace_seconds=grace_seconds,
        )
        if rescued:
            logger.warning("deferred reply jobs for %d unanswered conversation(s)", rescued)
        return rescued

    async def _in_batches(self, query: Any, column: str, **params: Any) -> int:
        total = 0
        for _ in range(UPKEEP_MAX_BATCHES):
            row = await self.database.fetch_one(
                Caller.service(), query, {"batch_size": UPKEEP_BATCH_SIZE, **params}
            )
            done = int(row[column]) if row else 0
            total += done
            if done < UPKEEP_BATCH_SIZE:
                break
        return total

    async def retry_stalled_jobs(self) -> int:
        """Retry the jobs of workers that stopped sending heartbeats (they died).

        A job that stalled ``MAX_STALLED_ATTEMPTS`` times is given up (it may be what
        kills its workers) and its row ended (``_GIVE_UP``): a reply job sends the
        fallback; a scheduled message, a broadcast or a contact import fails, with why. A job whose
        conversation already has a reply job waiting is finished instead of retried:
        the waiting one does the same work.
        """
        jobs = await self._jobs().get_stalled_jobs(
            seconds_since_heartbeat=self.settings.stalled_job_seconds
        )
        retried = 0
        for job in jobs:
            if job.attempts + 1 >= MAX_STALLED_ATTEMPTS:
                await self._give_up_stalled(job)
                continue
            try:
                await self._jobs().retry_job(job)
            except procrastinate_exceptions.UniqueViolation:
                await self._jobs().finish_job(job, status=Status.FAILED, delete_job=False)
                logger.info("stalled job %s superseded by a waiting job", job.id)
                continue
            retried += 1
            logger.warning("retrying stalled job %s (%s)", job.id, job.task_name)
        return retried

    async def _give_up_stalled(self, job: Job) -> None:
        await self._jobs().finish_job(job, status=Status.FAILED, delete_job=False)
        times = job.attempts + 1
        logger.error(
            "giving up job %s (%s): its workers died %d times", job.id, job.task_name, times
        )
        # Each kind of job ends its row visibly (nothing waits forever on a dead job).
        handler = _GIVE_UP.get(job.task_name or "")
        if handler is not None:
            await handler(self, job.task_kwargs, times)

    async def _give_up_reply(self, kwargs: Mapping[str, Any], times: int) -> None:
        if "conversation_id" in kwargs:
            await self.replies.fall_back(
                UUID(str(kwargs["conversation_id"])),
                code=STALLED_JOB,
                reason=f"the reply job stopped with its worker {times} times",
            )

    async def _give_up_scheduled_message(self, kwargs: Mapping[str, Any], times: int) -> None:
        if "scheduled_message_id" in kwargs:
            await scheduling.give_up(
                self.database, UUID(str(kwargs["scheduled_message_id"])), times
            )

    async def _give_up_broadcast(self, kwargs: Mapping[str, Any], times: int) -> None:
        if "broadcast_id" in kwargs:
            await give_up_broadcast(
                self.database,
                UUID(str(kwargs["broadcast_id"])),
                f"its broadcast job stopped with its worker {times} times",
            )

    async def _give_up_contact_import(self, kwargs: Mapping[str, Any], times: int) -> None:
        if "import_id" in kwargs:
            await ContactImporter(self.database).fail(
                UUID(str(kwargs["import_id"])), STALLED_IMPORT.format(times=times)
            )

    async def delete_old_jobs(self) -> None:
        """Delete finished jobs (any final status) older than ATENDE_JOB_RETENTION_DAYS."""
        await self._jobs().delete_old_jobs(
            nb_hours=self.settings.job_retention_days * 24,
            include_failed=True,
            include_cancelled=True,
            include_aborted=True,
        )

    def _jobs(self) -> JobManager:
        if self.job_manager is None:
            raise RuntimeError("ConversationTasks needs the queue's job manager for this")
        return self.job_manager


#: What ends the row of a job given up, by task name: a reply falls back; a scheduled
#: message, a broadcast and a contact import fail with the reason (in SQL where the row's
#: rules are). A job not named here has no row waiting on it.
_GIVE_UP: dict[
    str, Callable[[ConversationTasks, Mapping[str, Any], int], Coroutine[Any, Any, None]]
] = {
    REPLY_TASK: ConversationTasks._give_up_reply,
    "conversations:send_scheduled_message": ConversationTasks._give_up_scheduled_message,
    "channels:send_broadcast": ConversationTasks._give_up_broadcast,
    "contacts:import_contacts": ConversationTasks._give_up_contact_import,
}


# -- the Procrastinate tasks ---------------------------------------------------------------

blueprint = procrastinate.Blueprint()


@blueprint.task(name="generate_reply", queue=REPLY_QUEUE, pass_context=True)
async def generate_reply(context: procrastinate.JobContext, conversation_id: str) -> None:
    await ConversationTasks.from_context(context).generate_reply(UUID(conversation_id))


@blueprint.periodic(cron="*/5 * * * *", periodic_id="every_5_minutes")
@blueprint.task(
    name="close_inactive_conversations",
    queue=UPKEEP_QUEUE,
    queueing_lock="upkeep:close_inactive_conversations",
    pass_context=True,
)
async def close_inactive_conversations(context: procrastinate.JobContext, timestamp: int) -> None:
    await ConversationTasks.from_context(context).close_inactive_conversations()


@blueprint.periodic(cron="* * * * *", periodic_id="every_minute")
@blueprint.task(
    name="send_follow_ups",
    queue=UPKEEP_QUEUE,
    queueing_lock="upkeep:send_follow_ups",
    pass_context=True,
)
async def send_follow_ups(context: procrastinate.JobContext, timestamp: int) -> None:
    await ConversationTasks.from_context(context).send_follow_ups()


# Every 10 seconds (the sixth field): a job whose worker died is found at most this long
# after it counts as stalled (tests/faults measured up to 55 s with a minute's sweep).
@blueprint.periodic(cron="* * * * * */10", periodic_id="every_10_seconds")
@blueprint.task(
    name="retry_stalled_jobs",
    queue=UPKEEP_QUEUE,
    queueing_lock="upkeep:retry_stalled_jobs",
    pass_context=True,
)
async def retry_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
    await ConversationTasks.from_context(context).retry_stalled_jobs()


@blueprint.periodic(cron="*/5 * * * *", periodic_id="every_5_minutes")
@blueprint.task(
    name="rescue_unanswered_conversations",
    queue=UPKEEP_QUEUE,
    queueing_lock="upkeep:rescue_unanswered_conversations",
    pass_context=True,
)
async def rescue_unanswered_conversations(
    context: procrastinate.JobContext, timestamp: int
) -> None:
    await ConversationTasks.from_context(context).rescue_unanswered_conversations()


@blueprint.periodic(cron="17 * * * *", periodic_id="hourly")
@blueprint.task(
    name="delete_old_jobs",
    queue=UPKEEP_QUEUE,
    queueing_lock="upkeep:delete_old_jobs",
    pass_context=True,
)
async def delete_old_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
    await ConversationTasks.from_context(context).delete_old_jobs()


# A scheduled send is one SQL call that claims its row and queues the message together:
# a retry after a database outage, or a second run of the job, sends nothing twice.
@blueprint.task(
    name="send_scheduled_message",
    queue=SCHEDULED_SEND_QUEUE,
    pass_context=True,
    retry=procrastinate.RetryStrategy(
        max_attempts=10, exponential_wait=2, retry_exceptions={psycopg.OperationalError}
    ),
)
async def send_scheduled_message(
    context: procrastinate.JobContext, scheduled_message_id: str
) -> None:
    database = job_dependencies(context).get(Database)
    outcome = await scheduling.send_due(database, UUID(scheduled_message_id))
    logger.info(
        "scheduled message %s: %s%s",
        scheduled_message_id,
        outcome.status,
        f" ({outcome.reason})" if outcome.reason else "",
    )
