"""Sending a queued message through the channel's transport (Twilio today), at most once.

The pipeline (``MessageSender.send``), one message at a time:

1. **Claim** (``claim_outbound_message_v1``, one transaction): the message moves
   ``queued -> sending`` after the rules are checked again, just before sending: the
   contact has not opted out, the channel is enabled, and a WhatsApp free-form text is
   inside the 24-hour window (templates may go outside it). A refusal fails the message
   visibly and never reaches Twilio (``ContactOptedOut``, ``ChannelDisabled``,
   ``OutsideCustomerServiceWindow``). Only a claimed message is handed to Twilio, so a
   repeated or retried job can never send it twice.
2. **Send** each part (bodies over 1,600 characters go as ordered parts, each its own
   Twilio message), with ``StatusCallback`` = ``ATENDE_PUBLIC_URL/webhooks/twilio/status``
   naming the message and part, and **record** each sid as soon as Twilio accepts it.
3. On a failure Twilio reports:
   - *certainly not sent* and retryable (429, 5xx, unreachable): the message goes back
     to ``queued`` and the job retries with exponential backoff
     (``ATENDE_SEND_RETRY_BASE_SECONDS``, doubling, at most
     ``ATENDE_SEND_RETRY_MAX_SECONDS``), up to ``ATENDE_SEND_MAX_ATTEMPTS`` claims;
     parts already with Twilio are not sent again. Then ``failed``.
   - permanent (opted out at Twilio, outside the window, invalid number, bad
     credentials...): ``failed`` with Twilio's code and message, ``is_error``, and a
     realtime event.
   - *outcome unknown* (no answer in time, an unreadable answer: Twilio may have the
     message): **never retried**. The message stays ``sending``, flagged
     ``delivery_unknown`` for the team. If Twilio did take it, its status callback (whose
     URL names the message and part) records the sid and status and clears the flag.

A worker killed between Twilio accepting a part and the sid being stored leaves the
message ``sending`` without that sid. When Procrastinate retries the stalled job, the
claim finds the message already claimed, flags it ``delivery_unknown`` and sends
nothing; the status callback then settles it as above. We prefer a message flagged for
a person to look at over a message sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from atende.channels.crypto import TokenDecryptionFailed
from atende.channels.transport import (
    ChannelAccount,
    MessagingTransport,
    OutboundPart,
    TransportError,
)
from atende.config import Settings
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.media.models import MediaStatus, media_items
from atende.media.urls import MediaFileRef, MediaUrls

logger = logging.getLogger("atende.channels.sending")
queries = load_queries("channels")

#: Twilio refuses longer bodies (error 21617); counted in UTF-16 code units to be safe.
MAX_PART_LENGTH = 1600


# -- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """Every part is with Twilio (its sids recorded); callbacks report what follows."""

    message_id: UUID
    sids: tuple[str, ...]


@dataclass(frozen=True)
class AlreadySent:
    """A repeated job: every part was already with Twilio. Nothing was sent."""

    message_id: UUID


@dataclass(frozen=True)
class RetryLater:
    """Twilio certainly did not take a part; the message is queued again."""

    message_id: UUID
    delay_seconds: float
    reason: str


@dataclass(frozen=True)
class Failed:
    """Twilio refused for good (or retries ran out): the message is ``failed``."""

    message_id: UUID
    error_code: str
    error_message: str


@dataclass(frozen=True)
class DeliveryUnknown:
    """Twilio may or may not have the message; it is flagged, never sent again."""

    message_id: UUID
    reason: str


@dataclass(frozen=True)
class ContactOptedOut:
    """Refused before Twilio: the contact opted out after the message was queued."""

    message_id: UUID


@dataclass(frozen=True)
class ChannelDisabled:
    """Refused before Twilio: the channel was disabled after the message was queued."""

    message_id: UUID


@dataclass(frozen=True)
class OutsideCustomerServiceWindow:
    """Refused before Twilio: a WhatsApp free-form text after the 24-hour window closed
    (only an approved template may go now)."""

    message_id: UUID


@dataclass(frozen=True)
class NothingToSend:
    """Not a queued outbound message (already sent or failed, or no such message)."""

    message_id: UUID
    reason: str


SendResult = (
    Sent
    | AlreadySent
    | RetryLater
    | Failed
    | DeliveryUnknown
    | ContactOptedOut
    | ChannelDisabled
    | OutsideCustomerServiceWindow
    | NothingToSend
)

_REFUSALS: dict[str, type[ContactOptedOut | ChannelDisabled | OutsideCustomerServiceWindow]] = {
    "contact_opted_out": ContactOptedOut,
    "channel_disabled": ChannelDisabled,
    "outside_customer_service_window": OutsideCustomerServiceWindow,
}


# -- parts ----------------------------------------------------------------------------------


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_body(body: str, limit: int = MAX_PART_LENGTH) -> list[str]:
    """``body`` as ordered parts of at most ``limit`` UTF-16 units, joined they are the
    body again. Cuts after a paragraph, a line, a sentence or a word when one falls in
    the second half of a part; otherwise exactly at the limit (never inside a character).
    """
    if utf16_length(body) <= limit:
        return [body]
    parts: list[str] = []
    rest = body
    while utf16_length(rest) > limit:
        cut = _fitting_prefix_length(rest, limit)
        window = rest[:cut]
        for separator in ("\n\n", "\n", ". ", "! ", "? ", " "):
            at = window.rfind(separator)
            if at >= cut // 2:
                cut = at + len(separator)
                break
        parts.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        parts.append(rest)
    return parts


def _fitting_prefix_length(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


@dataclass(frozen=True)
class ClaimedMessage:
    """What the claim hands the sender."""

    id: UUID
    body: str
    media: list[dict[str, Any]]
    metadata: dict[str, Any]
    attempts: int
    #: The contact's phone number (E.164).
    to: str
    account: ChannelAccount
    sent_parts: frozenset[int] = field(default_factory=frozenset)
    organization_id: UUID | None = None

    @property
    def content_sid(self) -> str | None:
        value = self.metadata.get("content_sid")
        return str(value) if value else None

    @property
    def content_variables(self) -> dict[str, str] | None:
        value = self.metadata.get("content_variables")
        if not isinstance(value, Mapping):
            return None
        return {str(key): str(item) for key, item in value.items()}

    def parts(self) -> Sequence[str | None]:
        """The bodies to send, in order (a template is one part without a body)."""
        if self.content_sid is not None:
            return [None]
        return list(split_body(self.body))


def error_code_of(error: TransportError) -> str:
    """The transport's code when it gave one, else what happened (``http_503``,
    ``unreachable``)."""
    if error.code is not None:
        return str(error.code)
    if error.http_status is not None:
        return f"http_{error.http_status}"
    return type(error).__name__.removeprefix("Twilio").lower() or "twilio_error"


# -- the sender ---------------------------------------------------------------------------


class MessageSender:
    """Hands claimed messages to the transport; stateless, one per job is fine."""

    def __init__(
        self,
        database: Database,
        transport: MessagingTransport,
        settings: Settings,
        *,
        media_urls: MediaUrls | None = None,
    ) -> None:
        self.database = database
        self.transport = transport
        self.settings = settings
        #: Signs the links Twilio fetches the team's attachments from.
        self.media_urls = media_urls or MediaUrls.from_settings(settings)

    def retry_delay(self, attempts: int) -> float:
        """Seconds before claim number ``attempts + 1``: base, doubling, capped."""
        base = self.settings.send_retry_base_seconds
        return float(min(self.settings.send_retry_max_seconds, base * 2 ** max(0, attempts - 1)))

    async def send(self, message_id: UUID) -> SendResult:
        claimed = await self.claim(message_id)
        if not isinstance(claimed, ClaimedMessage):
            return claimed
        parts = claimed.parts()
        sids: list[str] = []
        for index, body in enumerate(parts):
            if index in claimed.sent_parts:
                continue
            part = OutboundPart(
                message_id=claimed.id,
                to=claimed.to,
                body=body,
                index=index,
                count=len(parts),
                media_urls=self.attachment_urls(claimed) if index == 0 else (),
                template_id=claimed.content_sid,
                template_variables=claimed.content_variables,
            )
            try:
                result = await self.transport.send(claimed.account, part)
            except TransportError as error:
                return await self.failed_part(claimed, error)
            except TokenDecryptionFailed as error:
                return await self.fail(claimed.id, "token_unreadable", error.message)
            await self.record_part(claimed.id, result.sid, result.status, index, len(parts))
            sids.append(result.sid)
        logger.info("sent message %s in %d part(s)", claimed.id, len(parts))
        return Sent(claimed.id, tuple(sids))

    def attachment_urls(self, claimed: ClaimedMessage) -> list[str]:
        """Where Twilio fetches the message's files: a file kept in media storage (the
        team's attachments) by a signed link that expires (``ATENDE_MEDIA_URL_TTL_SECONDS``),
        any other by the URL it names."""
        urls = []
        for position, item in enumerate(media_items(claimed.media)):
            if item is None:
                continue
            if item.status is MediaStatus.STORED and claimed.organization_id is not None:
                ref = MediaFileRef(claimed.organization_id, claimed.id, position)
                urls.append(self.media_urls.url(ref, item.file_name or "arquivo"))
            elif item.url:
                urls.append(item.url)
        return urls

    async def claim(self, message_id: UUID) -> ClaimedMessage | SendResult:
        # Each step of the pipeline is one statement in a transaction of its own, sent as
        # one message (Database.fetch_one): one round trip, not four.
        row = await self.database.fetch_one(
            Caller.service(), queries["claim_outbound_message"], {"message_id": message_id}
        )
        assert row is not None
        outcome = row["outcome"]
        if outcome == "claimed":
            metadata = dict(row["metadata"] or {})
            return ClaimedMessage(
                id=message_id,
                body=row["body"] or "",
                media=list(row["media"] or []),
                metadata=metadata,
                organization_id=row["organization_id"],
                attempts=int(row["attempts"]),
                to=row["contact_phone_number"],
                account=ChannelAccount(
                    kind=row["channel_kind"],
                    phone_number=row["channel_phone_number"],
                    account_id=row["twilio_account_sid"],
                    secret_ciphertext=row["twilio_auth_token_ciphertext"],
                ),
                sent_parts=frozenset(int(part["index"]) for part in metadata.get("parts", [])),
            )
        if outcome == "already_sent":
            return AlreadySent(message_id)
        if outcome == "delivery_unknown":
            logger.warning("message %s was claimed before and not settled: not resent", message_id)
            return DeliveryUnknown(message_id, "an earlier attempt did not finish")
        if outcome in _REFUSALS:
            logger.info("message %s refused before sending: %s", message_id, outcome)
            return _REFUSALS[outcome](message_id)
        return NothingToSend(message_id, outcome)

    async def failed_part(self, claimed: ClaimedMessage, error: TransportError) -> SendResult:
        code = error_code_of(error)
        if error.outcome_unknown:
            reason = (
                "O Twilio não respondeu com certeza se recebeu a mensagem "
                f"({error.message}); ela não será reenviada para não duplicar."
            )
            await self.execute("mark_delivery_unknown", message_id=claimed.id, error_message=reason)
            logger.warning("message %s: outcome unknown at Twilio (%r)", claimed.id, error)
            return DeliveryUnknown(claimed.id, error.message)
        if error.retryable and claimed.attempts < self.settings.send_max_attempts:
            await self.execute(
                "requeue_outbound_message",
                message_id=claimed.id,
                error_code=code,
                error_message=error.message,
            )
            delay = self.retry_delay(claimed.attempts)
            logger.info(
                "message %s: %r; attempt %d of %d again in %.2fs",
                claimed.id,
                error,
                claimed.attempts + 1,
                self.settings.send_max_attempts,
                delay,
            )
            return RetryLater(claimed.id, delay, error.message)
        return await self.fail(claimed.id, code, error.message)

    async def fail(self, message_id: UUID, code: str, reason: str) -> Failed:
        await self.execute(
            "fail_outbound_message", message_id=message_id, error_code=code, error_message=reason
        )
        logger.warning("message %s failed: %s %s", message_id, code, reason)
        return Failed(message_id, code, reason)

    async def record_part(
        self, message_id: UUID, sid: str, status: str, index: int, count: int
    ) -> None:
        await self.execute(
            "record_message_status",
            message_id=message_id,
            message_sid=sid,
            status=status,
            part_index=index,
            part_count=count,
            error_code=None,
            error_message=None,
        )

    async def execute(self, query: str, **params: object) -> None:
        await self.database.fetch_one(Caller.service(), queries[query], params)
