"""``atende simulate``: a signed webhook as the customer, and the replies printed."""

from __future__ import annotations

import asyncio
import time

import pytest
from click.testing import CliRunner

from atende.channels.sending import Sent
from atende.cli import main
from atende.config import Settings
from atende.services import Services
from tests.channels.world import fetch_all, make_channel, queue_message, sender_of
from tests.factories import Factory
from tests.twilio_fixtures import RunningSimulator

CUSTOMER = "+5521987651234"


async def reply_when_the_message_arrives(services: Services, text: str) -> None:
    """Stands in for the AI: answers the customer's message once it is stored."""
    for _ in range(200):
        rows = await fetch_all(services, "select conversation_id from messages")
        if rows:
            message_id = await queue_message(services, rows[0]["conversation_id"], text)
            assert isinstance(await sender_of(services).send(message_id), Sent)
            return
        await asyncio.sleep(0.05)
    pytest.fail("the simulated message never arrived")


async def test_simulate_posts_a_signed_message_and_prints_the_reply(
    sending_settings: Settings,
    sending_services: Services,
    factory: Factory,
    twilio_simulator: RunningSimulator,
    database_url: str,
) -> None:
    channel = await make_channel(sending_services, factory, phone_number="+5511933332222")
    env = {
        "DATABASE_URL": database_url,
        "ATENDE_PUBLIC_URL": sending_settings.public_url,
        "TWILIO_API_BASE_URL": twilio_simulator.base_url,
    }
    command = [
        "simulate",
        "--channel",
        "(11) 93333-2222",
        "--from",
        "21 98765-1234",
        "--name",
        "Maria",
        "--timeout",
        "10",
        "Vocês entregam hoje?",
    ]

    answer, result = await asyncio.gather(
        reply_when_the_message_arrives(sending_services, "Entregamos sim, até as 18h!"),
        asyncio.to_thread(CliRunner().invoke, main, command, env=env),
    )

    assert answer is None
    assert result.exit_code == 0, result.output
    assert f"{CUSTOMER} -> {channel.phone_number} (whatsapp): Vocês entregam hoje?" in result.output
    assert f"{channel.phone_number} -> {CUSTOMER}: Entregamos sim, até as 18h!" in result.output
    stored = await fetch_all(
        sending_services, "select body from messages where direction = 'inbound'"
    )
    assert stored == [{"body": "Vocês entregam hoje?"}]


def test_simulate_names_an_unknown_channel(database_url: str) -> None:
    result = CliRunner().invoke(
        main,
        ["simulate", "--channel", "+5511900001111", "--from", CUSTOMER, "Oi"],
        env={"DATABASE_URL": database_url},
    )
    assert result.exit_code == 1
    assert "no channel has the number +5511900001111" in result.output


async def test_replies_are_printed_until_two_quiet_seconds_have_passed(
    sending_settings: Settings,
    sending_services: Services,
    factory: Factory,
    twilio_simulator: RunningSimulator,
    database_url: str,
) -> None:
    """A second reply 1 s after the first is still printed; the command then ends two
    quiet seconds after it. ``--simulator`` and ``--kind`` stand in for the settings."""
    channel = await make_channel(sending_services, factory, phone_number="+5511933334444")
    env = {"DATABASE_URL": database_url, "ATENDE_PUBLIC_URL": sending_settings.public_url}
    command = [
        "simulate",
        "--channel",
        channel.phone_number,
        "--from",
        CUSTOMER,
        "--kind",
        "whatsapp",
        "--simulator",
        twilio_simulator.base_url,
        "--timeout",
        "20",
        "Oi",
    ]
    last_reply_at: list[float] = []

    async def two_replies() -> None:
        await reply_when_the_message_arrives(sending_services, "Primeira")
        await asyncio.sleep(1.0)
        [row] = await fetch_all(sending_services, "select distinct conversation_id from messages")
        message_id = await queue_message(sending_services, row["conversation_id"], "Segunda")
        assert isinstance(await sender_of(sending_services).send(message_id), Sent)
        last_reply_at.append(time.monotonic())

    _, result = await asyncio.gather(
        two_replies(), asyncio.to_thread(CliRunner().invoke, main, command, env=env)
    )
    ended_at = time.monotonic()

    assert result.exit_code == 0, result.output
    assert f"{channel.phone_number} -> {CUSTOMER}: Primeira" in result.output
    assert f"{channel.phone_number} -> {CUSTOMER}: Segunda" in result.output
    assert 2.0 <= ended_at - last_reply_at[0] < 4.0
