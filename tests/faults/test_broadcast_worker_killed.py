"""A worker SIGKILLed mid-broadcast. After a new worker starts, Twilio received exactly one
message per recipient: nobody the dead worker was about to send to is skipped, nobody it
already sent to gets a second one.

The worker is caught inside a batch's claim: once part of the broadcast went out (and its
sends finished), the test holds the broadcast's row, so the job's next
private.claim_broadcast_batch_v1 waits for it when the worker dies; the lock is then
released, and what the dead worker's session does next must not send anything. The job is
retried once it counts as stalled (ATENDE_STALLED_JOB_SECONDS is 15 here)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.faults import report
from tests.faults.conftest import ProductFactory
from tests.faults.world import Product, Simulator, customer_number, eventually

pytestmark = pytest.mark.faults

RECIPIENTS = 120
#: Messages a second: the broadcast takes about 6 s, the kill comes after a quarter of it.
RATE = 20
SENT_BEFORE_THE_KILL = 30
#: The stalled-job threshold, a heartbeat interval and the sweep, with room to spare.
RECOVERY_BOUND = 90.0
CONTENT_SID = "HX" + "f1" * 16

CREATE = """
mutation ($input: CreateBroadcastInput!) {
  createBroadcast(input: $input) {
    __typename
    ... on CreateBroadcastSuccess { broadcast { id total } }
    ... on UserError { message }
  }
}
"""


async def prepare(product: Product, customers: list[str]) -> tuple[uuid.UUID, list[str]]:
    """A template on the business's channel at RATE a second, and a contact per customer."""
    assert product.business is not None
    business = product.business
    async with product.connect() as conn, conn.transaction():
        await conn.execute(
            "update public.channels set broadcast_rate_per_second = %s where id = %s",
            [RATE, business.channel_id],
        )
        template = await (
            await conn.execute(
                "insert into public.channel_templates (organization_id, channel_id, name,"
                " content_sid, body) values (%s, %s, 'aviso', %s, 'A loja abre às 8h amanhã.')"
                " returning id",
                [business.organization_id, business.channel_id, CONTENT_SID],
            )
        ).fetchone()
        assert template is not None
        contacts = []
        for customer in customers:
            row = await (
                await conn.execute(
                    "insert into public.contacts (organization_id, phone_number)"
                    " values (%s, %s) returning id",
                    [business.organization_id, customer],
                )
            ).fetchone()
            assert row is not None
            contacts.append(str(row["id"]))
    return uuid.UUID(str(template["id"])), contacts


async def create_broadcast(product: Product, template: uuid.UUID, contacts: list[str]) -> str:
    assert product.business is not None
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(
            f"{product.public_url}/graphql",
            json={
                "query": CREATE,
                "variables": {
                    "input": {
                        "channelId": str(product.business.channel_id),
                        "templateId": str(template),
                        "contactIds": contacts,
                    }
                },
            },
            headers=product.business.headers,
        )
    answer.raise_for_status()
    result = answer.json()["data"]["createBroadcast"]
    assert result["__typename"] == "CreateBroadcastSuccess", result
    return str(result["broadcast"]["id"])


async def broadcast_jobs(product: Product) -> dict[str, int]:
    rows = await product.fetch_all(
        "select status::text as status, count(*) as n from procrastinate.procrastinate_jobs"
        " where task_name = 'channels:send_broadcast' group by 1"
    )
    return {row["status"]: int(row["n"]) for row in rows}


async def test_worker_killed_mid_broadcast(
    launch: ProductFactory, fake_openai: FakeOpenAI, simulator: Simulator
) -> None:
    product = launch()
    await product.make_business()
    product.start_api()
    first = product.start_worker()
    await product.wait_ready()
    customers = [customer_number(index, "55215") for index in range(RECIPIENTS)]
    template, contacts = await prepare(product, customers)

    broadcast = await create_broadcast(product, template, contacts)

    async def some_sent() -> bool:
        return len(await simulator.messages()) >= SENT_BEFORE_THE_KILL

    await eventually(some_sent, timeout=60, what="part of the broadcast sent")
    async with product.connect() as holder:
        await holder.execute("begin")
        await holder.execute(
            "select id from public.broadcasts where id = %s for update", [uuid.UUID(broadcast)]
        )

        async def caught_mid_claim() -> bool:
            # The job waits for the row inside its claim, and every send it queued before
            # is done (the send path's own kill is another test's).
            waiting = await product.fetch_all(
                "select pid from pg_stat_activity where wait_event_type = 'Lock'"
                " and query like '%%claim_broadcast_batch%%'"
            )
            return bool(waiting) and not await product.unfinished_jobs("channels:send_message")

        await eventually(caught_mid_claim, timeout=30, what="the broadcast job mid-claim")
        sent_at_kill = len(await simulator.messages())
        first.kill()
        killed_at = time.monotonic()
        await holder.execute("commit")
    product.start_worker()

    async def completed() -> bool:
        row = await product.fetch_one(
            "select status::text as status from public.broadcasts where id = %s",
            [uuid.UUID(broadcast)],
        )
        if row is None or row["status"] != "completed":
            return False
        done = await broadcast_jobs(product)
        sends = await product.unfinished_jobs("channels:send_message")
        return not done.get("todo") and not done.get("doing") and not sends

    async def state() -> str:
        rows = await product.fetch_all(
            "select status::text as status, count(*) as n from public.broadcast_recipients"
            " group by 1"
        )
        return f"recipients {rows}, jobs {await broadcast_jobs(product)}"

    await eventually(
        completed, timeout=RECOVERY_BOUND, what="the broadcast completed", explain=state
    )
    recovered = time.monotonic() - killed_at

    async def delivered_to_all() -> bool:
        sent = await simulator.sent_by_customer()
        return all(sent.get(customer) for customer in customers)

    await eventually(delivered_to_all, timeout=30, what="Twilio took every message")
    sent = await simulator.sent_by_customer()
    duplicates = sum(max(0, len(sent.get(c, [])) - 1) for c in customers)
    lost = sum(1 for c in customers if not sent.get(c))
    report.record(
        report.FaultRow(
            fault="worker SIGKILL mid-broadcast",
            injected=f"{RECIPIENTS} recipients at {RATE}/s; worker killed inside a batch's"
            f" claim after {sent_at_kill} sent",
            messages_in=RECIPIENTS,
            replies_out=sum(len(sent.get(c, [])) for c in customers),
            duplicates=duplicates,
            lost=lost,
            recovery_seconds=recovered,
            note="recovery: kill -> broadcast completed, its jobs and sends finished"
            " (stalled after 15 s)",
        )
    )
    assert duplicates == 0
    assert lost == 0
    assert SENT_BEFORE_THE_KILL <= sent_at_kill < RECIPIENTS
    for customer in customers:
        [message] = sent[customer]
        assert message["content_sid"] == CONTENT_SID
    recipients: list[dict[str, Any]] = await product.fetch_all(
        "select status::text as status, count(*) as n from public.broadcast_recipients"
        " where broadcast_id = %s group by 1",
        [uuid.UUID(broadcast)],
    )
    assert recipients == [{"status": "sent", "n": RECIPIENTS}]
    # The dead worker's job ran again (retried as stalled), and finished.
    finished = await broadcast_jobs(product)
    assert set(finished) == {"succeeded"}, finished
    assert product.workers()[-1].alive
