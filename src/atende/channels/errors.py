"""The channels module's own refusals (``atende.channels.service`` raises them).

Each is an ``atende.errors.Refusal``: its ``user_message`` is what the caller reads
(pt-BR); ``atende.channels.mutations`` maps each to its GraphQL result type. The refusals
every domain shares (``NotFound``, ``Forbidden``, ``InvalidInput``) are ``atende.errors``'.
"""

from __future__ import annotations

from enum import StrEnum

from atende.errors import Refusal


class ChannelError(Refusal):
    """The channel operation was refused."""


class ChannelAlreadyExists(ChannelError):
    """This number of this Twilio account is already a channel."""

    public_message = "Este número desta conta do Twilio já está cadastrado como canal."


class TemplateAlreadyExists(ChannelError):
    """The channel already has a template with this name and language."""

    public_message = "Este canal já tem um modelo com esse nome e idioma."


class SendRefused(ChannelError):
    """The message cannot be sent; ``reason`` says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"send refused: {reason}", user_message=message)
        self.reason = reason


class ChannelVerificationFailure(StrEnum):
    """Why the transport would not confirm that a channel's number is the account's."""

    #: The credentials are wrong (unknown account, wrong token, account not active).
    BAD_CREDENTIALS = "bad_credentials"
    #: The credentials work, but the number is not one of the account's.
    NUMBER_NOT_IN_ACCOUNT = "number_not_in_account"
    #: The transport could not be asked now (unreachable, failing, limiting): try again.
    UNAVAILABLE = "unavailable"


#: What the caller reads for each reason (pt-BR); no credential is ever part of it.
VERIFICATION_MESSAGES = {
    ChannelVerificationFailure.BAD_CREDENTIALS: (
        "O Twilio recusou o Account SID e o auth token: confira-os no Console do Twilio."
    ),
    ChannelVerificationFailure.NUMBER_NOT_IN_ACCOUNT: (
        "Este número não pertence a esta conta do Twilio (para WhatsApp: um remetente"
        " da conta ou o número do Sandbox)."
    ),
    ChannelVerificationFailure.UNAVAILABLE: (
        "Não foi possível falar com o Twilio agora para confirmar o número: tente de novo"
        " em instantes."
    ),
}


class ChannelVerificationFailed(ChannelError):
    """The transport did not confirm the channel's credentials and number; ``reason``
    says why. Nothing was stored."""

    def __init__(self, reason: ChannelVerificationFailure, detail: str | None = None) -> None:
        # ``detail`` is for logs: the transport's error text, never a credential.
        super().__init__(
            f"channel verification failed: {reason.value}" + (f" ({detail})" if detail else ""),
            user_message=VERIFICATION_MESSAGES[reason],
        )
        self.reason = reason
