"""A worker SIGKILLed mid-job. After a new worker starts, every customer message has
exactly one answer, nothing is sent twice, and the dead worker's jobs are picked up
again within a bounded time (ATENDE_STALLED_JOB_SECONDS is 15 here)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import pytest

from tests.fakes.openai_server import EchoReply, FakeOpenAI, Hang
from tests.faults import report
from tests.faults.conftest import ProductFactory
from tests.faults.world import Delivery, Product, Simulator, customer_number, eventually

pytestmark = pytest.mark.faults

CUSTOMERS = 5
#: How long anything may take to come back after a fault before the test gives up: the
#: stalled-job threshold, a heartbeat interval and the sweep, with room to spare.
RECOVERY_BOUND = 90.0


async def test_worker_killed_while_the_model_is_answering(
    launch: ProductFactory, fake_openai: FakeOpenAI, simulator: Simulator
) -> None:
    product = launch()
    await product.make_business()
    product.start_api()
    first = product.start_worker()
    await product.wait_ready()
    fake_openai.default = Hang(60)  # a slow model: every reply is in flight for a minute

    deliveries = [
        Delivery(customer_number(index, "55218"), f"Oi, pedido {index}")
        for index in range(CUSTOMERS)
    ]
    await product.deliver_all(deliveries)
    assert all(delivery.accepted for delivery in deliveries)
    await fake_openai.wait_for_requests(CUSTOMERS, timeout=30)

    first.kill()
    killed_at = time.monotonic()
    fake_openai.default = EchoReply()  # the model is quick again for whoever asks next
    product.start_worker()

    async def all_answered() -> bool:
        sent = await simulator.sent_by_customer()
        return all(sent.get(d.customer) for d in deliveries)

    await eventually(all_answered, timeout=RECOVERY_BOUND, what="every customer answered")
    recovered = time.monotonic() - killed_at
    await eventually(
        _no_unfinished_jobs(product), timeout=RECOVERY_BOUND, what="no job left behind"
    )

    sent = await simulator.sent_by_customer()
    outbound = await product.outbound_by_customer()
    duplicates = sum(max(0, len(sent.get(d.customer, [])) - 1) for d in deliveries)
    lost = sum(1 for d in deliveries if not sent.get(d.customer))
    report.record(
        report.FaultRow(
            fault="worker SIGKILL during reply",
            injected=f"{CUSTOMERS} replies waiting on a hanging model; worker killed",
            messages_in=len(deliveries),
            replies_out=sum(len(sent.get(d.customer, [])) for d in deliveries),
            duplicates=duplicates,
            lost=lost,
            recovery_seconds=recovered,
            note="recovery: kill -> last reply handed to Twilio (new worker started at once)",
        )
    )
    for delivery in deliveries:
        [message] = sent[delivery.customer]
        assert message["body"] == f"eco: {delivery.body}"
        [stored] = outbound[delivery.customer]
        assert stored["author"] == "ai"
        assert not stored["is_error"]
    assert duplicates == 0
    assert lost == 0
    assert product.workers()[-1].alive


async def test_worker_killed_between_twilio_accepting_and_the_update(
    launch: ProductFactory, fake_openai: FakeOpenAI, simulator: Simulator
) -> None:
    product = launch()
    await product.make_business()
    product.start_api()
    first = product.start_worker()
    await product.wait_ready()
    # Twilio takes each send and answers 4 s later: the worker dies in between.
    await simulator.add_fault(kind="delay", delay_seconds=4, count=CUSTOMERS)

    deliveries = [
        Delivery(customer_number(index, "55217"), f"Olá, quero o pedido {index}")
        for index in range(CUSTOMERS)
    ]
    await product.deliver_all(deliveries)
    assert all(delivery.accepted for delivery in deliveries)

    async def all_sending() -> bool:
        outbound = await product.outbound_by_customer()
        return all(
            [m["status"] for m in outbound.get(d.customer, [])] == ["sending"] for d in deliveries
        )

    await eventually(all_sending, timeout=30, what="every reply handed to Twilio")
    await _sleep(0.5)  # the requests are with "Twilio" now
    first.kill()
    killed_at = time.monotonic()
    product.start_worker()

    async def settled() -> bool:
        outbound = await product.outbound_by_customer()
        if not all(
            [(m["status"], m["is_error"]) for m in outbound.get(d.customer, [])]
            == [("delivered", False)]
            for d in deliveries
        ):
            return False
        return not await product.unfinished_jobs()

    await eventually(settled, timeout=RECOVERY_BOUND, what="every send settled, no job left")
    recovered = time.monotonic() - killed_at

    sent = await simulator.sent_by_customer()
    outbound = await product.outbound_by_customer()
    duplicates = sum(max(0, len(sent.get(d.customer, [])) - 1) for d in deliveries)
    lost = sum(1 for d in deliveries if not sent.get(d.customer))
    report.record(
        report.FaultRow(
            fault="worker SIGKILL during send",
            injected=f"{CUSTOMERS} sends held 4 s by Twilio; worker killed meanwhile",
            messages_in=len(deliveries),
            replies_out=sum(len(sent.get(d.customer, [])) for d in deliveries),
            duplicates=duplicates,
            lost=lost,
            recovery_seconds=recovered,
            note="recovery: kill -> every message delivered and its stalled job finished",
        )
    )
    assert duplicates == 0
    assert lost == 0
    for delivery in deliveries:
        [message] = sent[delivery.customer]
        [stored] = outbound[delivery.customer]
        assert stored["metadata"]["message_sid"] == message["sid"]


def _no_unfinished_jobs(product: Product) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return not await product.unfinished_jobs()

    return check


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
