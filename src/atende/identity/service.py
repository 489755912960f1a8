"""What the identity module does: registration, sessions, invitations, member changes.

Registration and accepting an invitation as a new person create users in the identity
provider, which cannot share the database transaction, so they run as a saga (see the
comment at the top of ``20261207000100_identity.sql``): reserve the user, have the
provider create it, then write the organization's rows; when a step after the reservation
fails, delete the provider's user and forget the reservation. When even that fails, the
reservation stays and the upkeep job (``identity.tasks``) finishes the job. No
organization, membership, profile or user outlives a failed registration.

Invitations run as the platform for an ``actor`` the API authenticated
(``private.invite_member_v2`` applies the role rules to them), because their mail is
queued in the same transaction and only the platform queues mail
(``20261207001100_accounts.sql``). Role changes and removals run in the caller's own
transaction (``Connection`` given by the GraphQL operation), so row-level security and
the role rules in SQL judge them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, LiteralString, TypeVar
from uuid import UUID

import psycopg
from pydantic import SecretStr

from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.errors import Refusal
from atende.identity import errors, mails
from atende.identity.models import (
    AcceptedInvitation,
    IssuedSession,
    MembershipChange,
    NewUser,
    RegisteredOrganization,
    RegisteredUser,
    Registration,
)
from atende.identity.provider import (
    EmailTaken,
    IdentityProvider,
    IdentityProviderError,
    PasswordRejected,
    ProviderUnavailable,
)
from atende.identity.sessions import SessionService, new_secret_token, token_digest
from atende.identity.tokens import TokenService
from atende.identity.validation import (
    MAX_FULL_NAME_LENGTH,
    MAX_ORGANIZATION_NAME_LENGTH,
    normalize_email,
    require_name,
    require_password,
)
from atende.mail.outbox import queue_mail

logger = logging.getLogger("atende.identity")
queries = load_queries("identity")

T = TypeVar("T")

#: A reservation older than this belongs to a flow that died (flows take seconds).
IN_FLIGHT_LIMIT = timedelta(minutes=10)
#: How long after giving up on a provider call its late answer could still arrive.
LATE_ANSWER_LIMIT = timedelta(minutes=1)

REFUSED_BY_PROVIDER = "O provedor de identidade recusou esta senha. Escolha uma senha mais forte."


class IdentityService:
    """One per process, from the process's collaborators (its sessions keep what the
    process knows of sessions being signed in: ``SessionLiveness``)."""

    def __init__(
        self,
        *,
        database: Database,
        provider: IdentityProvider,
        tokens: TokenService,
        refresh_token_ttl: timedelta,
        provider_timeout: float,
        mail_link_base: str,
        session_check_seconds: float = 5.0,
    ) -> None:
        self.database = database
        #: Where the links of account mails point (``Settings.mail_link_base``).
        self.mail_link_base = mail_link_base
        self.provider = provider
        self.sessions = SessionService(
            database, tokens, refresh_token_ttl, check_seconds=session_check_seconds
        )
        self.provider_timeout = provider_timeout

    # -- Registration -------------------------------------------------------------------

    async def register_organization(
        self, *, organization_name: str, full_name: str, email: str, password: str
    ) -> Registration:
        """Create an organization, its owner (a new user) and the owner's first session."""
        organization_name, full_name, email = self.validate_registration(
            organization_name=organization_name,
            full_name=full_name,
            email=email,
            password=password,
        )

        user_id = await self._reserve_user(email, "registration")
        await self._create_provider_user(
            NewUser(
                id=user_id,
                email=email,
                password=SecretStr(password),
                full_name=full_name,
                email_confirmed=True,
            )
        )
        try:
            async with self.database.transaction(Caller.service()) as conn:
                row = await self._fetch_one(
                    conn,
                    queries["register_organization"],
                    {
                        "user_id": user_id,
                        "organization_name": organization_name,
                        "full_name": full_name,
                    },
                )
                session = await self.sessions.start(conn, user_id=user_id, email=email)
                await self.queue_verification_mail(conn, user_id=user_id, full_name=full_name)
        except Exception as error:
            # The user exists and the database has nothing for it: undo the user.
            await self._undo_user(user_id, outcome_known=True)
            raise self._failure(error, "registration") from error
        return Registration(
            organization=RegisteredOrganization(
                id=row["id"], name=row["name"], created_at=row["created_at"]
            ),
            user=RegisteredUser(id=user_id, email=email, full_name=full_name),
            session=session,
        )

    @staticmethod
    def validate_registration(
        *, organization_name: str, full_name: str, email: str, password: str
    ) -> tuple[str, str, str]:
        """The organization's name, the owner's name and e-mail, normalized; ``InvalidInput``
        naming the first field at fault. Costs nothing: checked before the rate limit."""
        organization_name = require_name(
            organization_name, "organizationName", max_length=MAX_ORGANIZATION_NAME_LENGTH
        )
        full_name = require_name(full_name, "fullName", max_length=MAX_FULL_NAME_LENGTH)
        email = normalize_email(email)
        require_password(password)
        return organization_name, full_name, email

    async def queue_verification_mail(
        self, conn: Connection, *, user_id: UUID, full_name: str
    ) -> None:
        """Issue a verification token (earlier ones stop working) and queue its mail, in
        ``conn``'s service transaction."""
        token = new_secret_token()
        row = await self._fetch_one(
            conn,
            queries["issue_account_token"],
            {
                "user_id": user_id,
                "purpose": "verify_email",
                "token_hash": token_digest(token),
                "ttl": mails.VERIFICATION_TTL,
            },
        )
        await queue_mail(
            conn,
            recipient=row["email"],
            kind="verify_email",
            params={"token": token, "full_name": full_name},
            link_base=self.mail_link_base,
        )

    # -- Sessions -------------------------------------------------------------------------

    async def sign_in(self, *, email: str, password: str) -> IssuedSession:
        """A new session when the password is the user's; ``InvalidCredentials`` otherwise.

        A malformed or unknown e-mail and a wrong password are the same failure, and cost
        the same time (the provider compares against a dummy hash).
        """
        try:
            user = await self.provider_call(
                self.provider.verify_password(email.strip().lower(), password)
            )
        except Exception as error:
            logger.warning("sign-in: identity provider unavailable: %s", describe(error))
            raise errors.TemporarilyUnavailable() from error
        if user is None:
            raise errors.InvalidCredentials()
        async with self.database.transaction(Caller.service()) as conn:
            return await self.sessions.start(conn, user_id=user.id, email=user.email)

    async def refresh_session(self, refresh_token: str) -> IssuedSession:
        return await self.sessions.refresh(refresh_token)

    async def sign_out(
        self, *, session_id: UUID | None, user_id: UUID | None, refresh_token: str | None
    ) -> bool:
        """Revoke the caller's session and/or the one ``refresh_token`` belongs to."""
        revoked = False
        if session_id is not None and user_id is not None:
            revoked = await self.sessions.revoke(session_id, user_id=user_id) or revoked
        if refresh_token:
            revoked = await self.sessions.revoke_by_refresh_token(refresh_token) or revoked
        return revoked

    # -- Members --------------------------------------------------------------------------

    async def invite_member(
        self, *, actor: UUID, organization_id: UUID, email: str, role: str
    ) -> UUID:
        """Invite ``email`` into an organization as ``actor`` (or invite again: a new link,
        the old one stops working) and mail the link; returns the invitation's id.

        Nobody becomes a member here, and nothing tells whether the address has an
        account. The mail is queued in the invitation's transaction: both or neither.
        """
        email = normalize_email(email)
        token = new_secret_token()
        try:
            async with self.database.transaction(Caller.service()) as conn:
                row = await self._fetch_one(
                    conn,
                    queries["invite_member"],
                    {
                        "actor": actor,
                        "organization_id": organization_id,
                        "email": email,
                        "role": role,
                        "token_hash": token_digest(token),
                        "ttl": mails.INVITATION_TTL,
                    },
                )
                await queue_mail(
                    conn,
                    recipient=email,
                    kind="invitation",
                    params={
                        "token": token,
                        "role": role,
                        "organization_name": row["organization_name"],
                        "inviter_name": row["inviter_name"],
                    },
                    link_base=self.mail_link_base,
                )
        except psycopg.Error as error:
            raise self._failure(error, "invitation") from error
        invitation_id: UUID = row["invitation_id"]
        return invitation_id

    async def revoke_invitation(self, *, actor: UUID, invitation_id: UUID) -> UUID:
        """Revoke an open invitation as ``actor``: its link stops working."""
        try:
            async with self.database.transaction(Caller.service()) as conn:
                await self._fetch_one(
                    conn,
                    queries["revoke_invitation"],
                    {"actor": actor, "invitation_id": invitation_id},
                )
        except psycopg.Error as error:
            raise self._failure(error, "invitation revocation") from error
        return invitation_id

    async def accept_invitation_signed_in(self, *, token: str, user_id: UUID) -> AcceptedInvitation:
        """Accept an invitation as the signed-in ``user_id``, whose address it was sent to."""
        try:
            async with self.database.transaction(Caller.service()) as conn:
                row = await self._fetch_one(
                    conn,
                    queries["accept_invitation"],
                    {
                        "token_hash": token_digest(token),
                        "user_id": user_id,
                        "new_user_full_name": None,
                    },
                )
                profile = await self._fetch_one(
                    conn, queries["profile_for_account_mail"], {"user_id": user_id}
                )
        except psycopg.Error as error:
            raise self._invitation_failure(error) from error
        return AcceptedInvitation(
            user=RegisteredUser(id=user_id, email=row["email"], full_name=profile["full_name"]),
            membership_id=row["membership_id"],
            organization_id=row["organization_id"],
            role=row["role"],
            session=None,
        )

    async def accept_invitation_as_new_user(
        self, *, token: str, full_name: str, password: str
    ) -> AcceptedInvitation:
        """Accept an invitation as a person new to Atende: their account is created with the
        name and password they chose (a saga, as registration is), and signed in.

        ``InvitationNeedsSignIn`` when the address already has an account.
        """
        token_hash = token_digest(token)
        try:
            async with self.database.transaction(Caller.service()) as conn:
                invited = await self._fetch_one(
                    conn, queries["invitation_email"], {"token_hash": token_hash}
                )
        except psycopg.Error as error:
            raise self._invitation_failure(error) from error
        # The token's holder reads the address: telling them it has an account leaks nothing.
        if invited["has_account"]:
            raise errors.InvitationNeedsSignIn()
        email: str = invited["email"]
        full_name = require_name(full_name, "fullName", max_length=MAX_FULL_NAME_LENGTH)
        require_password(password)

        try:
            user_id = await self._reserve_user(email, "invitation")
            await self._create_provider_user(
                NewUser(
                    id=user_id,
                    email=email,
                    password=SecretStr(password),
                    full_name=full_name,
                    email_confirmed=True,
                )
            )
        except errors.EmailAlreadyRegistered as error:
            raise errors.InvitationNeedsSignIn() from error
        try:
            async with self.database.transaction(Caller.service()) as conn:
                row = await self._fetch_one(
                    conn,
                    queries["accept_invitation"],
                    {"token_hash": token_hash, "user_id": user_id, "new_user_full_name": full_name},
                )
                session = await self.sessions.start(conn, user_id=user_id, email=email)
        except Exception as error:
            await self._undo_user(user_id, outcome_known=True)
            if isinstance(error, psycopg.Error):
                raise self._invitation_failure(error) from error
            raise self._failure(error, "invitation acceptance") from error
        return AcceptedInvitation(
            user=RegisteredUser(id=user_id, email=email, full_name=full_name),
            membership_id=row["membership_id"],
            organization_id=row["organization_id"],
            role=row["role"],
            session=session,
        )

    def _invitation_failure(self, error: psycopg.Error) -> Refusal:
        if error.sqlstate == "PT404":
            return errors.InvalidInvitation()
        return self._failure(error, "invitation acceptance")

    async def update_member_role(
        self, conn: Connection, *, organization_id: UUID, user_id: UUID, role: str
    ) -> MembershipChange:
        row = await self._member_rpc(
            conn,
            queries["update_member_role"],
            {"organization_id": organization_id, "user_id": user_id, "role": role},
        )
        return MembershipChange.model_validate(row)

    async def remove_member(
        self, conn: Connection, *, organization_id: UUID, user_id: UUID
    ) -> MembershipChange:
        row = await self._member_rpc(
            conn,
            queries["remove_member"],
            {"organization_id": organization_id, "user_id": user_id},
        )
        return MembershipChange.model_validate(row)

    # -- Upkeep ---------------------------------------------------------------------------

    async def delete_abandoned_users(self) -> int:
        """Finish the compensation of flows that died or gave up: returns users deleted."""
        async with self.database.transaction(Caller.service()) as conn:
            rows = await (
                await conn.execute(
                    queries["abandoned_pending_users"],
                    {"in_flight_for": IN_FLIGHT_LIMIT, "abandoned_for": LATE_ANSWER_LIMIT},
                )
            ).fetchall()
        deleted = 0
        for row in rows:
            try:
                await self.provider_call(self.provider.delete_user(row["user_id"]))
            except Exception as error:
                logger.warning(
                    "upkeep: could not delete abandoned user %s: %s",
                    row["user_id"],
                    describe(error),
                )
                continue
            await self._release(row["user_id"], abandon=False)
            deleted += 1
        return deleted

    async def purge_account_tokens(self, keep: timedelta) -> int:
        """Delete verification and reset tokens expired for longer than ``keep``."""
        row = await self.database.fetch_one(
            Caller.service(), queries["purge_account_tokens"], {"keep": keep}
        )
        return int(row["purged"]) if row is not None else 0

    # -- Steps ----------------------------------------------------------------------------

    async def _reserve_user(self, email: str, purpose: str) -> UUID:
        try:
            async with self.database.transaction(Caller.service()) as conn:
                row = await self._fetch_one(
                    conn, queries["reserve_user"], {"email": email, "purpose": purpose}
                )
        except psycopg.Error as error:
            raise self._failure(error, purpose) from error
        user_id: UUID = row["user_id"]
        return user_id

    async def _create_provider_user(self, user: NewUser) -> None:
        """Step 2 of the saga; on failure, undo it and raise the caller's error."""
        try:
            await self.provider_call(self.provider.create_user(user))
        except EmailTaken as error:
            await self._undo_user(user.id, outcome_known=True)
            raise errors.EmailAlreadyRegistered() from error
        except PasswordRejected as error:
            await self._undo_user(user.id, outcome_known=True)
            raise errors.InvalidInput("password", REFUSED_BY_PROVIDER) from error
        except Exception as error:
            # Unavailable, timed out, or failed in a way nobody foresaw: the user may exist,
            # or may yet come to exist.
            logger.warning("identity provider could not create a user: %s", describe(error))
            await self._undo_user(user.id, outcome_known=False)
            raise errors.TemporarilyUnavailable() from error

    async def _undo_user(self, user_id: UUID, *, outcome_known: bool) -> None:
        """Compensation: delete the provider's user, then forget its reservation.

        Never raises: what it cannot do now stays recorded for the upkeep job.
        """
        try:
            await self.provider_call(self.provider.delete_user(user_id))
        except Exception as error:
            logger.warning(
                "compensation: could not delete user %s now (%s); the upkeep job will",
                user_id,
                describe(error),
            )
            await self._release(user_id, abandon=True)
            return
        await self._release(user_id, abandon=not outcome_known)

    async def _release(self, user_id: UUID, *, abandon: bool) -> None:
        try:
            async with self.database.transaction(Caller.service()) as conn:
                await conn.execute(
                    queries["release_pending_user"], {"user_id": user_id, "abandon": abandon}
                )
        except psycopg.Error as error:
            logger.warning(
                "compensation: could not release reservation of user %s: %s",
                user_id,
                type(error).__name__,
            )

    async def provider_call(self, call: Awaitable[T]) -> T:
        """A provider call with the configured deadline; a timeout is ``ProviderUnavailable``."""
        try:
            async with asyncio.timeout(self.provider_timeout):
                return await call
        except TimeoutError as error:
            raise ProviderUnavailable(
                f"no answer within {self.provider_timeout:g} seconds"
            ) from error

    async def _member_rpc(
        self, conn: Connection, query: LiteralString, params: dict[str, object]
    ) -> dict[str, Any]:
        """One of the member functions, in a savepoint so a refusal leaves the caller's
        transaction usable; SQL's refusals become ``Refusal``s."""
        try:
            async with conn.transaction():
                return await self._fetch_one(conn, query, params)
        except psycopg.Error as error:
            translated = translate_database_error(error)
            if translated is None:
                raise
            raise translated from error

    @staticmethod
    async def _fetch_one(
        conn: Connection, query: LiteralString, params: dict[str, object]
    ) -> dict[str, Any]:
        row = await (await conn.execute(query, params)).fetchone()
        if row is None:
            raise RuntimeError("the function returned no row")
        return row

    @staticmethod
    def _failure(error: BaseException, flow: str) -> Refusal:
        """The typed error for a failed step: what SQL refused, or "try again"."""
        if isinstance(error, psycopg.Error):
            translated = translate_database_error(error)
            if translated is not None:
                return translated
        logger.error("%s failed and was undone", flow, exc_info=error)
        return errors.TemporarilyUnavailable()


