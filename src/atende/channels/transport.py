"""The transport port: what the channel domain needs of a way to reach customers.

A transport carries messages between a channel's number and its customers. It
*receives* (its webhook endpoints, which it serves and verifies itself, and hands each
incoming message to ``atende.channels.ingest``), *sends* (``send``, one part at a time)
and reports *status* (its status endpoint records each part's delivery). The channel
domain (sending, management) speaks only to this interface; ``atende.transports.twilio``
implements it for Twilio's WhatsApp and SMS, and a second transport (web chat, Telegram,
e-mail) is a new package under ``atende.transports`` implementing it too (see
docs/architecture.md, "Adding a transport").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import ClassVar, Protocol
from uuid import UUID

from pydantic import SecretStr
from starlette.types import ASGIApp

from atende.db.session import Database
from atende.errors import AtendeError
from atende.media.models import MediaFailure


class TransportError(AtendeError):
    """The transport did not accept a message. Each subclass says whether sending again
    can help: a send job needs one decision from a failure (retry later, or give up and
    record why)."""

    #: Whether the same request may succeed later (rate limits, outages, network).
    retryable: ClassVar[bool] = False
    #: Whether the request may have been processed even though it failed here: never
    #: retried, so that a message is flagged for a person rather than sent twice.
    outcome_unknown: ClassVar[bool] = False

    def __init__(
        self, message: str | None = None, *, code: int | None = None, http_status: int | None = None
    ) -> None:
        super().__init__(message)
        #: The transport's own error code, when it gave one (recorded on the message).
        self.code = code
        self.http_status = http_status


class MediaFetchFailed(TransportError):
    """The transport did not hand over a customer's file: ``reason`` says why, in the
    vocabulary a message's media items record (``atende.media.models.MediaFailure``)."""

    def __init__(
        self, reason: MediaFailure, message: str, *, http_status: int | None = None
    ) -> None:
        super().__init__(message, http_status=http_status)
        self.reason = reason


class MediaFetchRefused(MediaFetchFailed):
    """The file was refused for good: not the transport's media URL, gone, too large, a
    kind not kept. Fetching again cannot help."""


class MediaFetchUnavailable(MediaFetchFailed):
    """The transport did not answer well (a timeout, a server error, the connection);
    the same fetch may succeed later."""

    retryable = True


@dataclass(frozen=True)
class MediaDownload:
    """A customer's file, as the transport handed it over."""

    content: bytes
    #: Its media type as the transport declared it (``audio/ogg``).
    content_type: str


@dataclass(frozen=True)
class ChannelAccount:
    """The channel a message leaves from, as stored: its number and the account that owns
    it (the secret still encrypted; the transport decrypts it when it needs it)."""

    kind: str
    phone_number: str
    account_id: str
    secret_ciphertext: str


@dataclass(frozen=True)
class ChannelCandidate:
    """A channel about to be stored or re-credentialed, to verify: its number and the
    account that claims it, the secret in plain text (never logged, never stored here)."""

    kind: str
    phone_number: str
    account_id: str
    secret: SecretStr = field(repr=False)


@dataclass(frozen=True)
class OutboundPart:
    """One part of a message to send (long texts go as ordered parts)."""

    message_id: UUID
    to: str
    #: The text; ``None`` for an approved template (``template_id``).
    body: str | None
    index: int = 0
    count: int = 1
    media_urls: Sequence[str] = ()
    template_id: str | None = None
    template_variables: Mapping[str, str] | None = None


@dataclass(frozen=True)
class AcceptedPart:
    """The transport took a part: its id there, and the status it reported."""

    sid: str
    status: str
    extra: Mapping[str, str] = field(default_factory=dict)


class MessagingTransport(Protocol):
    """A way to reach customers. Built from settings without I/O when the app is built
    (so its endpoints can be routed), opened in the process's lifespan."""

    #: The transport's name, as logs and docs say it (``twilio``).
    name: str

    def open(self, database: Database) -> AbstractAsyncContextManager[None]:
        """Open what the transport keeps for the process's life (HTTP sessions, caches,
        webhook batching), on ``database``; closed when the block ends."""
        ...

    def endpoints(self) -> Mapping[str, ASGIApp]:
        """Its webhook endpoints (POST only) by path: receiving messages and statuses.
        Each verifies what it receives before anything is stored."""
        ...

    async def send(self, account: ChannelAccount, part: OutboundPart) -> AcceptedPart:
        """Hand one part to the transport. Raises ``TransportError`` (which says whether
        to retry) or ``atende.channels.crypto.TokenDecryptionFailed``."""
        ...

    def forget_channel(self, channel_id: UUID | None = None) -> None:
        """A channel changed (or, with no id, any may have): drop what this process
        remembers of it, so the change is seen at once."""
        ...

    async def fetch_media(
        self,
        account: ChannelAccount,
        url: str,
        *,
        max_bytes: int,
        accept: Collection[str],
        timeout: float,
    ) -> MediaDownload:
        """Download a file a customer sent (the URL an inbound message named) with the
        channel's credentials: only from the transport's own media host, at most
        ``max_bytes``, one of the ``accept`` media types, within ``timeout`` seconds, and
        never following a redirect elsewhere. Raises ``MediaFetchRefused`` (never
        fetched, or refused for good) or ``MediaFetchUnavailable`` (try again later)."""
        ...

    async def verify_channel(self, candidate: ChannelCandidate) -> None:
        """Ask the service whether ``candidate``'s credentials are valid and its number
        belongs to that account, before the channel is stored. Returns when it does;
        raises ``atende.channels.errors.ChannelVerificationFailed`` (its ``reason``:
        bad credentials, number not in the account, or the service unavailable: try
        again) otherwise. Never puts the secret in an error or a log."""
        ...
