"""Sessions: an access token to call the API with, a refresh token to renew it.

Access tokens are short-lived JWTs (``TokenService``) carrying the session's id. Refresh
tokens are random; the database keeps their SHA-256 digest only, rotates them on every
use and revokes the session when a used one comes back (``private.refresh_session_v1``).

A signed-out session's access tokens stop working within ``SessionLiveness``'s delay
(``ATENDE_SESSION_CHECK_SECONDS``): each request asks it whether the token's session is
still signed in, and it asks the database at most once per session per delay.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from datetime import timedelta
from uuid import UUID

import psycopg
from pydantic import SecretStr

from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.identity.errors import InvalidRefreshToken
from atende.identity.models import IssuedSession
from atende.identity.tokens import TokenService

queries = load_queries("identity")
logger = logging.getLogger(__name__)


def new_secret_token() -> str:
    """A random token for a client to hold (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


class SessionLiveness:
    """Whether sessions are still signed in, as the database said at most ``ttl`` seconds
    ago (per process; ``ttl`` 0 asks every time).

    One indexed query per session per ``ttl`` (``session_alive``, as the platform);
    concurrent questions about one session share one query. An ended session stays ended,
    so that answer is kept until the entry is evicted (the oldest go past ``max_size``).
    A session id the database does not know is not one of Atende's (Supabase Auth's own
    tokens carry theirs): alive, as far as Atende can tell. When the database cannot
    answer, the session counts as alive and nothing is remembered: the request needs the
    database anyway, and a subscription should outlive a blip.
    """

    #: Longest wait for a connection of the platform's pool before answering "alive".
    CONNECTION_TIMEOUT = 5.0

    def __init__(self, database: Database, *, ttl: float, max_size: int = 10_000) -> None:
        self.database = database
        self.ttl = ttl
        self.max_size = max_size
        #: (session id, user id) -> (alive, when it was asked: time.monotonic()).
        self._known: dict[tuple[str, str], tuple[bool, float]] = {}
        self._asking: dict[tuple[str, str], asyncio.Task[bool]] = {}

    async def is_alive(
        self, session_id: str, user_id: str, *, max_age: float | None = None
    ) -> bool:
        """Whether ``user_id``'s session ``session_id`` is signed in, as known at most
        ``max_age`` seconds ago (``ttl`` when None, never more)."""
        key = (session_id, user_id)
        known = self._known.get(key)
        if known is not None:
            alive, asked_at = known
            age = self.ttl if max_age is None else min(max_age, self.ttl)
            if not alive or time.monotonic() - asked_at < age:
                return alive
        asking = self._asking.get(key)
        if asking is None:
            asking = asyncio.ensure_future(self._ask(key))
            self._asking[key] = asking
            asking.add_done_callback(lambda done: self._done_asking(key, done))
        # Shielded: a request that gives up does not cancel the others' answer.
        return await asyncio.shield(asking)

    def ended(self, session_id: UUID | str, user_id: UUID | str) -> None:
        """This process signed the session out: its tokens stop here at once."""
        self._remember((str(session_id), str(user_id)), alive=False, asked_at=time.monotonic())

    async def _ask(self, key: tuple[str, str]) -> bool:
        asked_at = time.monotonic()
        try:
            row = await self.database.fetch_one(
                Caller.service(),
                queries["session_alive"],
                {"session_id": key[0], "user_id": key[1]},
                timeout=self.CONNECTION_TIMEOUT,
            )
        except psycopg.Error as error:  # unreachable, timed out (PoolTimeout is one)
            logger.warning("session check skipped: database unavailable (%s)", type(error).__name__)
            return True
        alive = row is None or bool(row["alive"])
        self._remember(key, alive=alive, asked_at=asked_at)
        return alive

    def _remember(self, key: tuple[str, str], *, alive: bool, asked_at: float) -> None:
        known = self._known.pop(key, None)
        if known is not None and not known[0]:
            alive = False  # an ended session never comes back
        self._known[key] = (alive, asked_at)
        while len(self._known) > self.max_size:
            del self._known[next(iter(self._known))]

    def _done_asking(self, key: tuple[str, str], done: asyncio.Task[bool]) -> None:
        if self._asking.get(key) is done:
            del self._asking[key]
        if not done.cancelled():
            done.exception()  # retrieved: whoever awaited it saw it


class SessionService:
    def __init__(
        self,
        database: Database,
        tokens: TokenService,
        refresh_ttl: timedelta,
        *,
        check_seconds: float = 5.0,
    ) -> None:
        self.database = database
        self.tokens = tokens
        self.refresh_ttl = refresh_ttl
        #: What requests ask whether their token's session is still signed in.
        self.liveness = SessionLiveness(database, ttl=check_seconds)

    async def start(self, conn: Connection, *, user_id: UUID, email: str) -> IssuedSession:
        """Open a session in ``conn``'s transaction (as the service role)."""
        refresh_token = new_secret_token()
        row = await (
            await conn.execute(
                queries["start_session"],
                {
                    "user_id": user_id,
                    "refresh_token_hash": token_digest(refresh_token),
                    "ttl": self.refresh_ttl,
                },
            )
        ).fetchone()
        assert row is not None
        return self._issue(row["session_id"], user_id, email, refresh_token)

    async def refresh(self, refresh_token: str) -> IssuedSession:
        """A new access token and refresh token for a current refresh token."""
        new_refresh_token = new_secret_token()
        async with self.database.transaction(Caller.service()) as conn:
            row = await (
                await conn.execute(
                    queries["refresh_session"],
                    {
                        "refresh_token_hash": token_digest(refresh_token),
                        "new_refresh_token_hash": token_digest(new_refresh_token),
                        "ttl": self.refresh_ttl,
                    },
                )
            ).fetchone()
        # Committed whatever the outcome: a reused token's revocation must stick.
        if row is None or row["outcome"] != "refreshed":
            raise InvalidRefreshToken()
        return self._issue(row["session_id"], row["user_id"], row["email"], new_refresh_token)

    async def revoke(self, session_id: UUID, *, user_id: UUID) -> bool:
        async with self.database.transaction(Caller.service()) as conn:
            row = await (
                await conn.execute(
                    queries["revoke_session"], {"session_id": session_id, "user_id": user_id}
                )
            ).fetchone()
        revoked = bool(row and row["revoked"])
        if revoked:  # committed: refused here at once, by other processes within their delay
            self.liveness.ended(session_id, user_id)
        return revoked

    async def revoke_by_refresh_token(self, refresh_token: str) -> bool:
        async with self.database.transaction(Caller.service()) as conn:
            row = await (
                await conn.execute(
                    queries["revoke_session_by_refresh_token"],
                    {"refresh_token_hash": token_digest(refresh_token)},
                )
            ).fetchone()
        return bool(row and row["revoked"])

    async def purge(self, keep: timedelta) -> int:
        async with self.database.transaction(Caller.service()) as conn:
            row = await (await conn.execute(queries["purge_sessions"], {"keep": keep})).fetchone()
        return int(row["purged"]) if row else 0

    def _issue(
        self, session_id: UUID, user_id: UUID, email: str, refresh_token: str
    ) -> IssuedSession:
        access = self.tokens.issue(user_id=user_id, email=email, session_id=session_id)
        return IssuedSession(
            session_id=session_id,
            access_token=SecretStr(access.token),
            refresh_token=SecretStr(refresh_token),
            expires_at=access.expires_at,
        )
