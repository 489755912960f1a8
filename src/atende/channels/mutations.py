"""Channel mutations: add, change and disable channels; manage templates; send one.

Each returns a union of its success type and the refusals that can happen (clients
select ``__typename``); refusals change nothing. Anonymous callers get an
``UNAUTHENTICATED`` error. Everything runs in the operation's transaction as the caller.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any
from uuid import UUID

import strawberry

from atende.channels import errors, service
from atende.channels.crypto import TokenCipher
from atende.channels.service import ChannelChanges, NewChannel, TemplateFields
from atende.channels.transport import MessagingTransport
from atende.channels.types import Channel, ChannelKind, ChannelTemplate
from atende.errors import Refusal
from atende.graphql.context import Info
from atende.graphql.ids import parse_id
from atende.graphql.permissions import IsAuthenticated
from atende.graphql.results import ForbiddenResult as Forbidden
from atende.graphql.results import NotFound, UserError, ValidationError, refusal_result

# -- refusals of this module ----------------------------------------------------------------


@strawberry.type(
    description="This Twilio account's number is already a channel (of this or another business)."
)
class ChannelAlreadyExists(UserError):
    pass


@strawberry.type(description="The channel already has a template with this name and language.")
class ChannelTemplateAlreadyExists(UserError):
    pass


@strawberry.enum(description="Why a message cannot be sent.")
class SendRefusalReason(Enum):
    CONTACT_OPTED_OUT = strawberry.enum_value(
        "contact_opted_out", description="The contact opted out (STOP): nothing is sent to them."
    )
    CONVERSATION_CLOSED = strawberry.enum_value(
        "conversation_closed", description="The conversation is closed: reopen it first."
    )
    CHANNEL_DISABLED = strawberry.enum_value(
        "channel_disabled", description="The conversation's channel is disabled."
    )


@strawberry.type(description="The message was not queued; `reason` says why.")
class SendRefused(UserError):
    reason: SendRefusalReason = strawberry.field(description="Why it was refused.")


@strawberry.enum(description="Why Twilio did not confirm a channel's credentials and number.")
class ChannelVerificationFailure(Enum):
    BAD_CREDENTIALS = strawberry.enum_value(
        "bad_credentials",
        description="Twilio refused the Account SID and auth token (or the account is not"
        " active): check them in Twilio's Console.",
    )
    NUMBER_NOT_IN_ACCOUNT = strawberry.enum_value(
        "number_not_in_account",
        description="The credentials work, but the number is not the account's: for SMS, one"
        " of its phone numbers; for WhatsApp, one of its WhatsApp senders or the Sandbox"
        " number (+1 415 523 8886).",
    )
    UNAVAILABLE = strawberry.enum_value(
        "unavailable",
        description="Twilio could not be asked now (unreachable, failing or limiting"
        " requests): nothing was stored; try again shortly.",
    )


@strawberry.type(
    description="Twilio did not confirm the credentials and the number; nothing was stored."
)
class ChannelVerificationFailed(UserError):
    reason: ChannelVerificationFailure = strawberry.field(description="Why.")


#: This module's own refusals; the shared ones map in ``atende.graphql.results``.
_OWN_REFUSALS: dict[type[Refusal], type[UserError]] = {
    errors.ChannelAlreadyExists: ChannelAlreadyExists,
    errors.TemplateAlreadyExists: ChannelTemplateAlreadyExists,
}


def refusal(error: Refusal) -> UserError:
    """The typed result of a refusal."""
    if isinstance(error, errors.SendRefused):
        return SendRefused(message=error.user_message, reason=SendRefusalReason(error.reason))
    if isinstance(error, errors.ChannelVerificationFailed):
        return ChannelVerificationFailed(
            message=error.user_message, reason=ChannelVerificationFailure(error.reason.value)
        )
    return refusal_result(error, _OWN_REFUSALS)


# -- inputs ---------------------------------------------------------------------------------


@strawberry.input(description="A Twilio WhatsApp sender or SMS number for an organization.")
class CreateChannelInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization's id.")
    kind: ChannelKind = strawberry.field(description="WhatsApp sender or SMS number.")
    phone_number: str = strawberry.field(
        description="The number, in any common format; without +, read as Brazilian."
    )
    twilio_account_sid: str = strawberry.field(description="AC... of the Twilio account.")
    twilio_auth_token: str = strawberry.field(
        description="The account's auth token: stored encrypted, never shown again."
    )
    display_name: str | None = strawberry.field(
        default=None, description="A name for the team (at most 120 characters)."
    )


@strawberry.input(description="What to change in a channel; omitted fields stay as they are.")
class UpdateChannelInput:
    channel_id: strawberry.ID = strawberry.field(description="The channel's id.")
    display_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="A new name; null clears it."
    )
    twilio_account_sid: str | None = strawberry.field(
        default=strawberry.UNSET, description="Another Twilio account (AC...)."
    )
    twilio_auth_token: str | None = strawberry.field(
        default=strawberry.UNSET, description="A new auth token (stored encrypted)."
    )
    enabled: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Switch the channel on or off."
    )


@strawberry.input(description="The channel to disable.")
class DisableChannelInput:
    channel_id: strawberry.ID = strawberry.field(description="The channel's id.")


@strawberry.input(description="A template placeholder.")
class TemplateVariableInput:
    key: str = strawberry.field(description='ContentVariables key: "1", "2", ... or a name.')
    name: str = strawberry.field(description="What the value is.")


@strawberry.input(description="An approved template of a channel (from Twilio's Content API).")
class CreateChannelTemplateInput:
    channel_id: strawberry.ID = strawberry.field(description="The channel's id.")
    name: str = strawberry.field(description="What the team calls it (1 to 100 characters).")
    content_sid: str = strawberry.field(description="The approved template's ContentSid (HX...).")
    language: str = strawberry.field(default="pt_BR", description="pt_BR, en, ...")
    variables: list[TemplateVariableInput] = strawberry.field(
        default_factory=list, description="Its placeholders, in order."
    )
    body: str | None = strawberry.field(
        default=None, description="The approved text with {{key}} placeholders, for the history."
    )


@strawberry.input(description="What to change in a template; omitted fields stay.")
class UpdateChannelTemplateInput:
    template_id: strawberry.ID = strawberry.field(description="The template's id.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="A new name.")
    content_sid: str | None = strawberry.field(
        default=strawberry.UNSET, description="Another ContentSid (HX...)."
    )
    language: str | None = strawberry.field(default=strawberry.UNSET, description="pt_BR, en, ...")
    variables: list[TemplateVariableInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Its placeholders, in order (replaces them all)."
    )
    body: str | None = strawberry.field(
        default=strawberry.UNSET, description="The approved text; null clears it."
    )


@strawberry.input(description="The template to remove.")
class DeleteChannelTemplateInput:
    template_id: strawberry.ID = strawberry.field(description="The template's id.")


@strawberry.input(description="A value for a template placeholder.")
class TemplateVariableValueInput:
    key: str = strawberry.field(description="The placeholder's key.")
    value: str = strawberry.field(description="Its value (up to 1,000 characters).")


@strawberry.input(description="Send an approved template in a conversation.")
class SendTemplateInput:
    conversation_id: strawberry.ID = strawberry.field(description="The conversation's id.")
    template_id: strawberry.ID = strawberry.field(
        description="A template of the conversation's channel."
    )
    variables: list[TemplateVariableValueInput] = strawberry.field(
        default_factory=list, description="A value for every placeholder of the template."
    )


# -- results --------------------------------------------------------------------------------


@strawberry.type(description="The channel exists; point its Twilio webhooks at Atende.")
class CreateChannelSuccess:
    channel: Channel = strawberry.field(description="The new channel.")


@strawberry.type(description="The channel is changed.")
class UpdateChannelSuccess:
    channel: Channel = strawberry.field(description="The channel, changed.")


@strawberry.type(description="The channel is disabled: webhooks and sends are refused.")
class DisableChannelSuccess:
    channel: Channel = strawberry.field(description="The channel, disabled.")


@strawberry.type(description="The template is saved.")
class ChannelTemplateSuccess:
    template: ChannelTemplate = strawberry.field(description="The template as saved.")


@strawberry.type(description="The template is gone.")
class DeleteChannelTemplateSuccess:
    template_id: strawberry.ID = strawberry.field(description="The removed template's id.")


@strawberry.type(description="A template message, as queued for sending.")
class TemplateMessage:
    id: strawberry.ID = strawberry.field(description="The message's id.")
    conversation_id: strawberry.ID = strawberry.field(description="Its conversation's id.")
    body: str = strawberry.field(description="The template's text with the values, if known.")
    status: str = strawberry.field(description="Delivery status (queued at first).")
    created_at: datetime = strawberry.field(description="When it was queued.")


@strawberry.type(
    description="The template is queued for sending (also outside the 24-hour window)."
)
class SendTemplateSuccess:
    # Not `message`: every refusal has a `message: String!`, and a client selects both.
    template_message: TemplateMessage = strawberry.field(description="The message, queued.")


CreateChannelResult = Annotated[
    CreateChannelSuccess
    | ValidationError
    | ChannelAlreadyExists
    | NotFound
    | Forbidden
    | ChannelVerificationFailed,
    strawberry.union("CreateChannelResult", description="What `createChannel` did."),
]
UpdateChannelResult = Annotated[
    UpdateChannelSuccess
    | ValidationError
    | NotFound
    | Forbidden
    | ChannelVerificationFailed
    | ChannelAlreadyExists,
    strawberry.union("UpdateChannelResult", description="What `updateChannel` did."),
]
DisableChannelResult = Annotated[
    DisableChannelSuccess | ValidationError | NotFound | Forbidden,
    strawberry.union("DisableChannelResult", description="What `disableChannel` did."),
]
ChannelTemplateResult = Annotated[
    ChannelTemplateSuccess | ValidationError | NotFound | Forbidden | ChannelTemplateAlreadyExists,
    strawberry.union(
        "ChannelTemplateResult", description="What creating or changing a template did."
    ),
]
DeleteChannelTemplateResult = Annotated[
    DeleteChannelTemplateSuccess | ValidationError | NotFound | Forbidden,
    strawberry.union("DeleteChannelTemplateResult", description="What the deletion did."),
]
SendTemplateResult = Annotated[
    SendTemplateSuccess | ValidationError | NotFound | SendRefused,
    strawberry.union("SendTemplateResult", description="What `sendTemplate` did."),
]


def _given(value: Any) -> bool:
    return value is not strawberry.UNSET


def _template_fields(
    input: CreateChannelTemplateInput | UpdateChannelTemplateInput,
) -> TemplateFields:
    """The template's fields as given; on an update, what is left out (``UNSET``) stays."""
    variables = input.variables
    return TemplateFields(
        name=input.name if _given(input.name) else None,
        content_sid=input.content_sid if _given(input.content_sid) else None,
        language=input.language if _given(input.language) else None,
        variables=(
            [(item.key, item.name) for item in variables]
            if _given(variables) and variables is not None
            else None
        ),
        body=input.body if _given(input.body) else None,
        set_body=_given(input.body),
    )


