"""channels:send_message: a queued message reaches Twilio at most once, retries what
Twilio certainly did not take, fails visibly what it refused, and never resends what
may have reached it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import procrastinate
import pytest

from atende.channels import sending
from atende.channels.sending import (
    AlreadySent,
    ContactOptedOut,
    DeliveryUnknown,
    Failed,
    MessageSender,
    NothingToSend,
    OutsideCustomerServiceWindow,
    RetryLater,
    Sent,
    split_body,
)
from atende.db.session import Caller
from atende.queue import app as queue_app
from atende.services import Services
from tests.channels.world import (
    TestChannel,
    fetch_all,
    fetch_one,
    make_channel,
    open_conversation,
    queue_message,
    sender_of,
)
from tests.factories import Factory
from tests.twilio_fixtures import RunningSimulator, eventually

CUSTOMER = "+5521987654321"


@pytest.fixture
async def channel(sending_services: Services, factory: Factory) -> TestChannel:
    return await make_channel(sending_services, factory)


async def message_row(services: Services, message_id: uuid.UUID) -> dict[str, Any]:
    return await fetch_one(
        services,
        "select status::text, is_error, error_code, error_message, metadata, body"
        " from public.messages where id = %s",
        [message_id],
    )


async def message_status(services: Services, message_id: uuid.UUID) -> str:
    status: str = (await message_row(services, message_id))["status"]
    return status


def sent_to(simulator: RunningSimulator, channel: TestChannel) -> list[Any]:
    return simulator.simulator.state.messages(to=channel.address_of(CUSTOMER))


def add_fault(simulator: RunningSimulator, **spec: Any) -> None:
    answer = httpx.post(f"{simulator.base_url}/__simulator/faults", json=spec)
    assert answer.status_code == 201, answer.text


async def test_a_queued_message_is_sent_and_its_status_follows_the_callbacks(
    sending_services: Services, channel: TestChannel, twilio_simulator: RunningSimulator
) -> None:
    conversation = await open_conversation(sending_services, channel, phone_number=CUSTOMER)
    message_id = await queue_message(sending_services, conversation, "Olá! Como posso ajudar?")

    result = await sender_of(sending_services).send(message_id)

    assert isinstance(result, Sent)
    [sent] = sent_to(twilio_simulator, channel)
    assert (sent.from_, sent.body) == (channel.address, "Olá! Como posso ajudar?")
    assert sent.status_callback == (
        f"{sending_services.settings.public_url}/webhooks/twilio/status"
        f"?message_id={message_id}&part=0&parts=1"
    )
    row = await message_row(sending_services, message_id)
    assert row["metadata"]["message_sid"] == sent.sid == result.sids[0]
    assert row["status"] in {"sending", "sent", "delivered"}

    async def delivered() -> bool:
        return await message_status(sending_services, message_id) == "delivered"

    await eventually_async(delivered)
    assert not (await message_row(sending_services, message_id))["is_error"]


async def eventually_async(condition: Any, timeout: float = 10.0) -> None:
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


async def test_a_long_body_goes_as_ordered_parts_with_every_sid_recorded(
    sending_services: Services, channel: TestChannel, twilio_simulator: RunningSimulator
) -> None:
    body = " ".join(f"palavra{i}" for i in range(500))  # ~5,000 characters
    conversation = await open_conversation(sending_services, channel, phone_number=CUSTOMER)
    message_id = await queue_message(sending_services, conversation, body)

    result = await sender_of(sending_services).send(message_id)

    assert isinstance(result, Sent)
    sent = sent_to(twilio_simulator, channel)
    assert len(sent) == len(split_body(body)) >= 4
    assert "".join(item.body for item in sent) == body
    assert all(len(item.body) <= 1600 for item in sent)
    row = await message_row(sending_services, message_id)
    assert [part["sid"] for part in row["metadata"]["parts"]] == [item.sid for item in sent]
    assert row["metadata"]["part_count"] == len(sent)

    async def delivered() -> bool:
        return await message_status(sending_services, message_id) == "delivered"

    await eventually_async(delivered)


def test_split_body_keeps_the_text_and_cuts_between_words() -> None:
    body = ("Olá, tudo bem? " * 200).strip()
    parts = split_body(body)
    assert "".join(parts) == body
    assert all(len(part) <= 1600 for part in parts)
    assert all(part.endswith(" ") for part in parts[:-1])
    emoji = "😀" * 1000  # two UTF-16 units each
    assert all(len(part) <= 800 for part in split_body(emoji))
    assert "".join(split_body(emoji)) == emoji
    assert split_body("") == [""]


async def test_a_repeated_job_sends_nothing_more(
    sending_services: Services, channel: TestChannel, twilio_simulator: RunningSimulator
) -> None:
    conversation = await open_conversation(sending_services, channel, phone_number=CUSTOMER)
    message_id = await queue_message(sending_services, conversation)
    sender = sender_of(sending_services)

    first = await sender.send(message_id)
    again = await sender.send(message_id)

    assert isinstance(first, Sent)
    # Already sent (or, once a callback moved it on, nothing to send).
    assert isinstance(again, AlreadySent | NothingToSend)
    assert len(sent_to(twilio_simulator, channel)) == 1


async def test_nothing_is_sent_to_a_contact_who_opted_out_after_queueing(
    sending_services: Services, channel: TestChannel, twilio_simulator: RunningSimulator
) -> None:
    conversation = await open_conversation(sending_services, channel, phone_number=CUSTOMER)
    message_id = await queue_message(sending_services, conversation)
    async with sending_services.database.transaction(Caller.service()) as conn:
        await conn.execute("update public.contacts set opted_out_at = now()")

    result = await sender_of(sending_services).send(message_id)

    assert isinstance(result, ContactOptedOut)
    assert sent_to(twilio_simulator, channel) == []
    row = await message_row(sending_services, message_id)
    assert (row["status"], row["is_error"], row["error_code"]) == (
        "failed",
        True,
        "contact_opted_out",
    )


async def test_free_text_after_the_window_closed_is_refused_before_twilio(
    sending_services: Services, channel: TestChannel, twilio_simulator: RunningSimulator
) -> None:
    conversation = await open_conversation(sending_services, channel, phone_number=CUSTOMER)
    message_id = await queue_message(sending_services, conversation)
    async with sending_services.database.transaction(Caller.service()) as conn:
        await conn.execute(
            "update public.conversations set last_inbound_at = now() - interval '25 hours'"
        )

    result = await sender_of(sending_services).send(message_id)

    assert isinstance(result, OutsideCustomerServiceWindow)
    assert sent_to(twilio_simulator, channel) == []
    row = await message_row(sending_services, message_id)
    assert (row["status"], row["error_code"]) == ("failed", "outside_customer_service_window")


async def test_a_template_goes_outside_the_window_with_content_sid_and_variables(
    sending_services: Services, channel: TestChannel, twilio_simulator: RunningSimulator
) -> None:
    conversation = await open_conversation(
        sending_services, channel, phone_number=CUSTOMER, inbound_hours_ago=48
    )
    content_sid = "HX" + "a" * 32
    message_id = await queue_message(
        sending_services,
        conversation,
        "Olá Maria, seu pedido chegou.",
        metadata={"content_sid": content_sid, "content_variables": {"1": "Maria"}},
    )

    result = await sender_of(sending_services).send(message_id)

    assert isinstance(result, Sent)
    [sent] = sent_to(twilio_simulator, channel)
    assert (sent.content_sid, sent.content_variables, sent.body) == (
        content_sid,
        {"1": "Maria"},
        None,
    )


async def test_retryable_failures_requeue_then_succeed_through_the_worker(
    sending_services: Services, channel: TestChannel, twilio_simulator: RunningSimulator
) -> None:
    add_fault(twilio_simulator, count=2, http_status=429, code=20429)
    conversation = await open_conversation(sending_services, channel, phone_number=CUSTOMER)
    message_id = await queue_message(sending_services, conversation)

    await run_worker_until_idle(sending_services)

    assert len(sent_to(twilio_simulator, channel)) == 1
    row = await message_row(sending_services, message_id)
    assert row["metadata"]["send_attempts"] == 3
    assert row["metadata"]["last_error"]["code"] == "20429"
    assert row["status"] in {"sending", "sent", "delivered"}
    jobs = await fetch_all(
        sending_services,
        "select status::text, attempts from procrastinate.procrastinate_jobs"
        " where task_name = 'channels:send_message'",
    )
    assert jobs == [{"status": "succeeded", "attempts": 3}]


async def run_worker_until_idle(services: Services, rounds: int = 20) -> None:
    """Run the sends queue until no send job is waiting (retries are due within ms)."""
    import asyncio

    # The process's app on a connector of this test's own (an app keeps the first pool
    # it was opened with).
    with queue_app.replace_connector(procrastinate.PsycopgConnector()) as app:
        async with app.open_async(services.database.pool):
            for _ in range(rounds):
                await app.run_worker_async(
                    queues=["sends"],
                    wait=False,
                    additional_context={"dependencies": services.dependencies},
                    install_signal_handlers=False,
                )
                waiting = await fetch_all(
                    services,
                    "select 1 from procrastinate.procrastinate_jobs"
                    " where status = 'todo' and queue_name = 'sends'",
                )
                if not waiting:
                    return
                await asyncio.sleep(0.06)
    pytest.fail("jobs still waiting")


async def test_retries_run_out_then_the_message_fails_visibly(
    sending_services: Services, channel: TestChannel, twilio_simulator: RunningSimulator
) -> None:
    add_fault(twilio_simulator, count=10, http_status=503)
    conversation = await open_conversation(sending_services, channel, phone_number=CUSTOMER)
    message_id = await queue_message(sending_services, conversation)

    await run_worker_until_idle(sending_services)

    assert sent_to(twilio_simulator, channel) == []
    row = await message_row(sending_services, message_id)
    assert (row["status"], row["is_error"], row["error_code"]) == ("failed", True, "20503")
    assert row["metadata"]["send_attempts"] == 3


async def test_twilio_unreachable_is_retried_then_failed_with_the_reason(
    sending_services: Services, factory: Factory, settings: Any
) -> None:
    from tests.conftest import free_port

    unreachable = sending_services.settings.model_copy(
        update={"twilio_api_base_url": f"http://127.0.0.1:{free_port()}"}
    )
    from atende.services import open_services

    async with open_services(unreachable, name="atende-test-unreachable") as services:
        channel = await make_channel(services, factory)
        conversation = await open_conversation(services, channel, phone_number=CUSTOMER)
        message_id = await queue_message(services, conversation)
        sender = sender_of(services)

        results = [await sender.send(message_id) for _ in range(3)]

        assert [type(result) for result in results] == [RetryLater, RetryLater, Failed]
        row = await message_row(services, message_id)
    assert (row["status"], row["is_error"], row["error_code"]) == ("failed", True, "unreachable")
    assert row["error_message"]


@pytest.mark.parametrize(
    ("code", "status"), [(21610, 400), (63016, 400), (21211, 400), (20003, 401)]
)
async def test_permanent_refusals_fail_the_message_with_twilios_code(
    sending_services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
    code: int,
    status: int,
) -> None:
    add_fault(twilio_simulator, http_status=status, code=code)
    conversation = await open_conversation(sending_services, channel, phone_number=CUSTOMER)
    message_id = await queue_message(sending_services, conversation)

    result = await sender_of(sending_services).send(message_id)

    assert isinstance(result, Failed)
    row = await message_row(sending_services, message_id)
    assert (row["status"], row["is_error"], row["error_code"]) == ("failed", True, str(code))
    assert row["error_message"]
    contact = await fetch_one(sending_services, "select opted_out_at from public.contacts")
    assert (contact["opted_out_at"] is not None) == (code == 21610)


async def test_no_answer_from_twilio_is_never_resent_and_the_callback_settles_it(
    sending_services: Services, factory: Factory, twilio_simulator: RunningSimulator
) -> None:
    """Twilio took the message but the answer came too late: flagged, not resent; then
    Twilio's status callback (its URL names the message) records the sid and status."""
    add_fault(twilio_simulator, kind="delay", delay_seconds=1.0)
    channel = await make_channel(sending_services, factory)
    conversation = await open_conversation(sending_services, channel, phone_number=CUSTOMER)
    message_id = await queue_message(sending_services, conversation)
    sending_services.transport.client.http_client.timeout = 0.3  # Twilio answers after 1 s

    first = await sender_of(sending_services).send(message_id)
    again = await sender_of(sending_services).send(message_id)

    assert isinstance(first, DeliveryUnknown)
    assert isinstance(again, DeliveryUnknown)
    row = await message_row(sending_services, message_id)
    assert (row["status"], row["is_error"], row["error_code"]) == (
        "sending",
        True,
        "delivery_unknown",
    )
    await eventually(lambda: len(sent_to(twilio_simulator, channel)) == 1, timeout=5)

    async def settled() -> bool:
        row = await message_row(sending_services, message_id)
        return row["status"] == "delivered" and not row["is_error"]

    await eventually_async(settled)
    [sent] = sent_to(twilio_simulator, channel)
    row = await message_row(sending_services, message_id)
    assert row["metadata"]["message_sid"] == sent.sid
    assert row["error_code"] is None


