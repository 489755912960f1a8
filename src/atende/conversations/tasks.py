"""Jobs of the conversations module: the AI reply and the scheduled upkeep.

``ConversationTasks`` does the work and holds what it needs (the database door, the
model client, settings, the queue's job manager). The Procrastinate tasks at the bottom
are thin: each builds a ``ConversationTasks`` from its job context and calls one method.
The periodic ones are deferred on schedule by every worker's periodic deferrer
(Procrastinate records each defer, so many workers defer each tick once); the handlers
do the work, with set-based SQL that is safe to run twice or side by side.

The reply (``conversations:generate_reply``) is deferred by
``private.ingest_inbound_message_v1`` with the conversation's lock (replies in one
conversation never run at once, and run in order) and queueing lock (one job waits per
conversation, scheduled the agent's debounce after the first message of a burst). When
it runs it re-reads the conversation; if the customer is still writing (their newest
message is younger than the debounce) it defers itself to the end of the quiet time and
stops, so a burst is answered once. Otherwise it asks the model outside any transaction,
and records the outcome in one transaction through a SQL function
(``private.record_ai_*``): the outbound message with its send job, the run in
``ai_runs``, and any change of state.

Failures follow one rule: a transient model failure (timeout, connection, 429 rate
limit, 5xx) is retried with exponential backoff, up to ``ATENDE_REPLY_MAX_ATTEMPTS``
requests; when the reply fails for good (retries exhausted, a permanent model error, or
anything unexpected in the job) the customer gets the agent's fallback message and the
conversation goes to the team. Nothing is lost silently.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import procrastinate
from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.jobs import Job, Status
from procrastinate.manager import JobManager

from atende.ai.errors import ModelError, TransientModelError
from atende.ai.history import agent_prompt, conversation_turns
from atende.ai.models import AgentPrompt, ConversationTurn, ModelReply
from atende.config import Settings
from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.dependencies import job_dependencies

if TYPE_CHECKING:  # the openai package is slow to import; the worker imports it at start
    from atende.ai.client import ModelClient

logger = logging.getLogger("atende.conversations.tasks")
queries = load_queries("conversations")

REPLY_TASK = "conversations:generate_reply"
REPLY_QUEUE = "replies"
UPKEEP_QUEUE = "upkeep"

#: Longest reply sent to a customer (WhatsApp's limit for a text message).
MAX_REPLY_CHARS = 4096
#: Rows an upkeep statement handles at once, and how many such batches one job runs.
UPKEEP_BATCH_SIZE = 500
UPKEEP_MAX_BATCHES = 20
#: How long past its debounce a waiting customer message may go without a reply job
#: before the rescue defers one.
RESCUE_GRACE_SECONDS = 120.0
#: A job whose worker died this many times is given up (and a reply falls back).
MAX_STALLED_ATTEMPTS = 3
#: ``error_code`` of fallbacks that are not the model's fault.
INTERNAL_ERROR = "internal_error"
STALLED_JOB = "stalled_job"


@dataclass(frozen=True)
class ReplyResult:
    """What one run of the reply job did."""

    #: ``replied``, ``handoff``, ``fallback``, ``retrying``, ``skipped`` (recorded in
    #: ai_runs), ``nothing`` (no customer message waited; nothing recorded) or
    #: ``debounced`` (the customer is still writing: a later job answers).
    outcome: str
    run_id: UUID | None = None
    message_id: UUID | None = None


NOTHING_TO_DO = ReplyResult("nothing")
DEBOUNCED = ReplyResult("debounced")


@dataclass(frozen=True)
class ReplyContext:
    """What one model request for a conversation needs."""

    prompt: AgentPrompt
    turns: list[ConversationTurn]
    #: created_at of the newest customer message the model sees.
    answered_through: datetime | None
    #: Transient model failures in a row so far.
    consecutive_retries: int


def retry_delay_seconds(
    attempt: int,
    *,
    backoff_seconds: float,
    max_backoff_seconds: float,
    retry_after_seconds: float | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry).

    Exponential (``backoff``, twice that, four times that, ...), never shorter than
    what the provider asked for (``Retry-After``), never longer than the cap.
    """
    delay = backoff_seconds * 2.0 ** max(0, attempt - 1)
    if retry_after_seconds is not None:
        delay = max(delay, retry_after_seconds)
    return min(delay, max_backoff_seconds)


