"""A burst at scale: 200 customers write 5 messages each within 2 seconds.

With the agent's debounce (3 s) each conversation gets one reply that saw its own five
messages, and none of another conversation's.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from tests.fakes.openai_server import FakeOpenAI, RecordedRequest, TextReply
from tests.faults import report
from tests.faults.conftest import ProductFactory
from tests.faults.world import Delivery, Simulator, customer_number

pytestmark = pytest.mark.faults

CONVERSATIONS = 200
MESSAGES_EACH = 5
BURST_SECONDS = 2.0
DEBOUNCE_SECONDS = 3
REPLIES_BOUND = 120.0
TOKEN = re.compile(r"\bc\d{3}m\d\b")


def seen_by_model(request: RecordedRequest) -> TextReply:
    """The reply names every customer message the model was shown, in order."""
    return TextReply("vi: " + " | ".join(request.user_texts))


async def test_a_burst_of_200_conversations_gets_200_replies_each_seeing_its_own_messages(
    launch: ProductFactory, fake_openai: FakeOpenAI, simulator: Simulator
) -> None:
    product = launch()
    await product.make_business(debounce_seconds=DEBOUNCE_SECONDS)
    product.start_api()
    product.start_worker()
    await product.wait_ready()
    fake_openai.default = seen_by_model

    customers = [customer_number(index, "55212") for index in range(CONVERSATIONS)]
    waves = [
        [
            Delivery(customers[c], f"c{c:03d}m{m} quero saber do pedido")
            for c in range(CONVERSATIONS)
        ]
        for m in range(MESSAGES_EACH)
    ]
    # Wave after wave: a customer's messages go out 0.4 s apart, well inside the debounce.
    # (If the API fell more than the debounce behind, a conversation would rightly get a
    # reply per group of messages stored: the debounce counts from when each is stored.)
    deliveries = [delivery for wave in waves for delivery in wave]
    started = time.monotonic()
    await product.deliver_all(deliveries, rate=len(deliveries) / BURST_SECONDS)
    last_accepted = max(d.accepted_at or 0.0 for d in deliveries)
    sent_in = last_accepted - started
    assert all(delivery.accepted for delivery in deliveries)

    seen = await simulator.wait_for_customers(
        customers, timeout=REPLIES_BOUND, what="a reply for every conversation"
    )
    await asyncio.sleep(DEBOUNCE_SECONDS + 1)  # any second reply would have come by now
    sent = await simulator.sent_by_customer()
    stored = await product.stored_sids()

    mixed = 0
    incomplete = 0
    for index, customer in enumerate(customers):
        tokens = set(TOKEN.findall(" ".join(m["body"] for m in sent.get(customer, []))))
        own = {f"c{index:03d}m{m}" for m in range(MESSAGES_EACH)}
        mixed += bool(tokens - own)
        incomplete += tokens != own
    duplicates = sum(max(0, len(sent.get(c, [])) - 1) for c in customers) + sum(
        max(0, n - 1) for n in stored.values()
    )
    lost = sum(1 for d in deliveries if stored.get(d.sid, 0) == 0) + sum(
        1 for c in customers if not sent.get(c)
    )
    report.record(
        report.FaultRow(
            fault="burst: 200 conversations x 5 messages",
            injected=(
                f"{len(deliveries)} webhooks in {BURST_SECONDS:g} s (all answered in"
                f" {sent_in:.1f} s), debounce {DEBOUNCE_SECONDS} s"
            ),
            messages_in=len(deliveries),
            replies_out=sum(len(sent.get(c, [])) for c in customers),
            duplicates=duplicates,
            lost=lost,
            recovery_seconds=max(seen.values()) - last_accepted,
            note=(
                f"{mixed} replies saw another conversation, {incomplete} missed a message;"
                " recovery: last webhook answered -> 200th reply handed to Twilio"
            ),
        )
    )
    assert lost == 0
    assert duplicates == 0
    assert mixed == 0
    assert incomplete == 0
    assert len(fake_openai.requests) == CONVERSATIONS
