"""API keys: an organization's own systems call the API with ``Authorization: Bearer <key>``.

A key acts for its organization alone, with its role, under the same row-level security
as a member: the request runs as role ``authenticated`` with the key's id as ``sub``, and
the membership helpers every policy asks answer for a key from ``public.api_keys``
(``20261207001310_api_keys.sql``). The database decides what a key may see and do, and
a revoked key sees and does nothing from the moment its revocation commits.

This module is the API process's side of it (``ApiKeys``, one per process):

- **Authentication.** A key is found by its secret's SHA-256 (the database keeps nothing
  else of the secret), and the answer is kept for at most ``check_seconds``
  (``ATENDE_SESSION_CHECK_SECONDS``): a request in between pays a dictionary lookup, and
  concurrent requests with one key share one query. A process that revokes a key forgets
  what it knew at once; the others re-ask within the delay (and the database refuses the
  key's reads and writes meanwhile anyway).
- **Use.** Each request (and each WebSocket subscription) counts one use of its key, in
  memory; about once a second the counts go to Postgres in one statement
  (``private.record_api_key_uses_v1``), which adds them to the key's fixed window in
  ``private.rate_limit_counters`` (the counters every process shares) and moves
  ``last_used_at`` at most once a minute. A use is refused past ``ATENDE_RATE_LIMIT_API_KEY``
  counting what the other processes had reported at the last flush: a handful of
  requests per process may pass a limit over a flush interval, and nothing is written
  per request.
- **Guesses.** A key that no one has (or a revoked one) counts a failed attempt against
  the client's address, in the identity flows' shared counters (``RateLimiter``, action
  ``api_key_guess``, ``ATENDE_RATE_LIMIT_API_KEY_ADDRESS``). Past the limit the request
  is refused as a key over its limit is (``429``), and this process refuses every key
  from that address, right or wrong, before looking it up, until the window ends: a
  guesser learns nothing from a right guess, and pays no query for the wrong ones. Right
  keys cost nothing here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString
from uuid import UUID

import psycopg

from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.errors import AtendeError, Forbidden, InvalidInput, NotFound, Refusal
from atende.identity.errors import TooManyAttempts
from atende.identity.rate_limits import RateLimiter
from atende.identity.sessions import token_digest

queries = load_queries("api_keys")
logger = logging.getLogger("atende.identity.api_keys")

#: Every secret starts with it (a JWT never does: it starts with ``eyJ``), so a bearer
#: token says which kind it is, and secret scanners can recognise a leaked key.
API_KEY_PREFIX = "atende_"
#: The claim that marks a caller as an API key (``sub`` is the key's id too).
API_KEY_CLAIM = "api_key_id"
#: How often the counted uses go to the database.
FLUSH_SECONDS = 1.0


def looks_like_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)


def api_key_id_of(caller: Caller) -> UUID | None:
    """The key a caller is, or ``None`` for a person, anonymous or the platform."""
    value = caller.claims.get(API_KEY_CLAIM)
    return UUID(str(value)) if value else None


class ApiKeyRateLimited(AtendeError):
    """The API key is over its rate limit."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"API key over its rate limit; retry after {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


class ApiKeysUnavailable(AtendeError):
    """The database could not say whether the API key is valid."""


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """What a request with a key acts as."""

    id: UUID
    organization_id: UUID
    role: str

    def caller(self) -> Caller:
        """The database caller: ``authenticated`` with the key's id as the subject."""
        return Caller.user(
            {
                "sub": str(self.id),
                "role": "authenticated",
                "aud": "authenticated",
                API_KEY_CLAIM: str(self.id),
            }
        )


@dataclass
class _Known:
    principal: ApiKeyPrincipal | None  # None: no key has this secret
    active: bool
    asked_at: float  # time.monotonic()


class ApiKeys:
    """The process's knowledge of API keys and their use (see the module's docstring).

    ``limit``: ``(uses, window seconds)`` per key, or ``None`` for no limit.
    """

    def __init__(
        self,
        database: Database,
        *,
        check_seconds: float,
        limit: tuple[int, int] | None,
        flush_seconds: float = FLUSH_SECONDS,
        max_size: int = 10_000,
        guesses: RateLimiter | None = None,
    ) -> None:
        self.database = database
        self.guesses = guesses
        #: Addresses past the guess limit -> until when (time.monotonic()) they are refused.
        self._refused_until: dict[str, float] = {}
        self.ttl = check_seconds
        self.limit = limit
        self.flush_seconds = flush_seconds
        self.max_size = max_size
        self._by_digest: dict[str, _Known] = {}
        self._digest_of: dict[UUID, str] = {}
        self._asking: dict[str, asyncio.Task[_Known]] = {}
        #: Uses not yet flushed, per (key, window start in epoch seconds).
        self._pending: dict[tuple[UUID, int], int] = {}
        #: Per key: (window start, its total as of the last flush, every process's).
        self._reported: dict[UUID, tuple[int, int]] = {}
        self._flushing = asyncio.Lock()

    # -- Authentication -----------------------------------------------------------------

    async def authenticate(
        self, secret: str, *, address: str | None = None
    ) -> ApiKeyPrincipal | None:
        """The key whose secret this is, while it is not revoked; ``None`` otherwise.

        ``ApiKeysUnavailable`` when the database cannot answer and nothing is known;
        ``ApiKeyRateLimited`` when ``address`` (the client's) is past the guess limit."""
        self._refuse_if_guessing(address)
        principal = await self._authenticate(secret)
        if principal is None:
            await self._count_guess(address)
        return principal

    def _refuse_if_guessing(self, address: str | None) -> None:
        if address is None or address not in self._refused_until:
            return
        left = self._refused_until[address] - time.monotonic()
        if left > 0:
            raise ApiKeyRateLimited(max(1, math.ceil(left)))
        del self._refused_until[address]

    async def _count_guess(self, address: str | None) -> None:
        if self.guesses is None or address is None:
            return
        try:
            await self.guesses.check("api_key_guess", account=None, address=address)
        except TooManyAttempts as refused:
            if len(self._refused_until) >= self.max_size:
                now = time.monotonic()
                self._refused_until = {a: t for a, t in self._refused_until.items() if t > now}
                while len(self._refused_until) >= self.max_size:  # the oldest go first
                    del self._refused_until[next(iter(self._refused_until))]
            self._refused_until[address] = time.monotonic() + refused.retry_after_seconds
            logger.warning("API keys refused from an address past the guess limit")
            raise ApiKeyRateLimited(refused.retry_after_seconds) from None

    async def _authenticate(self, secret: str) -> ApiKeyPrincipal | None:
        digest = token_digest(secret)
        known = self._by_digest.get(digest)
        if known is not None and (
            time.monotonic() - known.asked_at < self.ttl
            or (known.principal is not None and not known.active)  # revoked stays revoked
        ):
            return known.principal if known.active else None
        try:
            known = await self._ask(digest)
        except psycopg.Error as error:
            if known is None:
                raise ApiKeysUnavailable() from error
            # The database needs to be there for the request anyway; what was known lately
            # stands in (the database's own checks still apply to the key's statements).
            logger.warning("API key check skipped: database unavailable (%s)", type(error).__name__)
        return known.principal if known.active else None

    async def is_active(self, key_id: UUID, *, max_age: float) -> bool:
        """Whether the key is still not revoked, as known at most ``max_age`` seconds ago
        (``ttl`` at most). A subscription's watch asks this; when the database cannot
        answer, the key counts as active (its statements are judged there anyway)."""
        digest = self._digest_of.get(key_id)
        known = self._by_digest.get(digest) if digest is not None else None
        if known is not None and (
            not known.active or time.monotonic() - known.asked_at < min(max_age, self.ttl)
        ):
            return known.active
        asked_at = time.monotonic()
        try:
            row = await self.database.fetch_one(
                Caller.service(), queries["api_keys_active"], {"ids": [key_id]}
            )
        except psycopg.Error as error:
            logger.warning("API key check skipped: database unavailable (%s)", type(error).__name__)
            return True
        active = bool(row and row["active"])
        if known is not None:
            known.active = known.active and active
            known.asked_at = asked_at
        return active

    def forget(self, key_id: UUID) -> None:
        """This process changed the key (revoked it): the next use asks the database."""
        digest = self._digest_of.pop(key_id, None)
        if digest is not None:
            self._by_digest.pop(digest, None)

    async def _ask(self, digest: str) -> _Known:
        asking = self._asking.get(digest)
        if asking is None:
            asking = asyncio.ensure_future(self._lookup(digest))
            self._asking[digest] = asking
            asking.add_done_callback(lambda done: self._done_asking(digest, done))
        # Shielded: a request that gives up does not cancel the others' answer.
        return await asyncio.shield(asking)

    async def _lookup(self, digest: str) -> _Known:
        asked_at = time.monotonic()
        row = await self.database.fetch_one(
            Caller.service(), queries["api_key_by_digest"], {"secret_digest": digest}
        )
        if row is None:
            known = _Known(principal=None, active=False, asked_at=asked_at)
        else:
            principal = ApiKeyPrincipal(
                id=row["id"], organization_id=row["organization_id"], role=row["role"]
            )
            known = _Known(principal=principal, active=bool(row["active"]), asked_at=asked_at)
            self._digest_of[principal.id] = digest
        self._by_digest.pop(digest, None)
        self._by_digest[digest] = known
        while len(self._by_digest) > self.max_size:
            evicted, entry = next(iter(self._by_digest.items()))
            del self._by_digest[evicted]
            if entry.principal is not None:
                self._digest_of.pop(entry.principal.id, None)
        return known

    def _done_asking(self, digest: str, done: asyncio.Task[_Known]) -> None:
        if self._asking.get(digest) is done:
            del self._asking[digest]
        if not done.cancelled():
            done.exception()  # retrieved: whoever awaited it saw it

    # -- Use --------------------------------------------------------------------------------

    def use(self, key_id: UUID) -> None:
        """Count one use of the key; ``ApiKeyRateLimited`` (nothing counted) past its limit."""
        now = time.time()
        window = self.limit[1] if self.limit is not None else 60
        start = int(now // window * window)
        pending = self._pending.get((key_id, start), 0)
        if self.limit is not None:
            reported_start, reported = self._reported.get(key_id, (start, 0))
            total = pending + (reported if reported_start == start else 0)
            if total >= self.limit[0]:
                raise ApiKeyRateLimited(max(1, math.ceil(start + window - now)))
        self._pending[(key_id, start)] = pending + 1

    async def flush(self) -> None:
        """Hand the uses counted since the last flush to the database (one statement)."""
        async with self._flushing:
            if not self._pending:
                return
            batch, self._pending = self._pending, {}
            window = self.limit[1] if self.limit is not None else 60
            try:
                rows = await self.database.fetch_all(
                    Caller.service(),
                    queries["record_api_key_uses"],
                    {
                        "api_key_ids": [key_id for key_id, _ in batch],
                        "window_starts": [datetime.fromtimestamp(start, UTC) for _, start in batch],
                        "uses": list(batch.values()),
                        "window": timedelta(seconds=window),
                    },
                )
            except psycopg.Error as error:
                # Counted again at the next flush: nothing is lost, nothing doubled.
                for counted, uses in batch.items():
                    self._pending[counted] = self._pending.get(counted, 0) + uses
                logger.warning(
                    "API key uses not recorded yet: database unavailable (%s)",
                    type(error).__name__,
                )
                return
            current = int(time.time() // window * window)
            for row in rows:
                start = int(row["window_start"].timestamp())
                if start >= current:
                    self._reported[row["api_key_id"]] = (start, int(row["uses_in_window"]))
            for key_id, (start, _) in list(self._reported.items()):
                if start < current:
                    del self._reported[key_id]

    @asynccontextmanager
    async def open(self) -> AsyncIterator[ApiKeys]:
        """Flush the counted uses every ``flush_seconds`` while open, and once at the end."""
        task = asyncio.create_task(self._flush_forever(), name="api-key-uses")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(Exception):
                await self.flush()

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                await self.flush()
            except Exception:  # a bug: logged, and the next round tries again
                logger.exception("API key uses: flush failed")

    # -- The team's actions (in the caller's transaction) -----------------------------------

    @staticmethod
    async def create(
        conn: Connection, *, organization_id: UUID, name: str, role: str
    ) -> tuple[UUID, str]:
        """A new key made by the caller (``public.create_api_key_v1`` checks their role):
        its id and its secret, which nothing keeps."""
        row = await _rpc(
            conn,
            queries["create_api_key"],
            {"organization_id": organization_id, "name": name, "role": role},
        )
        return row["api_key_id"], row["secret"]

    async def revoke(self, conn: Connection, api_key_id: UUID) -> UUID:
        """Revoke a key as the caller (``public.revoke_api_key_v1`` checks their role)."""
        row = await _rpc(conn, queries["revoke_api_key"], {"api_key_id": api_key_id})
        # Not yet committed: forgetting (not marking revoked) makes this process ask again.
        self.forget(api_key_id)
        return UUID(str(row["api_key_id"]))


async def _rpc(conn: Connection, query: LiteralString, params: dict[str, object]) -> dict[str, Any]:
    """One of the key functions, in a savepoint so a refusal leaves the caller's
    transaction usable; SQL's refusals become ``Refusal``s."""
    try:
        async with conn.transaction():
            row = await (await conn.execute(query, params)).fetchone()
    except psycopg.Error as error:
        translated = _translate(error)
        if translated is None:
            raise
        raise translated from error
    if row is None:
        raise RuntimeError("the function returned no row")
    return row


_FORBIDDEN = {
    "only owners and admins can create API keys": (
        "Só proprietários e administradores podem criar chaves de API."
    ),
    "only an owner can create an owner key": (
        "Só um proprietário pode criar uma chave com papel de proprietário."
    ),
    "only an owner can revoke an owner key": (
        "Só um proprietário pode revogar uma chave com papel de proprietário."
    ),
    "API keys cannot create API keys": (
        "Chaves de API são criadas por pessoas, não por outras chaves."
    ),
    "API keys cannot revoke API keys": (
        "Chaves de API são revogadas por pessoas, não por outras chaves."
    ),
}

_NOT_FOUND = {
    "organization not found": "Organização não encontrada.",
    "API key not found": "Chave de API não encontrada.",
}


def _translate(error: psycopg.Error) -> Refusal | None:
    """The typed refusal for what the key functions refuse; ``None`` for anything else."""
    message = error.diag.message_primary or ""
    match error.sqlstate:
        case "PT403":
            return Forbidden(message, user_message=_FORBIDDEN.get(message))
        case "PT404":
            return NotFound(message, user_message=_NOT_FOUND.get(message))
        case "23514" if error.diag.constraint_name == "api_keys_name_length":
            return InvalidInput("name", "Dê à chave um nome de 1 a 100 caracteres.")
        case "23514" if error.diag.constraint_name == "api_keys_per_organization":
            return InvalidInput(
                "organizationId",
                "Esta organização já tem 50 chaves de API ativas: revogue uma antes de "
                "criar outra.",
            )
    return None
