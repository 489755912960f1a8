"""Human takeover: a member replies, switches the AI, assigns, closes, reopens, reads.

Each mutation returns a union: its ``…Success`` type, or the refusals that can happen
(``UserError`` implementations, shared with identity's mutations). Refusals commit
nothing. Anonymous callers get an ``UNAUTHENTICATED`` error, as for every mutation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast
from uuid import UUID

import strawberry
from strawberry.file_uploads import Upload

from atende.channels import service as channels
from atende.channels.errors import SendRefused
from atende.channels.mutations import TemplateVariableValueInput, variable_values
from atende.conversations import loaders, service
from atende.conversations.service import Outcome, Refusal
from atende.conversations.types import Conversation, Message
from atende.errors import InvalidInput
from atende.errors import Refusal as RefusalError
from atende.graphql.context import Info
from atende.graphql.ids import parse_id
from atende.graphql.permissions import IsAuthenticated
from atende.graphql.results import NotFound, UserError, ValidationError, refusal_result
from atende.media.errors import InvalidAttachment
from atende.media.service import AttachmentStore, read_attachments
from atende.media.storage import MediaStorage

CONVERSATION_NOT_FOUND = "Conversa não encontrada."


@strawberry.type(description="The conversation is closed: reopen it first.")
class ConversationClosed(UserError):
    pass


@strawberry.type(description="The contact opted out (STOP): nothing can be sent to them.")
class ContactOptedOut(UserError):
    pass


@strawberry.type(
    description="WhatsApp allows free-form messages only within 24 hours of the contact's last"
    " message; outside it, only approved templates."
)
class OutsideCustomerServiceWindow(UserError):
    window_expires_at: datetime | None = strawberry.field(
        description="When the window closed; null when the contact never wrote."
    )


@strawberry.type(
    description="Another conversation with this contact on this channel is already open."
)
class ConversationAlreadyOpen(UserError):
    conversation_id: strawberry.ID = strawberry.field(
        description="The conversation that is open; work there instead."
    )


@strawberry.input(description="A team member's reply.")
class SendMessageInput:
    conversation_id: strawberry.ID = strawberry.field(description="Where to reply.")
    body: str = strawberry.field(
        default="",
        description="The text, up to 4096 characters; required unless a file goes with it"
        " (then it is the file's caption).",
    )
    attachments: list[Upload] | None = strawberry.field(
        default=None,
        description="Files to send with it, as a GraphQL multipart upload: JPEG or PNG"
        " images up to 5 MB, PDF or audio (OGG, MP3, AMR, AAC, M4A) up to 16 MB. WhatsApp"
        " carries one file per message (an SMS channel's MMS up to ten, 5 MB in all). The"
        " customer's WhatsApp fetches it from a signed link that expires.",
    )


@strawberry.input(
    description="An approved template to a phone number: the first message to a customer"
    " who never wrote, or whose 24-hour window closed."
)
class StartConversationInput:
    channel_id: strawberry.ID = strawberry.field(description="The channel to send from.")
    phone_number: str = strawberry.field(
        description="The customer's number, as people write it (`(11) 98765-4321`, without"
        " a country code read as Brazilian) or in E.164 (`+5511987654321`)."
    )
    template_id: strawberry.ID = strawberry.field(
        description="One of the channel's approved templates."
    )
    variables: list[TemplateVariableValueInput] = strawberry.field(
        default_factory=list, description="A value for every placeholder of the template."
    )


@strawberry.input(description="A conversation, and whether its AI answers.")
class SetConversationAiInput:
    conversation_id: strawberry.ID = strawberry.field(description="The conversation's id.")
    enabled: bool = strawberry.field(description="On (true) or off (false).")


@strawberry.input(description="A conversation and the member responsible for it (or none).")
class AssignConversationInput:
    conversation_id: strawberry.ID = strawberry.field(description="The conversation's id.")
    user_id: strawberry.ID | None = strawberry.field(
        description="A member of the organization; null to unassign."
    )


@strawberry.input(description="The conversation to close.")
class CloseConversationInput:
    conversation_id: strawberry.ID = strawberry.field(description="The conversation's id.")


@strawberry.input(description="The conversation to reopen.")
class ReopenConversationInput:
    conversation_id: strawberry.ID = strawberry.field(description="The conversation's id.")


@strawberry.input(description="The conversation to mark read.")
class MarkConversationReadInput:
    conversation_id: strawberry.ID = strawberry.field(description="The conversation's id.")


@strawberry.type(description="The reply is queued for sending, and the AI is paused here.")
class SendMessageSuccess:
    reply: Message = strawberry.field(description="The reply, as queued.")
    conversation: Conversation = strawberry.field(description="The conversation, AI paused.")


@strawberry.type(
    description="The template is queued for sending; the contact and the conversation exist."
)
class StartConversationSuccess:
    conversation: Conversation = strawberry.field(
        description="The conversation with the contact on the channel: the open one, or a"
        " new one (with a new contact when the number was unknown)."
    )
    message: Message = strawberry.field(description="The template's message, as queued.")


@strawberry.type(description="The AI is switched as asked.")
class SetConversationAiSuccess:
    conversation: Conversation = strawberry.field(description="The conversation, as it is now.")


@strawberry.type(description="The conversation has its new assignee (or none).")
class AssignConversationSuccess:
    conversation: Conversation = strawberry.field(description="The conversation, as it is now.")


@strawberry.type(description="The conversation is closed.")
class CloseConversationSuccess:
    conversation: Conversation = strawberry.field(description="The conversation, as it is now.")


@strawberry.type(description="The conversation is open again.")
class ReopenConversationSuccess:
    conversation: Conversation = strawberry.field(description="The conversation, as it is now.")


@strawberry.type(description="Everything in the conversation up to now counts as read, for you.")
class MarkConversationReadSuccess:
    conversation: Conversation = strawberry.field(description="The conversation, as it is now.")


SendMessageResult = Annotated[
    SendMessageSuccess
    | ValidationError
    | NotFound
    | ConversationClosed
    | ContactOptedOut
    | OutsideCustomerServiceWindow,
    strawberry.union("SendMessageResult", description="What `sendMessage` did."),
]
StartConversationResult = Annotated[
    StartConversationSuccess | ContactOptedOut | ValidationError | NotFound,
    strawberry.union("StartConversationResult", description="What `startConversation` did."),
]
SetConversationAiResult = Annotated[
    SetConversationAiSuccess | ValidationError | NotFound,
    strawberry.union("SetConversationAiResult", description="What `setConversationAi` did."),
]
AssignConversationResult = Annotated[
    AssignConversationSuccess | ValidationError | NotFound,
    strawberry.union("AssignConversationResult", description="What `assignConversation` did."),
]
CloseConversationResult = Annotated[
    CloseConversationSuccess | ValidationError | NotFound,
    strawberry.union("CloseConversationResult", description="What `closeConversation` did."),
]
ReopenConversationResult = Annotated[
    ReopenConversationSuccess | ValidationError | NotFound | ConversationAlreadyOpen,
    strawberry.union("ReopenConversationResult", description="What `reopenConversation` did."),
]
MarkConversationReadResult = Annotated[
    MarkConversationReadSuccess | ValidationError | NotFound,
    strawberry.union("MarkConversationReadResult", description="What `markConversationRead` did."),
]


def _conversation_id(value: strawberry.ID) -> UUID | ValidationError:
    try:
        return parse_id(value, "conversationId")
    except InvalidInput as error:
        result = refusal_result(error)
        assert isinstance(result, ValidationError)
        return result


async def _reload(info: Info, conversation_id: UUID) -> Conversation | None:
    """The conversation as it is now, after the change (a fresh read, not the cache)."""
    loader = loaders.conversations(info.context)
    loaders.forget(loader, conversation_id)
    return await loader.load(conversation_id)


async def _changed(info: Info, outcome: Outcome) -> Conversation | NotFound:
    if outcome.refusal is Refusal.NOT_FOUND or outcome.conversation_id is None:
        return NotFound(message=CONVERSATION_NOT_FOUND)
    conversation = await _reload(info, outcome.conversation_id)
    if conversation is None:
        return NotFound(message=CONVERSATION_NOT_FOUND)
    return conversation


@strawberry.type
class ConversationsMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Reply to the contact as yourself. The message goes out through the same"
        " queue and WhatsApp rules as the AI's, and the AI stops answering in this"
        " conversation until someone switches it back on (`setConversationAi`).",
    )
    async def send_message(
        self,
        info: Info,
        input: Annotated[SendMessageInput, strawberry.argument(description="The reply.")],
    ) -> SendMessageResult:
        conversation_id = _conversation_id(input.conversation_id)
        if isinstance(conversation_id, ValidationError):
            return conversation_id
        conn = await info.context.db()
        media: list[dict[str, Any]] = []
        store = AttachmentStore(info.context.get(MediaStorage))  # type: ignore[type-abstract]
        try:
            if input.attachments:
                found = await service.conversation_channel(conn, conversation_id)
                if found is None:
                    return NotFound(message=CONVERSATION_NOT_FOUND)
                organization_id, channel_kind = found
                attachments = await read_attachments(input.attachments, channel_kind)
                media = await store.keep(organization_id, attachments)
            outcome = await service.send_member_message(conn, conversation_id, input.body, media)
        except InvalidAttachment as error:
            result = refusal_result(error)
            assert isinstance(result, ValidationError)
            return result
        except BaseException:
            await store.forget(media)
            raise
        finally:
            for upload in input.attachments or ():
                await cast(Any, upload).close()
        if outcome.refusal is not None:
            await store.forget(media)
            return await _send_refusal(info, conversation_id, outcome.refusal)
        assert outcome.message_id is not None
        conversation = await _reload(info, conversation_id)
        message = await loaders.messages(info.context).load(outcome.message_id)
        if conversation is None or message is None:  # pragma: no cover - just written
            return NotFound(message=CONVERSATION_NOT_FOUND)
        return SendMessageSuccess(reply=message, conversation=conversation)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Reach a customer first (any member, or an API key): send one of the"
        " channel's approved templates to a phone number, making the contact and the"
        " conversation when missing. Allowed outside WhatsApp's 24-hour window; refused"
        " (ContactOptedOut) for a contact who opted out, before anything is made.",
    )
    async def start_conversation(
        self,
        info: Info,
        input: Annotated[
            StartConversationInput,
            strawberry.argument(description="The channel, the number and the template."),
        ],
    ) -> StartConversationResult:
        values = variable_values(input.variables)
        if isinstance(values, ValidationError):
            return values
        try:
            started = await channels.start_conversation(
                await info.context.db(),
                parse_id(input.channel_id, "channelId"),
                input.phone_number,
                parse_id(input.template_id, "templateId"),
                values,
            )
        except SendRefused as error:
            if error.reason == "contact_opted_out":
                return ContactOptedOut(message=error.user_message)
            return ValidationError(message=error.user_message, field="channelId")
        except RefusalError as error:
            result = refusal_result(error)
            assert isinstance(result, ValidationError | NotFound)
            return result
        conversation = await _reload(info, started.conversation_id)
        message = await loaders.messages(info.context).load(started.message_id)
        if conversation is None or message is None:  # pragma: no cover - just written
            return NotFound(message=CONVERSATION_NOT_FOUND)
        return StartConversationSuccess(conversation=conversation, message=message)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Switch the AI on or off in one conversation. Switching it on hands a"
        " conversation the AI had handed off (HANDOFF) back to it (OPEN).",
    )
    async def set_conversation_ai(
        self,
        info: Info,
        input: Annotated[
            SetConversationAiInput,
            strawberry.argument(description="The conversation and the switch."),
        ],
    ) -> SetConversationAiResult:
        parsed = _conversation_id(input.conversation_id)
        if isinstance(parsed, ValidationError):
            return parsed
        outcome = await service.set_ai_enabled(await info.context.db(), parsed, input.enabled)
        result = await _changed(info, outcome)
        if isinstance(result, NotFound):
            return result
        return SetConversationAiSuccess(conversation=result)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Make a member of the organization responsible for the conversation;"
        " `userId: null` unassigns it.",
    )
    async def assign_conversation(
        self,
        info: Info,
        input: Annotated[
            AssignConversationInput,
            strawberry.argument(description="The conversation and its assignee."),
        ],
    ) -> AssignConversationResult:
        parsed = _conversation_id(input.conversation_id)
        if isinstance(parsed, ValidationError):
            return parsed
        assignee: UUID | None = None
        if input.user_id is not None:
            try:
                assignee = UUID(str(input.user_id))
            except ValueError:
                return _not_a_member()
        outcome = await service.assign(await info.context.db(), parsed, assignee)
        if outcome.refusal is Refusal.ASSIGNEE_NOT_A_MEMBER:
            return _not_a_member()
        result = await _changed(info, outcome)
        if isinstance(result, NotFound):
            return result
        return AssignConversationSuccess(conversation=result)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Close the conversation. The contact's next message opens a new one.",
    )
    async def close_conversation(
        self,
        info: Info,
        input: Annotated[
            CloseConversationInput, strawberry.argument(description="The conversation.")
        ],
    ) -> CloseConversationResult:
        parsed = _conversation_id(input.conversation_id)
        if isinstance(parsed, ValidationError):
            return parsed
        result = await _changed(info, await service.close(await info.context.db(), parsed))
        if isinstance(result, NotFound):
            return result
        return CloseConversationSuccess(conversation=result)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Reopen a closed conversation; refused while another conversation with the"
        " same contact on the same channel is open.",
    )
    async def reopen_conversation(
        self,
        info: Info,
        input: Annotated[
            ReopenConversationInput, strawberry.argument(description="The conversation.")
        ],
    ) -> ReopenConversationResult:
        parsed = _conversation_id(input.conversation_id)
        if isinstance(parsed, ValidationError):
            return parsed
        outcome = await service.reopen(await info.context.db(), parsed)
        if outcome.refusal is Refusal.ALREADY_OPEN and outcome.other_conversation_id:
            return ConversationAlreadyOpen(
                message="Já existe uma conversa aberta com este contato neste número.",
                conversation_id=strawberry.ID(str(outcome.other_conversation_id)),
            )
        result = await _changed(info, outcome)
        if isinstance(result, NotFound):
            return result
        return ReopenConversationSuccess(conversation=result)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Mark the conversation read up to now, for you only: its `unreadCount`"
        " counts the contact's messages after this.",
    )
    async def mark_conversation_read(
        self,
        info: Info,
        input: Annotated[
            MarkConversationReadInput, strawberry.argument(description="The conversation.")
        ],
    ) -> MarkConversationReadResult:
        parsed = _conversation_id(input.conversation_id)
        if isinstance(parsed, ValidationError):
            return parsed
        outcome = await service.mark_read(await info.context.db(), parsed)
        result = await _changed(info, outcome)
        if isinstance(result, NotFound):
            return result
        loaders.forget(loaders.unread_counts(info.context), parsed)
        return MarkConversationReadSuccess(conversation=result)


async def _send_refusal(info: Info, conversation_id: UUID, refusal: Refusal) -> SendMessageResult:
    match refusal:
        case Refusal.INVALID_BODY:
            return ValidationError(
                message="A mensagem precisa ter entre 1 e 4096 caracteres.", field="body"
            )
        case Refusal.INVALID_ATTACHMENTS:
            return ValidationError(
                message="Os arquivos não podem ir pelo WhatsApp (tipo, tamanho ou quantidade).",
                field="attachments",
            )
        case Refusal.CONVERSATION_CLOSED:
            return ConversationClosed(message="A conversa está encerrada. Reabra-a para responder.")
        case Refusal.CONTACT_OPTED_OUT:
            return ContactOptedOut(message="O contato pediu para não receber mais mensagens.")
        case Refusal.OUTSIDE_CUSTOMER_SERVICE_WINDOW:
            conversation = await _reload(info, conversation_id)
            return OutsideCustomerServiceWindow(
                message="Já se passaram 24 horas desde a última mensagem do contato:"
                " o WhatsApp só permite modelos aprovados.",
                window_expires_at=conversation.window_expires_at if conversation else None,
            )
        case _:
            return NotFound(message=CONVERSATION_NOT_FOUND)


def _not_a_member() -> ValidationError:
    return ValidationError(
        message="Só é possível atribuir a conversa a um membro da organização.", field="userId"
    )
