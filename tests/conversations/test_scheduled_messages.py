"""Scheduled sends: a message scheduled through GraphQL goes out once, when due, through the
real send pipeline (a Procrastinate worker on the ``sends`` queue, Twilio's simulator);
what the rules forbid by then is skipped with the reason; cancelling, validation and other
organizations' conversations are refused.

"When due" without waiting: a test moves a scheduled message's time (and its job's) into
the past, as the platform, then runs the worker until nothing due is left.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import procrastinate
import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from atende.conversations import scheduling
from atende.db.session import Caller
from atende.queue import app as queue_app
from atende.services import Services
from tests import factories
from tests.channels.world import TestChannel, fetch_all, fetch_one, make_channel, open_conversation
from tests.factories import Factory
from tests.graphql.client import data, graphql
from tests.identity.test_api_keys import create_key
from tests.reply_fixtures import EventLog, eventually
from tests.twilio_fixtures import RunningSimulator

CONTENT_SID = "HX" + "c3" * 16

SCHEDULE = """
mutation ($input: ScheduleMessageInput!) {
  scheduleMessage(input: $input) {
    __typename
    ... on ScheduleMessageSuccess {
      scheduledMessage {
        id conversationId body templateId templateName variables { key value }
        sendAt status reason createdBy { id } message { id }
      }
    }
    ... on UserError { message }
    ... on ValidationError { field }
    ... on SendRefused { reason }
  }
}
"""
CANCEL = """
mutation ($input: CancelScheduledMessageInput!) {
  cancelScheduledMessage(input: $input) {
    __typename
    ... on CancelScheduledMessageSuccess { scheduledMessage { id status } }
    ... on ScheduledMessageNotCancellable { status message }
    ... on UserError { message }
  }
}
"""
SCHEDULED = """
query ($id: ID!) {
  conversation(id: $id) {
    scheduledMessages {
      id body templateName status reason createdBy { id }
      message { body author status }
    }
  }
}
"""


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


def schedule_input(conversation: uuid.UUID, **fields: Any) -> dict[str, Any]:
    return {"input": {"conversationId": str(conversation), "sendAt": in_an_hour(), **fields}}


async def schedule(
    client: httpx.AsyncClient, user: factories.TestUser, conversation: uuid.UUID, **fields: Any
) -> dict[str, Any]:
    result: dict[str, Any] = (
        await data(client, SCHEDULE, schedule_input(conversation, **fields), user=user)
    )["scheduleMessage"]
    return result


async def as_superuser(database_url: str, sql: str, params: Any = None) -> list[dict[str, Any]]:
    """What no role of the product may do: the tests' own changes to the world."""
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:
        # Procrastinate's triggers name its tables unqualified.
        await conn.execute("set search_path to public, procrastinate")
        cursor = await conn.execute(sql, params)
        return list(await cursor.fetchall()) if cursor.description else []


async def make_due(database_url: str, scheduled_message_id: str) -> None:
    """The message's time (and its job's) a moment ago, as if the hour had passed."""
    await as_superuser(
        database_url,
        "with moved as (update public.scheduled_messages"
        " set created_at = now() - interval '1 hour', send_at = now() - interval '1 second'"
        " where id = %s returning job_id)"
        " update procrastinate.procrastinate_jobs set scheduled_at = now() - interval '1 second'"
        " where id = (select job_id from moved)",
        [scheduled_message_id],
    )


async def run_due_jobs(services: Services, rounds: int = 30) -> None:
    """Run the ``sends`` queue until no job there is due (retries are due within ms).
    Jobs scheduled later stay waiting."""
    import asyncio

    with queue_app.replace_connector(procrastinate.PsycopgConnector()) as app:
        async with app.open_async(services.database.pool):
            for _ in range(rounds):
                await app.run_worker_async(
                    queues=["sends"],
                    wait=False,
                    additional_context={"dependencies": services.dependencies},
                    install_signal_handlers=False,
                )
                due = await fetch_all(
                    services,
                    "select 1 from procrastinate.procrastinate_jobs where status = 'todo'"
                    " and queue_name = 'sends'"
                    " and coalesce(scheduled_at, now()) <= now()",
                )
                if not due:
                    return
                await asyncio.sleep(0.05)
    pytest.fail("jobs still due")


