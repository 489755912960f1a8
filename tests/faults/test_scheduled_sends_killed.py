"""A worker SIGKILLed while scheduled sends are due. After a new worker starts, every
scheduled message is sent exactly once: those whose jobs the dead worker was running
(their transactions never committed) and those that fell due while no worker ran.

The dead worker's jobs are caught mid-claim: the test holds the scheduled rows' locks,
so each job waits inside private.send_scheduled_message_v1 when the worker dies; the
locks are then released, and what the dead worker's sessions do next must not send
anything on their own. A job whose worker died is retried once it counts as stalled
(ATENDE_STALLED_JOB_SECONDS is 15 here)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.faults import report
from tests.faults.conftest import ProductFactory
from tests.faults.world import Product, Simulator, customer_number, eventually

pytestmark = pytest.mark.faults

#: Scheduled messages whose jobs are running when the worker dies, and those that fall due
#: while no worker runs.
IN_FLIGHT = 6
DUE_WHILE_DOWN = 6
#: The stalled-job threshold, a heartbeat interval and the sweep, with room to spare.
RECOVERY_BOUND = 90.0
TASK = "conversations:send_scheduled_message"

SCHEDULE = """
mutation ($input: ScheduleMessageInput!) {
  scheduleMessage(input: $input) {
    __typename
    ... on ScheduleMessageSuccess { scheduledMessage { id } }
    ... on UserError { message }
  }
}
"""


async def open_conversation(product: Product, customer: str) -> uuid.UUID:
    """A customer who wrote a minute ago (the window is open), as the platform."""
    assert product.business is not None
    async with product.connect() as conn, conn.transaction():
        contact = await (
            await conn.execute(
                "insert into public.contacts (organization_id, phone_number)"
                " values (%s, %s) returning id",
                [product.business.organization_id, customer],
            )
        ).fetchone()
        assert contact is not None
        conversation = await (
            await conn.execute(
                "insert into public.conversations (organization_id, channel_id, contact_id,"
                " last_inbound_at) values (%s, %s, %s, now() - interval '1 minute')"
                " returning id",
                [product.business.organization_id, product.business.channel_id, contact["id"]],
            )
        ).fetchone()
    assert conversation is not None
    return uuid.UUID(str(conversation["id"]))


async def schedule(product: Product, conversation: uuid.UUID, body: str) -> str:
    """Schedule ``body`` an hour ahead through the API, as the owner."""
    assert product.business is not None
    send_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(
            f"{product.public_url}/graphql",
            json={
                "query": SCHEDULE,
                "variables": {
                    "input": {"conversationId": str(conversation), "sendAt": send_at, "body": body}
                },
            },
            headers=product.business.headers,
        )
    answer.raise_for_status()
    result = answer.json()["data"]["scheduleMessage"]
    assert result["__typename"] == "ScheduleMessageSuccess", result
    return str(result["scheduledMessage"]["id"])


async def execute(product: Product, sql: str, params: Any = None) -> None:
    async with product.connect() as conn:
        # Procrastinate's triggers name its tables unqualified.
        await conn.execute("set search_path to public, procrastinate")
        await conn.execute(sql, params)


async def make_due(product: Product, ids: list[str]) -> None:
    """Their jobs due now, as if the hour had passed."""
    await execute(
        product,
        "update procrastinate.procrastinate_jobs set scheduled_at = now()"
        " where id in (select job_id from public.scheduled_messages where id = any(%s::uuid[]))",
        [ids],
    )


async def jobs(product: Product) -> dict[str, int]:
    rows = await product.fetch_all(
        "select status::text as status, count(*) as n from procrastinate.procrastinate_jobs"
        " where task_name = %s group by 1",
        [TASK],
    )
    return {row["status"]: int(row["n"]) for row in rows}


async def test_worker_killed_while_scheduled_sends_are_due(
    launch: ProductFactory, fake_openai: FakeOpenAI, simulator: Simulator
) -> None:
    product = launch()
    business = await product.make_business()
    await execute(
        product,
        "update public.agents set ai_enabled = false where organization_id = %s",
        [business.organization_id],
    )
    product.start_api()
    first = product.start_worker()
    await product.wait_ready()

    customers = [customer_number(index, "55216") for index in range(IN_FLIGHT + DUE_WHILE_DOWN)]
    body_of = {
        customer: f"Lembrete {index}: sua consulta é amanhã."
        for index, customer in enumerate(customers)
    }
    scheduled: dict[str, str] = {}
    for customer in customers:
        conversation = await open_conversation(product, customer)
        scheduled[customer] = await schedule(product, conversation, body_of[customer])
    in_flight = [scheduled[c] for c in customers[:IN_FLIGHT]]
    due_while_down = [scheduled[c] for c in customers[IN_FLIGHT:]]

    # Hold the first rows' locks, make them due, and wait until the worker's jobs for them
    # are running (each waits for its row inside the claim).
    async with product.connect() as holder:
        await holder.execute("begin")
        await holder.execute(
            "select id from public.scheduled_messages where id = any(%s::uuid[]) for update",
            [in_flight],
        )
        await make_due(product, in_flight)

        async def all_running() -> bool:
            return (await jobs(product)).get("doing", 0) == IN_FLIGHT

        await eventually(all_running, timeout=30, what="the due jobs running")
        first.kill()
        killed_at = time.monotonic()
        await holder.execute("commit")

    # More fall due while no worker runs; then a new worker starts.
    await make_due(product, due_while_down)
    product.start_worker()

    async def all_sent() -> bool:
        rows = await product.fetch_all(
            "select count(*) filter (where status = 'sent') as sent,"
            " count(*) filter (where status <> 'sent') as other"
            " from public.scheduled_messages"
        )
        if rows[0]["other"] or rows[0]["sent"] != len(customers):
            return False
        done = await jobs(product)
        sends = await product.unfinished_jobs("channels:send_message")
        return not done.get("todo") and not done.get("doing") and not sends

    async def state() -> str:
        rows = await product.fetch_all(
            "select status::text as status, count(*) as n from public.scheduled_messages group by 1"
        )
        return f"scheduled messages {rows}, jobs {await jobs(product)}"

    await eventually(
        all_sent, timeout=RECOVERY_BOUND, what="every scheduled message sent", explain=state
    )
    recovered = time.monotonic() - killed_at

    async def delivered_to_all() -> bool:
        sent = await simulator.sent_by_customer()
        return all(sent.get(customer) for customer in customers)

    await eventually(delivered_to_all, timeout=30, what="Twilio took every message")
    sent = await simulator.sent_by_customer()
    outbound = await product.outbound_by_customer()
    duplicates = sum(max(0, len(sent.get(c, [])) - 1) for c in customers)
    lost = sum(1 for c in customers if not sent.get(c))
    report.record(
        report.FaultRow(
            fault="worker SIGKILL during scheduled sends",
            injected=f"{IN_FLIGHT} scheduled sends mid-claim when the worker died,"
            f" {DUE_WHILE_DOWN} more due while no worker ran",
            messages_in=len(customers),
            replies_out=sum(len(sent.get(c, [])) for c in customers),
            duplicates=duplicates,
            lost=lost,
            recovery_seconds=recovered,
            note="recovery: kill -> every scheduled message sent and its jobs finished"
            " (stalled after 15 s)",
        )
    )
    assert duplicates == 0
    assert lost == 0
    for customer in customers:
        [message] = sent[customer]
        assert message["body"] == body_of[customer]
        [stored] = outbound[customer]
        assert stored["author"] == "member"
        assert stored["metadata"]["scheduled_message_id"] == scheduled[customer]
        assert stored["metadata"]["message_sid"] == message["sid"]
    finished: dict[str, Any] = await jobs(product)
    assert set(finished) == {"succeeded"}, finished
    # The dead worker's jobs ran again (retried as stalled), not new jobs in their place.
    retried = await product.fetch_all(
        "select j.attempts from procrastinate.procrastinate_jobs as j"
        " join public.scheduled_messages as s on s.job_id = j.id"
        " where s.id = any(%s::uuid[])",
        [in_flight],
    )
    assert [row["attempts"] >= 1 for row in retried] == [True] * IN_FLIGHT, retried
    assert product.workers()[-1].alive
