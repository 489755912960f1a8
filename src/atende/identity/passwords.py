"""Password hashes exactly as Supabase Auth stores them in ``auth.users.encrypted_password``.

Supabase Auth (Go's ``x/crypto/bcrypt``) writes ``$2a$`` bcrypt hashes at cost 10; hashes
made here have the same prefix and cost, so users move between the local provider and a
Supabase project without resetting passwords, and ``$2b$`` hashes verify as well.

bcrypt is deliberately slow (tens of milliseconds): it runs in worker threads of its own,
never on the event loop, and never in the loop's default pool. Those threads are few
(``ATENDE_PASSWORD_HASH_WORKERS``): a flood of sign-ins queues behind them instead of taking
every core and every default thread from the inbox and the webhooks. bcrypt releases the
GIL while it hashes, so the other threads and the loop go on meanwhile. On Linux the
threads also run at a lower scheduling priority (nice ``HASH_THREAD_NICENESS``): when a
core is wanted by both, the event loop's requests win and the hashes wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TypeVar

import bcrypt

#: Supabase Auth's cost.
BCRYPT_COST = 10
_PREFIX = b"2a"
#: Threads hashing at once when none is configured.
DEFAULT_WORKERS = 2
#: How much nicer than the rest of the process the hashing threads are (0 to 19).
HASH_THREAD_NICENESS = 10

T = TypeVar("T")


def _lower_this_threads_priority() -> None:
    """Make the calling thread nicer (Linux schedules threads by their own niceness)."""
    setpriority = getattr(os, "setpriority", None)
    if setpriority is None:
        return
    with contextlib.suppress(OSError):  # not permitted, or not Linux's per-thread meaning
        current = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        setpriority(os.PRIO_PROCESS, threading.get_native_id(), current + HASH_THREAD_NICENESS)


@cache
def dummy_hash(cost: int) -> bytes:
    """A hash to compare against when a user is unknown or has no password, so that "no
    such user" and "wrong password" take the same time. Made once per process."""
    return bcrypt.hashpw(b"atende-dummy-password", bcrypt.gensalt(cost, _PREFIX))


class PasswordHasher:
    """Hashes and verifies passwords; verifying without a hash costs as much as with one."""

    def __init__(self, cost: int = BCRYPT_COST, *, max_workers: int = DEFAULT_WORKERS) -> None:
        self.cost = cost
        self.max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None

    def _pool(self) -> ThreadPoolExecutor:
        # Made on first use, in whichever process uses it (never inherited by a fork).
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self.max_workers,
                thread_name_prefix="atende-bcrypt",
                initializer=_lower_this_threads_priority,
            )
        return self._executor

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool(), function, *args)

    def close(self) -> None:
        """Stop the threads (after the hashes under way); a later use starts new ones."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    async def warm_up(self) -> None:
        """Make the dummy hash now, so the first unknown e-mail is not slower than the rest."""
        await self._run(dummy_hash, self.cost)

    @property
    def _dummy_hash(self) -> bytes:
        return dummy_hash(self.cost)

    async def hash(self, password: str) -> str:
        return await self._run(self.hash_sync, password)

    def hash_sync(self, password: str) -> str:
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(self.cost, _PREFIX)).decode()

    async def verify(self, password: str, stored_hash: str | None) -> bool:
        """Whether ``password`` matches ``stored_hash``; a full bcrypt check either way."""
        return await self._run(self.verify_sync, password, stored_hash)

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
