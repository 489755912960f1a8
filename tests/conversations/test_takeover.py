"""Human takeover: a member replies (and the AI pauses), switches the AI, assigns, closes,
reopens; refusals are typed results that change nothing."""

from __future__ import annotations

import uuid

import httpx
import psycopg

from tests.factories import Factory
from tests.graphql.client import data, error_codes, graphql

SEND = """
mutation ($input: SendMessageInput!) {
  sendMessage(input: $input) {
    __typename
    ... on UserError { message }
    ... on ValidationError { field }
    ... on OutsideCustomerServiceWindow { windowExpiresAt }
    ... on SendMessageSuccess {
      reply { body author direction status authorMember { id } }
      conversation { aiEnabled lastMessage { body } }
    }
  }
}
"""


def send(conversation: uuid.UUID, body: str) -> dict[str, object]:
    return {"input": {"conversationId": str(conversation), "body": body}}


async def test_a_members_reply_is_queued_with_its_send_job_and_pauses_the_ai(
    client: httpx.AsyncClient, factory: Factory, database_url: str
) -> None:
    organization = await factory.organization()
    agent = await factory.member(organization)
    conversation = await factory.messaging.conversation(organization)

    result = await data(client, SEND, send(conversation, "Oi! Sou a Paula, da equipe."), user=agent)

    assert result["sendMessage"] == {
        "__typename": "SendMessageSuccess",
        "reply": {
            "body": "Oi! Sou a Paula, da equipe.",
            "author": "MEMBER",
            "direction": "OUTBOUND",
            "status": "QUEUED",
            "authorMember": {"id": str(agent.id)},
        },
        "conversation": {
            "aiEnabled": False,
            "lastMessage": {"body": "Oi! Sou a Paula, da equipe."},
        },
    }
    with psycopg.connect(database_url) as conn:
        jobs = conn.execute(
            "select args->>'message_id' from procrastinate.procrastinate_jobs"
            " where task_name = 'channels:send_message'"
        ).fetchall()
    assert len(jobs) == 1


async def test_replies_are_refused_by_the_whatsapp_rules(
    client: httpx.AsyncClient, factory: Factory, database_url: str
) -> None:
    organization = await factory.organization()
    owner = organization.owner
    stale = await factory.messaging.conversation(organization, inbound_hours_ago=30)
    closed = await factory.messaging.conversation(organization, status="closed")
    opted_out_contact = await factory.messaging.contact(organization, opted_out=True)
    opted_out = await factory.messaging.conversation(organization, contact=opted_out_contact)
    fine = await factory.messaging.conversation(organization)
    outsider = await factory.organization()

    outside = await data(client, SEND, send(stale, "Oi"), user=owner)
    closed_result = await data(client, SEND, send(closed, "Oi"), user=owner)
    opted = await data(client, SEND, send(opted_out, "Oi"), user=owner)
    empty = await data(client, SEND, send(fine, "   "), user=owner)
    too_long = await data(client, SEND, send(fine, "x" * 4097), user=owner)
    not_mine = await data(client, SEND, send(fine, "Oi"), user=outsider.owner)
    not_an_id = await data(
        client, SEND, {"input": {"conversationId": "nope", "body": "Oi"}}, user=owner
    )

    assert outside["sendMessage"]["__typename"] == "OutsideCustomerServiceWindow"
    assert outside["sendMessage"]["windowExpiresAt"] is not None
    assert closed_result["sendMessage"]["__typename"] == "ConversationClosed"
    assert opted["sendMessage"]["__typename"] == "ContactOptedOut"
    assert empty["sendMessage"] == {
        "__typename": "ValidationError",
        "message": "A mensagem precisa ter entre 1 e 4096 caracteres.",
        "field": "body",
    }
    assert too_long["sendMessage"]["__typename"] == "ValidationError"
    assert not_mine["sendMessage"]["__typename"] == "NotFound"
    assert not_an_id["sendMessage"]["__typename"] == "ValidationError"
    with psycopg.connect(database_url) as conn:
        outbound = conn.execute(
            "select count(*) from public.messages where direction = 'outbound'"
        ).fetchone()
        ai_paused = conn.execute(
            "select count(*) from public.conversations where not ai_enabled"
        ).fetchone()
    assert outbound == (0,)
    assert ai_paused == (0,)


