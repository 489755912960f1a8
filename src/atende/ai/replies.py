"""The reply pipeline: a conversation's waiting customer messages in, the agent's answer out.

The job ``conversations:generate_reply`` (declared in ``atende.conversations.tasks``) runs
``ReplyPipeline.generate_reply``. It is deferred by ``private.ingest_inbound_message_v1``
with the conversation's lock (replies in one conversation never run at once, and run in
order) and queueing lock (one job waits per conversation, scheduled the agent's debounce
after the first message of a burst). When it runs it re-reads the conversation; if the
customer is still writing (their newest message is younger than the debounce) it defers
itself to the end of the quiet time and stops, so a burst is answered once. Otherwise it
asks the model outside any transaction, and records the outcome in one transaction
through a SQL function (``private.record_ai_*``): the outbound message with its send
job, the run in ``ai_runs``, and any change of state.

Failures follow one rule: a transient model failure (timeout, connection, 429 rate
limit, 5xx) is retried with exponential backoff, up to ``ATENDE_REPLY_MAX_ATTEMPTS``
requests; when the reply fails for good (retries exhausted, a permanent model error, or
anything unexpected in the job) the customer gets the agent's fallback message and the
conversation goes to the team. Nothing is lost silently.

Knowledge: when the agent has ``knowledgeEnabled`` and its organization has passages, the
job retrieves the ones that best match what the customer wrote since the last answer
(``atende.knowledge.search``, hybrid, as the platform) before asking the model, and the
model request carries them (``client.knowledge_message``): one model call answers. The
run records which passages it carried (``ai_runs.knowledge_sources``, shown as
``Message.knowledgeSources``). With ``answerOnlyFromKnowledge`` and no relevant passage,
the model is not asked: the customer is told the team will check, and the conversation
is handed over (the handoff path, with the agent's handoff message).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from atende.ai.errors import ModelError, TransientModelError
from atende.ai.history import agent_prompt, conversation_turns, media_note
from atende.ai.models import (
    AgentPrompt,
    ConversationTurn,
    KnowledgeExcerpt,
    ModelReply,
    TurnImage,
    TurnRole,
)
from atende.config import Settings
from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.knowledge.errors import EmbeddingError
from atende.knowledge.models import Passage
from atende.knowledge.search import KnowledgeSearch
from atende.media.storage import MediaStorage, MediaStorageError

if TYPE_CHECKING:  # the openai package is slow to import; the worker imports it at start
    from atende.ai.client import ModelClient

logger = logging.getLogger("atende.ai.replies")
queries = load_queries("replies")

REPLY_TASK = "conversations:generate_reply"
REPLY_QUEUE = "replies"

#: Longest reply sent to a customer (WhatsApp's limit for a text message).
MAX_REPLY_CHARS = 4096
#: ``error_code`` of a fallback after an unexpected failure in the job itself.
INTERNAL_ERROR = "internal_error"
#: The handoff when the knowledge base has nothing for the customer and the agent
#: answers only from it: what the customer is told (before the agent's handoff
#: message), and the reason the team reads.
NOTHING_IN_KNOWLEDGE_TEXT = "Não encontrei essa informação aqui. Vou verificar com a equipe."
NOTHING_IN_KNOWLEDGE_REASON = (
    "A base de conhecimento não tem informação para a pergunta do cliente "
    "(o assistente responde só com ela)."
)
#: The answer to a voice note the assistant could not hear (no transcript: the
#: transcription failed, or took longer than ``ATENDE_MEDIA_WAIT_SECONDS``).
UNHEARD_AUDIO_TEXT = (
    "Desculpe, não consegui ouvir o seu áudio. Pode escrever a sua mensagem, por favor?"
)
#: Images a model that sees them gets in one request (the newest), and the largest sent.
VISION_MAX_IMAGES = 4
VISION_MAX_IMAGE_BYTES = 5_000_000
#: Tokens of a run decided without asking the model.
NO_MODEL_CALL_TOKENS = 0
#: A query shorter than this (in words) also takes the customer's message before it
#: ("e o de chocolate?" means little alone).
SHORT_QUERY_WORDS = 4


@dataclass(frozen=True)
class ReplyResult:
    """What one run of the reply job did."""

    #: ``replied``, ``handoff``, ``fallback``, ``retrying``, ``skipped`` (recorded in
    #: ai_runs), ``nothing`` (no customer message waited; nothing recorded),
    #: ``debounced`` (the customer is still writing: a later job answers) or ``waiting``
    #: (a voice note's transcript, or an image, is on its way: a later job answers).
    outcome: str
    run_id: UUID | None = None
    message_id: UUID | None = None


NOTHING_TO_DO = ReplyResult("nothing")
DEBOUNCED = ReplyResult("debounced")
WAITING_FOR_MEDIA = ReplyResult("waiting")


@dataclass(frozen=True)
class ReplyContext:
    """What one model request for a conversation needs."""

    prompt: AgentPrompt
    turns: list[ConversationTurn]
    #: created_at of the newest customer message the model sees.
    answered_through: datetime | None
    #: Transient model failures in a row so far.
    consecutive_retries: int
    organization_id: UUID | None = None
    #: The agent retrieves knowledge (and its organization has passages).
    knowledge_enabled: bool = False
    knowledge_passages: int = 4
    answer_only_from_knowledge: bool = False


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


class ReplyPipeline:
    """Answers one conversation at a time: reads it, asks the model, records the outcome."""

    def __init__(
        self,
        *,
        database: Database,
        model: ModelClient,
        settings: Settings,
        knowledge: KnowledgeSearch | None = None,
        storage: MediaStorage | None = None,
    ) -> None:
        self.database = database
        self.model = model
        self.settings = settings
        #: Retrieval for agents with knowledge on; ``None``: no retrieval.
        self.knowledge = knowledge
        #: Where the customer's images are read from for agents that see them; ``None``:
        #: images are said in words.
        self.storage = storage

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
            return await self.fall_back(
                conversation_id,
                code=INTERNAL_ERROR,
                reason=f"the reply job failed unexpectedly ({type(error).__name__})",
            )

    async def _generate_reply(self, conversation_id: UUID) -> ReplyResult:
        context = await self._read_context(conversation_id)
        if isinstance(context, ReplyResult):
            return context
        prompt = context.prompt
        passages = await self._retrieve(context)
        if passages is not None:
            if not passages and context.answer_only_from_knowledge:
                return await self._hand_over_unknown(conversation_id, context)
            prompt = prompt.model_copy(
                update={
                    "knowledge": tuple(excerpt(passage) for passage in passages),
                    "answer_only_from_knowledge": context.answer_only_from_knowledge,
                }
            )
        try:
            reply = await self.model.generate(prompt, context.turns)
        except TransientModelError as error:
            attempt = context.consecutive_retries + 1
            if attempt < self.settings.reply_max_attempts:
                return await self._retry_later(conversation_id, prompt.model, error, attempt)
            return await self.fall_back(
                conversation_id,
                code=error.failure.value,
                reason=f"{error.reason} (gave up after {attempt} attempts)",
                answered_through=context.answered_through,
                model=prompt.model,
                latency_ms=error.latency_ms,
            )
        except ModelError as error:
            return await self.fall_back(
                conversation_id,
                code=error.failure.value,
                reason=error.reason,
                answered_through=context.answered_through,
                model=prompt.model,
                latency_ms=error.latency_ms,
            )
        return await self._record_reply(conversation_id, reply, context.answered_through, passages)

    async def _retrieve(self, context: ReplyContext) -> list[Passage] | None:
        """The knowledge passages for what the customer wrote, or ``None`` when the agent
        does not use knowledge."""
        if self.knowledge is None or not context.knowledge_enabled:
            return None
        if context.organization_id is None:
            return None
        text = customer_question(context.turns)
        if not text:
            return []
        try:
            return await self.knowledge.search_as_platform(
                context.organization_id, text, limit=context.knowledge_passages
            )
        except EmbeddingError as error:
            # The reply goes on without knowledge (an agent that answers only from it
            # hands over): an embedder that is down must not silence the assistant.
            logger.warning(
                "knowledge retrieval failed in organization %s, answering without it: %s",
                context.organization_id,
                error.reason,
            )
            return []

    async def _ask_to_write(self, conversation_id: UUID, context: ReplyContext) -> ReplyResult:
        """The fixed, kind answer to a voice note without a transcript; the AI keeps the
        conversation and answers what the customer writes next."""
        logger.info("unheard voice note in conversation %s: asking to write", conversation_id)
        row = await self.database.fetch_one(
            Caller.service(),
            queries["record_reply"],
            {
                "conversation_id": conversation_id,
                "answered_through": context.answered_through,
                "model": context.prompt.model,
                "prompt_tokens": NO_MODEL_CALL_TOKENS,
                "completion_tokens": NO_MODEL_CALL_TOKENS,
                "latency_ms": 0,
                "knowledge_sources": None,
                "body": UNHEARD_AUDIO_TEXT,
            },
        )
        return _result(row)

    async def _with_images(self, turns: list[ConversationTurn]) -> list[ConversationTurn]:
        """The turns with the customer's newest images read from media storage as data
        URLs (at most ``VISION_MAX_IMAGES``, each at most ``VISION_MAX_IMAGE_BYTES``); an
        image not sent is said in words, as for a model that sees none."""
        budget = VISION_MAX_IMAGES
        loaded: list[ConversationTurn] = []
        for turn in reversed(turns):
            if not turn.images:
                loaded.append(turn)
                continue
            images: list[TurnImage] = []
            unsent: list[dict[str, str]] = []
            for image in turn.images:
                data_url = None
                if budget > 0 and (image.size or 0) <= VISION_MAX_IMAGE_BYTES:
                    data_url = await self._data_url(image)
                if data_url is None:
                    unsent.append({"content_type": image.content_type})
                    continue
                budget -= 1
                images.append(image.model_copy(update={"data_url": data_url}))
            note = media_note(unsent)
            if turn.media_note and note:
                note = f"{turn.media_note}; {note}"
            loaded.append(
                turn.model_copy(
                    update={"images": tuple(images), "media_note": note or turn.media_note}
                )
            )
        return loaded[::-1]

    async def _data_url(self, image: TurnImage) -> str | None:
        if self.storage is None:
            return None
        try:
            data = await self.storage.get(image.storage_key)
        except MediaStorageError as error:
            logger.warning("image %s not read for the model: %s", image.storage_key, error)
            return None
        if len(data) > VISION_MAX_IMAGE_BYTES:
            return None
        return f"data:{image.content_type};base64,{base64.b64encode(data).decode('ascii')}"

    async def _hand_over_unknown(self, conversation_id: UUID, context: ReplyContext) -> ReplyResult:
        """Nothing in the knowledge base, and the agent answers only from it."""
        row = await self.database.fetch_one(
            Caller.service(),
            queries["record_handoff"],
            {
                "conversation_id": conversation_id,
                "answered_through": context.answered_through,
                "model": context.prompt.model,
                "prompt_tokens": NO_MODEL_CALL_TOKENS,
                "completion_tokens": NO_MODEL_CALL_TOKENS,
                "latency_ms": 0,
                "reason": NOTHING_IN_KNOWLEDGE_REASON,
                "model_text": NOTHING_IN_KNOWLEDGE_TEXT,
                "knowledge_sources": "[]",
            },
        )
        return _result(row)

    async def _read_context(self, conversation_id: UUID) -> ReplyContext | ReplyResult:
        """What the model needs, or what the job did instead (nothing, or a skip).

        One statement, one round trip (``private.start_ai_reply_v1``): the rules are
        asked in SQL, in the order the job acts on them, and a skip is recorded there.
        """
        start = await self.database.fetch_one(
            Caller.service(),
            queries["start_reply"],
            {
                "conversation_id": conversation_id,
                "media_wait_seconds": self.settings.media_wait_seconds,
            },
        )
        if start is None or start["outcome"] != "ready":
            return _not_ready(start)
        vision = bool(start.get("vision_enabled"))
        turns = conversation_turns(start["history"], vision=vision)
        if vision:
            turns = await self._with_images(turns)
        if not turns:
            return await self._record_skip(conversation_id, start["model"], "no_readable_messages")
        context = ReplyContext(
            prompt=agent_prompt(start),
            turns=turns,
            # What the model sees is what it answers: the newest customer message in
            # the history window (the newest at all, if the window holds none).
            answered_through=start["answered_through"],
            consecutive_retries=int(start["consecutive_retries"]),
            organization_id=start.get("organization_id"),
            knowledge_enabled=bool(start.get("knowledge_enabled")),
            knowledge_passages=int(start.get("knowledge_passages") or 4),
            answer_only_from_knowledge=bool(start.get("answer_only_from_knowledge")),
        )
        if any(turn.waiting and turn.unheard_audio for turn in turns):
            # A voice note the assistant could not hear (its transcription failed, or took
            # longer than the wait): it asks the customer to write instead of guessing.
            return await self._ask_to_write(conversation_id, context)
        return context

    async def _record_reply(
        self,
        conversation_id: UUID,
        reply: ModelReply,
        answered_through: datetime | None,
        passages: Sequence[Passage] | None = None,
    ) -> ReplyResult:
        usage = {
            "conversation_id": conversation_id,
            "answered_through": answered_through,
            "model": reply.model,
            "prompt_tokens": reply.prompt_tokens or 0,
            "completion_tokens": reply.completion_tokens or 0,
            "latency_ms": reply.latency_ms,
            "knowledge_sources": (
                None
                if passages is None
                else json.dumps([passage.as_source() for passage in passages])
            ),
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

    async def fall_back(
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


async def _fetch_one(
    conn: Connection, query: Any, params: Mapping[str, Any]
) -> dict[str, Any] | None:
    return await (await conn.execute(query, params)).fetchone()


def customer_question(turns: Sequence[ConversationTurn]) -> str:
    """What to look up: the customer's messages since the last answer (and the one before
    them when those are only a few words)."""
    waiting: list[str] = []
    earlier: list[str] = []
    answered = False
    for turn in reversed(turns):
        if turn.role is not TurnRole.CUSTOMER:
            if waiting:
                answered = True
            continue
        said = turn.spoken_text()
        if not said:
            continue
        if not answered:
            waiting.insert(0, said)
        else:
            earlier.insert(0, said)
            break
    text = " ".join(waiting)
    if len(text.split()) < SHORT_QUERY_WORDS and earlier:
        text = f"{earlier[-1]} {text}"
    return text


def excerpt(passage: Passage) -> KnowledgeExcerpt:
    return KnowledgeExcerpt(title=passage.title, heading=passage.heading, text=passage.content)


def _not_ready(start: Mapping[str, Any] | None) -> ReplyResult:
    """What the job did when the first step found nothing to ask the model now."""
    outcome = None if start is None else start["outcome"]
    if outcome == "debounced":
        return DEBOUNCED
    if outcome == "waiting":
        return WAITING_FOR_MEDIA
    if outcome == "skipped" and start is not None:
        return ReplyResult("skipped", run_id=start["run_id"])
    return NOTHING_TO_DO


def _result(row: Mapping[str, Any] | None) -> ReplyResult:
    if row is None:
        return NOTHING_TO_DO
    return ReplyResult(str(row["outcome"]), run_id=row["run_id"], message_id=row["message_id"])


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REPLY_CHARS else text[: MAX_REPLY_CHARS - 1] + "…"
