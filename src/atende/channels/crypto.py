"""Twilio auth tokens at rest: AES-256-GCM with a key derived from ``ATENDE_SECRET_KEY``.

The database only ever holds ``v1.<base64url(nonce || ciphertext || tag)>``; the key never
leaves the process. The key is derived with HKDF-SHA256 (a fixed salt and a purpose
label), so the same secret can derive other keys for other purposes without any two
being related. The version prefix leaves room for another scheme or key later.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from atende.errors import AtendeError

VERSION = "v1"
_SALT = b"atende/secrets-at-rest"
_PURPOSE = b"atende/twilio-auth-token/v1"
_NONCE_BYTES = 12
#: Bound to every ciphertext: a token encrypted here is refused anywhere else.
_ASSOCIATED_DATA = b"channels.twilio_auth_token"


class TokenDecryptionFailed(AtendeError):
    """A stored Twilio auth token could not be decrypted (wrong ATENDE_SECRET_KEY?)."""


def derive_key(secret_key: str, purpose: bytes = _PURPOSE) -> bytes:
    """32 bytes for ``purpose`` from the configured secret (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose).derive(
        secret_key.encode()
    )


class TokenCipher:
    """Encrypts and decrypts channel auth tokens. Holds the derived key, never the secret."""

    def __init__(self, secret_key: SecretStr | str) -> None:
        secret = secret_key.get_secret_value() if isinstance(secret_key, SecretStr) else secret_key
        self._aead = AESGCM(derive_key(secret))

    def encrypt(self, token: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, token.encode(), _ASSOCIATED_DATA)
        return f"{VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, ciphertext: str) -> SecretStr:
        version, _, payload = ciphertext.partition(".")
        if version != VERSION:
            raise TokenDecryptionFailed(f"unknown token format {version[:8]!r}")
        try:
            raw = base64.urlsafe_b64decode(payload.encode())
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _ASSOCIATED_DATA)
        except (InvalidTag, ValueError, binascii.Error):
            raise TokenDecryptionFailed() from None
        return SecretStr(plain.decode())

    def __repr__(self) -> str:
        return "TokenCipher()"
