"""Several processes, one database: two API processes and two workers on one Postgres.

Twilio's deliveries land on either API (as behind a load balancer), and every message is
delivered twice, once to each (a retry that the balancer sent elsewhere). Each message is
stored once, each conversation's messages, split across the two APIs, are answered by one
reply that saw them all (the debounce holds across processes), nothing is sent twice,
and a team member subscribed to either API sees the events of messages the other one
stored. What the second API adds on this machine is measured (interleaved rounds, one
API against two), and reported, not asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time

import pytest

from tests.fakes.openai_server import FakeOpenAI, RecordedRequest, TextReply
from tests.faults import report
from tests.faults.conftest import ProductFactory
from tests.faults.world import (
    Delivery,
    EventLog,
    Product,
    Simulator,
    customer_number,
    eventually,
    free_port,
    watch_events,
)

pytestmark = pytest.mark.faults

CONVERSATIONS = 40
MESSAGES_EACH = 3
DEBOUNCE_SECONDS = 3
REPLIES_BOUND = 90.0
TOKEN = re.compile(r"\bd\d{3}m\d\b")
#: Deliveries per throughput round, and rounds per configuration.
ROUND_MESSAGES = 300
ROUNDS = 2


def seen_by_model(request: RecordedRequest) -> TextReply:
    return TextReply("vi: " + " | ".join(request.user_texts))


async def accepted_per_second(product: Product, ports: list[int], prefix: str) -> float:
    """Webhooks answered per second, all posted at once to ``ports`` in turn."""
    deliveries = [
        Delivery(customer_number(index, prefix), "só uma pergunta")
        for index in range(ROUND_MESSAGES)
    ]
    started = time.monotonic()
    await product.deliver_all(deliveries, ports=ports, concurrency=32)
    assert all(delivery.accepted for delivery in deliveries)
    return ROUND_MESSAGES / (time.monotonic() - started)


async def test_two_apis_and_two_workers_store_once_reply_once_and_share_live_events(
    launch: ProductFactory, fake_openai: FakeOpenAI, simulator: Simulator
) -> None:
    product = launch()
    await product.make_business(debounce_seconds=DEBOUNCE_SECONDS)
    second_port = free_port()
    product.start_api()
    product.start_api("api-2", second_port)
    product.start_worker()
    product.start_worker()
    await product.wait_ready()
    await eventually(
        lambda: _ready(product, second_port), timeout=60, interval=0.2, what="the second API"
    )
    fake_openai.default = seen_by_model
    ports = [product.api_port, second_port]

    logs = [EventLog(), EventLog()]
    watchers = [
        asyncio.create_task(watch_events(product, log, port))
        for log, port in zip(logs, ports, strict=True)
    ]
    try:
        await asyncio.wait_for(asyncio.gather(*(log.subscribed.wait() for log in logs)), 10)

        customers = [customer_number(index, "55213") for index in range(CONVERSATIONS)]
        waves = [
            [Delivery(customers[c], f"d{c:03d}m{m} e o meu pedido?") for c in range(CONVERSATIONS)]
            for m in range(MESSAGES_EACH)
        ]
        started = time.monotonic()
        for wave in waves:
            # The same delivery twice (same MessageSid), once to each API, at once.
            twins = [Delivery(d.customer, d.body, sid=d.sid) for d in wave]
            await asyncio.gather(
                product.deliver_all(wave, ports=ports),
                product.deliver_all(twins, ports=list(reversed(ports))),
            )
            assert all(d.accepted for d in wave + twins)
            await asyncio.sleep(0.3)
        last_accepted = time.monotonic()

        seen = await simulator.wait_for_customers(
            customers, timeout=REPLIES_BOUND, what="a reply for every conversation"
        )
        await asyncio.sleep(DEBOUNCE_SECONDS + 1)  # a second reply would have come by now
        sent = await simulator.sent_by_customer()
        stored = await product.stored_sids()
        inbound = CONVERSATIONS * MESSAGES_EACH
        await eventually(
            lambda: _saw(logs, inbound + CONVERSATIONS),
            timeout=15,
            interval=0.2,
            what="every message's event on both subscriptions",
        )
    finally:
        for watcher in watchers:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher

    sids = [d.sid for wave in waves for d in wave]
    lost = sum(1 for sid in sids if stored.get(sid, 0) == 0) + sum(
        1 for c in customers if not sent.get(c)
    )
    duplicates = sum(max(0, stored.get(sid, 0) - 1) for sid in sids) + sum(
        max(0, len(sent.get(c, [])) - 1) for c in customers
    )
    incomplete = 0
    for index, customer in enumerate(customers):
        tokens = set(TOKEN.findall(" ".join(m["body"] for m in sent.get(customer, []))))
        incomplete += tokens != {f"d{index:03d}m{m}" for m in range(MESSAGES_EACH)}
    created = [log.kinds_after(started).count("MESSAGE_CREATED") for log in logs]

    # What a second API adds: the same webhooks to one API, then split over two, in turns.
    one: list[float] = []
    two: list[float] = []
    for round_ in range(ROUNDS):
        one.append(await accepted_per_second(product, ports[:1], f"5521{4 + 2 * round_}"))
        two.append(await accepted_per_second(product, ports, f"5521{5 + 2 * round_}"))

    report.record(
        report.FaultRow(
            fault="two APIs and two workers",
            injected=(
                f"{inbound} messages, each delivered to both APIs at once; debounce"
                f" {DEBOUNCE_SECONDS} s; 2 workers"
            ),
            messages_in=inbound,
            replies_out=sum(len(sent.get(c, [])) for c in customers),
            duplicates=duplicates,
            lost=lost,
            recovery_seconds=max(seen.values()) - last_accepted,
            note=(
                f"{incomplete} replies missed a message; message events per subscriber"
                f" (API 1, API 2): {created[0]}, {created[1]} of"
                f" {inbound + CONVERSATIONS};"
                f" webhooks/s with one API {max(one):.0f} ({min(one):.0f}-{max(one):.0f}),"
                f" with two {max(two):.0f} ({min(two):.0f}-{max(two):.0f}) on this machine"
            ),
        )
    )
    assert (lost, duplicates, incomplete) == (0, 0, 0)
    # Each subscriber saw every message stored, whichever process stored it.
    assert all(count >= inbound + CONVERSATIONS for count in created), created
    assert not any(log.errors for log in logs), [log.errors for log in logs]


async def _ready(product: Product, port: int) -> bool:
    return await product.readyz(port) == 200


async def _saw(logs: list[EventLog], messages: int) -> bool:
    return all(log.kinds_after(0).count("MESSAGE_CREATED") >= messages for log in logs)
