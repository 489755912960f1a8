"""Twilio failing: 429 and 500 for a while, then recovering; and permanent refusals.

Retryable failures are retried with backoff until Twilio takes each message, once.
Permanent ones (21610 unsubscribed, 63016 outside the window, 21211 invalid number) are
not retried, and the team sees them on the message (GraphQL ``status``, ``errorCode``,
``isError``).
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.faults import report
from tests.faults.conftest import ProductFactory
from tests.faults.world import Delivery, Product, Simulator, customer_number, eventually

pytestmark = pytest.mark.faults

CUSTOMERS = 10
RATE_LIMITED_SECONDS = 3.0
SERVER_ERROR_SECONDS = 3.0
RECOVERY_BOUND = 60.0

#: Twilio code -> (how the simulator fails it, what the message shows).
PERMANENT = {
    21610: {"kind": "reject", "http_status": 400, "code": 21610},
    63016: {"kind": "reject", "http_status": 400, "code": 63016},
    21211: {"kind": "reject", "http_status": 400, "code": 21211},
}

MESSAGES = """
query ($org: ID!) {
  organization(id: $org) {
    conversations(first: 50) {
      edges { node { contact { phoneNumber } messages(first: 10) {
        edges { node { direction status errorCode errorMessage isError } } } } }
    }
  }
}
"""


async def test_twilio_rate_limits_and_fails_then_recovers(
    launch: ProductFactory, fake_openai: FakeOpenAI, simulator: Simulator
) -> None:
    product = launch()
    await product.make_business()
    product.start_api()
    product.start_worker()
    await product.wait_ready()
    # 429s first, then 500s, then Twilio is fine (faults apply in the order added).
    faults_added = time.monotonic()
    await simulator.add_fault(http_status=429, code=20429, duration_seconds=RATE_LIMITED_SECONDS)
    await simulator.add_fault(
        http_status=500, code=20500, duration_seconds=RATE_LIMITED_SECONDS + SERVER_ERROR_SECONDS
    )
    fault_ends = faults_added + RATE_LIMITED_SECONDS + SERVER_ERROR_SECONDS

    deliveries = [
        Delivery(customer_number(index, "55215"), f"Boa tarde! Pedido {index}")
        for index in range(CUSTOMERS)
    ]
    await product.deliver_all(deliveries)
    assert all(delivery.accepted for delivery in deliveries)

    async def all_sent() -> bool:
        sent = await simulator.sent_by_customer()
        return all(sent.get(d.customer) for d in deliveries)

    await eventually(all_sent, timeout=RECOVERY_BOUND, what="every reply taken by Twilio")
    recovered = time.monotonic() - fault_ends

    async def settled() -> bool:
        outbound = await product.outbound_by_customer()
        return all(
            [m["status"] for m in outbound.get(d.customer, [])] == ["delivered"] for d in deliveries
        )

    await eventually(
        settled,
        timeout=30,
        what="every reply delivered",
        explain=lambda: _unsettled(product, simulator, deliveries),
    )
    sent = await simulator.sent_by_customer()
    runs = await product.fetch_all(
        "select attempts from procrastinate.procrastinate_jobs"
        " where task_name = 'channels:send_message'"
    )
    duplicates = sum(max(0, len(sent.get(d.customer, [])) - 1) for d in deliveries)
    lost = sum(1 for d in deliveries if not sent.get(d.customer))
    report.record(
        report.FaultRow(
            fault="Twilio 429 then 500",
            injected=(
                f"every send refused 429 for {RATE_LIMITED_SECONDS:g} s,"
                f" then 500 for {SERVER_ERROR_SECONDS:g} s"
            ),
            messages_in=len(deliveries),
            replies_out=sum(len(sent.get(d.customer, [])) for d in deliveries),
            duplicates=duplicates,
            lost=lost,
            recovery_seconds=max(0.0, recovered),
            note=(
                f"send job runs per message: up to {max(r['attempts'] for r in runs)};"
                " recovery: Twilio fine again -> every reply taken"
            ),
        )
    )
    assert duplicates == 0
    assert lost == 0
    assert max(run["attempts"] for run in runs) >= 2, "sends were retried"


async def test_permanent_twilio_errors_are_not_retried_and_show_on_the_message(
    launch: ProductFactory, fake_openai: FakeOpenAI, simulator: Simulator
) -> None:
    product = launch()
    business = await product.make_business()
    product.start_api()
    product.start_worker()
    await product.wait_ready()
    customers = {code: customer_number(index, "55214") for index, code in enumerate(PERMANENT)}
    for code, spec in PERMANENT.items():
        await simulator.add_fault(**spec, to=f"whatsapp:{customers[code]}", count=1)
    # WhatsApp also reports 63016 after accepting: the status callback says failed.
    late_failure = customer_number(99, "55214")
    await simulator.add_fault(kind="fail_delivery", code=63016, to=f"whatsapp:{late_failure}")
    started = time.monotonic()

    deliveries = [Delivery(customer, "Oi") for customer in [*customers.values(), late_failure]]
    await product.deliver_all(deliveries)
    assert all(delivery.accepted for delivery in deliveries)

    expected = {customers[code]: str(code) for code in PERMANENT} | {late_failure: "63016"}

    async def all_failed() -> bool:
        outbound = await product.outbound_by_customer()
        return all(
            [(m["status"], m["error_code"]) for m in outbound.get(customer, [])]
            == [("failed", code)]
            for customer, code in expected.items()
        ) and not await product.unfinished_jobs("channels:send_message")

    await eventually(all_failed, timeout=RECOVERY_BOUND, what="every refused send failed")
    settled = time.monotonic() - started

    async with httpx.AsyncClient(base_url=product.public_url, timeout=10) as http:
        answer = await http.post(
            "/graphql",
            json={"query": MESSAGES, "variables": {"org": str(business.organization_id)}},
            headers=business.headers,
        )
    body = answer.json()
    assert "errors" not in body, body
    shown = {
        edge["node"]["contact"]["phoneNumber"]: [
            m["node"]
            for m in edge["node"]["messages"]["edges"]
            if m["node"]["direction"] == "OUTBOUND"
        ]
        for edge in body["data"]["organization"]["conversations"]["edges"]
    }
    for customer, error_code in expected.items():
        [message] = shown[customer]
        assert message["status"] == "FAILED"
        assert message["errorCode"] == error_code
        assert message["isError"] is True
        assert message["errorMessage"]
    sent = await simulator.sent_by_customer()
    runs = await product.fetch_all(
        "select attempts from procrastinate.procrastinate_jobs"
        " where task_name = 'channels:send_message'"
    )
    # Rejected sends are not recorded by Twilio; a retry would have been (each fault
    # fails one send only).
    retried = [customer for customer in customers.values() if sent.get(customer)]
    report.record(
        report.FaultRow(
            fault="Twilio permanent errors",
            injected="sends refused 21610, 63016, 21211; one accepted then failed 63016",
            messages_in=len(deliveries),
            replies_out=sum(len(v) for v in sent.values()),
            duplicates=len(retried),
            lost=0,
            recovery_seconds=None,
            note=(
                f"all {len(expected)} failed visibly (status, errorCode, isError) within"
                f" {settled:.1f} s; none retried"
            ),
        )
    )
    assert retried == []
    assert len(sent.get(late_failure, [])) == 1
    assert all(run["attempts"] == 1 for run in runs), runs  # one run each, no retry
    # 21610 is the customer unsubscribing: nothing more goes to them.
    opted_out = await product.fetch_one(
        "select opted_out_at is not null as opted_out from public.contacts where phone_number = %s",
        [customers[21610]],
    )
    assert opted_out == {"opted_out": True}


async def _unsettled(product: Product, simulator: Simulator, deliveries: list[Delivery]) -> str:
    """What the database and Twilio hold for each customer whose reply did not settle."""
    outbound = await product.outbound_by_customer()
    sent = await simulator.sent_by_customer()
    lines = []
    for delivery in deliveries:
        rows = outbound.get(delivery.customer, [])
        if [row["status"] for row in rows] == ["delivered"]:
            continue
        in_database = [(row["status"], row["metadata"]) for row in rows]
        at_twilio = [
            (message["status"], message.get("callbacks"))
            for message in sent.get(delivery.customer, [])
        ]
        lines.append(f"{delivery.customer}: database {in_database}; Twilio {at_twilio}")
    return "\n".join(lines)