async def scheduled_row(services: Services, scheduled_message_id: str) -> dict[str, Any]:
    return await fetch_one(
        services,
        "select status::text, reason, message_id, job_id, processed_at"
        " from public.scheduled_messages where id = %s",
        [scheduled_message_id],
    )


def sent_to(simulator: RunningSimulator, channel: TestChannel, customer: str) -> list[Any]:
    return simulator.simulator.state.messages(to=channel.address_of(customer))


async def customer_of(services: Services, conversation: uuid.UUID) -> str:
    row = await fetch_one(
        services,
        "select ct.phone_number from public.conversations as c"
        " join public.contacts as ct on ct.id = c.contact_id where c.id = %s",
        [conversation],
    )
    return str(row["phone_number"])


@pytest.fixture
async def channel(sending_services: Services, factory: Factory) -> TestChannel:
    return await make_channel(sending_services, factory)


async def test_a_scheduled_message_waits_then_goes_once_and_shows_as_sent(  # noqa: PLR0917
    client: httpx.AsyncClient,
    database_url: str,
    sending_services: Services,
    channel: TestChannel,
    factory: Factory,
    twilio_simulator: RunningSimulator,
    events: EventLog,
) -> None:
    agent = await factory.member(channel.organization, role="agent")
    conversation = await open_conversation(sending_services, channel)
    customer = await customer_of(sending_services, conversation)

    scheduled = await schedule(client, agent, conversation, body="Lembrete: sua consulta é amanhã.")

    assert scheduled["__typename"] == "ScheduleMessageSuccess"
    message = scheduled["scheduledMessage"]
    assert (message["status"], message["body"], message["createdBy"]) == (
        "SCHEDULED",
        "Lembrete: sua consulta é amanhã.",
        {"id": str(agent.id)},
    )
    assert message["message"] is None
    [job] = await fetch_all(
        sending_services,
        "select j.task_name, j.queue_name, j.scheduled_at = s.send_at as at_send_at"
        " from procrastinate.procrastinate_jobs as j"
        " join public.scheduled_messages as s on s.job_id = j.id where s.id = %s",
        [message["id"]],
    )
    assert job == {
        "task_name": "conversations:send_scheduled_message",
        "queue_name": "sends",
        "at_send_at": True,
    }

    await run_due_jobs(sending_services)  # not due yet: nothing happens
    assert (await scheduled_row(sending_services, message["id"]))["status"] == "scheduled"
    assert sent_to(twilio_simulator, channel, customer) == []

    await make_due(database_url, message["id"])
    await run_due_jobs(sending_services)

    [sent] = sent_to(twilio_simulator, channel, customer)
    assert sent.body == "Lembrete: sua consulta é amanhã."
    row = await scheduled_row(sending_services, message["id"])
    assert row["status"] == "sent"
    assert row["message_id"] is not None
    outbound = await fetch_one(
        sending_services,
        "select author::text, author_member_id, metadata from public.messages where id = %s",
        [row["message_id"]],
    )
    assert (outbound["author"], outbound["author_member_id"]) == ("member", agent.id)
    assert outbound["metadata"]["scheduled_message_id"] == message["id"]

    # The inbox hears of it as of any other outbound message.
    async def announced() -> list[dict[str, Any]]:
        return [
            event
            for event in events.of_kind("message.created")
            if event.get("message_id") == str(row["message_id"])
        ]

    await eventually(announced, bool)

    # A duplicated job, and the job's work run once more by hand: nothing goes twice.
    async with sending_services.database.transaction(Caller.service()) as conn:
        await conn.execute(
            "select private.defer_job('conversations:send_scheduled_message', %s, 'sends')",
            [Jsonb({"scheduled_message_id": message["id"]})],
        )
    await run_due_jobs(sending_services)
    again = await scheduling.send_due(sending_services.database, uuid.UUID(message["id"]))
    assert (again.status, again.message_id) == ("sent", row["message_id"])
    assert len(sent_to(twilio_simulator, channel, customer)) == 1
    assert (
        await fetch_one(
            sending_services,
            "select count(*) as n from public.messages"
            " where metadata->>'scheduled_message_id' = %s",
            [message["id"]],
        )
    )["n"] == 1

    listed = await data(client, SCHEDULED, {"id": str(conversation)}, user=agent)
    [shown] = listed["conversation"]["scheduledMessages"]
    assert shown["status"] == "SENT"
    assert shown["message"]["body"] == "Lembrete: sua consulta é amanhã."
    assert shown["message"]["author"] == "MEMBER"


