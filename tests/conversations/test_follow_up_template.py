"""The follow-up past the 24-hour window: the agent's follow-up template (an approved
template of the organization, without variables) goes instead of free text, through the
real send job and the Twilio simulator; without one the follow-up is skipped and the
conversation records why. Opted-out customers get nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from atende.channels.sending import Sent
from atende.conversations.tasks import ConversationTasks
from atende.db.session import Caller
from atende.services import Services
from tests.channels.world import (
    TestChannel,
    fetch_one,
    make_channel,
    open_conversation,
    queue_message,
    sender_of,
)
from tests.factories import Factory, ReplyFactory
from tests.graphql.client import data
from tests.reply_fixtures import Inspector
from tests.twilio_fixtures import RunningSimulator

FOLLOW_UP = "Ainda posso te ajudar com alguma coisa?"
CONTENT_SID = "HX" + "d4" * 16
TEMPLATE_BODY = "Oi! Ficou alguma dúvida sobre o seu pedido?"

UPDATE_AGENT = """
mutation ($input: UpdateAgentInput!) {
  updateAgent(input: $input) {
    __typename
    ... on UpdateAgentSuccess { agent { followUpTemplateId } }
    ... on ValidationError { field message }
  }
}
"""


@pytest.fixture
async def channel(sending_services: Services, factory: Factory) -> TestChannel:
    return await make_channel(sending_services, factory)


async def add_template(
    services: Services,
    channel: TestChannel,
    *,
    name: str = "acompanhamento",
    variables: list[dict[str, str]] | None = None,
) -> uuid.UUID:
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
                    json.dumps(variables or []),
                    TEMPLATE_BODY,
                ],
            )
        ).fetchone()
    assert row is not None
    return uuid.UUID(str(row["id"]))


async def quiet_since_yesterday(services: Services, channel: TestChannel, number: str) -> uuid.UUID:
    """A conversation whose last message is the AI's answer, and whose customer last wrote
    25 hours ago: the follow-up (after 10 minutes) falls due outside the window."""
    conversation = await open_conversation(services, channel, phone_number=number)
    await queue_message(services, conversation, "R$ 50. Quer encomendar?")
    async with services.database.as_service() as conn:
        await conn.execute(
            "update public.messages set created_at = created_at - interval '25 hours'"
            " where conversation_id = %s",
            [conversation],
        )
        await conn.execute(
            "update public.conversations set last_message_at = last_message_at"
            " - interval '25 hours', last_inbound_at = last_inbound_at - interval '25 hours'"
            " where id = %s",
            [conversation],
        )
    return conversation


async def follow_up_state(services: Services, conversation: uuid.UUID) -> dict[str, Any]:
    return await fetch_one(
        services,
        "select follow_up_sent_at is not null as sent, follow_up_skipped_at is not null"
        " as skipped, follow_up_skip_reason from public.conversations where id = %s",
        [conversation],
    )


async def test_the_agents_follow_up_template_is_chosen_among_the_organizations_own(
    *, client: httpx.AsyncClient, sending_services: Services, factory: Factory, channel: TestChannel
) -> None:
    owner = channel.organization.owner
    template = await add_template(sending_services, channel)
    with_variables = await add_template(
        sending_services, channel, name="com_nome", variables=[{"key": "1", "name": "nome"}]
    )
    stranger_channel = await make_channel(sending_services, factory)
    strangers = await add_template(sending_services, stranger_channel)

    async def choose(template_id: object) -> dict[str, Any]:
        result = await data(
            client,
            UPDATE_AGENT,
            {
                "input": {
                    "organizationId": str(channel.organization.id),
                    "followUpTemplateId": template_id,
                }
            },
            user=owner,
        )
        answer: dict[str, Any] = result["updateAgent"]
        return answer

    refused = [
        await choose(str(strangers)),
        await choose(str(with_variables)),
        await choose(str(uuid.uuid4())),
        await choose("not-an-id"),
    ]
    chosen = await choose(str(template))

    assert [(r["__typename"], r["field"]) for r in refused] == [
        ("ValidationError", "followUpTemplateId")
    ] * 4
    assert chosen == {
        "__typename": "UpdateAgentSuccess",
        "agent": {"followUpTemplateId": str(template)},
    }
    # Deleting the template turns the setting off; null does too.
    async with sending_services.database.as_service() as conn:
        await conn.execute("delete from public.channel_templates where id = %s", [template])
    agent = await fetch_one(
        sending_services,
        "select follow_up_template_id from public.agents where organization_id = %s",
        [channel.organization.id],
    )
    assert agent["follow_up_template_id"] is None
    assert (await choose(None))["agent"] == {"followUpTemplateId": None}


async def test_a_follow_up_due_past_the_window_sends_the_template(
    *,
    sending_services: Services,
    replies: ReplyFactory,
    tasks: ConversationTasks,
    inspect: Inspector,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
) -> None:
    template = await add_template(sending_services, channel)
    await replies.configure_agent(
        channel.organization.id,
        follow_up_message=FOLLOW_UP,
        follow_up_after_minutes=10,
        follow_up_template_id=template,
    )
    number = "+5521977776666"
    conversation = await quiet_since_yesterday(sending_services, channel, number)

    assert await tasks.send_follow_ups() == 1
    assert await tasks.send_follow_ups() == 0  # once

    follow_up = (await inspect.outbound(conversation))[-1]
    assert (follow_up["author"], follow_up["body"]) == ("ai", TEMPLATE_BODY)
    assert follow_up["metadata"] == {
        "kind": "follow_up",
        "content_sid": CONTENT_SID,
        "content_variables": {},
        "template_id": str(template),
        "template_name": "acompanhamento",
    }
    assert await follow_up_state(sending_services, conversation) == {
        "sent": True,
        "skipped": False,
        "follow_up_skip_reason": None,
    }
    assert isinstance(await sender_of(sending_services).send(follow_up["id"]), Sent)
    [sent] = twilio_simulator.simulator.state.messages(to=channel.address_of(number))
    assert (sent.content_sid, sent.body) == (CONTENT_SID, None)


async def test_another_number_of_the_organization_sends_its_own_copy_of_the_template(
    *,
    sending_services: Services,
    factory: Factory,
    replies: ReplyFactory,
    tasks: ConversationTasks,
    inspect: Inspector,
    channel: TestChannel,
) -> None:
    chosen = await add_template(sending_services, channel)
    second = await make_channel(sending_services, factory, organization=channel.organization)
    copy = await add_template(sending_services, second)  # the same ContentSid and language
    third = await make_channel(sending_services, factory, organization=channel.organization)
    await replies.configure_agent(
        channel.organization.id,
        follow_up_message=FOLLOW_UP,
        follow_up_after_minutes=10,
        follow_up_template_id=chosen,
    )
    on_second = await quiet_since_yesterday(sending_services, second, "+5521977775555")
    on_third = await quiet_since_yesterday(sending_services, third, "+5521977774444")

    assert await tasks.send_follow_ups() == 1

    assert (await inspect.outbound(on_second))[-1]["metadata"]["template_id"] == str(copy)
    assert await follow_up_state(sending_services, on_third) == {
        "sent": False,
        "skipped": True,
        "follow_up_skip_reason": "follow_up_template_not_on_channel",
    }


async def test_without_a_template_the_follow_up_is_skipped_with_its_reason(
    *,
    sending_services: Services,
    replies: ReplyFactory,
    tasks: ConversationTasks,
    inspect: Inspector,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
) -> None:
    await replies.configure_agent(
        channel.organization.id, follow_up_message=FOLLOW_UP, follow_up_after_minutes=10
    )
    conversation = await quiet_since_yesterday(sending_services, channel, "+5521977773333")
    outbound_before = await inspect.outbound(conversation)

    assert await tasks.send_follow_ups() == 0
    assert await tasks.send_follow_ups() == 0

    assert await inspect.outbound(conversation) == outbound_before
    assert await follow_up_state(sending_services, conversation) == {
        "sent": False,
        "skipped": True,
        "follow_up_skip_reason": "no_follow_up_template",
    }
    # Nothing new was queued for Twilio: only the AI's answer's own send job exists.
    jobs = await inspect.jobs("channels:send_message")
    assert [job["args"]["message_id"] for job in jobs] == [str(outbound_before[0]["id"])]

    # A template whose variables were added after it was chosen cannot go either.
    template = await add_template(sending_services, channel)
    await replies.configure_agent(channel.organization.id, follow_up_template_id=template)
    async with sending_services.database.as_service() as conn:
        await conn.execute(
            "update public.channel_templates set variables = %s::jsonb where id = %s",
            [json.dumps([{"key": "1", "name": "nome"}]), template],
        )
    later = await quiet_since_yesterday(sending_services, channel, "+5521977772222")
    assert await tasks.send_follow_ups() == 0
    assert (await follow_up_state(sending_services, later))["follow_up_skip_reason"] == (
        "follow_up_template_has_variables"
    )


async def test_an_opted_out_customer_gets_no_follow_up_template(
    *,
    sending_services: Services,
    replies: ReplyFactory,
    tasks: ConversationTasks,
    inspect: Inspector,
    channel: TestChannel,
) -> None:
    template = await add_template(sending_services, channel)
    await replies.configure_agent(
        channel.organization.id,
        follow_up_message=FOLLOW_UP,
        follow_up_after_minutes=10,
        follow_up_template_id=template,
    )
    conversation = await quiet_since_yesterday(sending_services, channel, "+5521977771111")
    async with sending_services.database.as_service() as conn:
        await conn.execute(
            "update public.contacts set opted_out_at = now() where id ="
            " (select contact_id from public.conversations where id = %s)",
            [conversation],
        )
    before = await inspect.outbound(conversation)

    assert await tasks.send_follow_ups() == 0

    assert await inspect.outbound(conversation) == before
    assert await follow_up_state(sending_services, conversation) == {
        "sent": False,
        "skipped": False,
        "follow_up_skip_reason": None,
    }


async def test_the_customer_writing_again_arms_the_next_follow_up(
    *,
    sending_services: Services,
    replies: ReplyFactory,
    tasks: ConversationTasks,
    inspect: Inspector,
    channel: TestChannel,
) -> None:
    await replies.configure_agent(
        channel.organization.id, follow_up_message=FOLLOW_UP, follow_up_after_minutes=10
    )
    conversation = await quiet_since_yesterday(sending_services, channel, "+5521977770000")
    assert await tasks.send_follow_ups() == 0  # skipped: no template

    # An hour after the skip (moved into the past), the customer wrote, 20 minutes ago;
    # the AI answered, and they went quiet again.
    async with sending_services.database.as_service() as conn:
        await conn.execute(
            "update public.conversations set last_inbound_at = now() - interval '20 minutes',"
            " follow_up_skipped_at = now() - interval '80 minutes' where id = %s",
            [conversation],
        )
    answer = await queue_message(sending_services, conversation, "Temos sim!")
    async with sending_services.database.as_service() as conn:
        await conn.execute(
            "update public.messages set created_at = now() - interval '15 minutes' where id = %s",
            [answer],
        )
        await conn.execute(
            "update public.conversations set last_message_at = now() - interval '15 minutes'"
            " where id = %s",
            [conversation],
        )

    assert await tasks.send_follow_ups() == 1

    follow_up = (await inspect.outbound(conversation))[-1]
    assert (follow_up["body"], follow_up["metadata"]) == (FOLLOW_UP, {"kind": "follow_up"})
    assert (await follow_up_state(sending_services, conversation))["sent"] is True
