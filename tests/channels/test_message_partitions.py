"""public.messages partitioned by month (migrations 20261207002000-002002): partitions made
ahead and old empty ones dropped by the upkeep, every date with a partition, and webhook
idempotency holding across a partition boundary (private.message_sids is the judge)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from atende.conversations.privacy import PartitionChange, Upkeep
from atende.devtools.twilio_simulator import new_sid
from atende.services import Services
from tests.channels.world import (
    TestChannel,
    deliver,
    fetch_all,
    fetch_one,
    open_conversation,
    random_phone,
)

PARTITIONS = """
select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bounds
from pg_inherits as i join pg_class as c on c.oid = i.inhrelid
where i.inhparent = 'public.messages'::regclass
order by c.relname
"""


def upkeep(services: Services) -> Upkeep:
    return Upkeep(services.database, services.media_storage)


def month_start(moment: datetime, months: int = 0) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def monthly(months: list[datetime]) -> list[str]:
    return [f"messages_{m:%Y_%m}" for m in months]


async def partitions(services: Services) -> dict[str, str]:
    return {row["name"]: row["bounds"] for row in await fetch_all(services, PARTITIONS)}


async def insert_message(
    services: Services, conversation: UUID, created_at: datetime, sid: str | None = None
) -> tuple[UUID, str]:
    row = await fetch_one(
        services,
        "insert into public.messages (organization_id, conversation_id, direction, author,"
        " status, created_at, metadata)"
        " select c.organization_id, c.id, 'inbound', 'contact', 'received', %s,"
        " jsonb_build_object('message_sid', %s::text)"
        " from public.conversations as c where c.id = %s"
        " returning id, tableoid::regclass::text as partition",
        [created_at, sid or new_sid(), conversation],
    )
    return row["id"], row["partition"]


async def test_the_migration_leaves_this_month_three_ahead_and_open_ends(
    services: Services,
) -> None:
    now = datetime.now(UTC)
    names = await partitions(services)
    months = [month_start(now, i) for i in range(4)]
    assert sorted(names) == sorted([*monthly(months), "messages_after", "messages_before"])
    assert (
        names["messages_before"]
        == f"FOR VALUES FROM (MINVALUE) TO ('{months[0]:%Y-%m-%d} 00:00:00+00')"
    )
    assert names["messages_after"] == (
        f"FOR VALUES FROM ('{month_start(now, 4):%Y-%m-%d} 00:00:00+00') TO (MAXVALUE)"
    )


async def test_the_upkeep_makes_partitions_ahead_of_a_given_day_once(services: Services) -> None:
    now = datetime.now(UTC)
    later = month_start(now, 2) + timedelta(days=9)

    changes = await upkeep(services).maintain_message_partitions(ahead=3, now=later)

    made = [month_start(now, i) for i in range(4, 6)]
    passed = [month_start(now, i) for i in range(2)]  # empty, and entirely before `later`
    assert changes == [
        *(PartitionChange("created", name, 0) for name in monthly(made)),
        *(PartitionChange("dropped", name, 0) for name in monthly(passed)),
    ]
    names = await partitions(services)
    assert names[monthly(made)[-1]] == (
        f"FOR VALUES FROM ('{made[-1]:%Y-%m-%d} 00:00:00+00')"
        f" TO ('{month_start(now, 6):%Y-%m-%d} 00:00:00+00')"
    )
    assert names["messages_after"].startswith(f"FOR VALUES FROM ('{month_start(now, 6):%Y-%m-%d}")
    assert await upkeep(services).maintain_message_partitions(ahead=3, now=later) == []


async def test_a_message_beyond_the_months_made_is_caught_then_moved_into_its_month(
    services: Services, channel: TestChannel
) -> None:
    now = datetime.now(UTC)
    conversation = await open_conversation(services, channel, phone_number=random_phone())
    far = month_start(now, 7) + timedelta(days=3)
    message_id, partition = await insert_message(services, conversation, far)
    assert partition == "partitions.messages_after"

    changes = await upkeep(services).maintain_message_partitions(ahead=8, now=now)

    assert PartitionChange("created", f"messages_{far:%Y_%m}", 1) in changes
    row = await fetch_one(
        services,
        "select tableoid::regclass::text as partition from public.messages where id = %s",
        [message_id],
    )
    assert row["partition"] == f"partitions.messages_{far:%Y_%m}"


async def test_a_message_older_than_every_month_has_a_partition_too(
    services: Services, channel: TestChannel
) -> None:
    conversation = await open_conversation(services, channel, phone_number=random_phone())
    _, partition = await insert_message(services, conversation, datetime(2019, 3, 1, tzinfo=UTC))
    assert partition == "partitions.messages_before"


async def test_old_empty_partitions_are_dropped_and_one_holding_a_message_stays(
    services: Services, channel: TestChannel
) -> None:
    now = datetime.now(UTC)
    conversation = await open_conversation(services, channel, phone_number=random_phone())
    # Two months later, this month and the next are entirely in the past; one of them
    # still holds a message, so it (and whatever follows it) stays.
    await insert_message(services, conversation, month_start(now, 1) + timedelta(days=2))
    later = month_start(now, 2) + timedelta(days=1)

    changes = await upkeep(services).maintain_message_partitions(ahead=3, now=later)

    this_month = f"messages_{now:%Y_%m}"
    assert [c for c in changes if c.action == "dropped"] == [
        PartitionChange("dropped", this_month, 0)
    ]
    names = await partitions(services)
    assert this_month not in names
    assert f"messages_{month_start(now, 1):%Y_%m}" in names
    assert names["messages_before"] == (
        f"FOR VALUES FROM (MINVALUE) TO ('{month_start(now, 1):%Y-%m-%d} 00:00:00+00')"
    )
    # A message of the dropped month's dates still has a partition: messages_before.
    _, partition = await insert_message(services, conversation, now)
    assert partition == "partitions.messages_before"


async def test_a_repeat_delivered_next_month_of_a_message_stored_last_month_is_stored_once(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    """The message arrived in the last microsecond of last month (another partition);
    its repeats arrive now, 20 at once: still one message, no reply job for them."""
    now = datetime.now(UTC)
    phone = random_phone()
    conversation = await open_conversation(services, channel, phone_number=phone)
    sid = new_sid()
    first_id, first_partition = await insert_message(
        services, conversation, month_start(now) - timedelta(microseconds=1), sid
    )
    assert first_partition != f"partitions.messages_{now:%Y_%m}"

    deliveries = await asyncio.gather(
        *(deliver(client, channel, from_=phone, message_sid=sid) for _ in range(20))
    )

    assert {d.status_code for d in deliveries} == {200}
    rows = await fetch_all(
        services,
        "select s.message_id from private.message_sids as s where s.message_sid = %s",
        [sid],
    )
    assert rows == [{"message_id": first_id}]
    stored = await fetch_all(
        services, "select id from public.messages where metadata ->> 'message_sid' = %s", [sid]
    )
    assert stored == [{"id": first_id}]


async def test_concurrent_duplicates_straddling_a_month_boundary_store_one_message(
    services: Services, channel: TestChannel, database_url: str
) -> None:
    """One transaction stores a sid at the end of last month and holds its commit; the
    same sid's delivery, ingested now (this month's partition), waits on the judge's key
    and, once the first commits, is answered as the duplicate of that message."""
    now = datetime.now(UTC)
    phone = random_phone()
    conversation = await open_conversation(services, channel, phone_number=phone)
    sid = new_sid()

    async with await psycopg.AsyncConnection.connect(database_url, row_factory=dict_row) as first:
        row = await (
            await first.execute(
                "insert into public.messages (organization_id, conversation_id, direction,"
                " author, status, created_at, metadata)"
                " select c.organization_id, c.id, 'inbound', 'contact', 'received', %s,"
                " jsonb_build_object('message_sid', %s::text)"
                " from public.conversations as c where c.id = %s returning id",
                [month_start(now) - timedelta(microseconds=1), sid, conversation],
            )
        ).fetchone()
        assert row is not None
        first_id = row["id"]

        async with await psycopg.AsyncConnection.connect(
            database_url, row_factory=dict_row, autocommit=True
        ) as second:
            second_pid = second.info.backend_pid
            ingest = asyncio.create_task(_ingest(second, channel.id, sid, phone))
            await _waits_on_a_lock(services, second_pid)
            assert not ingest.done()
            await first.commit()
            answer = await ingest

    assert answer["duplicate"] is True
    assert answer["message_id"] == first_id
    count = await fetch_one(
        services,
        "select count(*) as n from public.messages where metadata ->> 'message_sid' = %s",
        [sid],
    )
    assert count["n"] == 1


async def _ingest(
    conn: psycopg.AsyncConnection[dict[str, Any]], channel_id: UUID, sid: str, phone: str
) -> dict[str, Any]:
    cursor = await conn.execute(
        "select * from private.ingest_inbound_message_v1(%s, %s, %s, 'Olá')",
        [channel_id, sid, phone],
    )
    row = await cursor.fetchone()
    assert row is not None
    return row


async def _waits_on_a_lock(services: Services, pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        row = await fetch_one(
            services,
            "select wait_event_type from pg_stat_activity where pid = %s",
            [pid],
        )
        if row["wait_event_type"] == "Lock":
            return
        if time.monotonic() > deadline:
            pytest.fail("the second delivery never waited on the first one's sid")
        await asyncio.sleep(0.02)


async def test_deleted_messages_take_their_sids_and_leave_runs_without_them(
    services: Services, channel: TestChannel
) -> None:
    conversation = await open_conversation(services, channel, phone_number=random_phone())
    message_id, _ = await insert_message(services, conversation, datetime.now(UTC))
    run = await fetch_one(
        services,
        "insert into public.ai_runs (organization_id, conversation_id, message_id, model,"
        " outcome) select organization_id, conversation_id, id, 'm', 'replied'"
        " from public.messages where id = %s returning id",
        [message_id],
    )

    await fetch_all(
        services, "delete from public.messages where id = %s returning id", [message_id]
    )

    assert (
        await fetch_all(
            services, "select 1 from private.message_sids where message_id = %s", [message_id]
        )
        == []
    )
    after = await fetch_one(
        services, "select message_id from public.ai_runs where id = %s", [run["id"]]
    )
    assert after["message_id"] is None


async def test_a_message_is_found_by_id_alone_however_old(
    services: Services, channel: TestChannel
) -> None:
    """private.message_created_at looks in the last 32 days' partitions first, then in
    every one: an old message (a status callback for a send of long ago) is still found."""
    conversation = await open_conversation(services, channel, phone_number=random_phone())
    now = datetime.now(UTC)
    recent, _ = await insert_message(services, conversation, now - timedelta(minutes=1))
    old, _ = await insert_message(services, conversation, now - timedelta(days=200))
    rows = await fetch_all(
        services,
        "select m.id, private.message_created_at(m.id) = m.created_at as found"
        " from public.messages as m where m.id = any(%s) order by m.created_at",
        [[recent, old]],
    )
    assert rows == [{"id": old, "found": True}, {"id": recent, "found": True}]
    missing = await fetch_one(
        services, "select private.message_created_at(gen_random_uuid()) as created_at"
    )
    assert missing["created_at"] is None


async def test_a_contact_deleted_takes_its_messages_sids_with_them(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    """Erasure deletes the contact; its conversations and messages go by cascade, and the
    judge's rows with them (nothing of the contact left in private.message_sids)."""
    phone = random_phone()
    delivery = await deliver(client, channel, from_=phone)
    assert delivery.status_code == 200
    assert await fetch_all(
        services,
        "select 1 from private.message_sids where message_sid = %s",
        [delivery.message_sid],
    ) == [{"?column?": 1}]

    await fetch_all(
        services,
        "delete from public.contacts where organization_id = %s and phone_number = %s returning id",
        [channel.organization.id, phone],
    )

    assert (
        await fetch_all(
            services,
            "select 1 from private.message_sids where message_sid = %s",
            [delivery.message_sid],
        )
        == []
    )