async def test_a_template_goes_outside_the_window_and_free_text_is_skipped(
    client: httpx.AsyncClient,
    database_url: str,
    sending_services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
) -> None:
    owner = channel.organization.owner
    async with sending_services.database.transaction(Caller.service()) as conn:
        template = await (
            await conn.execute(
                "insert into public.channel_templates (organization_id, channel_id, name,"
                " content_sid, variables, body) values (%s, %s, 'lembrete', %s,"
                """ '[{"key": "1", "name": "nome"}]', 'Olá {{1}}, sua consulta é amanhã.')"""
                " returning id",
                [channel.organization.id, channel.id, CONTENT_SID],
            )
        ).fetchone()
    assert template is not None
    # The customer wrote 20 hours ago: the window is open now, closed in an hour.
    conversation = await open_conversation(sending_services, channel, inbound_hours_ago=20)
    customer = await customer_of(sending_services, conversation)

    by_template = await schedule(
        client,
        owner,
        conversation,
        templateId=str(template["id"]),
        variables=[{"key": "1", "value": "Ana"}],
    )
    free_text = await schedule(client, owner, conversation, body="Oi Ana, tudo certo?")
    assert by_template["scheduledMessage"]["templateName"] == "lembrete"
    assert by_template["scheduledMessage"]["variables"] == [{"key": "1", "value": "Ana"}]
    assert by_template["scheduledMessage"]["body"] is None

    # Time passes: the customer's window closed.
    await as_superuser(
        database_url,
        "update public.conversations set last_inbound_at = now() - interval '25 hours'"
        " where id = %s",
        [conversation],
    )
    for scheduled in (by_template, free_text):
        await make_due(database_url, scheduled["scheduledMessage"]["id"])
    await run_due_jobs(sending_services)

    [sent] = sent_to(twilio_simulator, channel, customer)
    assert sent.content_sid == CONTENT_SID
    template_row = await scheduled_row(sending_services, by_template["scheduledMessage"]["id"])
    text_row = await scheduled_row(sending_services, free_text["scheduledMessage"]["id"])
    assert template_row["status"] == "sent"
    assert (text_row["status"], text_row["reason"], text_row["message_id"]) == (
        "skipped",
        "outside_customer_service_window",
        None,
    )
    listed = await data(client, SCHEDULED, {"id": str(conversation)}, user=owner)
    reasons = {
        m["body"] or m["templateName"]: m["reason"]
        for m in listed["conversation"]["scheduledMessages"]
    }
    assert reasons == {"lembrete": None, "Oi Ana, tudo certo?": "OUTSIDE_CUSTOMER_SERVICE_WINDOW"}


async def test_the_opt_out_and_the_channel_are_checked_again_when_due(
    client: httpx.AsyncClient,
    database_url: str,
    sending_services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
) -> None:
    owner = channel.organization.owner
    opting_out = await open_conversation(sending_services, channel)
    other_channel = await make_channel(
        sending_services, Factory(sending_services), organization=channel.organization
    )
    disabled = await open_conversation(sending_services, other_channel)
    first = await schedule(client, owner, opting_out, body="Promoção de amanhã!")
    second = await schedule(client, owner, disabled, body="Seu pedido saiu.")

    await as_superuser(
        database_url,
        "update public.contacts set opted_out_at = now()"
        " where id = (select contact_id from public.conversations where id = %s)",
        [opting_out],
    )
    await as_superuser(
        database_url, "update public.channels set enabled = false where id = %s", [other_channel.id]
    )
    for scheduled in (first, second):
        await make_due(database_url, scheduled["scheduledMessage"]["id"])
    await run_due_jobs(sending_services)

    assert twilio_simulator.simulator.state.messages() == []
    rows = [
        await scheduled_row(sending_services, s["scheduledMessage"]["id"]) for s in (first, second)
    ]
    assert [(row["status"], row["reason"]) for row in rows] == [
        ("skipped", "contact_opted_out"),
        ("skipped", "channel_disabled"),
    ]
    assert (
        await fetch_all(
            sending_services, "select id from public.messages where direction = 'outbound'"
        )
        == []
    )


