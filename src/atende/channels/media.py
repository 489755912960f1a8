"""``channels:fetch_media``: a customer's files, fetched from the transport into media
storage, each recorded on its message as stored or failed with a reason the team reads.

``private.tg_messages__fetch_media`` defers the job (queue ``media``) in the transaction
that stores an inbound message with files. For each item still pending, in order:

1. a kind of file WhatsApp does not carry is refused without fetching it;
2. the transport fetches the URL with the channel's credentials (``fetch_media``: only
   from Twilio's media host, at most ``ATENDE_MEDIA_MAX_BYTES``, within
   ``ATENDE_MEDIA_FETCH_TIMEOUT_SECONDS``);
3. the file goes to media storage under ``<organization>/messages/<message>/<position>``
   (a retried job overwrites its own copy), named for its kind (``audio-1.ogg``);
4. ``private.record_message_media_v1`` records the outcome and announces it.

A refusal is final at once (not Twilio's URL, 404, credentials refused, too large, a kind
not kept). What may pass (Twilio or storage unavailable) is retried by the job, with
backoff, ``FETCH_ATTEMPTS`` times in all; the last attempt records the failure. Nothing
is retried forever, and the message itself (and its reply) never waits on this job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from atende.channels.crypto import TokenDecryptionFailed
from atende.channels.transport import (
    ChannelAccount,
    MediaDownload,
    MediaFetchFailed,
    MessagingTransport,
    TransportError,
)
from atende.config import Settings
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.media.models import (
    KINDS,
    MediaFailure,
    MediaItem,
    MediaStatus,
    kind_of,
    media_items,
    media_type_of,
    megabytes,
    safe_file_name,
)
from atende.media.storage import MediaStorage, MediaStorageError, inbound_key

logger = logging.getLogger("atende.channels.media")
queries = load_queries("media")

#: Runs of the job in all (the first and its retries) before a file that could not be
#: fetched or kept is recorded as failed.
FETCH_ATTEMPTS = 4
#: Seconds before the first retry; doubled each time (5, 10, 20).
FETCH_RETRY_BASE_SECONDS = 5.0


@dataclass
class FetchOutcome:
    """What one run of the job did."""

    message_id: UUID
    stored: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    #: Items to try again on the next run (none on the last).
    retry: list[int] = field(default_factory=list)


def retry_delay(attempts_before: int) -> float:
    """Seconds before run ``attempts_before + 2`` of the job."""
    return float(FETCH_RETRY_BASE_SECONDS * 2**attempts_before)


_FAILURE_MESSAGES = {
    MediaFailure.HOST_REFUSED: "O endereço do arquivo não é do Twilio ({detail}): o Atende não o"
    " baixou.",
    MediaFailure.NOT_FOUND: "O Twilio não tem mais este arquivo (foi apagado ou expirou).",
    MediaFailure.UNAUTHORIZED: "O Twilio recusou as credenciais do canal ao entregar o arquivo:"
    " confira o Auth Token do número.",
    MediaFailure.TOO_LARGE: "O arquivo passa do limite de {limit} e não foi guardado.",
    MediaFailure.TYPE_UNSUPPORTED: "Tipo de arquivo não suportado ({detail}): não foi guardado.",
    MediaFailure.STORAGE_FAILED: "O arquivo foi recebido, mas não pôde ser guardado depois de"
    " {attempts} tentativas ({detail}).",
    MediaFailure.UNAVAILABLE: "Não foi possível baixar o arquivo do Twilio depois de {attempts}"
    " tentativas ({detail}).",
}


def failure_message(reason: MediaFailure, detail: str, settings: Settings) -> str:
    """Why a file was not kept, for the team (pt-BR)."""
    return _FAILURE_MESSAGES[reason].format(
        detail=detail, limit=megabytes(settings.media_max_bytes), attempts=FETCH_ATTEMPTS
    )


class _NotKept(Exception):
    def __init__(self, reason: MediaFailure, detail: str, *, retryable: bool = False) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.retryable = retryable


class InboundMediaFetcher:
    """Fetches one message's pending files; stateless, one per job is fine."""

    def __init__(
        self,
        database: Database,
        transport: MessagingTransport,
        storage: MediaStorage,
        settings: Settings,
    ) -> None:
        self.database = database
        self.transport = transport
        self.storage = storage
        self.settings = settings

    async def fetch(self, message_id: UUID, *, last_attempt: bool = True) -> FetchOutcome:
        outcome = FetchOutcome(message_id)
        row = await self.database.fetch_one(
            Caller.service(), queries["message_for_media"], {"message_id": message_id}
        )
        if row is None or row["direction"] != "inbound":
            return outcome
        account = ChannelAccount(
            kind=row["channel_kind"],
            phone_number=row["channel_phone_number"],
            account_id=row["twilio_account_sid"],
            secret_ciphertext=row["twilio_auth_token_ciphertext"],
        )
        for position, item in enumerate(media_items(row["media"])):
            if item is not None and item.status is not MediaStatus.PENDING:
                continue
            await self._fetch_item(outcome, row, account, position, item, last_attempt=last_attempt)
        if outcome.stored or outcome.failed:
            logger.info(
                "media of message %s: %d stored, %d failed, %d to retry",
                message_id,
                len(outcome.stored),
                len(outcome.failed),
                len(outcome.retry),
            )
        return outcome

    async def _fetch_item(
        self,
        outcome: FetchOutcome,
        row: dict[str, Any],
        account: ChannelAccount,
        position: int,
        item: MediaItem | None,
        *,
        last_attempt: bool,
    ) -> None:
        message_id: UUID = row["id"]
        try:
            download = await self._download(account, item)
            kind = kind_of(download.content_type)
            assert kind is not None  # the transport accepts only known kinds
            key = inbound_key(row["organization_id"], message_id, position)
            try:
                await self.storage.put(key, download.content, kind.content_type)
            except MediaStorageError as error:
                raise _NotKept(MediaFailure.STORAGE_FAILED, error.message, retryable=True) from None
        except _NotKept as problem:
            if problem.retryable and not last_attempt:
                logger.info("media %s/%d: %s; will retry", message_id, position, problem.detail)
                outcome.retry.append(position)
            else:
                await self._fail(outcome, position, problem.reason, problem.detail)
            return
        await self._record(
            message_id,
            position,
            {
                "status": MediaStatus.STORED.value,
                "storage_key": key,
                "size": len(download.content),
                "content_type": kind.content_type,
                "file_name": safe_file_name(None, kind, fallback=f"{kind.category}-{position + 1}"),
            },
        )
        outcome.stored.append(position)

    async def _download(self, account: ChannelAccount, item: MediaItem | None) -> MediaDownload:
        """The item's file from the transport, or why not (``_NotKept``)."""
        if item is None:
            raise _NotKept(MediaFailure.TYPE_UNSUPPORTED, "item ilegível")
        declared = media_type_of(item.content_type)
        if kind_of(declared) is None:
            raise _NotKept(MediaFailure.TYPE_UNSUPPORTED, declared or "sem tipo")
        if not item.url:
            raise _NotKept(MediaFailure.HOST_REFUSED, "sem endereço")
        try:
            return await self.transport.fetch_media(
                account,
                item.url,
                max_bytes=self.settings.media_max_bytes,
                accept=KINDS.keys(),
                timeout=self.settings.media_fetch_timeout_seconds,
            )
        except MediaFetchFailed as error:
            raise _NotKept(error.reason, error.message, retryable=error.retryable) from None
        except TransportError as error:
            raise _NotKept(
                MediaFailure.UNAVAILABLE, error.message, retryable=error.retryable
            ) from None
        except TokenDecryptionFailed:
            raise _NotKept(MediaFailure.UNAUTHORIZED, "token do canal ilegível") from None

    async def _fail(
        self, outcome: FetchOutcome, position: int, reason: MediaFailure, detail: str
    ) -> None:
        logger.warning(
            "media %s/%d not kept: %s (%s)", outcome.message_id, position, reason, detail
        )
        await self._record(
            outcome.message_id,
            position,
            {
                "status": MediaStatus.FAILED.value,
                "error_code": reason.value,
                "error_message": failure_message(reason, detail, self.settings),
            },
        )
        outcome.failed[position] = reason.value

    async def _record(self, message_id: UUID, position: int, result: dict[str, Any]) -> None:
        await self.database.fetch_one(
            Caller.service(),
            queries["record_message_media"],
            {"message_id": message_id, "position": position, "outcome": Jsonb(result)},
        )
