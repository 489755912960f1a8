"""Twilio auth tokens at rest: AES-256-GCM with a key derived from ``ATENDE_SECRET_KEY``,
and the rotation of that key.

The database holds ``v2.<key id>.<base64url(nonce || ciphertext || tag)>``; the key never
leaves the process. Keys are derived with HKDF-SHA256 (a fixed salt and a purpose label),
so the same secret can derive other keys for other purposes without any two being
related.

Rotation: ``ATENDE_SECRET_KEY`` encrypts; it and every key in
``ATENDE_PREVIOUS_SECRET_KEYS`` decrypt. Each ciphertext names the key that made it by a
*key id*: 8 bytes HKDF derives from the secret under a label of its own (so the id is
unrelated to the encryption key, and needs no setting an operator could get wrong).
Naming the key, rather than trying each configured key in turn, means:

- a webhook's decryption costs one AES-GCM open whatever the number of previous keys;
- ``atende rotate-secrets`` tells a current ciphertext from a stale one by its header,
  so a second run rewrites nothing;
- a ciphertext made by a key that is no longer configured fails with that id in the
  message, which says what is missing ("add the key that made it"), where a blind search
  could only say "no key fits".

The id reveals nothing an attacker holding the database lacks: checking a guessed secret
against it is no easier than against the ciphertext's own tag. The header
(``v2.<key id>``) is also bound into the associated data, so it cannot be swapped.

``v1.<base64url(...)>``, written before keys could rotate, carries no id: it is tried
with the current key, then each previous one, and ``atende rotate-secrets`` rewrites it
as ``v2``.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.errors import AtendeError

if TYPE_CHECKING:
    from atende.config import Settings

VERSION = "v2"
LEGACY_VERSION = "v1"
_SALT = b"atende/secrets-at-rest"
_PURPOSE = b"atende/twilio-auth-token/v1"
_KEY_ID_PURPOSE = b"atende/secret-key-id/v1"
_KEY_ID_BYTES = 8
_NONCE_BYTES = 12
#: Bound to every ciphertext: a token encrypted here is refused anywhere else.
_ASSOCIATED_DATA = b"channels.twilio_auth_token"

queries = load_queries("channels")


class TokenDecryptionFailed(AtendeError):
    """A stored Twilio auth token could not be decrypted (wrong ATENDE_SECRET_KEY?)."""


def derive_key(secret_key: str, purpose: bytes = _PURPOSE) -> bytes:
    """32 bytes for ``purpose`` from the configured secret (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose).derive(
        secret_key.encode()
    )


def key_id(secret_key: str) -> str:
    """The public name of a secret in the ciphertexts it makes (11 base64url characters)."""
    raw = HKDF(
        algorithm=hashes.SHA256(), length=_KEY_ID_BYTES, salt=_SALT, info=_KEY_ID_PURPOSE
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _plain(secret: SecretStr | str) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


class TokenCipher:
    """Encrypts channel auth tokens with the current key; decrypts with it or a previous
    one. Holds the derived keys, never the secrets."""

    def __init__(
        self, secret_key: SecretStr | str, previous_keys: Iterable[SecretStr | str] = ()
    ) -> None:
        current = _plain(secret_key)
        self.key_id = key_id(current)
        self._aead = AESGCM(derive_key(current))
        #: Every key that decrypts, by id, the current one first (the order v1 tries).
        self._keys: dict[str, AESGCM] = {self.key_id: self._aead}
        for previous in previous_keys:
            self._keys.setdefault(key_id(_plain(previous)), AESGCM(derive_key(_plain(previous))))

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCipher:
        """``ATENDE_SECRET_KEY`` encrypts; it and ``ATENDE_PREVIOUS_SECRET_KEYS`` decrypt."""
        return cls(settings.secret_key, settings.previous_secret_keys)

    def encrypt(self, token: str) -> str:
        header = f"{VERSION}.{self.key_id}"
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, token.encode(), _associated_data(header))
        return f"{header}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, ciphertext: str) -> SecretStr:
        version, _, rest = ciphertext.partition(".")
        if version == LEGACY_VERSION:
            for aead in self._keys.values():
                plain = _open(aead, rest, _ASSOCIATED_DATA)
                if plain is not None:
                    return plain
            raise TokenDecryptionFailed(
                "a v1 token fits none of the configured keys (ATENDE_SECRET_KEY,"
                " ATENDE_PREVIOUS_SECRET_KEYS)"
            )
        if version != VERSION:
            # Not echoed: a value that is no ciphertext at all may be a token in clear.
            raise TokenDecryptionFailed("not a token this version of Atende wrote")
        kid, _, payload = rest.partition(".")
        keyed = self._keys.get(kid)
        if keyed is None:
            raise TokenDecryptionFailed(
                f"made with a key that is not configured (key id {kid[:16]!r}):"
                " add the key that made it to ATENDE_PREVIOUS_SECRET_KEYS"
            )
        plain = _open(keyed, payload, _associated_data(f"{VERSION}.{kid}"))
        if plain is None:
            raise TokenDecryptionFailed()
        return plain

    def is_current(self, ciphertext: str) -> bool:
        """Whether ``ciphertext`` names the current key (no decryption: by its header)."""
        return ciphertext.startswith(f"{VERSION}.{self.key_id}.")

    def reencrypt(self, ciphertext: str) -> str:
        """``ciphertext``'s token, encrypted with the current key (``TokenDecryptionFailed``
        when no configured key opens it)."""
        return self.encrypt(self.decrypt(ciphertext).get_secret_value())

    def __repr__(self) -> str:
        return f"TokenCipher(key_id={self.key_id!r}, keys={len(self._keys)})"


