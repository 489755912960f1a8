"""``TwilioTransport``: WhatsApp and SMS through Twilio, as a ``MessagingTransport``.

It puts together what this package has: the Messages API client (``client``), the
channel lookups and token decryption (``directory``) and the two webhooks
(``webhooks``). The app routes its endpoints when it is built; the process opens it in
its lifespan (the HTTP session, the channel cache, the webhooks' group commits).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from urllib.parse import urlencode
from uuid import UUID

from starlette.types import ASGIApp

from atende.channels.errors import ChannelVerificationFailed, ChannelVerificationFailure
from atende.channels.transport import (
    AcceptedPart,
    ChannelAccount,
    ChannelCandidate,
    MediaDownload,
    OutboundPart,
)
from atende.config import Settings
from atende.db.session import Database
from atende.transports.twilio.client import TwilioService, open_twilio_service
from atende.transports.twilio.directory import ChannelDirectory, channel_directory
from atende.transports.twilio.errors import (
    TwilioAuthenticationFailed,
    TwilioError,
    TwilioRetryableError,
)
from atende.transports.twilio.media import TwilioMediaFetcher
from atende.transports.twilio.models import (
    WHATSAPP_PREFIX,
    WHATSAPP_SANDBOX_NUMBER,
    TwilioCredentials,
)
from atende.transports.twilio.webhooks import STATUS_PATH, TwilioWebhooks

logger = logging.getLogger("atende.transports.twilio")


def twilio_address(kind: str, phone_number: str) -> str:
    """How Twilio names a number on a channel kind (``whatsapp:+55...`` or ``+55...``)."""
    return f"{WHATSAPP_PREFIX}{phone_number}" if kind == "whatsapp" else phone_number


def status_callback_url(public_url: str, message_id: UUID, part: int, parts: int) -> str:
    """Where Twilio reports a part's status; the query names it, so the callback can
    settle a message whose sid was never recorded (a worker died after sending)."""
    query = urlencode({"message_id": str(message_id), "part": part, "parts": parts})
    return f"{public_url}{STATUS_PATH}?{query}"


class TwilioTransport:
    """Twilio's Messages API and webhooks for every channel's account."""

    name = "twilio"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.webhooks = TwilioWebhooks(settings)
        self.media = TwilioMediaFetcher(base_url=settings.twilio_api_base_url)
        self._client: TwilioService | None = None
        self._directory: ChannelDirectory | None = None

    @asynccontextmanager
    async def open(self, database: Database) -> AsyncIterator[None]:
        directory = channel_directory(self.settings, database)
        async with open_twilio_service(self.settings) as client:
            with self.webhooks.open(database, directory):
                self._client, self._directory = client, directory
                try:
                    yield
                finally:
                    self._client, self._directory = None, None
                    await self.media.close()

    @property
    def client(self) -> TwilioService:
        if self._client is None:
            raise RuntimeError("the Twilio transport is not open")
        return self._client

    @property
    def directory(self) -> ChannelDirectory:
        if self._directory is None:
            raise RuntimeError("the Twilio transport is not open")
        return self._directory

    def endpoints(self) -> Mapping[str, ASGIApp]:
        return self.webhooks.endpoints()

    async def send(self, account: ChannelAccount, part: OutboundPart) -> AcceptedPart:
        credentials = self.directory.credentials(account.account_id, account.secret_ciphertext)
        result = await self.client.send_message(
            credentials,
            to=twilio_address(account.kind, part.to),
            from_=twilio_address(account.kind, account.phone_number),
            body=part.body,
            media_urls=part.media_urls,
            status_callback=status_callback_url(
                self.settings.public_url, part.message_id, part.index, part.count
            ),
            content_sid=part.template_id,
            content_variables=part.template_variables,
        )
        return AcceptedPart(sid=result.sid, status=result.status)

    async def fetch_media(
        self,
        account: ChannelAccount,
        url: str,
        *,
        max_bytes: int,
        accept: Collection[str],
        timeout: float,
    ) -> MediaDownload:
        credentials = self.directory.credentials(account.account_id, account.secret_ciphertext)
        return await self.media.fetch(
            credentials, url, max_bytes=max_bytes, accept=accept, timeout=timeout
        )

    async def verify_channel(self, candidate: ChannelCandidate) -> None:
        """The credentials authenticate, and the number is the account's: SMS, one of its
        incoming phone numbers; WhatsApp, one of its WhatsApp senders (Senders API) or
        the Sandbox number, which any account may use."""
        credentials = TwilioCredentials(
            account_sid=candidate.account_id, auth_token=candidate.secret
        )
        number = candidate.phone_number
        try:
            if candidate.kind == "whatsapp" and number == WHATSAPP_SANDBOX_NUMBER:
                status = await self.client.account_status(credentials)
                owned = True
                if status and status != "active":
                    raise _refused(
                        ChannelVerificationFailure.BAD_CREDENTIALS, candidate, f"account {status}"
                    )
            elif candidate.kind == "whatsapp":
                senders = await self.client.whatsapp_senders(credentials)
                owned = twilio_address("whatsapp", number) in senders
            else:
                owned = number in await self.client.incoming_phone_numbers(credentials, number)
        except TwilioError as error:
            raise _refused(_reason_of(error), candidate, error.message) from None
        if not owned:
            raise _refused(ChannelVerificationFailure.NUMBER_NOT_IN_ACCOUNT, candidate)
        logger.info(
            "verified %s %s of Twilio account %s", candidate.kind, number, candidate.account_id
        )

    def forget_channel(self, channel_id: UUID | None = None) -> None:
        if self._directory is not None:
            self._directory.forget(channel_id)


def _reason_of(error: TwilioError) -> ChannelVerificationFailure:
    """Refused credentials (401, 403, error 20003) are the caller's to fix; anything else
    (unreachable, no answer, 5xx, 429, an answer we cannot read) means Twilio could not
    confirm the number now."""
    if isinstance(error, TwilioAuthenticationFailed) or error.http_status in {401, 403}:
        return ChannelVerificationFailure.BAD_CREDENTIALS
    if not isinstance(error, TwilioRetryableError):
        logger.warning("Twilio refused a channel verification request: %r", error)
    return ChannelVerificationFailure.UNAVAILABLE


def _refused(
    reason: ChannelVerificationFailure, candidate: ChannelCandidate, detail: str | None = None
) -> ChannelVerificationFailed:
    # The account SID and the number are not secret; the token never reaches a message.
    logger.info(
        "refused %s %s of Twilio account %s: %s%s",
        candidate.kind,
        candidate.phone_number,
        candidate.account_id,
        reason.value,
        f" ({detail})" if detail else "",
    )
    return ChannelVerificationFailed(reason, detail)
