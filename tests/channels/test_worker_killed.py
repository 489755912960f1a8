"""A real worker process killed (SIGKILL) while Twilio holds its send request: the
message is sent once, Twilio's status callback settles it, and the stalled job's retry
sends nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable

import pytest

from atende.channels.sending import AlreadySent, NothingToSend
from atende.config import Settings
from atende.services import Services
from tests.channels.test_sending import add_fault, message_row, message_status, sent_to
from tests.channels.world import (
    fetch_all,
    make_channel,
    open_conversation,
    queue_message,
    sender_of,
)
from tests.factories import Factory
from tests.twilio_fixtures import RunningSimulator

CUSTOMER = "+5521987654321"


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


@pytest.mark.faults
async def test_sigkill_between_twilio_accepting_and_the_update_never_resends(
    sending_settings: Settings,
    sending_services: Services,
    factory: Factory,
    twilio_simulator: RunningSimulator,
    database_url: str,
) -> None:
    channel = await make_channel(sending_services, factory)
    conversation = await open_conversation(sending_services, channel, phone_number=CUSTOMER)
    add_fault(twilio_simulator, kind="delay", delay_seconds=2.0)  # Twilio takes its time
    message_id = await queue_message(sending_services, conversation)
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "atende",
        "worker",
        "--concurrency",
        "1",
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": database_url,
            "ATENDE_PUBLIC_URL": sending_settings.public_url,
            "TWILIO_API_BASE_URL": twilio_simulator.base_url,
            "ATENDE_LOG_LEVEL": "WARNING",
        },
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:

        async def claimed() -> bool:
            return await message_status(sending_services, message_id) == "sending"

        await wait_for(claimed)
        await asyncio.sleep(0.5)  # the send request is with "Twilio" now
        worker.send_signal(signal.SIGKILL)
        await asyncio.wait_for(worker.wait(), timeout=10)
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()

    # Twilio went on with the message and reports it to the status callback, whose URL
    # names the message: the sid the worker never stored is recorded.
    async def settled() -> bool:
        return await message_status(sending_services, message_id) == "delivered"

    await wait_for(settled)
    [sent] = sent_to(twilio_simulator, channel)
    row = await message_row(sending_services, message_id)
    assert row["metadata"]["message_sid"] == sent.sid
    assert not row["is_error"]
    jobs = await fetch_all(
        sending_services,
        "select status::text from procrastinate.procrastinate_jobs"
        " where task_name = 'channels:send_message'",
    )
    assert jobs == [{"status": "doing"}]  # stalled: its worker is gone

    # The stalled job's retry runs the same send again: nothing goes to Twilio.
    retried = await sender_of(sending_services).send(message_id)
    assert isinstance(retried, AlreadySent | NothingToSend)
    assert len(sent_to(twilio_simulator, channel)) == 1
