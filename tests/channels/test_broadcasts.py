"""Broadcasts: one approved template to many contacts, each in their own conversation,
opted-out contacts skipped, paced by the job, cancellable, counted; owners and admins only,
and nobody sees another organization's."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
import pytest

from atende.channels.broadcasts.service import BroadcastSender
from atende.db.session import Caller
from atende.services import Services
from tests import factories
from tests.channels.test_channel_api import CONTENT_SID, graphql
from tests.channels.world import (
    TestChannel,
    fetch_all,
    fetch_one,
    make_channel,
    open_conversation,
    random_phone,
)
from tests.factories import Factory

CREATE = """
mutation ($input: CreateBroadcastInput!) {
  createBroadcast(input: $input) {
    __typename
    ... on CreateBroadcastSuccess {
      broadcast {
        id status total queued sent delivered failed skipped cancelled body ratePerSecond
      }
    }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""
CANCEL = """
mutation ($input: CancelBroadcastInput!) {
  cancelBroadcast(input: $input) {
    __typename
    ... on CancelBroadcastSuccess {
      broadcast { id status total sent skipped cancelled queued finishedAt }
    }
    ... on UserError { message }
  }
}
"""
SET_RATE = """
mutation ($input: SetChannelBroadcastRateInput!) {
  setChannelBroadcastRate(input: $input) {
    __typename
    ... on SetChannelBroadcastRateSuccess { broadcastRatePerSecond }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""
BROADCASTS = """
query ($id: ID!, $first: Int, $after: String) {
  organization(id: $id) {
    channels { id broadcastRatePerSecond }
    broadcasts(first: 5) {
      edges {
        node {
          id status total sent delivered failed skipped
          recipients(first: $first, after: $after) {
            edges {
              node {
                contactId contactName contactPhoneNumber status reason conversationId messageId
              }
            }
            pageInfo { hasNextPage endCursor }
          }
        }
      }
    }
  }
}
"""


async def make_template(services: Services, channel: TestChannel) -> uuid.UUID:
    row = await fetch_one(
        services,
        "insert into public.channel_templates (organization_id, channel_id, name, content_sid,"
        ' variables, body) values (%s, %s, \'promo\', %s, \'[{"key": "1", "name": "loja"}]\','
        " 'Novidades na {{1}}!') returning id",
        [channel.organization.id, channel.id, CONTENT_SID],
    )
    return uuid.UUID(str(row["id"]))


async def make_contacts(
    services: Services, channel: TestChannel, count: int, *, opted_out: bool = False
) -> list[uuid.UUID]:
    ids = []
    for _ in range(count):
        row = await fetch_one(
            services,
            "insert into public.contacts (organization_id, phone_number, opted_out_at)"
            " values (%s, %s, case when %s then now() end) returning id",
            [channel.organization.id, random_phone(), opted_out],
        )
        ids.append(uuid.UUID(str(row["id"])))
    return ids


def create_input(
    channel: TestChannel, template: uuid.UUID, contacts: list[uuid.UUID], **changes: Any
) -> dict[str, Any]:
    return {
        "input": {
            "channelId": str(channel.id),
            "templateId": str(template),
            "variables": [{"key": "1", "value": "Padaria"}],
            "contactIds": [str(contact) for contact in contacts],
            **changes,
        }
    }


async def set_rate(services: Services, channel: TestChannel, rate: float) -> None:
    await fetch_all(
        services,
        "update public.channels set broadcast_rate_per_second = %s where id = %s returning id",
        [rate, channel.id],
    )


async def test_a_broadcast_reaches_each_contact_in_their_conversation_and_skips_opted_out(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    channel = await make_channel(services, factory)
    await set_rate(services, channel, 400)  # one batch: the test does not wait for the pace
    owner = channel.organization.owner
    template = await make_template(services, channel)
    existing = await open_conversation(services, channel, inbound_hours_ago=72)
    existing_contact = (
        await fetch_one(services, "select contact_id from conversations where id = %s", [existing])
    )["contact_id"]
    [new_contact] = await make_contacts(services, channel, 1)
    [opted_out] = await make_contacts(services, channel, 1, opted_out=True)
    contacts = [existing_contact, new_contact, opted_out, new_contact]  # a repeat counts once

    created = await graphql(client, CREATE, create_input(channel, template, contacts), owner)

    result = created["createBroadcast"]
    assert result["__typename"] == "CreateBroadcastSuccess", result
    broadcast = result["broadcast"]
    assert (broadcast["status"], broadcast["total"], broadcast["queued"]) == ("SENDING", 3, 2)
    assert (broadcast["skipped"], broadcast["sent"]) == (1, 0)
    assert broadcast["body"] == "Novidades na Padaria!"
    assert broadcast["ratePerSecond"] == 400
    jobs = await fetch_all(
        services,
        "select args, queue_name, lock from procrastinate.procrastinate_jobs"
        " where task_name = 'channels:send_broadcast'",
    )
    assert jobs == [
        {
            "args": {"broadcast_id": broadcast["id"]},
            "queue_name": "broadcasts",
            "lock": f"broadcast:{broadcast['id']}",
        }
    ]

    run = await BroadcastSender(services.database).run(uuid.UUID(broadcast["id"]))
    assert (run.handled, run.status, run.remaining) == (2, "completed", 0)

    messages = await fetch_all(
        services,
        "select m.id, m.conversation_id, c.contact_id, m.author::text as author, m.body,"
        " m.metadata from messages as m join conversations as c on c.id = m.conversation_id"
        " where m.direction = 'outbound' order by c.contact_id",
    )
    by_contact = {row["contact_id"]: row for row in messages}
    assert set(by_contact) == {existing_contact, new_contact}
    assert by_contact[existing_contact]["conversation_id"] == existing
    assert by_contact[new_contact]["conversation_id"] != existing
    for row in messages:
        assert row["author"] == "member"
        assert row["body"] == "Novidades na Padaria!"
        assert row["metadata"]["content_sid"] == CONTENT_SID
        assert row["metadata"]["content_variables"] == {"1": "Padaria"}
        assert row["metadata"]["broadcast_id"] == broadcast["id"]
    send_jobs = await fetch_all(
        services,
        "select args->>'message_id' as id from procrastinate.procrastinate_jobs"
        " where task_name = 'channels:send_message'",
    )
    assert {row["id"] for row in send_jobs} == {str(row["id"]) for row in messages}

    # Twilio reports back: one delivered, one failed.
    await fetch_all(
        services,
        "update messages set status = 'delivered' where id = %s returning id",
        [by_contact[existing_contact]["id"]],
    )
    await fetch_all(
        services,
        "update messages set status = 'failed', error_code = '63016' where id = %s returning id",
        [by_contact[new_contact]["id"]],
    )
    listed = await graphql(
        client, BROADCASTS, {"id": str(channel.organization.id), "first": 2}, owner
    )
    organization = listed["organization"]
    assert organization["channels"] == [{"id": str(channel.id), "broadcastRatePerSecond": 400}]
    [edge] = organization["broadcasts"]["edges"]
    summary = edge["node"]
    assert (summary["status"], summary["total"]) == ("COMPLETED", 3)
    assert (summary["sent"], summary["delivered"], summary["failed"], summary["skipped"]) == (
        1,
        1,
        1,
        1,
    )
    first_page = summary["recipients"]
    assert first_page["pageInfo"]["hasNextPage"] is True
    statuses = [
        (node["contactId"], node["status"], node["reason"])
        for node in [e["node"] for e in first_page["edges"]]
    ]
    assert statuses == [
        (str(existing_contact), "DELIVERED", None),
        (str(new_contact), "FAILED", "63016"),
    ]
    # Shown by the team's name for them, else the WhatsApp name, else the number.
    existing_row = await fetch_one(
        services,
        "select phone_number, profile_name from contacts where id = %s",
        [existing_contact],
    )
    new_row = await fetch_one(
        services,
        "update contacts set display_name = 'Maria Lima' where id = %s returning phone_number",
        [new_contact],
    )
    renamed = await graphql(
        client, BROADCASTS, {"id": str(channel.organization.id), "first": 2}, owner
    )
    shown = [
        (e["node"]["contactName"], e["node"]["contactPhoneNumber"])
        for e in renamed["organization"]["broadcasts"]["edges"][0]["node"]["recipients"]["edges"]
    ]
    assert shown == [
        (
            existing_row["profile_name"] or existing_row["phone_number"],
            existing_row["phone_number"],
        ),
        ("Maria Lima", new_row["phone_number"]),
    ]
    rest = await graphql(
        client,
        BROADCASTS,
        {
            "id": str(channel.organization.id),
            "first": 2,
            "after": first_page["pageInfo"]["endCursor"],
        },
        owner,
    )
    [last] = rest["organization"]["broadcasts"]["edges"][0]["node"]["recipients"]["edges"]
    assert (last["node"]["contactId"], last["node"]["status"], last["node"]["reason"]) == (
        str(opted_out),
        "SKIPPED",
        "opted_out",
    )
    assert last["node"]["messageId"] is None


async def test_a_contact_who_opts_out_after_the_broadcast_is_made_is_skipped(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    channel = await make_channel(services, factory)
    template = await make_template(services, channel)
    contacts = await make_contacts(services, channel, 2)
    created = await graphql(
        client, CREATE, create_input(channel, template, contacts), channel.organization.owner
    )
    broadcast = uuid.UUID(created["createBroadcast"]["broadcast"]["id"])
    await fetch_all(
        services,
        "update contacts set opted_out_at = now() where id = %s returning id",
        [contacts[1]],
    )

    await BroadcastSender(services.database).run(broadcast)

    rows = await fetch_all(
        services,
        "select contact_id, status::text as status, reason, message_id"
        " from broadcast_recipients order by position",
    )
    assert [(r["contact_id"], r["status"], r["reason"]) for r in rows] == [
        (contacts[0], "sent", None),
        (contacts[1], "skipped", "opted_out"),
    ]
    assert rows[1]["message_id"] is None


async def test_cancelling_mid_way_keeps_what_was_sent_and_cancels_the_rest(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    channel = await make_channel(services, factory)
    await set_rate(services, channel, 8)  # batches of 2
    owner = channel.organization.owner
    template = await make_template(services, channel)
    contacts = await make_contacts(services, channel, 5)
    created = await graphql(client, CREATE, create_input(channel, template, contacts), owner)
    broadcast = created["createBroadcast"]["broadcast"]["id"]

    first = await fetch_one(
        services,
        "select * from private.claim_broadcast_batch_v1(%s, 2)",
        [uuid.UUID(broadcast)],
    )
    assert (first["status"], first["handled"], first["remaining"]) == ("sending", 2, 3)

    cancelled = await graphql(client, CANCEL, {"input": {"broadcastId": broadcast}}, owner)

    result = cancelled["cancelBroadcast"]
    assert result["__typename"] == "CancelBroadcastSuccess", result
    summary = result["broadcast"]
    assert (summary["status"], summary["sent"], summary["cancelled"], summary["queued"]) == (
        "CANCELLED",
        2,
        3,
        0,
    )
    assert summary["finishedAt"] is not None
    # The job, running after the cancel, sends nothing more.
    run = await BroadcastSender(services.database).run(uuid.UUID(broadcast))
    assert (run.handled, run.status) == (0, "cancelled")
    outbound = await fetch_all(services, "select id from messages where direction = 'outbound'")
    assert len(outbound) == 2
    again = await graphql(client, CANCEL, {"input": {"broadcastId": broadcast}}, owner)
    assert again["cancelBroadcast"]["__typename"] == "BroadcastFinished"


async def test_the_job_hands_over_and_the_next_one_keeps_the_pace(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    channel = await make_channel(services, factory)
    await set_rate(services, channel, 0.1)  # one message every 10 seconds
    template = await make_template(services, channel)
    contacts = await make_contacts(services, channel, 3)
    created = await graphql(
        client, CREATE, create_input(channel, template, contacts), channel.organization.owner
    )
    broadcast = uuid.UUID(created["createBroadcast"]["broadcast"]["id"])

    run = await BroadcastSender(services.database, run_seconds=0).run(broadcast)

    assert (run.handled, run.remaining, run.handed_over) == (1, 2, True)
    jobs = await fetch_all(
        services,
        "select args, priority from procrastinate.procrastinate_jobs"
        " where task_name = 'channels:send_broadcast' order by id",
    )
    # The first, and the one it handed over to: ahead of the sends it queued.
    assert [job["priority"] for job in jobs] == [0, 10]
    assert jobs[1]["args"] == {"broadcast_id": str(broadcast)}
    # The next job, starting at once, sends nothing before the pace allows.
    early = await fetch_one(
        services, "select * from private.claim_broadcast_batch_v1(%s, 1)", [broadcast]
    )
    assert (early["handled"], early["remaining"]) == (0, 2)
    assert early["wait_seconds"] > 0


async def test_the_same_contact_cannot_get_a_second_message_of_a_broadcast(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    channel = await make_channel(services, factory)
    template = await make_template(services, channel)
    contacts = await make_contacts(services, channel, 1)
    created = await graphql(
        client, CREATE, create_input(channel, template, contacts), channel.organization.owner
    )
    broadcast = uuid.UUID(created["createBroadcast"]["broadcast"]["id"])
    await BroadcastSender(services.database).run(broadcast)
    # As if a claim had been lost and the recipient queued again: the message's unique key
    # refuses a second message for this broadcast and contact.
    await fetch_all(
        services,
        "update broadcasts set status = 'sending', next_batch_at = null returning id",
    )
    await fetch_all(
        services,
        "update broadcast_recipients set status = 'queued', message_id = null returning position",
    )
    with pytest.raises(psycopg.errors.UniqueViolation, match="messages_broadcast_recipient_key"):
        await fetch_all(
            services, "select * from private.claim_broadcast_batch_v1(%s, 10)", [broadcast]
        )


async def test_refusals(client: httpx.AsyncClient, services: Services, factory: Factory) -> None:
    channel = await make_channel(services, factory)
    owner = channel.organization.owner
    template = await make_template(services, channel)
    contacts = await make_contacts(services, channel, 2)
    stranger_channel = await make_channel(services, factory)
    stranger = stranger_channel.organization.owner
    [foreign_contact] = await make_contacts(services, stranger_channel, 1)
    agent = await factory.member(channel.organization, role="agent")

    async def create(user: factories.TestUser, **changes: Any) -> dict[str, Any]:
        data = await graphql(
            client, CREATE, create_input(channel, template, contacts, **changes), user
        )
        result: dict[str, Any] = data["createBroadcast"]
        return result

    assert (await create(stranger))["__typename"] == "NotFound"
    assert (await create(agent))["__typename"] == "Forbidden"
    assert (await create(owner, templateId=str(uuid.uuid4())))["__typename"] == "NotFound"
    missing = await create(owner, variables=[])
    assert (missing["__typename"], missing["field"]) == ("ValidationError", "variables")
    empty = await create(owner, contactIds=[])
    assert (empty["__typename"], empty["field"]) == ("ValidationError", "contactIds")
    foreign = await create(owner, contactIds=[str(contacts[0]), str(foreign_contact)])
    assert (foreign["__typename"], foreign["field"]) == ("ValidationError", "contactIds")
    malformed = await create(owner, contactIds=["not-an-id"])
    assert (malformed["__typename"], malformed["field"]) == ("ValidationError", "contactIds")
    await fetch_all(
        services, "update channels set enabled = false where id = %s returning id", [channel.id]
    )
    disabled = await create(owner)
    assert disabled["__typename"] == "SendRefused"
    assert await fetch_all(services, "select id from broadcasts") == []


async def test_the_rate_is_a_checked_setting_of_the_channel(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    whatsapp = await make_channel(services, factory)
    sms = await make_channel(services, factory, organization=whatsapp.organization, kind="sms")
    owner = whatsapp.organization.owner
    agent = await factory.member(whatsapp.organization, role="agent")

    async def set_to(channel: TestChannel, rate: float | None, user: factories.TestUser) -> Any:
        data = await graphql(
            client,
            SET_RATE,
            {"input": {"channelId": str(channel.id), "broadcastRatePerSecond": rate}},
            user,
        )
        return data["setChannelBroadcastRate"]

    rates = await fetch_all(
        services,
        "select ch.kind::text as kind,"
        " private.broadcast_rate(ch.kind, ch.broadcast_rate_per_second) as rate"
        " from channels as ch order by kind",
    )
    assert [(r["kind"], float(r["rate"])) for r in rates] == [("sms", 1.0), ("whatsapp", 80.0)]
    assert (await set_to(whatsapp, 40, owner))["broadcastRatePerSecond"] == 40
    assert (await set_to(whatsapp, None, owner))["broadcastRatePerSecond"] == 80
    assert (await set_to(sms, 0, owner))["field"] == "broadcastRatePerSecond"
    assert (await set_to(sms, 1000, owner))["field"] == "broadcastRatePerSecond"
    assert (await set_to(sms, 2, agent))["__typename"] == "Forbidden"
    stranger = (await factory.organization()).owner
    assert (await set_to(sms, 2, stranger))["__typename"] == "NotFound"
    # The rule is the database's too.
    with pytest.raises(psycopg.errors.CheckViolation, match="channels_broadcast_rate_range"):
        await set_rate(services, sms, 1000)


async def test_another_organization_sees_no_broadcast_and_cannot_cancel_one(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    channel = await make_channel(services, factory)
    owner = channel.organization.owner
    template = await make_template(services, channel)
    contacts = await make_contacts(services, channel, 2)
    created = await graphql(client, CREATE, create_input(channel, template, contacts), owner)
    broadcast = created["createBroadcast"]["broadcast"]["id"]
    stranger = (await factory.organization()).owner
    agent = await factory.member(channel.organization, role="agent")

    async with services.database.transaction(Caller.user(stranger.claims)) as conn:
        seen = await (await conn.execute("select id from public.broadcasts")).fetchall()
        recipients = await (
            await conn.execute("select contact_id from public.broadcast_recipients")
        ).fetchall()
    assert (seen, recipients) == ([], [])
    async with services.database.transaction(Caller.user(agent.claims)) as conn:
        seen = await (await conn.execute("select id from public.broadcasts")).fetchall()
    assert [str(row["id"]) for row in seen] == [broadcast]  # members read theirs

    hidden = await graphql(client, CANCEL, {"input": {"broadcastId": broadcast}}, stranger)
    assert hidden["cancelBroadcast"]["__typename"] == "NotFound"
    forbidden = await graphql(client, CANCEL, {"input": {"broadcastId": broadcast}}, agent)
    assert forbidden["cancelBroadcast"]["__typename"] == "Forbidden"
    answer = await client.post(
        "/graphql",
        json={"query": BROADCASTS, "variables": {"id": str(channel.organization.id)}},
        headers=stranger.headers,
    )
    assert answer.json()["data"]["organization"] is None


async def test_a_broadcast_to_a_tag_reaches_the_tagged_contacts(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    channel = await make_channel(services, factory)
    owner = channel.organization.owner
    template = await make_template(services, channel)
    tagged = await make_contacts(services, channel, 2)
    [tagged_opted_out] = await make_contacts(services, channel, 1, opted_out=True)
    [untagged] = await make_contacts(services, channel, 1)
    stranger_channel = await make_channel(services, factory)
    [stranger_tagged] = await make_contacts(services, stranger_channel, 1)
    await fetch_all(
        services,
        "update contacts set tags = '{vip}' where id = any(%s) returning id",
        [[*tagged, tagged_opted_out, stranger_tagged]],
    )

    def by_tag(tag: str, **changes: Any) -> dict[str, Any]:
        variables = create_input(channel, template, [], tag=tag, **changes)
        del variables["input"]["contactIds"]
        variables["input"].update(changes)
        return variables

    created = await graphql(client, CREATE, by_tag(" VIP "), owner)

    result = created["createBroadcast"]
    assert result["__typename"] == "CreateBroadcastSuccess", result
    assert (result["broadcast"]["total"], result["broadcast"]["skipped"]) == (3, 1)
    recipients = await fetch_all(
        services, "select contact_id from broadcast_recipients order by position"
    )
    assert [row["contact_id"] for row in recipients] == [*tagged, tagged_opted_out]
    assert untagged not in [row["contact_id"] for row in recipients]

    nobody = (await graphql(client, CREATE, by_tag("ninguém"), owner))["createBroadcast"]
    assert (nobody["__typename"], nobody["field"]) == ("ValidationError", "tag")
    both = (await graphql(client, CREATE, by_tag("vip", contactIds=[str(untagged)]), owner))[
        "createBroadcast"
    ]
    assert (both["__typename"], both["field"]) == ("ValidationError", "contactIds")
