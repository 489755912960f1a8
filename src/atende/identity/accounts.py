"""What a person does with their own account: verify its e-mail, reset a forgotten
password, change a known one.

Tokens are mailed (``identity.mails``) and kept as digests in ``private.account_tokens``
(``20261207001100_accounts.sql``): one use each, and using one verifies the address it
reached. Resetting or changing a password ends every other session of the user; their
access tokens stop at once in this process and within ``ATENDE_SESSION_CHECK_SECONDS``
in the others (``SessionLiveness``).
"""

from __future__ import annotations

import logging
from uuid import UUID

import psycopg

from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.db.session import Caller
from atende.errors import Refusal
from atende.identity import errors, mails
from atende.identity.models import IssuedSession
from atende.identity.provider import PasswordRejected
from atende.identity.service import REFUSED_BY_PROVIDER, IdentityService, describe
from atende.identity.sessions import new_secret_token, token_digest
from atende.identity.validation import normalize_email, require_password
from atende.mail.outbox import queue_mail

logger = logging.getLogger("atende.identity.accounts")
queries = load_queries("identity")


class AccountService:
    """Verification and passwords, on the identity service's database, provider and
    sessions."""

    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity

    # -- Verified e-mail -------------------------------------------------------------------

    async def verify_email(self, token: str) -> str:
        """Spend a verification token: its address is verified, and returned;
        ``InvalidToken`` for an unknown, used or expired one (one answer for all)."""
        row = await self._use_token(token, "verify_email")
        return str(row["email"])

    async def resend_verification(self, user_id: UUID) -> bool:
        """Mail a new verification link (the earlier ones stop working); False, and no
        mail, when the address is verified already."""
        async with self.identity.database.transaction(Caller.service()) as conn:
            profile = await (
                await conn.execute(queries["profile_for_account_mail"], {"user_id": user_id})
            ).fetchone()
            if profile is None:
                raise errors.NotFound("user not found")
            if profile["email_verified"]:
                return False
            await self.identity.queue_verification_mail(
                conn, user_id=user_id, full_name=profile["full_name"]
            )
        return True

    # -- Passwords -----------------------------------------------------------------------

    async def request_password_reset(self, email: str) -> None:
        """Mail a reset link when an account has this address; the same (nothing) either
        way for the caller, so the answer tells no one whether it has."""
        email = normalize_email(email)
        token = new_secret_token()
        async with self.identity.database.transaction(Caller.service()) as conn:
            row = await (
                await conn.execute(
                    queries["issue_password_reset"],
                    {
                        "email": email,
                        "token_hash": token_digest(token),
                        "ttl": mails.PASSWORD_RESET_TTL,
                    },
                )
            ).fetchone()
            if row is None or row["user_id"] is None:
                return
            profile = await (
                await conn.execute(queries["profile_for_account_mail"], {"user_id": row["user_id"]})
            ).fetchone()
            assert profile is not None  # the token was issued for it
            await queue_mail(
                conn,
                recipient=profile["email"],
                kind="reset_password",
                params={"token": token, "full_name": profile["full_name"]},
                link_base=self.identity.mail_link_base,
            )

    async def reset_password(self, *, token: str, password: str) -> IssuedSession:
        """Choose a new password with a reset token: every session of the user ends and a
        new one starts. ``InvalidToken`` when the token cannot be used."""
        require_password(password)
        row = await self._use_token(token, "reset_password")
        user_id = UUID(str(row["user_id"]))
        try:
            await self.identity.provider_call(
                self.identity.provider.set_password(user_id, password)
            )
        except Exception as error:
            # Give the token back, so the same link works on the next try.
            async with self.identity.database.transaction(Caller.service()) as conn:
                await conn.execute(
                    queries["unuse_account_token"], {"token_hash": token_digest(token)}
                )
            raise self._password_failure(error) from error
        async with self.identity.database.transaction(Caller.service()) as conn:
            ended = await self._end_other_sessions(conn, user_id=user_id, kept=None)
            session = await self.identity.sessions.start(
                conn, user_id=user_id, email=str(row["email"])
            )
        self._forget(ended, user_id)
        return session

    async def change_password(
        self,
        *,
        user_id: UUID,
        email: str,
        session_id: UUID | None,
        current_password: str,
        new_password: str,
    ) -> int:
        """Change the signed-in user's password when ``current_password`` is theirs;
        every other session ends (``session_id``, the caller's, stays). Returns how many
        ended. ``InvalidCredentials`` for a wrong current password."""
        require_password(new_password, field="newPassword")
        provider = self.identity.provider
        try:
            user = await self.identity.provider_call(
                provider.verify_password(email, current_password)
            )
        except Exception as error:
            logger.warning("password change: identity provider unavailable: %s", describe(error))
            raise errors.TemporarilyUnavailable() from error
        if user is None or user.id != user_id:
            raise errors.InvalidCredentials()
        try:
            await self.identity.provider_call(provider.set_password(user_id, new_password))
        except Exception as error:
            raise self._password_failure(error, field="newPassword") from error
        async with self.identity.database.transaction(Caller.service()) as conn:
            ended = await self._end_other_sessions(conn, user_id=user_id, kept=session_id)
        self._forget(ended, user_id)
        return len(ended)

    # -- Steps ----------------------------------------------------------------------------

    async def _use_token(self, token: str, purpose: str) -> dict[str, object]:
        try:
            async with self.identity.database.transaction(Caller.service()) as conn:
                row = await (
                    await conn.execute(
                        queries["use_account_token"],
                        {"token_hash": token_digest(token), "purpose": purpose},
                    )
                ).fetchone()
        except psycopg.Error as error:
            if error.sqlstate == "PT404":
                raise errors.InvalidToken() from error
            raise
        assert row is not None
        return dict(row)

    @staticmethod
    async def _end_other_sessions(
        conn: Connection, *, user_id: UUID, kept: UUID | None
    ) -> list[UUID]:
        rows = await (
            await conn.execute(queries["end_other_sessions"], {"user_id": user_id, "kept": kept})
        ).fetchall()
        return [UUID(str(row["session_id"])) for row in rows]

    def _forget(self, ended: list[UUID], user_id: UUID) -> None:
        """The ended sessions' access tokens stop in this process at once."""
        for session_id in ended:
            self.identity.sessions.liveness.ended(session_id, user_id)

    @staticmethod
    def _password_failure(error: BaseException, field: str = "password") -> Refusal:
        if isinstance(error, PasswordRejected):
            return errors.InvalidInput(field, REFUSED_BY_PROVIDER)
        logger.warning("could not set the password: %s", describe(error))
        return errors.TemporarilyUnavailable()
