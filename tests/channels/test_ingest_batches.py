"""Group commit of inbound messages: batches share a transaction, never their fate."""

from __future__ import annotations

import asyncio

import orjson
import psycopg

from atende.channels.ingest import GroupCommit, InboundMessage, queries
from atende.devtools.twilio_simulator import new_sid
from atende.services import Services
from tests.channels.world import TestChannel, fetch_all, fetch_one, random_phone

INGEST = "ingest_inbound_messages"


def message(
    channel: TestChannel, sid: str | None = None, phone: str | None = None
) -> InboundMessage:
    return InboundMessage(
        channel_id=channel.id,
        message_sid=sid or new_sid(),
        from_number=phone or random_phone(),
        body="Olá",
        media=[],
        profile_name=None,
        opt_out_type=None,
        metadata={},
    )


async def test_concurrent_deliveries_share_transactions_and_keep_their_own_answers(
    services: Services, channel: TestChannel
) -> None:
    batcher = GroupCommit(services.database, INGEST)
    sid = new_sid()
    deliveries = [message(channel) for _ in range(30)] + [message(channel, sid)] * 3

    rows = await asyncio.gather(*(batcher.submit(item.as_item()) for item in deliveries))

    assert [row["duplicate"] for row in rows[:30]] == [False] * 30
    assert sorted(row["duplicate"] for row in rows[30:]) == [False, True, True]
    assert len({row["message_id"] for row in rows[30:]}) == 1
    stored = await fetch_all(services, "select count(*) as n from messages")
    assert stored == [{"n": 31}]


async def test_one_bad_message_does_not_fail_the_others_of_its_batch(
    services: Services, channel: TestChannel
) -> None:
    batcher = GroupCommit(services.database, INGEST)
    good = [message(channel) for _ in range(5)]
    bad = message(channel, phone="not a phone number")

    results = await asyncio.gather(
        *(batcher.submit(item.as_item()) for item in [*good[:2], bad, *good[2:]]),
        return_exceptions=True,
    )

    assert isinstance(results[2], psycopg.errors.CheckViolation)
    assert all(isinstance(result, dict) for i, result in enumerate(results) if i != 2)
    stored = await fetch_all(services, "select count(*) as n from messages")
    assert stored == [{"n": 5}]


async def test_a_lone_delivery_is_stored_at_once(services: Services, channel: TestChannel) -> None:
    batcher = GroupCommit(services.database, INGEST)
    row = await asyncio.wait_for(batcher.submit(message(channel).as_item()), timeout=5)
    assert row["duplicate"] is False


async def test_a_delivery_right_after_the_last_batch_ended_gets_a_batch_of_its_own(
    services: Services, channel: TestChannel
) -> None:
    # The first delivery's answer wakes its webhook before the finished batch task is
    # forgotten (its done-callback runs later in the same loop turn): a delivery submitted
    # at that moment must not count the finished task as a batch in flight, or it waits
    # for ever. With one batch in flight at most, that moment comes every time.
    batcher = GroupCommit(services.database, INGEST, max_in_flight=1)
    await batcher.submit(message(channel).as_item())

    async with asyncio.timeout(5):  # submits within this turn of the loop, unlike wait_for
        row = await batcher.submit(message(channel).as_item())

    assert row["duplicate"] is False


