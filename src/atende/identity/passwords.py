"""Password hashes exactly as Supabase Auth stores them in ``auth.users.encrypted_password``.

Supabase Auth (Go's ``x/crypto/bcrypt``) writes ``$2a$`` bcrypt hashes at cost 10; hashes
made here have the same prefix and cost, so users move between the local provider and a
Supabase project without resetting passwords, and ``$2b$`` hashes verify as well.

bcrypt is deliberately slow (tens of milliseconds): it runs in a worker thread, never on
the event loop.
"""

from __future__ import annotations

import asyncio
from functools import cache

import bcrypt

#: Supabase Auth's cost.
BCRYPT_COST = 10
_PREFIX = b"2a"


@cache
def dummy_hash(cost: int) -> bytes:
    """A hash to compare against when a user is unknown or has no password, so that "no
    such user" and "wrong password" take the same time. Made once per process."""
    return bcrypt.hashpw(b"atende-dummy-password", bcrypt.gensalt(cost, _PREFIX))


class PasswordHasher:
    """Hashes and verifies passwords; verifying without a hash costs as much as with one."""

    def __init__(self, cost: int = BCRYPT_COST) -> None:
        self.cost = cost

    async def warm_up(self) -> None:
        """Make the dummy hash now, so the first unknown e-mail is not slower than the rest."""
        await asyncio.to_thread(dummy_hash, self.cost)

    @property
    def _dummy_hash(self) -> bytes:
        return dummy_hash(self.cost)

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hash_sync, password)

    def hash_sync(self, password: str) -> str:
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(self.cost, _PREFIX)).decode()

    async def verify(self, password: str, stored_hash: str | None) -> bool:
        """Whether ``password`` matches ``stored_hash``; a full bcrypt check either way."""
        return await asyncio.to_thread(self.verify_sync, password, stored_hash)

    def verify_sync(self, password: str, stored_hash: str | None) -> bool:
        # bcrypt reads 72 bytes at most (and bcrypt 5 refuses more): compare those.
        candidate = password.encode()[:72]
        usable = stored_hash is not None and stored_hash.startswith(("$2a$", "$2b$", "$2y$"))
        try:
            matches = bcrypt.checkpw(
                candidate, stored_hash.encode() if usable and stored_hash else self._dummy_hash
            )
        except ValueError:  # a malformed stored hash matches nothing
            bcrypt.checkpw(candidate, self._dummy_hash)
            return False
        return usable and matches
