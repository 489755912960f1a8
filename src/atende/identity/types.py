"""GraphQL types of the identity module: the viewer, users, organizations, memberships,
sessions, and the typed results of the identity mutations (``identity.mutations``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from atende.db.queries import load_queries
from atende.errors import Refusal
from atende.graphql.context import Context, Info
from atende.graphql.results import UserError, refusal_result
from atende.identity import errors
from atende.identity.models import IssuedSession

queries = load_queries("identity")


@strawberry.enum(
    description=(
        "What a member may do in an organization. OWNER: everything, including making and "
        "removing owners. ADMIN: manages members and settings, but cannot demote or remove "
        "an owner. AGENT: works conversations."
    )
)
class MembershipRole(Enum):
    # owner: everything, including making and removing owners; admin: manages members and
    # settings, but cannot demote or remove an owner; agent: works conversations.
    OWNER = "owner"
    ADMIN = "admin"
    AGENT = "agent"


@strawberry.type(description="A person who can sign in to Atende.")
class User:
    id: strawberry.ID = strawberry.field(description="The user's id (Supabase Auth's user id).")
    email: str = strawberry.field(description="The address the user signs in with (lowercase).")
    full_name: str = strawberry.field(description="The name teammates see.")
    email_verified: bool = strawberry.field(
        description=(
            "True once the person followed a link mailed to this address (verification, "
            "invitation or password reset). Until then, `resendVerificationEmail`."
        )
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> User:
        return cls(
            id=strawberry.ID(str(row["id"])),
            email=row["email"],
            full_name=row["full_name"],
            email_verified=row["email_verified"],
        )


@strawberry.type(description="A business using Atende: the tenant everything belongs to.")
class OrganizationBase:
    """Identity's part of ``Organization``. The schema's ``Organization`` adds the other
    domains' fields to it (``atende.api.organization``); fields here that return an
    organization name that one, lazily, so identity imports no other domain."""

    id: strawberry.ID = strawberry.field(description="The organization's id.")
    name: str = strawberry.field(description="The business's name, as its team sees it.")
    created_at: datetime = strawberry.field(description="When the organization registered.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> OrganizationBase:
        return cls(id=strawberry.ID(str(row["id"])), name=row["name"], created_at=row["created_at"])

    @strawberry.field(
        description="Everyone in the organization with their role, owners first, then by name."
    )
    async def members(self, info: Info) -> list[Membership]:
        if info.context.caller.user_id is None:
            return []
        return await members_loader(info.context).load(UUID(str(self.id)))

    @strawberry.field(
        description=(
            "Invitations to the organization, newest first (owners and admins; empty for "
            "agents), whatever their status."
        )
    )
    async def invitations(self, info: Info) -> list[Invitation]:
        if info.context.caller.user_id is None:
            return []
        return await invitations_loader(info.context).load(UUID(str(self.id)))


if TYPE_CHECKING:
    OrganizationType = OrganizationBase
else:
    #: The schema's ``Organization``: these fields and the other domains' (composed in
    #: the API assembly, which imports every domain; a name resolved lazily keeps identity
    #: apart from them). Resolvers return an ``OrganizationBase``: the composed type adds
    #: resolvers only, and they read nothing but the organization's ``id``.
    OrganizationType = Annotated["Organization", strawberry.lazy("atende.api.organization")]  # noqa: F821


@strawberry.type(description="A user's place in an organization: who, where, and their role.")
class Membership:
    id: strawberry.ID = strawberry.field(description="The membership's id.")
    role: MembershipRole = strawberry.field(description="What the member may do.")
    created_at: datetime = strawberry.field(description="When the member joined.")
    organization_id: strawberry.Private[UUID]
    user_id: strawberry.Private[UUID]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Membership:
        return cls(
            id=strawberry.ID(str(row["id"])),
            role=MembershipRole(row["role"]),
            created_at=row["created_at"],
            organization_id=row["organization_id"],
            user_id=row["user_id"],
        )

    @strawberry.field(description="The organization.")
    async def organization(self, info: Info) -> OrganizationType:
        organization = await organization_loader(info.context).load(self.organization_id)
        if organization is None:  # RLS shows a membership only with its organization
            raise LookupError("membership without a visible organization")
        return organization

    @strawberry.field(description="The member.")
    async def user(self, info: Info) -> User:
        user = await user_loader(info.context).load(self.user_id)
        if user is None:  # RLS shows teammates' profiles with their memberships
            raise LookupError("membership without a visible user")
        return user


@strawberry.enum(description="Where an invitation stands.")
class InvitationStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Its link works.")
    EXPIRED = strawberry.enum_value(
        "expired", description="Its link no longer works; invite again to send a new one."
    )
    ACCEPTED = strawberry.enum_value("accepted", description="The person is a member.")
    REVOKED = strawberry.enum_value("revoked", description="Revoked before it was accepted.")


@strawberry.type(
    description=(
        "An address invited into an organization with a role. Its link was mailed to the "
        "address; the membership starts when the person accepts."
    )
)
class Invitation:
    id: strawberry.ID = strawberry.field(description="The invitation's id.")
    email: str = strawberry.field(description="The invited address (lowercase).")
    role: MembershipRole = strawberry.field(description="The role the person gets on accepting.")
    status: InvitationStatus = strawberry.field(description="Where the invitation stands.")
    created_at: datetime = strawberry.field(description="When the address was first invited.")
    sent_at: datetime = strawberry.field(
        description="When the link was last mailed (inviting again sends a new one)."
    )
    expires_at: datetime = strawberry.field(description="When the link stops working.")
    accepted_at: datetime | None = strawberry.field(description="When it was accepted.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked.")
    organization_id: strawberry.Private[UUID]
    invited_by_id: strawberry.Private[UUID | None]

    @classmethod
    def from_row(cls, row: dict[str, Any], now: datetime) -> Invitation:
        if row["accepted_at"] is not None:
            status = InvitationStatus.ACCEPTED
        elif row["revoked_at"] is not None:
            status = InvitationStatus.REVOKED
        elif row["expires_at"] <= now:
            status = InvitationStatus.EXPIRED
        else:
            status = InvitationStatus.PENDING
        return cls(
            id=strawberry.ID(str(row["id"])),
            email=row["email"],
            role=MembershipRole(row["role"]),
            status=status,
            created_at=row["created_at"],
            sent_at=row["sent_at"],
            expires_at=row["expires_at"],
            accepted_at=row["accepted_at"],
            revoked_at=row["revoked_at"],
            organization_id=row["organization_id"],
            invited_by_id=row["invited_by"],
        )

    @strawberry.field(description="Who sent it; null when they are no longer a teammate.")
    async def invited_by(self, info: Info) -> User | None:
        if self.invited_by_id is None:
            return None
        return await user_loader(info.context).load(self.invited_by_id)


@strawberry.type(description="The signed-in user and where they belong.")
class Viewer:
    user: User = strawberry.field(description="The signed-in user.")
    memberships: list[Membership] = strawberry.field(
        description="The organizations the user belongs to, oldest membership first."
    )


@strawberry.type(
    description=(
        "Credentials for the API. Send the access token as `Authorization: Bearer <token>`; "
        "before it expires, trade the refresh token for a new session with `refreshSession`."
    )
)
class Session:
    access_token: str = strawberry.field(
        description="A short-lived JWT with Supabase's claims (sub, role, aud, email, exp)."
    )
    refresh_token: str = strawberry.field(
        description="Works once: `refreshSession` returns a new one. Keep it secret."
    )
    expires_at: datetime = strawberry.field(description="When the access token expires.")

    @classmethod
    def from_issued(cls, issued: IssuedSession) -> Session:
        return cls(
            access_token=issued.access_token.get_secret_value(),
            refresh_token=issued.refresh_token.get_secret_value(),
            expires_at=issued.expires_at,
        )


# -- Loaders ---------------------------------------------------------------------------


def organization_loader(context: Context) -> DataLoader[UUID, OrganizationBase | None]:
    """Organizations by id, batched per operation; RLS hides the caller's non-members."""

    async def load(ids: Sequence[UUID]) -> list[OrganizationBase | None]:
        conn = await context.db()
        rows = await (
            await conn.execute(queries["organizations_by_id"], {"ids": list(ids)})
        ).fetchall()
        by_id = {row["id"]: OrganizationBase.from_row(row) for row in rows}
        return [by_id.get(organization_id) for organization_id in ids]

    return context.loader("identity.organizations", lambda: DataLoader(load_fn=load))