async def test_a_closed_conversation_opens_again_for_its_scheduled_message(
    client: httpx.AsyncClient,
    database_url: str,
    sending_services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
) -> None:
    owner = channel.organization.owner
    conversation = await open_conversation(sending_services, channel)
    customer = await customer_of(sending_services, conversation)
    scheduled = await schedule(client, owner, conversation, body="Seu pedido está pronto.")
    await as_superuser(
        database_url,
        "update public.conversations set status = 'closed', closed_at = now() where id = %s",
        [conversation],
    )
    await make_due(database_url, scheduled["scheduledMessage"]["id"])
    await run_due_jobs(sending_services)

    assert [m.body for m in sent_to(twilio_simulator, channel, customer)] == [
        "Seu pedido está pronto."
    ]
    state = await fetch_one(
        sending_services,
        "select status::text from public.conversations where id = %s",
        [conversation],
    )
    assert state["status"] == "open"


async def test_cancelling_before_and_after_it_was_sent(  # noqa: PLR0917
    client: httpx.AsyncClient,
    database_url: str,
    sending_services: Services,
    channel: TestChannel,
    factory: Factory,
    twilio_simulator: RunningSimulator,
) -> None:
    owner = channel.organization.owner
    conversation = await open_conversation(sending_services, channel)
    kept = await schedule(client, owner, conversation, body="Este vai.")
    dropped = await schedule(client, owner, conversation, body="Este não vai.")
    dropped_id = dropped["scheduledMessage"]["id"]
    stranger = (await factory.organization()).owner

    by_stranger = await data(
        client, CANCEL, {"input": {"scheduledMessageId": dropped_id}}, user=stranger
    )
    cancelled = await data(
        client, CANCEL, {"input": {"scheduledMessageId": dropped_id}}, user=owner
    )
    twice = await data(client, CANCEL, {"input": {"scheduledMessageId": dropped_id}}, user=owner)

    assert by_stranger["cancelScheduledMessage"]["__typename"] == "NotFound"
    assert cancelled["cancelScheduledMessage"] == {
        "__typename": "CancelScheduledMessageSuccess",
        "scheduledMessage": {"id": dropped_id, "status": "CANCELLED"},
    }
    assert twice["cancelScheduledMessage"]["__typename"] == "CancelScheduledMessageSuccess"
    # Its job is gone with it; the other's waits.
    jobs = await fetch_all(
        sending_services,
        "select args->>'scheduled_message_id' as id from procrastinate.procrastinate_jobs"
        " where task_name = 'conversations:send_scheduled_message'",
    )
    assert jobs == [{"id": kept["scheduledMessage"]["id"]}]

    await make_due(database_url, kept["scheduledMessage"]["id"])
    await make_due(database_url, dropped_id)
    await run_due_jobs(sending_services)
    assert [m.body for m in twilio_simulator.simulator.state.messages()] == ["Este vai."]
    assert (await scheduled_row(sending_services, dropped_id))["status"] == "cancelled"

    too_late = await data(
        client,
        CANCEL,
        {"input": {"scheduledMessageId": kept["scheduledMessage"]["id"]}},
        user=owner,
    )
    assert too_late["cancelScheduledMessage"]["__typename"] == "ScheduledMessageNotCancellable"
    assert too_late["cancelScheduledMessage"]["status"] == "SENT"
    assert "já foi enviada" in too_late["cancelScheduledMessage"]["message"]
    assert (await scheduled_row(sending_services, kept["scheduledMessage"]["id"]))[
        "status"
    ] == "sent"


