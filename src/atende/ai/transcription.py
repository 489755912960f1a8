"""``ai:transcribe_audio``: a customer's voice notes, transcribed for the team and the model.

``private.tg_messages__media_changed`` defers the job (queue ``media``) when the media job
has stored an audio file of an inbound message. For each audio item without a
transcription, the job reads Atende's copy from media storage and sends it to the audio
transcription API at ``OPENAI_BASE_URL`` (``ATENDE_TRANSCRIPTION_MODEL``, language
``pt``), named with an extension every model accepts (``audio-1.ogg`` for WhatsApp's Opus
voice notes: some models refuse ``.oga``). ``private.record_message_transcript_v1``
records the transcript on the item and the message (``Message.transcript``), or why there
is none, in words the team reads; either wakes a reply job that waits for it.

A transient failure (timeout, connection, 429, 5xx, storage) is retried by the job with
backoff, ``TRANSCRIBE_ATTEMPTS`` runs in all; a permanent one (no model configured, an
unknown model, a refused file) is recorded at once. Nothing is retried forever, and the
reply job waits at most ``ATENDE_MEDIA_WAIT_SECONDS``: past that, or after a failure, the
assistant tells the customer it could not listen to the audio and asks them to write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from psycopg.types.json import Jsonb

from atende.ai.errors import ModelError, ModelFailure, TransientModelError
from atende.config import Settings
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.media.models import MediaStatus, kind_of, media_items, safe_file_name
from atende.media.storage import MediaStorage, MediaStorageError

if TYPE_CHECKING:  # the openai package is slow to import; the worker imports it at start
    from atende.ai.client import ModelClient

logger = logging.getLogger("atende.ai.transcription")
queries = load_queries("transcription")

#: Runs of the job in all (the first and its retries) before a voice note that could not
#: be transcribed is recorded as such: well inside the reply's wait.
TRANSCRIBE_ATTEMPTS = 3
#: Seconds before the first retry; doubled each time (3, 6).
TRANSCRIBE_RETRY_BASE_SECONDS = 3.0
#: ``error_code`` of a voice note whose file could not be read from media storage.
STORAGE_FAILED = "transcription_storage_failed"

_REASONS = {
    ModelFailure.TIMEOUT: "o serviço de transcrição não respondeu a tempo",
    ModelFailure.CONNECTION: "o serviço de transcrição está fora do ar",
    ModelFailure.RATE_LIMITED: "o serviço de transcrição limitou as requisições",
    ModelFailure.SERVER_ERROR: "o serviço de transcrição falhou",
    ModelFailure.AUTHENTICATION: "a chave do provedor de IA foi recusada",
    ModelFailure.PERMISSION: "o provedor de IA recusou o acesso",
    ModelFailure.QUOTA_EXCEEDED: "a cota do provedor de IA acabou",
    ModelFailure.MODEL_NOT_FOUND: "o modelo de transcrição não existe neste servidor",
    ModelFailure.BAD_REQUEST: "o serviço de transcrição recusou o arquivo",
    ModelFailure.NOT_CONFIGURED: "nenhum modelo de IA está configurado",
}


def retry_delay(attempts_before: int) -> float:
    """Seconds before run ``attempts_before + 2`` of the job."""
    return float(TRANSCRIBE_RETRY_BASE_SECONDS * 2**attempts_before)


def failure_message(error: ModelError, model: str) -> str:
    """Why a voice note has no transcript, for the team (pt-BR), with the technical detail."""
    what = _REASONS.get(error.failure, "o serviço de transcrição deu uma resposta inválida")
    return f"Não foi possível transcrever o áudio ({model}): {what}. Detalhe: {error.reason}"


@dataclass
class TranscriptionOutcome:
    """What one run of the job did."""

    message_id: UUID
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    #: Items to try again on the next run (none on the last).
    retry: list[int] = field(default_factory=list)


class AudioTranscriber:
    """Transcribes one message's stored voice notes; stateless, one per job is fine."""

    def __init__(
        self,
        *,
        database: Database,
        model: ModelClient,
        storage: MediaStorage,
        settings: Settings,
    ) -> None:
        self.database = database
        self.model = model
        self.storage = storage
        self.settings = settings

    async def transcribe(
        self, message_id: UUID, *, last_attempt: bool = True
    ) -> TranscriptionOutcome:
        outcome = TranscriptionOutcome(message_id)
        row = await self.database.fetch_one(
            Caller.service(), queries["message_for_transcription"], {"message_id": message_id}
        )
        if row is None or row["direction"] != "inbound":
            return outcome
        for position, item in enumerate(media_items(row["media"])):
            if (
                item is None
                or item.status is not MediaStatus.STORED
                or not (item.content_type or "").lower().startswith("audio/")
                or item.transcript_status is not None
                or item.storage_key is None
            ):
                continue
            await self._transcribe_item(
                outcome, position, item.storage_key, item.content_type, last_attempt=last_attempt
            )
        if outcome.done or outcome.failed:
            logger.info(
                "voice notes of message %s: %d transcribed, %d failed, %d to retry",
                message_id,
                len(outcome.done),
                len(outcome.failed),
                len(outcome.retry),
            )
        return outcome

    async def _transcribe_item(
        self,
        outcome: TranscriptionOutcome,
        position: int,
        storage_key: str,
        content_type: str | None,
        *,
        last_attempt: bool,
    ) -> None:
        model = self.settings.transcription_model
        kind = kind_of(content_type)
        # Named for its kind (audio/ogg and audio/opus: .ogg), as the server judges by it.
        file_name = safe_file_name(None, kind, fallback=f"audio-{position + 1}")
        try:
            audio = await self.storage.get(storage_key)
        except MediaStorageError as error:
            if not last_attempt:
                outcome.retry.append(position)
                return
            await self._fail(
                outcome,
                position,
                STORAGE_FAILED,
                f"Não foi possível ler o áudio guardado para transcrevê-lo ({error.message}).",
            )
            return
        try:
            transcription = await self.model.transcribe(
                audio,
                file_name=file_name,
                content_type=kind.content_type if kind else "application/octet-stream",
                model=model,
                timeout_seconds=self.settings.transcription_timeout_seconds,
            )
        except TransientModelError as error:
            if not last_attempt:
                logger.info(
                    "voice note %s/%d: %s; will retry", outcome.message_id, position, error.reason
                )
                outcome.retry.append(position)
                return
            await self._fail(
                outcome,
                position,
                f"transcription_{error.failure.value}",
                failure_message(error, model),
            )
            return
        except ModelError as error:
            await self._fail(
                outcome,
                position,
                f"transcription_{error.failure.value}",
                failure_message(error, model),
            )
            return
        await self._record(
            outcome.message_id, position, {"status": "done", "text": transcription.text}
        )
        outcome.done.append(position)

    async def _fail(
        self, outcome: TranscriptionOutcome, position: int, code: str, message: str
    ) -> None:
        logger.warning("voice note %s/%d not transcribed: %s", outcome.message_id, position, code)
        await self._record(
            outcome.message_id,
            position,
            {"status": "failed", "error_code": code, "error_message": message},
        )
        outcome.failed[position] = code

    async def _record(self, message_id: UUID, position: int, result: dict[str, Any]) -> None:
        await self.database.fetch_one(
            Caller.service(),
            queries["record_message_transcript"],
            {"message_id": message_id, "position": position, "outcome": Jsonb(result)},
        )