def user_loader(context: Context) -> DataLoader[UUID, User | None]:
    """Users by id, batched per operation; RLS shows the caller and their teammates."""

    async def load(ids: Sequence[UUID]) -> list[User | None]:
        conn = await context.db()
        rows = await (await conn.execute(queries["profiles_by_id"], {"ids": list(ids)})).fetchall()
        by_id = {row["id"]: User.from_row(row) for row in rows}
        return [by_id.get(user_id) for user_id in ids]

    return context.loader("identity.users", lambda: DataLoader(load_fn=load))


def members_loader(context: Context) -> DataLoader[UUID, list[Membership]]:
    """The members of organizations by organization id, batched per operation."""

    async def load(ids: Sequence[UUID]) -> list[list[Membership]]:
        conn = await context.db()
        rows = await (
            await conn.execute(queries["members_of_organizations"], {"organization_ids": list(ids)})
        ).fetchall()
        by_organization: dict[UUID, list[Membership]] = {}
        for row in rows:
            by_organization.setdefault(row["organization_id"], []).append(Membership.from_row(row))
        return [by_organization.get(organization_id, []) for organization_id in ids]

    return context.loader("identity.members", lambda: DataLoader(load_fn=load))


def invitations_loader(context: Context) -> DataLoader[UUID, list[Invitation]]:
    """The invitations of organizations by organization id, batched per operation; RLS
    shows them to the organizations' owners and admins."""

    async def load(ids: Sequence[UUID]) -> list[list[Invitation]]:
        conn = await context.db()
        rows = await (
            await conn.execute(
                queries["invitations_of_organizations"], {"organization_ids": list(ids)}
            )
        ).fetchall()
        now = datetime.now(UTC)
        by_organization: dict[UUID, list[Invitation]] = {}
        for row in rows:
            by_organization.setdefault(row["organization_id"], []).append(
                Invitation.from_row(row, now)
            )
        return [by_organization.get(organization_id, []) for organization_id in ids]

    return context.loader("identity.invitations", lambda: DataLoader(load_fn=load))


