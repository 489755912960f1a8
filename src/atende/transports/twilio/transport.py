"""``TwilioTransport``: WhatsApp and SMS through Twilio, as a ``MessagingTransport``.

It puts together what this package has: the Messages API client (``client``), the
channel lookups and token decryption (``directory``) and the two webhooks
(``webhooks``). The app routes its endpoints when it is built; the process opens it in
its lifespan (the HTTP session, the channel cache, the webhooks' group commits).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from urllib.parse import urlencode
from uuid import UUID

from starlette.types import ASGIApp

from atende.channels.transport import AcceptedPart, ChannelAccount, OutboundPart
from atende.config import Settings
from atende.db.session import Database
from atende.transports.twilio.client import TwilioService, open_twilio_service
from atende.transports.twilio.directory import ChannelDirectory, channel_directory
from atende.transports.twilio.models import WHATSAPP_PREFIX
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

    def forget_channel(self, channel_id: UUID | None = None) -> None:
        if self._directory is not None:
            self._directory.forget(channel_id)