async def test_anonymous_callers_cannot_take_over(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    conversation = await factory.messaging.conversation(organization)

    body = await graphql(client, SEND, send(conversation, "Oi"))

    assert error_codes(body) == ["UNAUTHENTICATED"]


CONVERSATION_FIELDS = "conversation { status aiEnabled assignee { id } closedAt }"


async def test_ai_switch_hands_a_handed_off_conversation_back_to_the_bot(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    owner = organization.owner
    conversation = await factory.messaging.conversation(organization, status="handoff")
    mutation = f"""
    mutation ($id: ID!, $enabled: Boolean!) {{
      setConversationAi(input: {{conversationId: $id, enabled: $enabled}}) {{
        __typename ... on SetConversationAiSuccess {{ {CONVERSATION_FIELDS} }}
      }}
    }}
    """

    off = await data(client, mutation, {"id": str(conversation), "enabled": False}, user=owner)
    on = await data(client, mutation, {"id": str(conversation), "enabled": True}, user=owner)

    assert off["setConversationAi"]["conversation"]["aiEnabled"] is False
    assert off["setConversationAi"]["conversation"]["status"] == "HANDOFF"
    assert on["setConversationAi"]["conversation"] == {
        "status": "OPEN",
        "aiEnabled": True,
        "assignee": None,
        "closedAt": None,
    }


async def test_conversations_are_assigned_to_members_only(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    owner = organization.owner
    agent = await factory.member(organization)
    stranger = await factory.user()
    conversation = await factory.messaging.conversation(organization)
    mutation = f"""
    mutation ($id: ID!, $user: ID) {{
      assignConversation(input: {{conversationId: $id, userId: $user}}) {{
        __typename
        ... on ValidationError {{ field }}
        ... on AssignConversationSuccess {{ {CONVERSATION_FIELDS} }}
      }}
    }}
    """
    variables = {"id": str(conversation)}

    assigned = await data(client, mutation, {**variables, "user": str(agent.id)}, user=owner)
    refused = await data(client, mutation, {**variables, "user": str(stranger.id)}, user=owner)
    nonsense = await data(client, mutation, {**variables, "user": "nope"}, user=owner)
    unassigned = await data(client, mutation, {**variables, "user": None}, user=owner)

    assert assigned["assignConversation"]["conversation"]["assignee"] == {"id": str(agent.id)}
    assert refused["assignConversation"] == {"__typename": "ValidationError", "field": "userId"}
    assert nonsense["assignConversation"] == {"__typename": "ValidationError", "field": "userId"}
    assert unassigned["assignConversation"]["conversation"]["assignee"] is None


async def test_close_and_reopen_with_one_open_conversation_per_contact_and_channel(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    owner = organization.owner
    channel = await factory.messaging.channel(organization)
    contact = await factory.messaging.contact(organization)
    first = await factory.messaging.conversation(organization, channel=channel, contact=contact)
    close = f"""
    mutation ($id: ID!) {{
      closeConversation(input: {{conversationId: $id}}) {{
        __typename ... on CloseConversationSuccess {{ {CONVERSATION_FIELDS} }}
      }}
    }}
    """
    reopen = f"""
    mutation ($id: ID!) {{
      reopenConversation(input: {{conversationId: $id}}) {{
        __typename
        ... on ConversationAlreadyOpen {{ message conversationId }}
        ... on ReopenConversationSuccess {{ {CONVERSATION_FIELDS} }}
        ... on NotFound {{ message }}
      }}
    }}
    """

    closed = await data(client, close, {"id": str(first)}, user=owner)
    # The contact writes again: a new conversation opens on the same channel.
    second = await factory.messaging.conversation(organization, channel=channel, contact=contact)
    refused = await data(client, reopen, {"id": str(first)}, user=owner)
    await data(client, close, {"id": str(second)}, user=owner)
    reopened = await data(client, reopen, {"id": str(first)}, user=owner)
    missing = await data(client, reopen, {"id": str(uuid.uuid4())}, user=owner)

    assert closed["closeConversation"]["conversation"]["status"] == "CLOSED"
    assert closed["closeConversation"]["conversation"]["closedAt"] is not None
    assert refused["reopenConversation"] == {
        "__typename": "ConversationAlreadyOpen",
        "message": "Já existe uma conversa aberta com este contato neste número.",
        "conversationId": str(second),
    }
    assert reopened["reopenConversation"]["conversation"]["status"] == "OPEN"
    assert reopened["reopenConversation"]["conversation"]["closedAt"] is None
    assert missing["reopenConversation"] == {
        "__typename": "NotFound",
        "message": "Conversa não encontrada.",
    }