def invitation_loader(context: Context) -> DataLoader[UUID, Invitation | None]:
    """Invitations by id, batched per operation (owners and admins see them)."""

    async def load(ids: Sequence[UUID]) -> list[Invitation | None]:
        conn = await context.db()
        rows = await (
            await conn.execute(queries["invitations_by_id"], {"ids": list(ids)})
        ).fetchall()
        now = datetime.now(UTC)
        by_id = {row["id"]: Invitation.from_row(row, now) for row in rows}
        return [by_id.get(invitation_id) for invitation_id in ids]

    return context.loader("identity.invitation", lambda: DataLoader(load_fn=load))


def membership_loader(context: Context) -> DataLoader[UUID, Membership | None]:
    """Memberships by id, batched per operation."""

    async def load(ids: Sequence[UUID]) -> list[Membership | None]:
        conn = await context.db()
        rows = await (
            await conn.execute(queries["memberships_by_id"], {"ids": list(ids)})
        ).fetchall()
        by_id = {row["id"]: Membership.from_row(row) for row in rows}
        return [by_id.get(membership_id) for membership_id in ids]

    return context.loader("identity.memberships", lambda: DataLoader(load_fn=load))


# -- Expected failures -------------------------------------------------------------------


@strawberry.type(description="That e-mail already belongs to a user: sign in instead.")
class EmailAlreadyRegistered(UserError):
    pass


@strawberry.type(description="Wrong e-mail or password (the two are not told apart).")
class InvalidCredentials(UserError):
    pass


@strawberry.type(
    description="The refresh token is unknown, expired, signed out or was already used."
)
class InvalidRefreshToken(UserError):
    pass


@strawberry.type(
    description=(
        "The invitation link is unknown, expired, revoked, already accepted, or for another "
        "address."
    )
)
class InvalidInvitation(UserError):
    pass


@strawberry.type(description="The link is unknown, expired or was already used: ask for a new one.")
class InvalidToken(UserError):
    pass


@strawberry.type(
    description=(
        "The invited address already has an Atende account: sign in with it (or reset its "
        "password) and accept again."
    )
)
class InvitationNeedsSignIn(UserError):
    pass


@strawberry.type(description="That person is already a member of the organization.")
class AlreadyMember(UserError):
    pass


@strawberry.type(description="The change would leave the organization without an owner.")
class LastOwner(UserError):
    pass


@strawberry.type(
    description=(
        "The identity provider or the database failed; nothing was kept. Try again shortly."
    )
)
class TemporarilyUnavailable(UserError):
    pass


@strawberry.type(
    description=(
        "Too many attempts at this from the account or the client's address: nothing was "
        "done. Try again after `retryAfterSeconds`."
    )
)
class TooManyAttempts(UserError):
    retry_after_seconds: int = strawberry.field(
        description="Seconds until an attempt is counted afresh (at least 1)."
    )


#: Identity's own refusals; the shared ones map in ``atende.graphql.results``.
_ERROR_TYPES: dict[type[Refusal], type[UserError]] = {
    errors.EmailAlreadyRegistered: EmailAlreadyRegistered,
    errors.InvalidCredentials: InvalidCredentials,
    errors.InvalidRefreshToken: InvalidRefreshToken,
    errors.InvalidInvitation: InvalidInvitation,
    errors.InvalidToken: InvalidToken,
    errors.InvitationNeedsSignIn: InvitationNeedsSignIn,
    errors.AlreadyMember: AlreadyMember,
    errors.LastOwner: LastOwner,
    errors.TemporarilyUnavailable: TemporarilyUnavailable,
}


def user_error(error: Refusal) -> UserError:
    """The typed result for ``error``."""
    if isinstance(error, errors.TooManyAttempts):
        return TooManyAttempts(
            message=error.user_message, retry_after_seconds=error.retry_after_seconds
        )
    return refusal_result(error, _ERROR_TYPES)
