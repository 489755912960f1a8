"""The identity provider port: where users and their passwords live.

Two adapters implement it: ``local`` (``auth.users`` in Atende's own database, bcrypt as
Supabase Auth stores it) and ``supabase`` (Supabase Auth's admin API through the official
client). ``ATENDE_IDENTITY_PROVIDER`` chooses one; nothing else in Atende knows which.

A provider may live outside the database transaction, so callers treat every call as a
step of a saga: they reserve the user first and undo the creation when a later step fails
(see ``IdentityService``). ``atende.identity.providers`` opens the configured one.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from atende.errors import AtendeError
from atende.identity.models import AuthenticatedUser, NewUser


class IdentityProviderError(AtendeError):
    """The identity provider failed."""


class EmailTaken(IdentityProviderError):
    """The identity provider already has a user with that e-mail."""


class PasswordRejected(IdentityProviderError):
    """The identity provider refused the password (its own password policy)."""


class ProviderUnavailable(IdentityProviderError):
    """The identity provider could not be reached or answered with an error."""


class IdentityProvider(Protocol):
    """Users and passwords. Every method may raise ``IdentityProviderError``."""

    async def create_user(self, user: NewUser) -> None:
        """Create the user with ``user.id``; ``EmailTaken`` when the e-mail is in use."""

    async def delete_user(self, user_id: UUID) -> None:
        """Delete the user for good. Deleting a user that does not exist succeeds."""

    async def set_password(self, user_id: UUID, password: str) -> None:
        """Set the user's password and mark their e-mail confirmed."""

    async def verify_password(self, email: str, password: str) -> AuthenticatedUser | None:
        """The user when the password is theirs; ``None`` for any mismatch or unknown user."""
