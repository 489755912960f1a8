"""The root of every error Atende raises on purpose, and the refusals every domain shares.

Each module subclasses ``AtendeError`` beside the code that raises; the docstring of a
subclass is its default message, so ``raise SomethingFailed()`` still says something
useful. A ``Refusal`` is an expected failure that changed nothing and that a user of the
product is told about: its ``user_message`` is what they read (pt-BR, the first market's
language). The three every domain meets (``NotFound``, ``Forbidden``, ``InvalidInput``)
live here; ``atende.graphql.results`` maps them to GraphQL results, in one place.
"""

from __future__ import annotations

from typing import ClassVar


class AtendeError(Exception):
    """Atende failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip() or type(self).__name__)

    @property
    def message(self) -> str:
        return str(self.args[0])


class ConfigurationError(AtendeError):
    """The settings are invalid."""


class Refusal(AtendeError):
    """The request was refused; nothing changed."""

    #: What a user reads when no message was given where it was raised.
    public_message: ClassVar[str] = "Não foi possível concluir a operação."

    def __init__(self, message: str | None = None, *, user_message: str | None = None) -> None:
        super().__init__(message)
        self.user_message = user_message or self.public_message


class NotFound(Refusal):
    """No such object among the caller's organizations."""

    public_message = "Não encontrado."


class Forbidden(Refusal):
    """The caller's role does not allow this."""

    public_message = "Seu papel nesta organização não permite esta ação."


class InvalidInput(Refusal):
    """An input field is invalid; ``field`` names it as the API does (``phoneNumber``)."""

    def __init__(self, field: str, user_message: str) -> None:
        super().__init__(f"invalid {field}", user_message=user_message)
        self.field = field
