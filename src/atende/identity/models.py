"""The identity module's data: what flows between the service, the providers and GraphQL."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, SecretStr


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class NewUser(_Model):
    """A user the identity provider is asked to create, with the id chosen by Atende.

    Choosing the id up front is what lets a failed or timed-out creation be undone: the
    compensation knows which user to delete even when the provider never answered.
    """

    id: UUID
    email: str
    #: None for invited users, who choose theirs when they accept.
    password: SecretStr | None
    full_name: str
    email_confirmed: bool


class AuthenticatedUser(_Model):
    """A user whose password the provider just checked."""

    id: UUID
    email: str


class IssuedSession(_Model):
    """What a client keeps after signing in: ``Session`` in the GraphQL schema."""

    session_id: UUID
    access_token: SecretStr
    refresh_token: SecretStr
    expires_at: datetime


class RegisteredUser(_Model):
    id: UUID
    email: str
    full_name: str


class RegisteredOrganization(_Model):
    id: UUID
    name: str
    created_at: datetime


class Registration(_Model):
    organization: RegisteredOrganization
    user: RegisteredUser
    session: IssuedSession


class AcceptedInvitation(_Model):
    """A membership that started; ``session`` when the person was new to Atende (a
    signed-in account keeps its own)."""

    user: RegisteredUser
    membership_id: UUID
    organization_id: UUID
    role: str
    session: IssuedSession | None


class MembershipChange(_Model):
    membership_id: UUID
    organization_id: UUID
    user_id: UUID
