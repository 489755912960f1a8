"""The model failing in every way a model server can: hanging past the timeout, 500s,
garbage (a body that is not JSON, an HTML page, empty choices, a tool call with arguments
that are not JSON, a call to a tool never offered).

Each customer gets the agent's fallback message, flagged for the team, within a bounded
time; the worker stays healthy and answers the next conversation normally.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.fakes.openai_server import (
    HANDOFF_TOOL_NAME,
    EchoReply,
    EmptyChoicesReply,
    ErrorReply,
    FakeOpenAI,
    Hang,
    RawReply,
    RecordedRequest,
    Scripted,
    ToolCallReply,
)
from tests.faults import report
from tests.faults.conftest import ProductFactory
from tests.faults.world import FALLBACK_MESSAGE, Delivery, Simulator, customer_number

pytestmark = pytest.mark.faults

MODEL_TIMEOUT_SECONDS = 1.5
REPLY_MAX_ATTEMPTS = 2
#: Longest a customer may wait for the fallback before the test gives up (the timeout
#: times the attempts, the backoff, the debounce and the send, with room to spare).
FALLBACK_BOUND = 30.0

#: fault name -> (what the model does, the error_code the fallback records).
FAULTS: dict[str, tuple[Callable[[], Scripted], str]] = {
    "model hangs past its timeout": (lambda: Hang(30), "timeout"),
    "model answers 500": (lambda: ErrorReply(500), "server_error"),
    "model answers a body that is not JSON": (
        lambda: RawReply(b'{"choices": [', content_type="application/json"),
        "invalid_response",
    ),
    "model answers an HTML page": (RawReply, "invalid_response"),
    "model answers empty choices": (EmptyChoicesReply, "empty_reply"),
    "model calls handoff with bad arguments": (
        lambda: ToolCallReply(HANDOFF_TOOL_NAME, "{reason: 'não é JSON'"),
        "bad_tool_call",
    ),
    "model calls a tool never offered": (
        lambda: ToolCallReply("delete_everything", "{}"),
        "bad_tool_call",
    ),
}


async def test_model_failures_send_the_fallback_and_the_worker_carries_on(
    launch: ProductFactory, fake_openai: FakeOpenAI, simulator: Simulator
) -> None:
    product = launch(
        ATENDE_MODEL_TIMEOUT_SECONDS=str(MODEL_TIMEOUT_SECONDS),
        ATENDE_REPLY_MAX_ATTEMPTS=str(REPLY_MAX_ATTEMPTS),
    )
    await product.make_business()
    product.start_api()
    worker = product.start_worker()
    await product.wait_ready()

    customers = {name: customer_number(index, "55213") for index, name in enumerate(FAULTS)}
    by_text = {f"falha {index}": FAULTS[name][0] for index, name in enumerate(FAULTS)}

    def respond(request: RecordedRequest) -> Scripted:
        last = request.user_texts[-1] if request.user_texts else ""
        return by_text[last]() if last in by_text else EchoReply()

    fake_openai.default = respond
    deliveries = {
        name: Delivery(customers[name], f"falha {index}") for index, name in enumerate(FAULTS)
    }
    await product.deliver_all(deliveries.values())
    assert all(delivery.accepted for delivery in deliveries.values())

    seen = await simulator.wait_for_customers(
        customers.values(), timeout=FALLBACK_BOUND, what="every customer got the fallback"
    )
    sent = await simulator.sent_by_customer()
    outbound = await product.outbound_by_customer()

    # The worker is healthy: the next customer gets a normal answer.
    healthy = Delivery(customer_number(100, "55213"), "Vocês têm pão de queijo?")
    await product.deliver_all([healthy])

    await simulator.wait_for_customers([healthy.customer], timeout=FALLBACK_BOUND)

    for name, delivery in deliveries.items():
        received = sent.get(delivery.customer, [])
        stored = outbound.get(delivery.customer, [])
        assert delivery.accepted_at is not None
        took = seen[delivery.customer] - delivery.accepted_at
        report.record(
            report.FaultRow(
                fault=name,
                injected=f"timeout {MODEL_TIMEOUT_SECONDS:g} s, {REPLY_MAX_ATTEMPTS} attempts",
                messages_in=1,
                replies_out=len(received),
                duplicates=max(0, len(received) - 1),
                lost=0 if received else 1,
                recovery_seconds=took,
                note=(
                    "recovery: message accepted -> fallback handed to Twilio"
                    f" ({stored[0]['error_code'] if stored else 'nothing stored'})"
                ),
            )
        )
    for name, delivery in deliveries.items():
        [message] = sent[delivery.customer]
        assert message["body"] == FALLBACK_MESSAGE, name
        [fallback] = outbound[delivery.customer]
        assert (fallback["author"], fallback["is_error"], fallback["error_code"]) == (
            "system",
            True,
            FAULTS[name][1],
        ), name
    [normal] = (await simulator.sent_by_customer())[healthy.customer]
    assert normal["body"] == f"eco: {healthy.body}"
    assert worker.alive
    assert [w for w in product.workers() if w.alive] == [worker]
