"""Sessions: an access token to call the API with, a refresh token to renew it.

Access tokens are short-lived JWTs (``TokenService``) carrying the session's id. Refresh
tokens are random; the database keeps their SHA-256 digest only, rotates them on every
use and revokes the session when a used one comes back (``private.refresh_session_v1``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from uuid import UUID

from pydantic import SecretStr

from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.identity.errors import InvalidRefreshToken
from atende.identity.models import IssuedSession
from atende.identity.tokens import TokenService

queries = load_queries("identity")


def new_secret_token() -> str:
    """A random token for a client to hold (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


class SessionService:
    def __init__(self, database: Database, tokens: TokenService, refresh_ttl: timedelta) -> None:
        self.database = database
        self.tokens = tokens
        self.refresh_ttl = refresh_ttl

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
        return bool(row and row["revoked"])

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