class WorkerKilled(BaseException):
    """Stands for SIGKILL between Twilio's answer and the database update."""


async def test_a_worker_killed_after_twilio_accepted_never_causes_a_resend(
    sending_services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conversation = await open_conversation(sending_services, channel, phone_number=CUSTOMER)
    message_id = await queue_message(sending_services, conversation)

    async def killed(*args: object, **kwargs: object) -> None:
        raise WorkerKilled()

    monkeypatch.setattr(MessageSender, "record_part", killed)
    with pytest.raises(WorkerKilled):
        await sender_of(sending_services).send(message_id)
    monkeypatch.undo()
    # Procrastinate retries the stalled job: the claim finds the message claimed.
    retried = await sender_of(sending_services).send(message_id)

    assert isinstance(retried, DeliveryUnknown)
    assert len(sent_to(twilio_simulator, channel)) == 1

    async def settled() -> bool:
        row = await message_row(sending_services, message_id)
        return row["status"] == "delivered" and row["error_code"] is None

    await eventually_async(settled)
    assert len(sent_to(twilio_simulator, channel)) == 1


def test_retry_delays_double_up_to_the_cap(sending_services: Services) -> None:
    sender = sender_of(sending_services)
    delays = [sender.retry_delay(attempt) for attempt in range(1, 6)]
    assert delays == [0.01, 0.02, 0.04, 0.05, 0.05]
    assert sending.MAX_PART_LENGTH == 1600
