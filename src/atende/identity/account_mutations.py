"""Mutations a person runs on their own account: verify the e-mail, ask for a new
verification link, reset a forgotten password, change a known one (``AccountService``).

Each anonymous one is rate-limited before any lookup; none of them tells whether an
address has an account.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

import strawberry

from atende.errors import Refusal
from atende.graphql.context import Info
from atende.graphql.ids import id_or_none
from atende.graphql.permissions import IsAuthenticated
from atende.graphql.results import ValidationError
from atende.identity.accounts import AccountService
from atende.identity.mutations import identity_service, rate_limiter
from atende.identity.sessions import token_digest
from atende.identity.types import (
    InvalidCredentials,
    InvalidToken,
    Session,
    TemporarilyUnavailable,
    TooManyAttempts,
    user_error,
)


def account_service(info: Info) -> AccountService:
    return AccountService(identity_service(info))


# -- Inputs ------------------------------------------------------------------------------


@strawberry.input(description="The token from the verification link.")
class VerifyEmailInput:
    token: str = strawberry.field(description="The token the link carries.")


@strawberry.input(description="The address of the account whose password was forgotten.")
class RequestPasswordResetInput:
    email: str = strawberry.field(description="The e-mail the account signs in with.")


@strawberry.input(description="The token from the reset link, and the new password.")
class ResetPasswordInput:
    token: str = strawberry.field(description="The token the link carries.")
    password: str = strawberry.field(description="At least 8 characters (at most 72 bytes).")


@strawberry.input(description="The current password, and the new one.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password in use now.")
    new_password: str = strawberry.field(description="At least 8 characters (at most 72 bytes).")


# -- Results -----------------------------------------------------------------------------


@strawberry.type(description="The address is verified.")
class VerifyEmailSuccess:
    email: str = strawberry.field(description="The verified address.")


@strawberry.type(description="The outcome of asking for a new verification link.")
class ResendVerificationEmailSuccess:
    sent: bool = strawberry.field(
        description="True when a new link was mailed; false when the address is verified already."
    )


@strawberry.type(
    description=(
        "When an account has that address, a reset link (valid for 1 hour) is on its way. "
        "The answer is the same for every address."
    )
)
class RequestPasswordResetSuccess:
    message: str = strawberry.field(description="What to tell the person.")


@strawberry.type(description="The password is changed; every earlier session has ended.")
class ResetPasswordSuccess:
    session: Session = strawberry.field(description="A new session, signed in.")


@strawberry.type(description="The password is changed; every other session has ended.")
class ChangePasswordSuccess:
    sessions_ended: int = strawberry.field(description="How many other sessions were ended.")


VerifyEmailResult: TypeAlias = Annotated[
    VerifyEmailSuccess | InvalidToken | TooManyAttempts,
    strawberry.union("VerifyEmailResult", description="The outcome of verifying an e-mail."),
]
ResendVerificationEmailResult: TypeAlias = Annotated[
    ResendVerificationEmailSuccess | TooManyAttempts,
    strawberry.union(
        "ResendVerificationEmailResult",
        description="The outcome of asking for a new verification link.",
    ),
]
RequestPasswordResetResult: TypeAlias = Annotated[
    RequestPasswordResetSuccess | ValidationError | TooManyAttempts,
    strawberry.union(
        "RequestPasswordResetResult", description="The outcome of asking for a password reset."
    ),
]
ResetPasswordResult: TypeAlias = Annotated[
    ResetPasswordSuccess
    | InvalidToken
    | ValidationError
    | TemporarilyUnavailable
    | TooManyAttempts,
    strawberry.union("ResetPasswordResult", description="The outcome of resetting a password."),
]
ChangePasswordResult: TypeAlias = Annotated[
    ChangePasswordSuccess
    | InvalidCredentials
    | ValidationError
    | TemporarilyUnavailable
    | TooManyAttempts,
    strawberry.union("ChangePasswordResult", description="The outcome of changing a password."),
]

RESET_REQUESTED = (
    "Se houver uma conta com este e-mail, enviamos um link para redefinir a senha. "
    "Ele vale por 1 hora."
)


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description=(
            "Verify an e-mail address with the token of the link mailed to it. Unknown, "
            "used and expired tokens get the same answer."
        )
    )
    async def verify_email(
        self,
        info: Info,
        input: Annotated[VerifyEmailInput, strawberry.argument(description="The token.")],
    ) -> VerifyEmailResult:
        try:
            await rate_limiter(info).check(
                "verify_email", account=None, address=info.context.client_address
            )
            email = await account_service(info).verify_email(input.token)
        except Refusal as error:
            result = user_error(error)
            if isinstance(result, InvalidToken | TooManyAttempts):
                return result
            raise
        return VerifyEmailSuccess(email=email)

    @strawberry.mutation(
        description=(
            "Mail a new verification link to the signed-in user's address (earlier links "
            "stop working)."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def resend_verification_email(self, info: Info) -> ResendVerificationEmailResult:
        user_id = info.context.caller.user_id
        assert user_id is not None  # IsAuthenticated
        try:
            await rate_limiter(info).check(
                "resend_verification_email", account=str(user_id), address=None
            )
            sent = await account_service(info).resend_verification(user_id)
        except Refusal as error:
            result = user_error(error)
            if isinstance(result, TooManyAttempts):
                return result
            raise
        return ResendVerificationEmailSuccess(sent=sent)

    @strawberry.mutation(
        description=(
            "Ask for a password reset link for an address. The answer is the same whether "
            "or not an account has it; only an account's owner receives a mail."
        )
    )
    async def request_password_reset(
        self,
        info: Info,
        input: Annotated[
            RequestPasswordResetInput, strawberry.argument(description="The address.")
        ],
    ) -> RequestPasswordResetResult:
        try:
            await rate_limiter(info).check(
                "request_password_reset",
                account=input.email.strip().lower(),
                address=info.context.client_address,
            )
            await account_service(info).request_password_reset(input.email)
        except Refusal as error:
            result = user_error(error)
            if isinstance(result, ValidationError | TooManyAttempts):
                return result
            raise
        return RequestPasswordResetSuccess(message=RESET_REQUESTED)

    @strawberry.mutation(
        description=(
            "Choose a new password with the token of a reset link: every session of the "
            "account ends, and a new one starts. Following the link also verifies the address."
        )
    )
    async def reset_password(
        self,
        info: Info,
        input: Annotated[
            ResetPasswordInput, strawberry.argument(description="The token and new password.")
        ],
    ) -> ResetPasswordResult:
        try:
            await rate_limiter(info).check(
                "reset_password",
                account=token_digest(input.token),
                address=info.context.client_address,
            )
            session = await account_service(info).reset_password(
                token=input.token, password=input.password
            )
        except Refusal as error:
            result = user_error(error)
            if isinstance(
                result,
                InvalidToken | ValidationError | TemporarilyUnavailable | TooManyAttempts,
            ):
                return result
            raise
        return ResetPasswordSuccess(session=Session.from_issued(session))

    @strawberry.mutation(
        description=(
            "Change the signed-in user's password, given the current one. Every other "
            "session of the user ends (this one stays)."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def change_password(
        self,
        info: Info,
        input: Annotated[
            ChangePasswordInput, strawberry.argument(description="The current and new passwords.")
        ],
    ) -> ChangePasswordResult:
        caller = info.context.caller
        user_id = caller.user_id
        assert user_id is not None  # IsAuthenticated
        email = str(caller.claims.get("email") or "")
        session_id = caller.claims.get("session_id")
        try:
            await rate_limiter(info).check(
                "change_password", account=str(user_id), address=info.context.client_address
            )
            ended = await account_service(info).change_password(
                user_id=user_id,
                email=email,
                session_id=id_or_none(session_id) if session_id is not None else None,
                current_password=input.current_password,
                new_password=input.new_password,
            )
        except Refusal as error:
            result = user_error(error)
            if isinstance(
                result,
                InvalidCredentials | ValidationError | TemporarilyUnavailable | TooManyAttempts,
            ):
                return result
            raise
        return ChangePasswordSuccess(sessions_ended=ended)
