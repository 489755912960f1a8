"""Identity mutations: register, sign in and out, refresh, invite, accept, change, remove.

Each returns a union of its success type and the expected failures it can meet; clients
select ``__typename``. Member changes run in the operation's transaction as the caller,
where the SQL functions apply the role rules; sign-in flows act as the platform.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias
from uuid import UUID

import strawberry

from atende.config import Settings
from atende.errors import Refusal
from atende.graphql.context import Info
from atende.graphql.ids import id_or_none
from atende.graphql.permissions import IsAuthenticated
from atende.graphql.results import ForbiddenResult, NotFound, ValidationError
from atende.identity import errors
from atende.identity.rate_limits import RateLimiter
from atende.identity.service import IdentityService
from atende.identity.sessions import token_digest
from atende.identity.types import (
    AlreadyMember,
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidInvitation,
    InvalidRefreshToken,
    Invitation,
    InvitationNeedsSignIn,
    LastOwner,
    Membership,
    MembershipRole,
    OrganizationBase,
    OrganizationType,
    Session,
    TemporarilyUnavailable,
    TooManyAttempts,
    User,
    invitation_loader,
    membership_loader,
    user_error,
)

# -- Inputs ------------------------------------------------------------------------------


@strawberry.input(description="A new business and the person who owns it.")
class RegisterOrganizationInput:
    organization_name: str = strawberry.field(description="The business's name.")
    full_name: str = strawberry.field(description="The owner's name.")
    email: str = strawberry.field(description="The owner's e-mail; they sign in with it.")
    password: str = strawberry.field(description="At least 8 characters (at most 72 bytes).")


@strawberry.input(description="E-mail and password.")
class SignInInput:
    email: str = strawberry.field(description="The e-mail the user registered with.")
    password: str = strawberry.field(description="The user's password.")


@strawberry.input(description="The refresh token to trade for a new session.")
class RefreshSessionInput:
    refresh_token: str = strawberry.field(description="The refresh token of the current session.")


@strawberry.input(description="What to sign out besides the request's own session.")
class SignOutInput:
    refresh_token: str | None = strawberry.field(
        default=None, description="A refresh token whose session to revoke."
    )


@strawberry.input(description="A person to add to an organization, and their role.")
class InviteMemberInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    email: str = strawberry.field(description="The person's e-mail.")
    role: MembershipRole = strawberry.field(default=MembershipRole.AGENT, description="Their role.")


@strawberry.input(
    description=(
        "An invitation token (from the link mailed to the invited address). A person new to "
        "Atende chooses a name and password with it; an existing account accepts signed in "
        "as the invited address, and leaves both out."
    )
)
class AcceptInvitationInput:
    token: str = strawberry.field(description="The invitation token.")
    full_name: str | None = strawberry.field(
        default=None, description="The name teammates see (new accounts)."
    )
    password: str | None = strawberry.field(
        default=None, description="At least 8 characters, at most 72 bytes (new accounts)."
    )


@strawberry.input(description="An invitation to revoke.")
class RevokeInvitationInput:
    invitation_id: strawberry.ID = strawberry.field(description="The invitation.")


@strawberry.input(description="A member of an organization and their new role.")
class UpdateMemberRoleInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    user_id: strawberry.ID = strawberry.field(description="The member.")
    role: MembershipRole = strawberry.field(description="The new role.")


@strawberry.input(description="A member to remove from an organization.")
class RemoveMemberInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    user_id: strawberry.ID = strawberry.field(description="The member.")


# -- Results -----------------------------------------------------------------------------


@strawberry.type(description="The organization exists, its owner is signed in.")
class RegisterOrganizationSuccess:
    organization: OrganizationType = strawberry.field(description="The new organization.")
    user: User = strawberry.field(description="Its owner.")
    session: Session = strawberry.field(description="The owner's first session.")


@strawberry.type(description="Signed in.")
class SignInSuccess:
    session: Session = strawberry.field(description="The new session.")


@strawberry.type(description="A new session replaces the one whose refresh token was used.")
class RefreshSessionSuccess:
    session: Session = strawberry.field(
        description="The new access token and refresh token; the old refresh token is spent."
    )


@strawberry.type(description="The outcome of signing out.")
class SignOutSuccess:
    revoked: bool = strawberry.field(
        description="True when a session was active and is now revoked; false when none was."
    )


@strawberry.type(
    description=(
        "The invitation is recorded and its link mailed to the address (the same answer "
        "whether or not the address has an account). Inviting an address again sends a new "
        "link; the earlier one stops working."
    )
)
class InviteMemberSuccess:
    invitation: Invitation = strawberry.field(description="The invitation, pending.")


@strawberry.type(description="The invitation is revoked: its link no longer works.")
class RevokeInvitationSuccess:
    invitation: Invitation = strawberry.field(description="The revoked invitation.")


@strawberry.type(description="The invitation is accepted: the person is a member.")
class AcceptInvitationSuccess:
    user: User = strawberry.field(description="The person.")
    organization_id: strawberry.ID = strawberry.field(description="The organization joined.")
    role: MembershipRole = strawberry.field(description="Their role in it.")
    session: Session | None = strawberry.field(
        description=(
            "A new account's first session; null when a signed-in account accepted (it "
            "keeps its own)."
        )
    )


@strawberry.type(description="The member has the new role.")
class UpdateMemberRoleSuccess:
    membership: Membership = strawberry.field(description="The changed membership.")


@strawberry.type(description="The member is no longer in the organization.")
class RemoveMemberSuccess:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    user_id: strawberry.ID = strawberry.field(description="The person removed.")


RegisterOrganizationResult: TypeAlias = Annotated[
    RegisterOrganizationSuccess
    | EmailAlreadyRegistered
    | ValidationError
    | TemporarilyUnavailable
    | TooManyAttempts,
    strawberry.union("RegisterOrganizationResult", description="The outcome of registering."),
]
SignInResult: TypeAlias = Annotated[
    SignInSuccess | InvalidCredentials | TemporarilyUnavailable | TooManyAttempts,
    strawberry.union("SignInResult", description="The outcome of signing in."),
]
RefreshSessionResult: TypeAlias = Annotated[
    RefreshSessionSuccess | InvalidRefreshToken | TooManyAttempts,
    strawberry.union("RefreshSessionResult", description="The outcome of refreshing a session."),
]
InviteMemberResult: TypeAlias = Annotated[
    InviteMemberSuccess
    | ValidationError
    | NotFound
    | ForbiddenResult
    | AlreadyMember
    | TemporarilyUnavailable
    | TooManyAttempts,
    strawberry.union("InviteMemberResult", description="The outcome of inviting someone."),
]
RevokeInvitationResult: TypeAlias = Annotated[
    RevokeInvitationSuccess | NotFound | ForbiddenResult,
    strawberry.union(
        "RevokeInvitationResult", description="The outcome of revoking an invitation."
    ),
]
AcceptInvitationResult: TypeAlias = Annotated[
    AcceptInvitationSuccess
    | InvalidInvitation
    | InvitationNeedsSignIn
    | ValidationError
    | TemporarilyUnavailable
    | TooManyAttempts,
    strawberry.union(
        "AcceptInvitationResult", description="The outcome of accepting an invitation."
    ),
]
UpdateMemberRoleResult: TypeAlias = Annotated[
    UpdateMemberRoleSuccess | NotFound | ForbiddenResult | LastOwner,
    strawberry.union("UpdateMemberRoleResult", description="The outcome of changing a role."),
]
RemoveMemberResult: TypeAlias = Annotated[
    RemoveMemberSuccess | NotFound | ForbiddenResult | LastOwner,
    strawberry.union("RemoveMemberResult", description="The outcome of removing a member."),
]


def identity_service(info: Info) -> IdentityService:
    return info.context.get(IdentityService)


def rate_limiter(info: Info) -> RateLimiter:
    """The process's limits, counted in the shared database (``identity.rate_limits``)."""
    return RateLimiter(info.context.database, info.context.get(Settings))