def _associated_data(header: str) -> bytes:
    return _ASSOCIATED_DATA + b"|" + header.encode()


def _open(aead: AESGCM, payload: str, associated_data: bytes) -> SecretStr | None:
    try:
        raw = base64.urlsafe_b64decode(payload.encode())
        plain = aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], associated_data)
        return SecretStr(plain.decode())
    except (InvalidTag, ValueError, binascii.Error):
        return None


# -- rotation ---------------------------------------------------------------------------

#: Channels read per statement while rotating.
ROTATION_BATCH = 100
_BEFORE_EVERY_ID = UUID(int=0)


@dataclass(frozen=True)
class RotationReport:
    reencrypted: int
    already_current: int
    #: Channels whose secret no configured key opens (left as they were).
    unreadable: tuple[UUID, ...] = ()


async def rotate_secrets(
    database: Database, cipher: TokenCipher, *, batch_size: int = ROTATION_BATCH
) -> RotationReport:
    """Re-encrypt every stored secret with ``cipher``'s current key, as the platform.

    Safe while the API and workers run: channels are read in batches (by id), and each
    stale one is replaced by one UPDATE that only matches the ciphertext it read
    (compare-and-set). When it does not match, someone changed the token meanwhile: the
    row is read again and, if its new ciphertext is still stale (written by a process
    not restarted yet), rotated again; a new token is never overwritten. Every secret is
    decrypted (so a damaged one is found), but a current one is not rewritten: a second
    run changes nothing. A secret no configured key opens is left alone and reported.
    """
    reencrypted = already_current = 0
    unreadable: list[UUID] = []
    after = _BEFORE_EVERY_ID
    while True:
        rows = await database.fetch_all(
            Caller.service(),
            queries["channel_secrets_after"],
            {"after": after, "limit": batch_size},
        )
        for row in rows:
            try:
                rotated = await _rotate_one(
                    database, cipher, row["id"], row["twilio_auth_token_ciphertext"]
                )
            except TokenDecryptionFailed:
                unreadable.append(row["id"])
                continue
            if rotated:
                reencrypted += 1
            else:
                already_current += 1
        if len(rows) < batch_size:
            return RotationReport(reencrypted, already_current, tuple(unreadable))
        after = rows[-1]["id"]


async def _rotate_one(
    database: Database, cipher: TokenCipher, channel_id: UUID, ciphertext: str
) -> bool:
    """Whether this run rewrote the channel's secret (False: it was current, or is gone)."""
    while True:
        token = cipher.decrypt(ciphertext)
        if cipher.is_current(ciphertext):
            return False
        replaced = await database.fetch_one(
            Caller.service(),
            queries["replace_channel_secret"],
            {
                "channel_id": channel_id,
                "expected": ciphertext,
                "ciphertext": cipher.encrypt(token.get_secret_value()),
            },
        )
        if replaced is not None:
            return True
        # Changed (or deleted) since it was read: look again.
        row = await database.fetch_one(
            Caller.service(), queries["channel_secret"], {"channel_id": channel_id}
        )
        if row is None:
            return False
        ciphertext = row["twilio_auth_token_ciphertext"]