# -- SQL's refusals, as typed errors ------------------------------------------------------

_FORBIDDEN = {
    "only owners and admins can change roles": (
        "Só proprietários e administradores podem mudar papéis."
    ),
    "only an owner can make someone an owner": (
        "Só um proprietário pode tornar alguém proprietário."
    ),
    "only an owner can change an owner's role": (
        "Só um proprietário pode mudar o papel de outro proprietário."
    ),
    "only owners and admins can remove members": (
        "Só proprietários e administradores podem remover membros."
    ),
    "only an owner can remove an owner": "Só um proprietário pode remover outro proprietário.",
    "only owners and admins can invite members": (
        "Só proprietários e administradores podem convidar pessoas."
    ),
    "only an owner can revoke an owner's invitation": (
        "Só um proprietário pode revogar o convite de um proprietário."
    ),
    "only an owner can change an owner's invitation": (
        "Só um proprietário pode mudar o convite de um proprietário."
    ),
}

_NOT_FOUND = {
    "organization not found": "Organização não encontrada.",
    "invitation not found": "Convite não encontrado, ou já aceito ou revogado.",
    "member not found": "Esta pessoa não faz parte da organização.",
}

#: SQL names parameters and columns in snake_case; GraphQL inputs are camelCase.
_FIELDS = {
    "email": "email",
    "full_name": "fullName",
    "organization_name": "organizationName",
}