async def load_invitation(info: Info, invitation_id: UUID) -> Invitation:
    invitation = await invitation_loader(info.context).load(invitation_id)
    if invitation is None:  # the caller may see it: they just wrote it
        raise LookupError("invitation not visible after writing it")
    return invitation


async def load_membership(info: Info, membership_id: UUID) -> Membership:
    membership = await membership_loader(info.context).load(membership_id)
    if membership is None:  # the caller just wrote it, in this transaction
        raise LookupError("membership not visible after writing it")
    return membership


_NOT_FOUND = NotFound(message=errors.NotFound.public_message)


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(
        description=(
            "Create an organization and its owner, and sign the owner in; a verification link "
            "is mailed to the owner's address (`verifyEmail`). Atomic: when any step fails, "
            "nothing is kept (not the organization, not the user)."
        )
    )
    async def register_organization(
        self,
        info: Info,
        input: Annotated[
            RegisterOrganizationInput,
            strawberry.argument(description="The organization and its owner."),
        ],
    ) -> RegisterOrganizationResult:
        try:
            # Input that is refused anyway costs nothing and is not counted.
            IdentityService.validate_registration(
                organization_name=input.organization_name,
                full_name=input.full_name,
                email=input.email,
                password=input.password,
            )
            await rate_limiter(info).check(
                "register_organization", account=None, address=info.context.client_address
            )
            registration = await identity_service(info).register_organization(
                organization_name=input.organization_name,
                full_name=input.full_name,
                email=input.email,
                password=input.password,
            )
        except Refusal as error:
            result = user_error(error)
            if isinstance(
                result,
                EmailAlreadyRegistered | ValidationError | TemporarilyUnavailable | TooManyAttempts,
            ):
                return result
            raise
        organization = registration.organization
        return RegisterOrganizationSuccess(
            organization=OrganizationBase(
                id=strawberry.ID(str(organization.id)),
                name=organization.name,
                created_at=organization.created_at,
            ),
            user=User(
                id=strawberry.ID(str(registration.user.id)),
                email=registration.user.email,
                full_name=registration.user.full_name,
                email_verified=False,
            ),
            session=Session.from_issued(registration.session),
        )

    @strawberry.mutation(description="Sign in with e-mail and password.")
    async def sign_in(
        self,
        info: Info,
        input: Annotated[SignInInput, strawberry.argument(description="The credentials.")],
    ) -> SignInResult:
        try:
            await rate_limiter(info).check(
                "sign_in",
                account=input.email.strip().lower(),
                address=info.context.client_address,
            )
            session = await identity_service(info).sign_in(
                email=input.email, password=input.password
            )
        except Refusal as error:
            result = user_error(error)
            if isinstance(result, InvalidCredentials | TemporarilyUnavailable | TooManyAttempts):
                return result
            raise
        return SignInSuccess(session=Session.from_issued(session))

    @strawberry.mutation(
        description=(
            "Trade a refresh token for a new session. Each refresh token works once; using "
            "one again signs its session out everywhere."
        )
    )
    async def refresh_session(
        self,
        info: Info,
        input: Annotated[
            RefreshSessionInput, strawberry.argument(description="The refresh token.")
        ],
    ) -> RefreshSessionResult:
        try:
            await rate_limiter(info).check(
                "refresh_session",
                account=token_digest(input.refresh_token),
                address=info.context.client_address,
            )
            session = await identity_service(info).refresh_session(input.refresh_token)
        except Refusal as error:
            result = user_error(error)
            if isinstance(result, InvalidRefreshToken | TooManyAttempts):
                return result
            raise
        return RefreshSessionSuccess(session=Session.from_issued(session))

    @strawberry.mutation(
        description=(
            "Sign out: revokes the session of the access token sent with the request and/or "
            "the one `refreshToken` belongs to. Access tokens already issued stay valid until "
            "they expire (minutes)."
        )
    )
    async def sign_out(
        self,
        info: Info,
        input: Annotated[
            SignOutInput | None,
            strawberry.argument(
                description="A refresh token to revoke too; without it, only the request's session."
            ),
        ] = None,
    ) -> SignOutSuccess:
        caller = info.context.caller
        session_id = caller.claims.get("session_id")
        revoked = await identity_service(info).sign_out(
            session_id=id_or_none(session_id) if session_id is not None else None,
            user_id=caller.user_id,
            refresh_token=input.refresh_token if input is not None else None,
        )
        return SignOutSuccess(revoked=revoked)

    @strawberry.mutation(
        description=(
            "Invite an address into an organization with a role (owners and admins; only "
            "owners invite owners): the link is mailed to it, and the membership starts when "
            "the person accepts (`acceptInvitation`). Inviting the same address again sends a "
            "new link and updates the role."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def invite_member(
        self,
        info: Info,
        input: Annotated[
            InviteMemberInput, strawberry.argument(description="Who to invite, where, as what.")
        ],
    ) -> InviteMemberResult:
        organization = id_or_none(input.organization_id)
        actor = info.context.caller.user_id
        if organization is None or actor is None:
            return _NOT_FOUND
        try:
            await rate_limiter(info).check("invite_member", account=str(actor), address=None)
            invitation_id = await identity_service(info).invite_member(
                actor=actor,
                organization_id=organization,
                email=input.email,
                role=input.role.value,
            )
        except Refusal as error:
            result = user_error(error)
            if isinstance(
                result,
                ValidationError
                | NotFound
                | ForbiddenResult
                | AlreadyMember
                | TemporarilyUnavailable
                | TooManyAttempts,
            ):
                return result
            raise
        return InviteMemberSuccess(invitation=await load_invitation(info, invitation_id))

    @strawberry.mutation(
        description=(
            "Revoke a pending invitation (owners and admins; only owners revoke an owner's): "
            "its link stops working."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def revoke_invitation(
        self,
        info: Info,
        input: Annotated[RevokeInvitationInput, strawberry.argument(description="The invitation.")],
    ) -> RevokeInvitationResult:
        invitation = id_or_none(input.invitation_id)
        actor = info.context.caller.user_id
        if invitation is None or actor is None:
            return _NOT_FOUND
        try:
            await identity_service(info).revoke_invitation(actor=actor, invitation_id=invitation)
        except Refusal as error:
            result = user_error(error)
            if isinstance(result, NotFound | ForbiddenResult):
                return result
            raise
        return RevokeInvitationSuccess(invitation=await load_invitation(info, invitation))

    @strawberry.mutation(
        description=(
            "Accept an invitation with the token mailed to the invited address. Signed in as "
            "that address: the account joins. Not signed in: a new account is created with "
            "`fullName` and `password` and signed in (`InvitationNeedsSignIn` when the "
            "address already has one)."
        )
    )
    async def accept_invitation(
        self,
        info: Info,
        input: Annotated[
            AcceptInvitationInput,
            strawberry.argument(
                description="The invitation token, and for a new account its name and password."
            ),
        ],
    ) -> AcceptInvitationResult:
        caller = info.context.caller
        try:
            await rate_limiter(info).check(
                "accept_invitation",
                account=token_digest(input.token),
                address=info.context.client_address,
            )
            if caller.user_id is not None:
                accepted = await identity_service(info).accept_invitation_signed_in(
                    token=input.token, user_id=caller.user_id
                )
            else:
                accepted = await identity_service(info).accept_invitation_as_new_user(
                    token=input.token,
                    full_name=input.full_name or "",
                    password=input.password or "",
                )
        except Refusal as error:
            result = user_error(error)
            if isinstance(
                result,
                InvalidInvitation
                | InvitationNeedsSignIn
                | ValidationError
                | TemporarilyUnavailable
                | TooManyAttempts,
            ):
                return result
            raise
        return AcceptInvitationSuccess(
            user=User(
                id=strawberry.ID(str(accepted.user.id)),
                email=accepted.user.email,
                full_name=accepted.user.full_name,
                email_verified=True,
            ),
            organization_id=strawberry.ID(str(accepted.organization_id)),
            role=MembershipRole(accepted.role),
            session=Session.from_issued(accepted.session) if accepted.session else None,
        )

    @strawberry.mutation(
        description=(
            "Change a member's role (owners and admins). Only owners make owners or change "
            "an owner's role; the last owner cannot step down."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def update_member_role(
        self,
        info: Info,
        input: Annotated[
            UpdateMemberRoleInput, strawberry.argument(description="The member and the role.")
        ],
    ) -> UpdateMemberRoleResult:
        organization, member = id_or_none(input.organization_id), id_or_none(input.user_id)
        if organization is None or member is None:
            return _NOT_FOUND
        try:
            change = await identity_service(info).update_member_role(
                await info.context.db(),
                organization_id=organization,
                user_id=member,
                role=input.role.value,
            )
        except Refusal as error:
            result = user_error(error)
            if isinstance(result, NotFound | ForbiddenResult | LastOwner):
                return result
            raise
        return UpdateMemberRoleSuccess(membership=await load_membership(info, change.membership_id))

    @strawberry.mutation(
        description=(
            "Remove a member (owners and admins; only owners remove owners), or leave an "
            "organization by removing yourself. The last owner cannot leave."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def remove_member(
        self,
        info: Info,
        input: Annotated[
            RemoveMemberInput, strawberry.argument(description="The member and the organization.")
        ],
    ) -> RemoveMemberResult:
        organization, member = id_or_none(input.organization_id), id_or_none(input.user_id)
        if organization is None or member is None:
            return _NOT_FOUND
        try:
            change = await identity_service(info).remove_member(
                await info.context.db(), organization_id=organization, user_id=member
            )
        except Refusal as error:
            result = user_error(error)
            if isinstance(result, NotFound | ForbiddenResult | LastOwner):
                return result
            raise
        return RemoveMemberSuccess(
            organization_id=strawberry.ID(str(change.organization_id)),
            user_id=strawberry.ID(str(change.user_id)),
        )
