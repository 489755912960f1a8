"""Group commit of inbound messages: batches share a transaction, never their fate."""

from __future__ import annotations

import asyncio

import psycopg

from atende.channels.ingest import GroupCommit, InboundMessage
from atende.channels.simulator import new_sid
from atende.services import Services
from tests.channels.world import TestChannel, fetch_all, random_phone

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


async def test_an_unavailable_database_fails_every_delivery_of_the_batch(
    services: Services, channel: TestChannel
) -> None:
    assert services.database.service_pool is not None
    await services.database.service_pool.close()  # the platform's connections
    await services.pool.close()
    batcher = GroupCommit(services.database, INGEST, timeout=0.2)
    results = await asyncio.gather(
        *(batcher.submit(message(channel).as_item()) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(result, psycopg.OperationalError) for result in results), results