_CHECKS = {
    "organizations_name_length": "organizationName",
    "profiles_full_name_length": "fullName",
    "profiles_email_format": "email",
}

_EMAIL_TAKEN = {"profiles_email_key", "pending_users_email_key", "users_email_partial_key"}


def translate_database_error(error: psycopg.Error) -> Refusal | None:
    """The typed error for a refusal the identity SQL signals; ``None`` for anything else."""
    diag = error.diag
    message = diag.message_primary or ""
    translated: Refusal | None = None
    match error.sqlstate:
        case "PT403":
            translated = errors.Forbidden(message, user_message=_FORBIDDEN.get(message))
        case "PT404":
            translated = errors.NotFound(message, user_message=_NOT_FOUND.get(message))
        case "PT409" if diag.constraint_name == "organizations_need_an_owner":
            translated = errors.LastOwner(message)
        case "PT409" if diag.constraint_name == "memberships_organization_user_key":
            translated = errors.AlreadyMember(message)
        case "PT503":
            translated = errors.TemporarilyUnavailable(message)
        case "23505" if diag.constraint_name in _EMAIL_TAKEN:
            translated = errors.EmailAlreadyRegistered()
        case "22023" if diag.column_name in _FIELDS:
            translated = errors.InvalidInput(_FIELDS[diag.column_name], _field_message(message))
        case "23514" if diag.constraint_name in _CHECKS:
            translated = errors.InvalidInput(_CHECKS[diag.constraint_name], "Valor inválido.")
    return translated


def describe(error: BaseException) -> str:
    """An error for the log: its own message when Atende wrote it, else only its type (a
    library's message may quote what was sent)."""
    if isinstance(error, IdentityProviderError):
        return error.message
    return type(error).__name__


def _field_message(message: str) -> str:
    if message == "not an e-mail address":
        return "Informe um e-mail válido, como nome@empresa.com.br."
    if message == "must not be empty":
        return "Este campo é obrigatório."
    return "Texto longo demais."
