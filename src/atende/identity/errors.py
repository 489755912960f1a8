"""The expected failures of identity flows.

Each is a typed result in the GraphQL schema (``identity.types``). The docstring is the
message for logs and developers; ``public_message`` is what a user of the product reads
(pt-BR, the first market's language).
"""

from __future__ import annotations

from typing import ClassVar

from atende.errors import AtendeError


class IdentityError(AtendeError):
    """An identity flow did not happen."""

    public_message: ClassVar[str] = "Não foi possível concluir a operação."

    def __init__(self, message: str | None = None, *, user_message: str | None = None) -> None:
        super().__init__(message)
        self.user_message = user_message or self.public_message


class InvalidInput(IdentityError):
    """An input field is invalid."""

    def __init__(self, field: str, user_message: str) -> None:
        super().__init__(f"invalid {field}", user_message=user_message)
        self.field = field


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


class NotFound(IdentityError):
    """No such organization (for this caller) or member."""

    public_message = "Não encontrado."


class Forbidden(IdentityError):
    """The caller's role does not allow this."""

    public_message = "Seu papel nesta organização não permite esta ação."


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