class ConversationTasks:
    """The handlers of the conversations module's jobs."""

    def __init__(
        self,
        *,
        database: Database,
        model: ModelClient,
        settings: Settings,
        job_manager: JobManager | None = None,
    ) -> None:
        self.database = database
        self.model = model
        self.settings = settings
        self.job_manager = job_manager

    @classmethod
    def from_context(cls, context: procrastinate.JobContext) -> ConversationTasks:
        from atende.ai.client import ModelClient  # noqa: PLC0415 - see TYPE_CHECKING above

        dependencies = job_dependencies(context)
        return cls(
            database=dependencies.get(Database),
            model=dependencies.get(ModelClient),
            settings=dependencies.get(Settings),
            job_manager=context.app.job_manager,
        )

    # -- the reply ----------------------------------------------------------------------

    async def generate_reply(self, conversation_id: UUID) -> ReplyResult:
        """Answer what the customer wrote since the last answer, if the AI may.

        Any unexpected failure sends the fallback message, so the customer is never left
        without an answer and the team is told. Only a failure to record even that (the
        database itself failing) escapes, and fails the job.
        """
        try:
            return await self._generate_reply(conversation_id)
        except Exception as error:
            logger.exception("reply job failed for conversation %s", conversation_id)
            return await self._fall_back(
                conversation_id,
                code=INTERNAL_ERROR,
                reason=f"the reply job failed unexpectedly ({type(error).__name__})",
            )

    async def _generate_reply(self, conversation_id: UUID) -> ReplyResult:
        context = await self._read_context(conversation_id)
        if isinstance(context, ReplyResult):
            return context
        prompt = context.prompt
        try:
            reply = await self.model.generate(prompt, context.turns)
        except TransientModelError as error:
            attempt = context.consecutive_retries + 1
            if attempt < self.settings.reply_max_attempts:
                return await self._retry_later(conversation_id, prompt.model, error, attempt)
            return await self._fall_back(
                conversation_id,
                code=error.failure.value,
                reason=f"{error.reason} (gave up after {attempt} attempts)",
                answered_through=context.answered_through,
                model=prompt.model,
                latency_ms=error.latency_ms,
            )
        except ModelError as error:
            return await self._fall_back(
                conversation_id,
                code=error.failure.value,
                reason=error.reason,
                answered_through=context.answered_through,
                model=prompt.model,
                latency_ms=error.latency_ms,
            )
        return await self._record_reply(conversation_id, reply, context.answered_through)

    async def _read_context(self, conversation_id: UUID) -> ReplyContext | ReplyResult:
        """What the model needs, or what the job did instead (nothing, or a skip).

        One statement, one round trip (``private.start_ai_reply_v1``): the rules are
        asked in SQL, in the order the job acts on them, and a skip is recorded there.
        """
        start = await self.database.fetch_one(
            Caller.service(), queries["start_reply"], {"conversation_id": conversation_id}
        )
        if start is None or start["outcome"] == "nothing":
            return NOTHING_TO_DO
        if start["outcome"] == "debounced":
            return DEBOUNCED
        if start["outcome"] == "skipped":
            return ReplyResult("skipped", run_id=start["run_id"])
        turns = conversation_turns(start["history"])
        if not turns:
            return await self._record_skip(conversation_id, start["model"], "no_readable_messages")
        return ReplyContext(
            prompt=agent_prompt(start),
            turns=turns,
            # What the model sees is what it answers: the newest customer message in
            # the history window (the newest at all, if the window holds none).
            answered_through=start["answered_through"],
            consecutive_retries=int(start["consecutive_retries"]),
        )

    async def _record_reply(
        self, conversation_id: UUID, reply: ModelReply, answered_through: datetime | None
    ) -> ReplyResult:
        usage = {
            "conversation_id": conversation_id,
            "answered_through": answered_through,
            "model": reply.model,
            "prompt_tokens": reply.prompt_tokens or 0,
            "completion_tokens": reply.completion_tokens or 0,
            "latency_ms": reply.latency_ms,
        }
        # One statement in a transaction of its own: one round trip.
        if reply.handoff is not None:
            row = await self.database.fetch_one(
                Caller.service(),
                queries["record_handoff"],
                {**usage, "reason": reply.handoff.reason, "model_text": reply.text},
            )
        else:
            row = await self.database.fetch_one(
                Caller.service(),
                queries["record_reply"],
                {**usage, "body": _clip(reply.text or "")},
            )
        return _result(row)

    async def _retry_later(
        self, conversation_id: UUID, model: str, error: TransientModelError, attempt: int
    ) -> ReplyResult:
        delay = retry_delay_seconds(
            attempt,
            backoff_seconds=self.settings.reply_retry_backoff_seconds,
            max_backoff_seconds=self.settings.reply_retry_max_backoff_seconds,
            retry_after_seconds=error.retry_after_seconds,
        )
        logger.warning(
            "transient model failure in conversation %s (attempt %d of %d, retry in %.2fs): %s",
            conversation_id,
            attempt,
            self.settings.reply_max_attempts,
            delay,
            error.reason,
        )
        row = await self.database.fetch_one(
            Caller.service(),
            queries["record_retry"],
            {
                "conversation_id": conversation_id,
                "model": model,
                "error": f"[{error.failure.value}] {error.reason}",
                "retry_in_seconds": delay,
                "latency_ms": error.latency_ms or 0,
            },
        )
        return ReplyResult("retrying", run_id=row["run_id"] if row else None)

    async def _fall_back(
        self,
        conversation_id: UUID,
        *,
        code: str,
        reason: str,
        answered_through: datetime | None = None,
        model: str | None = None,
        latency_ms: int | None = None,
    ) -> ReplyResult:
        logger.warning(
            "reply failed for good in conversation %s, sending the fallback: [%s] %s",
            conversation_id,
            code,
            reason,
        )
        async with self.database.transaction(Caller.service()) as conn:
            if model is None:
                agent = await _fetch_one(
                    conn, queries["fallback_model"], {"conversation_id": conversation_id}
                )
                if agent is None:
                    return NOTHING_TO_DO  # the conversation is gone
                model = str(agent["model"])
            row = await _fetch_one(
                conn,
                queries["record_fallback"],
                {
                    "conversation_id": conversation_id,
                    "error_code": code,
                    "error_message": reason,
                    "answered_through": answered_through,
                    "model": model,
                    "prompt_tokens": 0,
                    "completion_tokens": 0,
                    "latency_ms": latency_ms or 0,
                },
            )
        return _result(row)

    async def _record_skip(self, conversation_id: UUID, model: str, reason: str) -> ReplyResult:
        row = await self.database.fetch_one(
            Caller.service(),
            queries["record_skip"],
            {"conversation_id": conversation_id, "model": model, "reason": reason},
        )
        return ReplyResult("skipped", run_id=row["run_id"] if row else None)

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
        kills its workers); a reply job given up sends the fallback. A job whose
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
        logger.error(
            "giving up job %s (%s): its workers died %d times",
            job.id,
            job.task_name,
            job.attempts + 1,
        )
        if job.task_name == REPLY_TASK and "conversation_id" in job.task_kwargs:
            await self._fall_back(
                UUID(str(job.task_kwargs["conversation_id"])),
                code=STALLED_JOB,
                reason=f"the reply job stopped with its worker {job.attempts + 1} times",
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


async def _fetch_one(
    conn: Connection, query: Any, params: Mapping[str, Any]
) -> dict[str, Any] | None:
    return await (await conn.execute(query, params)).fetchone()


def _result(row: Mapping[str, Any] | None) -> ReplyResult:
    if row is None:
        return NOTHING_TO_DO
    return ReplyResult(str(row["outcome"]), run_id=row["run_id"], message_id=row["message_id"])


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REPLY_CHARS else text[: MAX_REPLY_CHARS - 1] + "…"


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
