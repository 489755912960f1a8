"""Finding the channel a webhook is for, with its auth token decrypted, cheaply.

Every inbound webhook needs its channel (by AccountSid, kind and number) and the
channel's token to check the signature. A process may keep what it looked up for
``ATENDE_CHANNEL_CACHE_SECONDS`` (10 s by default, 0 to switch off): a burst of messages
to one number then costs one lookup and one decryption. The cache is bounded, keeps no
negative answers (a channel just added works at once), and is forgotten by this process
when it changes a channel; other processes see a change within the TTL, which bounds
how long a disabled channel or a replaced token can still be used.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import SecretStr

from atende.channels.crypto import TokenCipher
from atende.config import Settings
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.transports.twilio.models import Channel, TwilioCredentials

queries = load_queries("channels")

#: Channels one process remembers at most.
MAX_CACHED_CHANNELS = 4096


@dataclass(frozen=True)
class WebhookChannel:
    """A channel as webhooks need it: who it belongs to, and its credentials."""

    id: UUID
    organization_id: UUID
    enabled: bool
    credentials: TwilioCredentials

    @property
    def auth_token(self) -> SecretStr:
        return self.credentials.auth_token


class ChannelDirectory:
    """Channel lookups for webhooks, and the cipher of stored auth tokens."""

    def __init__(
        self,
        database: Database,
        cipher: TokenCipher,
        *,
        ttl_seconds: float = 10.0,
        max_entries: int = MAX_CACHED_CHANNELS,
    ) -> None:
        self.database = database
        self.cipher = cipher
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._cache: OrderedDict[tuple[str, str, str], tuple[float, WebhookChannel]] = OrderedDict()

    async def for_webhook(
        self, *, account_sid: str, kind: Channel, phone_number: str, timeout: float | None = None
    ) -> WebhookChannel | None:
        """The channel ``phone_number`` of ``kind`` in Twilio account ``account_sid``."""
        key = (account_sid, kind.value, phone_number)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        row = await self.database.fetch_one(
            Caller.service(),
            queries["channel_for_webhook"],
            {"kind": kind.value, "phone_number": phone_number, "account_sid": account_sid},
            timeout=timeout,
        )
        channel = None if row is None else self.from_row(row)
        if channel is not None and self.ttl_seconds > 0:
            self._cache[key] = (now + self.ttl_seconds, channel)
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return channel

    def from_row(self, row: dict[str, Any]) -> WebhookChannel:
        return WebhookChannel(
            id=row["id"],
            organization_id=row["organization_id"],
            enabled=row["enabled"],
            credentials=self.credentials(
                row["twilio_account_sid"], row["twilio_auth_token_ciphertext"]
            ),
        )

    def credentials(self, account_sid: str, ciphertext: str) -> TwilioCredentials:
        return TwilioCredentials(
            account_sid=account_sid, auth_token=self.cipher.decrypt(ciphertext)
        )

    def forget(self, channel_id: UUID | None = None) -> None:
        """Drop a changed channel (or, with no id, everything) from this process's cache."""
        if channel_id is None:
            self._cache.clear()
            return
        for key in [k for k, (_, channel) in self._cache.items() if channel.id == channel_id]:
            del self._cache[key]


def channel_directory(settings: Settings, database: Database) -> ChannelDirectory:
    """The process's directory, keyed from ``ATENDE_SECRET_KEY`` (and the previous keys)."""
    return ChannelDirectory(
        database, TokenCipher.from_settings(settings), ttl_seconds=settings.channel_cache_seconds
    )