async def create_channel(
    info: Info, input: Annotated[CreateChannelInput, strawberry.argument(description="What to do.")]
) -> CreateChannelResult:
    try:
        row = await service.create_channel(
            await info.context.db(),
            info.context.get(TokenCipher),
            NewChannel(
                organization_id=parse_id(input.organization_id, "organizationId"),
                kind=str(input.kind.value),
                phone_number=input.phone_number,
                twilio_account_sid=input.twilio_account_sid,
                twilio_auth_token=input.twilio_auth_token,
                display_name=input.display_name,
            ),
            verifier=info.context.get(MessagingTransport),  # type: ignore[type-abstract]
        )
    except Refusal as error:
        return refusal(error)  # type: ignore[return-value]
    return CreateChannelSuccess(channel=Channel.from_row(row))


async def update_channel(
    info: Info, input: Annotated[UpdateChannelInput, strawberry.argument(description="What to do.")]
) -> UpdateChannelResult:
    if input.enabled is None or input.twilio_auth_token is None:
        field = "enabled" if input.enabled is None else "twilioAuthToken"
        return ValidationError(message="Não pode ser nulo.", field=field)
    if input.twilio_account_sid is None:
        return ValidationError(message="Não pode ser nulo.", field="twilioAccountSid")
    return await _change_channel(  # type: ignore[return-value]
        info,
        input.channel_id,
        display_name=input.display_name,
        twilio_account_sid=input.twilio_account_sid,
        twilio_auth_token=input.twilio_auth_token,
        enabled=input.enabled,
        success=UpdateChannelSuccess,
    )


