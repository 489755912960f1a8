"""The expected failures of identity flows.

Each is a typed result in the GraphQL schema (``identity.types``). The docstring is the
message for logs and developers; ``public_message`` is what a user of the product reads
(pt-BR, the first market's language). ``NotFound``, ``Forbidden`` and ``InvalidInput``
are the refusals every domain shares (``atende.errors``).
"""

from __future__ import annotations

from atende.errors import Forbidden, InvalidInput, NotFound, Refusal

__all__ = [
    "AlreadyMember",
    "EmailAlreadyRegistered",
    "Forbidden",
    "IdentityError",
    "InvalidCredentials",
    "InvalidInput",
    "InvalidInvitation",
    "InvalidRefreshToken",
    "InvalidToken",
    "InvitationNeedsSignIn",
    "LastOwner",
    "NotFound",
    "TemporarilyUnavailable",
    "TooManyAttempts",
]


class IdentityError(Refusal):
    """An identity flow did not happen."""


class EmailAlreadyRegistered(IdentityError):
    """That e-mail already belongs to a user."""

    public_message = "Este e-mail já está cadastrado. Entre com sua senha."


class InvalidCredentials(IdentityError):
    """Wrong e-mail or password."""

    public_message = "E-mail ou senha incorretos."


class InvalidRefreshToken(IdentityError):
    """The refresh token is unknown, expired, revoked or was already used."""

    public_message = "Sua sessão expirou. Entre novamente."


class InvalidInvitation(IdentityError):
    """The invitation token is unknown, expired or already accepted."""

    public_message = "Este convite é inválido, expirou ou já foi aceito."


class InvalidToken(IdentityError):
    """The verification or reset token is unknown, expired or already used."""

    public_message = "Este link é inválido, expirou ou já foi usado. Peça um novo."


class InvitationNeedsSignIn(IdentityError):
    """The invited address already has an account: its owner accepts signed in."""

    public_message = (
        "Já existe uma conta com este e-mail. Entre com ela para aceitar o convite "
        "(esqueceu a senha? Peça uma nova)."
    )


class AlreadyMember(IdentityError):
    """That person is already a member of the organization."""

    public_message = "Esta pessoa já faz parte da organização."


class LastOwner(IdentityError):
    """The change would leave the organization without an owner."""

    public_message = "A organização precisa manter pelo menos um proprietário."


class TemporarilyUnavailable(IdentityError):
    """The identity provider or the database failed; nothing was kept."""

    public_message = (
        "Não foi possível concluir agora e nada foi salvo. Tente novamente em instantes."
    )


class TooManyAttempts(IdentityError):
    """Past the rate limit of this action for the account or the client's address."""

    public_message = "Muitas tentativas. Aguarde um pouco e tente novamente."

    def __init__(self, action: str, retry_after_seconds: int) -> None:
        super().__init__(f"too many attempts at {action}")
        self.action = action
        self.retry_after_seconds = retry_after_seconds
