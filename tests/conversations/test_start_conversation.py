"""startConversation: an approved template to a customer who never wrote, or whose
24-hour window closed, with the contact and conversation made when missing; sent by the
real send job through the Twilio simulator. Refusals make nothing and send nothing, and
free text outside the window still never reaches Twilio."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from atende.channels.sending import Sent
from atende.db.session import Caller
from atende.services import Services
from tests.channels.world import (
    TestChannel,
    fetch_all,
    fetch_one,
    make_channel,
    open_conversation,
    sender_of,
)
from tests.factories import Factory
from tests.graphql.client import data
from tests.identity.test_api_keys import create_key
from tests.twilio_fixtures import RunningSimulator

CONTENT_SID = "HX" + "c3" * 16

START = """
mutation ($input: StartConversationInput!) {
  startConversation(input: $input) {
    __typename
    ... on UserError { message }
    ... on ValidationError { field }
    ... on StartConversationSuccess {
      conversation { id status windowExpiresAt contact { phoneNumber } }
      sent: message { id body author direction status authorMember { id } }
    }
  }
}
"""
SEND = """
mutation ($input: SendMessageInput!) {
  sendMessage(input: $input) { __typename }
}
"""


@pytest.fixture
async def channel(sending_services: Services, factory: Factory) -> TestChannel:
    return await make_channel(sending_services, factory)


async def add_template(
    services: Services,
    channel: TestChannel,
    *,
    name: str = "lembrete",
    variables: list[dict[str, str]] | None = None,
    body: str = "Olá {{1}}, sua consulta é amanhã.",
) -> uuid.UUID:
    variables = [{"key": "1", "name": "nome"}] if variables is None else variables
    async with services.database.transaction(Caller.service()) as conn:
        row = await (
            await conn.execute(
                "insert into public.channel_templates (organization_id, channel_id, name,"
                " content_sid, variables, body) values (%s, %s, %s, %s, %s::jsonb, %s)"
                " returning id",
                [
                    channel.organization.id,
                    channel.id,
                    name,
                    CONTENT_SID,
                    json.dumps(variables),
                    body,
                ],
            )
        ).fetchone()
    assert row is not None
    return uuid.UUID(str(row["id"]))


def start(
    channel: TestChannel | uuid.UUID,
    phone_number: str,
    template: uuid.UUID,
    variables: dict[str, str] | None = None,
) -> dict[str, Any]:
    channel_id = channel.id if isinstance(channel, TestChannel) else channel
    return {
        "input": {
            "channelId": str(channel_id),
            "phoneNumber": phone_number,
            "templateId": str(template),
            "variables": [
                {"key": key, "value": value}
                for key, value in (variables if variables is not None else {"1": "Ana"}).items()
            ],
        }
    }


async def sent_to(simulator: RunningSimulator, channel: TestChannel, number: str) -> list[Any]:
    return list(simulator.simulator.state.messages(to=channel.address_of(number)))


async def counts(services: Services) -> tuple[int, int, int, int]:
    row = await fetch_one(
        services,
        "select (select count(*) from public.contacts) as contacts,"
        " (select count(*) from public.conversations) as conversations,"
        " (select count(*) from public.messages) as messages,"
        " (select count(*) from procrastinate.procrastinate_jobs"
        "  where task_name = 'channels:send_message') as jobs",
    )
    return (row["contacts"], row["conversations"], row["messages"], row["jobs"])


async def test_a_member_starts_a_conversation_with_a_new_number(
    client: httpx.AsyncClient,
    sending_services: Services,
    factory: Factory,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
) -> None:
    template = await add_template(sending_services, channel)
    agent = await factory.member(channel.organization, role="agent")

    result = await data(client, START, start(channel, "(21) 98765-4321", template), user=agent)

    started = result["startConversation"]
    assert started["__typename"] == "StartConversationSuccess", started
    assert started["conversation"]["contact"] == {"phoneNumber": "+5521987654321"}
    assert started["conversation"]["status"] == "OPEN"
    assert started["conversation"]["windowExpiresAt"] is None  # the customer never wrote
    assert started["sent"] == {
        "id": started["sent"]["id"],
        "body": "Olá Ana, sua consulta é amanhã.",
        "author": "MEMBER",
        "direction": "OUTBOUND",
        "status": "QUEUED",
        "authorMember": {"id": str(agent.id)},
    }
    contact = await fetch_one(
        sending_services,
        "select organization_id, opted_out_at from public.contacts where phone_number = %s",
        ["+5521987654321"],
    )
    assert (contact["organization_id"], contact["opted_out_at"]) == (channel.organization.id, None)

    message_id = uuid.UUID(started["sent"]["id"])
    jobs = await fetch_all(
        sending_services,
        "select args from procrastinate.procrastinate_jobs"
        " where task_name = 'channels:send_message'",
    )
    assert jobs == [{"args": {"message_id": str(message_id)}}]
    outcome = await sender_of(sending_services).send(message_id)

    assert isinstance(outcome, Sent)
    [sent] = await sent_to(twilio_simulator, channel, "+5521987654321")
    assert (sent.from_, sent.content_sid, sent.content_variables, sent.body) == (
        channel.address,
        CONTENT_SID,
        {"1": "Ana"},
        None,
    )


async def test_an_existing_contact_whose_window_closed_gets_the_template_in_their_conversation(
    client: httpx.AsyncClient,
    sending_services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
) -> None:
    template = await add_template(sending_services, channel)
    number = "+5531991234567"
    conversation = await open_conversation(
        sending_services, channel, phone_number=number, inbound_hours_ago=48
    )
    before = await counts(sending_services)

    result = await data(
        client,
        START,
        start(channel, "31 99123-4567", template, {"1": "Bruno"}),
        user=channel.organization.owner,
    )

    started = result["startConversation"]
    assert started["__typename"] == "StartConversationSuccess", started
    assert started["conversation"]["id"] == str(conversation)  # the open one, reused
    assert started["conversation"]["windowExpiresAt"] is not None
    assert await counts(sending_services) == (before[0], before[1], before[2] + 1, before[3] + 1)
    assert isinstance(
        await sender_of(sending_services).send(uuid.UUID(started["sent"]["id"])), Sent
    )
    [sent] = await sent_to(twilio_simulator, channel, number)
    assert (sent.content_sid, sent.content_variables) == (CONTENT_SID, {"1": "Bruno"})


async def test_free_text_outside_the_window_is_refused_and_nothing_reaches_twilio(
    client: httpx.AsyncClient,
    sending_services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
) -> None:
    template = await add_template(sending_services, channel)
    owner = channel.organization.owner
    number = "+5541988887777"
    started = (await data(client, START, start(channel, number, template), user=owner))[
        "startConversation"
    ]
    conversation = started["conversation"]["id"]
    stale = await open_conversation(sending_services, channel, inbound_hours_ago=30)
    before = await counts(sending_services)

    # The customer never wrote (no window at all), and another whose window closed.
    refused = [
        await data(client, SEND, {"input": {"conversationId": str(c), "body": "Oi!"}}, user=owner)
        for c in (conversation, stale)
    ]

    assert [r["sendMessage"]["__typename"] for r in refused] == [
        "OutsideCustomerServiceWindow",
        "OutsideCustomerServiceWindow",
    ]
    assert await counts(sending_services) == before  # no message, no send job
    assert isinstance(
        await sender_of(sending_services).send(uuid.UUID(started["sent"]["id"])), Sent
    )
    # Twilio got the template and nothing else.
    assert [m.content_sid for m in twilio_simulator.simulator.state.messages()] == [CONTENT_SID]


async def test_refusals_make_nothing_and_send_nothing(
    client: httpx.AsyncClient,
    sending_services: Services,
    factory: Factory,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
) -> None:
    template = await add_template(sending_services, channel)
    owner = channel.organization.owner
    opted_out_number = "+5511955554444"
    await open_conversation(
        sending_services,
        channel,
        phone_number=opted_out_number,
        inbound_hours_ago=None,
        opted_out=True,
    )
    # Another channel of the same organization, and its template: not this channel's.
    other_channel = await make_channel(sending_services, factory, organization=channel.organization)
    other_template = await add_template(sending_services, other_channel, name="outro")
    # Another organization's channel, with an approved template.
    stranger_channel = await make_channel(sending_services, factory)
    stranger_template = await add_template(sending_services, stranger_channel)
    disabled = await make_channel(
        sending_services, factory, organization=channel.organization, enabled=False
    )
    disabled_template = await add_template(sending_services, disabled)
    new_number = "+5511944443333"
    before = await counts(sending_services)

    async def attempt(variables: dict[str, Any]) -> dict[str, Any]:
        result = await data(client, START, variables, user=owner)
        answer: dict[str, Any] = result["startConversation"]
        return answer

    opted_out = await attempt(start(channel, opted_out_number, template))
    unapproved = await attempt(start(channel, new_number, other_template))
    unknown_template = await attempt(start(channel, new_number, uuid.uuid4()))
    strangers = await attempt(start(stranger_channel, new_number, stranger_template))
    missing_variable = await attempt(start(channel, new_number, template, {}))
    extra_variable = await attempt(start(channel, new_number, template, {"1": "Ana", "2": "x"}))
    bad_number = await attempt(start(channel, "12345", template))
    own_number = await attempt(start(channel, channel.phone_number, template))
    off = await attempt(start(disabled, new_number, disabled_template))
    not_an_id = await attempt(
        {"input": {**start(channel, new_number, template)["input"], "channelId": "nope"}}
    )

    assert opted_out["__typename"] == "ContactOptedOut"
    assert (unapproved["__typename"], unapproved["field"]) == ("ValidationError", "templateId")
    assert unknown_template["field"] == "templateId"
    assert strangers["__typename"] == "NotFound"
    assert (missing_variable["field"], extra_variable["field"]) == ("variables", "variables")
    assert "1" in missing_variable["message"]
    assert (bad_number["field"], own_number["field"]) == ("phoneNumber", "phoneNumber")
    assert (off["__typename"], off["field"]) == ("ValidationError", "channelId")
    assert (not_an_id["__typename"], not_an_id["field"]) == ("ValidationError", "channelId")
    # Not even the contact a refused start would have made is left behind.
    assert await counts(sending_services) == before
    assert twilio_simulator.simulator.state.messages() == []

    # A stranger cannot use this organization's channel either.
    stranger = stranger_channel.organization.owner
    hidden = await data(client, START, start(channel, new_number, template), user=stranger)
    assert hidden["startConversation"]["__typename"] == "NotFound"
    assert await counts(sending_services) == before


async def test_an_api_key_starts_a_conversation_for_its_organization_alone(
    client: httpx.AsyncClient, sending_services: Services, factory: Factory, channel: TestChannel
) -> None:
    template = await add_template(sending_services, channel)
    key = await create_key(client, channel.organization, role="AGENT")
    other_key = await create_key(client, await factory.organization(), role="ADMIN")

    started = (
        await data(client, START, start(channel, "+5561991112222", template), user=key.as_user())
    )["startConversation"]
    hidden = (
        await data(
            client, START, start(channel, "+5561991113333", template), user=other_key.as_user()
        )
    )["startConversation"]

    assert started["__typename"] == "StartConversationSuccess", started
    assert started["sent"]["authorMember"] is None
    row = await fetch_one(
        sending_services,
        "select metadata->>'api_key_id' as key from public.messages where id = %s",
        [uuid.UUID(started["sent"]["id"])],
    )
    assert row == {"key": key.id}
    assert hidden["__typename"] == "NotFound"
    assert (
        await fetch_all(
            sending_services,
            "select id from public.contacts where phone_number = '+5561991113333'",
        )
        == []
    )