async def test_invalid_schedules_are_refused_and_other_organizations_see_nothing(
    client: httpx.AsyncClient,
    sending_services: Services,
    channel: TestChannel,
    factory: Factory,
) -> None:
    owner = channel.organization.owner
    conversation = await open_conversation(sending_services, channel)
    opted_out = await open_conversation(sending_services, channel, opted_out=True)
    async with sending_services.database.transaction(Caller.service()) as conn:
        template = await (
            await conn.execute(
                "insert into public.channel_templates (organization_id, channel_id, name,"
                " content_sid, variables) values (%s, %s, 'aviso', %s,"
                """ '[{"key": "1", "name": "n"}]')"""
                " returning id",
                [channel.organization.id, channel.id, CONTENT_SID],
            )
        ).fetchone()
    assert template is not None
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    too_far = (datetime.now(UTC) + timedelta(days=91)).isoformat()

    cases = {
        "past": schedule_input(conversation, body="Oi", sendAt=past),
        "too far": schedule_input(conversation, body="Oi", sendAt=too_far),
        "neither": schedule_input(conversation),
        "both": schedule_input(conversation, body="Oi", templateId=str(template["id"])),
        "too long": schedule_input(conversation, body="a" * 4097),
        "missing value": schedule_input(conversation, templateId=str(template["id"])),
        "unknown template": schedule_input(conversation, templateId=str(uuid.uuid4())),
        "bad id": schedule_input(conversation, body="Oi"),
        "opted out": schedule_input(opted_out, body="Oi"),
        "no time zone": schedule_input(conversation, body="Oi", sendAt="2030-01-01T09:00:00"),
        "values without a template": schedule_input(
            conversation, body="Oi", variables=[{"key": "1", "value": "Ana"}]
        ),
    }
    cases["bad id"]["input"]["conversationId"] = "not-an-id"
    results = {
        name: (await data(client, SCHEDULE, variables, user=owner))["scheduleMessage"]
        for name, variables in cases.items()
    }
    summary = {
        name: (result["__typename"], result.get("field") or result.get("reason"))
        for name, result in results.items()
    }
    assert summary == {
        "past": ("ValidationError", "sendAt"),
        "too far": ("ValidationError", "sendAt"),
        "neither": ("ValidationError", "body"),
        "both": ("ValidationError", "body"),
        "too long": ("ValidationError", "body"),
        "missing value": ("ValidationError", "variables"),
        "unknown template": ("NotFound", None),
        "bad id": ("ValidationError", "conversationId"),
        "opted out": ("SendRefused", "CONTACT_OPTED_OUT"),
        "no time zone": ("ValidationError", "sendAt"),
        "values without a template": ("ValidationError", "variables"),
    }
    assert "1" in results["missing value"]["message"]

    # Another organization's member: the conversation is not found, and nothing of it shows.
    stranger = (await factory.organization()).owner
    mine = await schedule(client, owner, conversation, body="Oi")
    theirs = (await data(client, SCHEDULE, schedule_input(conversation, body="Oi"), user=stranger))[
        "scheduleMessage"
    ]
    assert theirs["__typename"] == "NotFound"
    hidden = await graphql(client, SCHEDULED, {"id": str(conversation)}, user=stranger)
    assert hidden.get("data", {}).get("conversation") is None
    async with sending_services.database.transaction(Caller.user(stranger.claims)) as conn:
        visible = await (await conn.execute("select id from public.scheduled_messages")).fetchall()
    assert visible == []
    async with sending_services.database.transaction(Caller.user(owner.claims)) as conn:
        visible = await (await conn.execute("select id from public.scheduled_messages")).fetchall()
    assert [str(row["id"]) for row in visible] == [mine["scheduledMessage"]["id"]]
    # Only the one valid schedule was stored.
    assert len(await fetch_all(sending_services, "select id from public.scheduled_messages")) == 1


async def test_an_api_key_schedules_as_the_team_without_a_member(
    client: httpx.AsyncClient,
    database_url: str,
    sending_services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
) -> None:
    conversation = await open_conversation(sending_services, channel)
    key = await create_key(client, channel.organization)

    scheduled = await schedule(client, key.as_user(), conversation, body="Pedido enviado.")

    assert scheduled["__typename"] == "ScheduleMessageSuccess"
    assert scheduled["scheduledMessage"]["createdBy"] is None
    await make_due(database_url, scheduled["scheduledMessage"]["id"])
    await run_due_jobs(sending_services)
    [sent] = twilio_simulator.simulator.state.messages()
    assert sent.body == "Pedido enviado."
    [message] = await fetch_all(
        sending_services,
        "select author::text, author_member_id, metadata from public.messages"
        " where direction = 'outbound'",
    )
    assert (message["author"], message["author_member_id"]) == ("member", None)
    assert message["metadata"]["api_key_id"] == key.id
    row = await fetch_one(
        sending_services,
        "select created_by, created_by_api_key::text as key from public.scheduled_messages",
    )
    assert row == {"created_by": None, "key": key.id}
