"""The channels module's own refusals (``atende.channels.service`` raises them).

Each is an ``atende.errors.Refusal``: its ``user_message`` is what the caller reads
(pt-BR); ``atende.channels.mutations`` maps each to its GraphQL result type. The refusals
every domain shares (``NotFound``, ``Forbidden``, ``InvalidInput``) are ``atende.errors``'.
"""

from __future__ import annotations

from atende.errors import Refusal


class ChannelError(Refusal):
    """The channel operation was refused."""


class ChannelAlreadyExists(ChannelError):
    """This number is already a channel."""

    public_message = "Este número já está cadastrado como canal."


class TemplateAlreadyExists(ChannelError):
    """The channel already has a template with this name and language."""

    public_message = "Este canal já tem um modelo com esse nome e idioma."


class SendRefused(ChannelError):
    """The message cannot be sent; ``reason`` says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"send refused: {reason}", user_message=message)
        self.reason = reason