async def disable_channel(
    info: Info,
    input: Annotated[DisableChannelInput, strawberry.argument(description="What to do.")],
) -> DisableChannelResult:
    return await _change_channel(  # type: ignore[return-value]
        info,
        input.channel_id,
        display_name=strawberry.UNSET,
        twilio_account_sid=strawberry.UNSET,
        twilio_auth_token=strawberry.UNSET,
        enabled=False,
        success=DisableChannelSuccess,
    )


async def create_channel_template(
    info: Info,
    input: Annotated[CreateChannelTemplateInput, strawberry.argument(description="What to do.")],
) -> ChannelTemplateResult:
    try:
        row = await service.create_template(
            await info.context.db(),
            parse_id(input.channel_id, "channelId"),
            _template_fields(input),
        )
    except Refusal as error:
        return refusal(error)  # type: ignore[return-value]
    return ChannelTemplateSuccess(template=ChannelTemplate.from_row(row))


async def update_channel_template(
    info: Info,
    input: Annotated[UpdateChannelTemplateInput, strawberry.argument(description="What to do.")],
) -> ChannelTemplateResult:
    try:
        row = await service.update_template(
            await info.context.db(),
            parse_id(input.template_id, "templateId"),
            _template_fields(input),
        )
    except Refusal as error:
        return refusal(error)  # type: ignore[return-value]
    return ChannelTemplateSuccess(template=ChannelTemplate.from_row(row))


