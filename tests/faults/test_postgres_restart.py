"""Postgres restarted while signed webhooks arrive at a steady rate.

Deliveries during the outage get a 5xx (so Twilio retries them); the load generator
retries as Twilio does; afterwards every distinct message is stored exactly once and
answered once, and the API and the worker recover by themselves: the same processes, the
pool reconnected, the realtime LISTEN re-established, ``/readyz`` back to 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time

import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.faults import report
from tests.faults.conftest import ProductFactory
from tests.faults.world import (
    Delivery,
    EventLog,
    ReadinessLog,
    Simulator,
    customer_number,
    eventually,
    watch_events,
    watch_readiness,
)

pytestmark = pytest.mark.faults

RATE = 10.0  # webhooks a second
MESSAGES = 120
REPEATS = 12  # Twilio also repeats deliveries it already made
OUTAGE_AFTER = 3.0
OUTAGE_SECONDS = 4.0
RECOVERY_BOUND = 90.0


async def test_postgres_restarted_under_steady_webhooks(
    launch: ProductFactory, fake_openai: FakeOpenAI, simulator: Simulator
) -> None:
    product = launch()
    await product.make_business()
    api = product.start_api()
    worker = product.start_worker()
    await product.wait_ready()

    readiness = ReadinessLog()
    events = EventLog()
    watchers = [
        asyncio.create_task(watch_readiness(product, readiness)),
        asyncio.create_task(watch_events(product, events)),
    ]
    async with asyncio.timeout(10):
        await events.subscribed.wait()

    deliveries = [
        Delivery(customer_number(index, "55216"), f"Mensagem {index}: vocês abrem domingo?")
        for index in range(MESSAGES)
    ]
    rng = random.Random(7)
    repeats = [
        Delivery(original.customer, original.body, sid=original.sid)
        for original in rng.sample(deliveries[: MESSAGES // 2], REPEATS)
    ]
    # Each repeat goes out a little after its original.
    schedule = list(deliveries)
    for repeat in repeats:
        schedule.insert(
            schedule.index(next(d for d in deliveries if d.sid == repeat.sid)) + 5, repeat
        )

    async def outage() -> tuple[float, float, float]:
        await asyncio.sleep(OUTAGE_AFTER)
        down_at = time.monotonic()
        await asyncio.to_thread(product.cluster.stop)
        await asyncio.sleep(OUTAGE_SECONDS)
        restarting_at = time.monotonic()
        await asyncio.to_thread(product.cluster.start)
        return down_at, restarting_at, time.monotonic()

    try:
        outage_task = asyncio.create_task(outage())
        await product.deliver_all(schedule, rate=RATE)
        down_at, restarting_at, up_at = await outage_task

        async def all_answered() -> bool:
            sent = await simulator.sent_by_customer()
            return all(sent.get(d.customer) for d in deliveries)

        with contextlib.suppress(AssertionError):
            await eventually(all_answered, timeout=RECOVERY_BOUND, what="every customer answered")
        answered_at = time.monotonic()
        await eventually(
            lambda: _true_if(readiness.first_ready_after(up_at) is not None),
            timeout=30,
            what="/readyz 200 again",
        )

        # Messages after the restart reach the realtime feed: LISTEN is back. One every few
        # seconds until one is heard: a listener whose connection went deaf finds out at
        # its quiet-time check (within 15 s) and comes back, missing what came meanwhile.
        async def keep_writing() -> None:
            for index in itertools.count(999):
                customer = customer_number(index, "55216")
                [late] = await product.deliver_all([Delivery(customer, "Oi?")])
                assert late.accepted
                await asyncio.sleep(5)

        writer = asyncio.create_task(keep_writing())

        async def received() -> str:
            listeners = await product.fetch_all(
                "select pid, state, query, backend_start, wait_event"
                " from pg_stat_activity where application_name = 'atende-events'"
            )
            return (
                f"received {events.kinds_after(up_at)}, errors {events.errors};"
                f" listener sessions {listeners}"
            )

        try:
            await eventually(
                lambda: _true_if("MESSAGE_CREATED" in events.kinds_after(up_at)),
                timeout=45,
                what="a realtime event after the restart",
                explain=received,
            )
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
    finally:
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)

    stored = await product.stored_sids()
    sent = await simulator.sent_by_customer()
    statuses = [status for delivery in schedule for status in delivery.attempts]
    during_outage = [
        status
        for delivery in schedule
        for status in delivery.attempts[:-1]  # every failed attempt
    ]
    lost = sum(1 for d in deliveries if stored.get(d.sid, 0) == 0 or not sent.get(d.customer))
    duplicates = sum(max(0, n - 1) for n in stored.values()) + sum(
        max(0, len(sent.get(d.customer, [])) - 1) for d in deliveries
    )
    ready_again = readiness.first_ready_after(up_at)
    report.record(
        report.FaultRow(
            fault="Postgres restart under webhooks",
            injected=(
                f"{RATE:g} webhooks/s, {REPEATS} repeats; fast shutdown {OUTAGE_AFTER:g} s in,"
                f" down {OUTAGE_SECONDS:g} s"
            ),
            messages_in=len(deliveries),
            replies_out=sum(len(sent.get(d.customer, [])) for d in deliveries),
            duplicates=duplicates,
            lost=lost,
            recovery_seconds=answered_at - up_at,
            note=(
                f"{sum(1 for s in during_outage if s is not None and s >= 500)} answers 5xx,"
                f" {sum(1 for s in during_outage if s is None)} unanswered;"
                f" /readyz 200 {ready_again - up_at:.1f} s after the database was back;"
                " recovery: database back -> every customer answered"
                if ready_again is not None
                else "/readyz never 200 again"
            ),
        )
    )

    assert all(delivery.accepted for delivery in schedule), [
        d.attempts for d in schedule if not d.accepted
    ]
    assert not [status for status in statuses if status is not None and 400 <= status < 500]
    assert all(status is None or status >= 500 for status in during_outage)
    assert any(status == 503 for status in during_outage), "the outage answered 503"
    # Until the restart begins: the server accepts connections a moment before start()
    # returns, and the API may be ready by then.
    assert readiness.statuses_between(down_at + 1, restarting_at) == {503}, [
        (round(at - down_at, 2), status) for at, status in readiness.samples
    ] + [("restarting", round(restarting_at - down_at, 2)), ("up", round(up_at - down_at, 2))]
    assert {d.sid for d in deliveries} <= set(stored)
    assert duplicates == 0
    assert lost == 0
    assert api.alive, "the API survived the restart"
    assert worker.alive, "the worker survived the restart"
    assert events.errors == []


async def _true_if(value: bool) -> bool:
    return value