async def test_an_unavailable_database_fails_every_delivery_of_the_batch(
    services: Services, channel: TestChannel
) -> None:
    assert services.database.service_pool is not None
    await services.database.service_pool.close()  # the platform's connections
    await services.database.pool.close()
    batcher = GroupCommit(services.database, INGEST, timeout=0.2)
    results = await asyncio.gather(
        *(batcher.submit(message(channel).as_item()) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(result, psycopg.OperationalError) for result in results), results


# -- What a batch does, item by item ------------------------------------------------------


def item(
    channel: TestChannel,
    phone: str,
    body: str = "Olá",
    *,
    sid: str | None = None,
    profile_name: str | None = None,
) -> dict[str, object]:
    return {
        **message(channel, sid, phone).as_item(),
        "body": body,
        "profile_name": profile_name,
    }


async def ingest(services: Services, *items: dict[str, object]) -> list[dict[str, object]]:
    """One batch, as the group commit sends it: a row per item, in order."""
    return await fetch_all(
        services, queries[INGEST], {"items": orjson.dumps(items, default=str).decode()}
    )


async def test_a_sid_twice_in_one_batch_is_one_message_and_its_duplicate(
    services: Services, channel: TestChannel
) -> None:
    phone, sid = random_phone(), new_sid()

    rows = await ingest(
        services,
        item(channel, phone, "um"),
        item(channel, phone, "dois", sid=sid),
        item(channel, random_phone(), "três"),
        item(channel, phone, "dois de novo", sid=sid),
    )

    assert [row["duplicate"] for row in rows] == [False, False, False, True]
    assert rows[3]["message_id"] == rows[1]["message_id"]
    assert rows[3]["conversation_id"] == rows[1]["conversation_id"]
    assert rows[3]["contact_id"] == rows[1]["contact_id"]
    bodies = await fetch_all(
        services,
        "select body from messages where conversation_id = %s",
        [rows[0]["conversation_id"]],
    )
    assert sorted(row["body"] for row in bodies) == ["dois", "um"]


async def test_a_repeated_delivery_changes_neither_contact_nor_conversation(
    services: Services, channel: TestChannel
) -> None:
    phone, sid = random_phone(), new_sid()
    [first] = await ingest(services, item(channel, phone, sid=sid, profile_name="Ana"))
    long_ago = "2026-01-01T00:00:00Z"
    await fetch_all(
        services,
        "update contacts set last_inbound_at = %s where id = %s returning id",
        [long_ago, first["contact_id"]],
    )
    await fetch_all(
        services,
        "update conversations set last_inbound_at = %s, last_message_at = %s,"
        " follow_up_sent_at = %s where id = %s returning id",
        [long_ago, long_ago, long_ago, first["conversation_id"]],
    )

    [again] = await ingest(
        services, item(channel, phone, "STOP", sid=sid, profile_name="Outro Nome")
    )

    assert again["duplicate"] is True
    assert again["reply_job_id"] is None
    assert (again["message_id"], again["conversation_id"], again["contact_id"]) == (
        first["message_id"],
        first["conversation_id"],
        first["contact_id"],
    )
    contact = await fetch_one(
        services,
        "select profile_name, opted_out_at, last_inbound_at = %s::timestamptz as untouched"
        " from contacts where id = %s",
        [long_ago, first["contact_id"]],
    )
    assert contact == {"profile_name": "Ana", "opted_out_at": None, "untouched": True}
    conversation = await fetch_one(
        services,
        "select last_inbound_at = %s::timestamptz and last_message_at = %s::timestamptz"
        " and follow_up_sent_at is not null as untouched from conversations where id = %s",
        [long_ago, long_ago, first["conversation_id"]],
    )
    assert conversation == {"untouched": True}


async def test_a_repeat_of_a_message_whose_conversation_closed_since_opens_nothing(
    services: Services, channel: TestChannel
) -> None:
    phone, sid = random_phone(), new_sid()
    [first] = await ingest(services, item(channel, phone, sid=sid))
    await fetch_all(
        services,
        "update conversations set status = 'closed', closed_at = now() where id = %s returning id",
        [first["conversation_id"]],
    )

    [again] = await ingest(services, item(channel, phone, sid=sid))

    assert again["duplicate"] is True
    assert again["conversation_id"] == first["conversation_id"]
    conversations = await fetch_all(
        services, "select status from conversations where contact_id = %s", [first["contact_id"]]
    )
    assert conversations == [{"status": "closed"}]


async def test_keywords_in_one_batch_leave_the_contact_as_the_last_one_says(
    services: Services, channel: TestChannel
) -> None:
    phone = random_phone()
    [stop] = await ingest(services, item(channel, phone, "STOP"))
    opted_out = await fetch_one(
        services, "select opted_out_at from contacts where id = %s", [stop["contact_id"]]
    )
    assert opted_out["opted_out_at"] is not None

    async def state() -> dict[str, object]:
        return await fetch_one(
            services,
            "select opted_out_at is null as subscribed,"
            " opted_out_at = %s as since_first_stop from contacts where id = %s",
            [opted_out["opted_out_at"], stop["contact_id"]],
        )

    # Already out: another STOP, then a question, keep the first opt-out's time; no reply.
    rows = await ingest(services, item(channel, phone, "STOP"), item(channel, phone, "preço?"))
    assert await state() == {"subscribed": False, "since_first_stop": True}
    assert [row["reply_job_id"] for row in rows] == [None, None]
    # In and out again in one batch: out from this batch on.
    await ingest(services, item(channel, phone, "START"), item(channel, phone, "STOP"))
    assert await state() == {"subscribed": False, "since_first_stop": False}
    # Out and in: subscribed, and the question after it is answered.
    rows = await ingest(
        services,
        item(channel, phone, "STOP"),
        item(channel, phone, "START"),
        item(channel, phone, "preço?"),
    )
    assert await state() == {"subscribed": True, "since_first_stop": None}
    assert [row["reply_job_id"] is not None for row in rows] == [False, False, True]


async def test_one_reply_job_per_conversation_returned_with_its_first_message(
    services: Services, channel: TestChannel
) -> None:
    ana, bia = random_phone(), random_phone()

    rows = await ingest(
        services,
        item(channel, ana, "oi", profile_name="Ana"),
        item(channel, bia, "bom dia"),
        item(channel, ana, "tudo bem?", profile_name=None),
        item(channel, ana, "?", profile_name="Ana Paula"),
    )

    jobs = [row["reply_job_id"] for row in rows]
    assert jobs[0] is not None
    assert jobs[1] is not None
    assert jobs[2:] == [None, None]
    assert rows[0]["conversation_id"] == rows[2]["conversation_id"] == rows[3]["conversation_id"]
    waiting = await fetch_all(
        services,
        "select id, args ->> 'conversation_id' as conversation_id from procrastinate_jobs"
        " where task_name = 'conversations:generate_reply' and id = any(%s)",
        [jobs[:2]],
    )
    assert {row["id"]: row["conversation_id"] for row in waiting} == {
        jobs[0]: str(rows[0]["conversation_id"]),
        jobs[1]: str(rows[1]["conversation_id"]),
    }
    contact = await fetch_one(
        services, "select profile_name from contacts where id = %s", [rows[0]["contact_id"]]
    )
    assert contact == {"profile_name": "Ana Paula"}
