"""Short-lived signed links to the files Atende keeps.

A file is the ``position``-th item of a message's ``media``. Its link is
``ATENDE_PUBLIC_URL/media/<organization id>/<message id>/<position>/<file name>?expires=<unix
time>&signature=<base64url HMAC-SHA256>``: the team's app shows it (``Message.media.url``,
handed only to the organization's members), and Twilio fetches a file the team attached
from it. The signature covers the organization, the message, the position and the expiry
(not the file name, which is only there for whoever saves the file): a link opens that one
file until it expires, and changing any part of it opens nothing. The key is derived from
``ATENDE_SECRET_KEY`` with HKDF under a purpose of its own; links signed with a key in
``ATENDE_PREVIOUS_SECRET_KEYS`` keep working until they expire, so rotating the secret
breaks no link in flight.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode
from uuid import UUID

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from atende.config import Settings

#: The path every link starts with (the app routes it).
MEDIA_PATH = "/media"
_SALT = b"atende/media-links"
_PURPOSE = b"atende/media-link-signature/v1"


def _signing_key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_PURPOSE).derive(
        secret.encode()
    )


@dataclass(frozen=True)
class MediaFileRef:
    """Which file a link opens."""

    organization_id: UUID
    message_id: UUID
    position: int


class MediaUrls:
    """Signs and checks media links (no I/O, safe to share)."""

    def __init__(
        self,
        public_url: str,
        secret: str,
        previous_secrets: Iterable[str] = (),
        *,
        ttl_seconds: int = 600,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.ttl_seconds = ttl_seconds
        self._key = _signing_key(secret)
        self._keys = (self._key, *(_signing_key(old) for old in previous_secrets))

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaUrls:
        return cls(
            settings.public_url,
            settings.secret_key.get_secret_value(),
            [key.get_secret_value() for key in settings.previous_secret_keys],
            ttl_seconds=settings.media_url_ttl_seconds,
        )

    def url(
        self,
        ref: MediaFileRef,
        file_name: str,
        *,
        ttl_seconds: int | None = None,
        now: float | None = None,
    ) -> str:
        """A link to ``ref`` that opens it for ``ttl_seconds`` (the setting by default)."""
        expires = int(now if now is not None else time.time()) + (
            ttl_seconds if ttl_seconds is not None else self.ttl_seconds
        )
        query = urlencode(
            {"expires": expires, "signature": self._signature(self._key, ref, expires)}
        )
        return (
            f"{self.public_url}{MEDIA_PATH}/{ref.organization_id}/{ref.message_id}/"
            f"{ref.position}/{quote(file_name or 'arquivo', safe='')}?{query}"
        )

    def is_valid(
        self, ref: MediaFileRef, expires: int, signature: str, *, now: float | None = None
    ) -> bool:
        """Whether ``signature`` signs ``ref`` until ``expires``, and that is still ahead."""
        if expires <= (now if now is not None else time.time()):
            return False
        return any(
            hmac.compare_digest(self._signature(key, ref, expires), signature) for key in self._keys
        )

    @staticmethod
    def _signature(key: bytes, ref: MediaFileRef, expires: int) -> str:
        payload = f"{ref.organization_id}/{ref.message_id}/{ref.position}/{expires}".encode()
        digest = hmac.new(key, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