async def delete_channel_template(
    info: Info,
    input: Annotated[DeleteChannelTemplateInput, strawberry.argument(description="What to do.")],
) -> DeleteChannelTemplateResult:
    try:
        deleted = await service.delete_template(
            await info.context.db(), parse_id(input.template_id, "templateId")
        )
    except Refusal as error:
        return refusal(error)  # type: ignore[return-value]
    return DeleteChannelTemplateSuccess(template_id=strawberry.ID(str(deleted)))


def variable_values(items: list[TemplateVariableValueInput]) -> dict[str, str] | ValidationError:
    """A template's values by key; each key may be given once."""
    values: dict[str, str] = {}
    for item in items:
        if item.key in values:
            return ValidationError(
                message=f"A variável {item.key[:20]} foi dada duas vezes.", field="variables"
            )
        values[item.key] = item.value
    return values


async def send_template(
    info: Info, input: Annotated[SendTemplateInput, strawberry.argument(description="What to do.")]
) -> SendTemplateResult:
    values = variable_values(input.variables)
    if isinstance(values, ValidationError):
        return values
    try:
        row = await service.send_template(
            await info.context.db(),
            parse_id(input.conversation_id, "conversationId"),
            parse_id(input.template_id, "templateId"),
            values,
        )
    except Refusal as error:
        return refusal(error)  # type: ignore[return-value]
    return SendTemplateSuccess(
        template_message=TemplateMessage(
            id=strawberry.ID(str(row["id"])),
            conversation_id=strawberry.ID(str(row["conversation_id"])),
            body=row["body"],
            status=row["status"],
            created_at=row["created_at"],
        )
    )


@strawberry.type
class ChannelsMutation:
    create_channel = strawberry.mutation(
        permission_classes=[IsAuthenticated],
        resolver=create_channel,
        description="Add a Twilio number to an organization (owners, admins); Twilio"
        " confirms first that the credentials work and the number is the account's.",
    )
    update_channel = strawberry.mutation(
        permission_classes=[IsAuthenticated],
        resolver=update_channel,
        description="Change a channel's name, credentials or state; new credentials are"
        " confirmed with Twilio first (a new account SID needs its auth token too).",
    )
    disable_channel = strawberry.mutation(
        permission_classes=[IsAuthenticated],
        resolver=disable_channel,
        description="Stop a channel: its webhooks and sends are refused.",
    )
    create_channel_template = strawberry.mutation(
        permission_classes=[IsAuthenticated],
        resolver=create_channel_template,
        description="Add an approved template to a channel (owners, admins).",
    )
    update_channel_template = strawberry.mutation(
        permission_classes=[IsAuthenticated],
        resolver=update_channel_template,
        description="Change a template (owners, admins).",
    )
    delete_channel_template = strawberry.mutation(
        permission_classes=[IsAuthenticated],
        resolver=delete_channel_template,
        description="Remove a template (owners, admins).",
    )
    send_template = strawberry.mutation(
        permission_classes=[IsAuthenticated],
        resolver=send_template,
        description="Send an approved template in a conversation (any member); allowed"
        " outside WhatsApp's 24-hour window.",
    )


async def _change_channel(
    info: Info,
    channel_id: strawberry.ID,
    *,
    display_name: Any,
    twilio_account_sid: Any,
    twilio_auth_token: Any,
    enabled: Any,
    success: type[UpdateChannelSuccess] | type[DisableChannelSuccess],
) -> UpdateChannelSuccess | DisableChannelSuccess | UserError:
    try:
        parsed: UUID = parse_id(channel_id, "channelId")
        row = await service.update_channel(
            await info.context.db(),
            info.context.get(TokenCipher),
            ChannelChanges(
                channel_id=parsed,
                display_name=display_name if _given(display_name) else None,
                set_display_name=_given(display_name),
                twilio_account_sid=twilio_account_sid if _given(twilio_account_sid) else None,
                twilio_auth_token=twilio_auth_token if _given(twilio_auth_token) else None,
                enabled=enabled if _given(enabled) else None,
            ),
            verifier=info.context.get(MessagingTransport),  # type: ignore[type-abstract]
        )
    except Refusal as error:
        return refusal(error)
    # This process forgets it at once; others within ATENDE_CHANNEL_CACHE_SECONDS.
    info.context.get(MessagingTransport).forget_channel(parsed)  # type: ignore[type-abstract]
    return success(channel=Channel.from_row(row))
