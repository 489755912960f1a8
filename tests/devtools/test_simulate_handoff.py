"""``atende simulate`` when no AI reply will come: it says why at once (the conversation
is the team's) and exits 3, instead of waiting out its timeout; a handoff whose notice is
on its way still prints the notice."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import pytest
from click.testing import CliRunner, Result

from atende.channels.sending import Sent
from atende.cli import main
from atende.config import Settings
from atende.db.session import Caller
from atende.devtools.simulate import NO_AI_REPLY_EXIT_CODE, NoAiReply
from atende.services import Services
from tests.channels.world import TestChannel, fetch_all, make_channel, open_conversation, sender_of
from tests.factories import Factory
from tests.twilio_fixtures import RunningSimulator

CUSTOMER = "+5521987655678"
TIMEOUT = 20.0


async def simulate(
    settings: Settings, simulator: RunningSimulator, channel: TestChannel
) -> tuple[Result, float]:
    """Run ``atende simulate`` as the customer; its result and how long it took."""
    assert settings.database_url is not None
    env = {
        "DATABASE_URL": settings.database_url.get_secret_value(),
        "ATENDE_PUBLIC_URL": settings.public_url,
        "TWILIO_API_BASE_URL": simulator.base_url,
    }
    command = [
        "simulate",
        "--channel",
        channel.phone_number,
        "--from",
        CUSTOMER,
        "--timeout",
        str(TIMEOUT),
        "Tem alguém aí?",
    ]
    started = time.monotonic()
    result = await asyncio.to_thread(CliRunner().invoke, main, command, env=env)
    return result, time.monotonic() - started


async def team_conversation(
    services: Services, channel: TestChannel, *, status: str, ai_enabled: bool, assigned: bool
) -> uuid.UUID:
    """The customer's open conversation on ``channel``, in the team's hands."""
    conversation_id = await open_conversation(services, channel, phone_number=CUSTOMER)
    async with services.database.transaction(Caller.service()) as conn:
        await conn.execute(
            "update public.conversations set status = %s, ai_enabled = %s, assignee_id = %s"
            " where id = %s",
            [
                status,
                ai_enabled,
                channel.organization.owner.id if assigned else None,
                conversation_id,
            ],
        )
    return conversation_id


@dataclass(frozen=True)
class TeamCase:
    status: str
    ai_enabled: bool
    assigned: bool
    says: str


@pytest.mark.parametrize(
    "case",
    [
        TeamCase("handoff", True, False, "The conversation is with the team (handed off):"),
        TeamCase(
            "open", False, True, "The conversation is with the team (its AI is switched off, "
        ),
    ],
    ids=["handed-off", "ai-switched-off-and-assigned"],
)
async def test_simulate_says_at_once_that_the_team_has_the_conversation(
    sending_settings: Settings,
    sending_services: Services,
    factory: Factory,
    twilio_simulator: RunningSimulator,
    case: TeamCase,
) -> None:
    channel = await make_channel(sending_services, factory)
    await team_conversation(
        sending_services,
        channel,
        status=case.status,
        ai_enabled=case.ai_enabled,
        assigned=case.assigned,
    )

    result, took = await simulate(sending_settings, twilio_simulator, channel)

    assert result.exit_code == NO_AI_REPLY_EXIT_CODE, result.output
    assert case.says in result.output
    assert "no AI reply will come" in result.output
    assert "Reply from the API (sendMessage)" in result.output
    assert "switch the AI back on (setConversationAi)" in result.output
    if case.assigned:
        assert f"assigned to {channel.organization.owner.full_name}" in result.output
    assert "no reply within" not in result.output
    assert took < TIMEOUT / 2
    stored = await fetch_all(
        sending_services, "select body from messages where direction = 'inbound'"
    )
    assert stored == [{"body": "Tem alguém aí?"}]  # the message was delivered all the same


async def hand_off_with_a_notice(services: Services, notice: str) -> None:
    """Stands in for the AI handing off: once the customer's message is stored, queue
    the handoff notice and hand the conversation to the team in one transaction (as
    ``private.record_ai_handoff_v1`` does), then send the notice a moment later."""
    for _ in range(200):
        rows = await fetch_all(services, "select conversation_id from messages")
        if rows:
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the simulated message never arrived")
    async with services.database.transaction(Caller.service()) as conn:
        row = await (
            await conn.execute(
                "select private.queue_outbound_message(%s, 'ai', %s) as id",
                [rows[0]["conversation_id"], notice],
            )
        ).fetchone()
        await conn.execute(
            "update public.conversations set status = 'handoff' where id = %s",
            [rows[0]["conversation_id"]],
        )
    assert row is not None
    await asyncio.sleep(1.0)  # simulate polls the conversation meanwhile: handoff, answered
    assert isinstance(await sender_of(services).send(row["id"]), Sent)


async def test_a_handoff_notice_on_its_way_is_waited_for_and_printed(
    sending_settings: Settings,
    sending_services: Services,
    factory: Factory,
    twilio_simulator: RunningSimulator,
) -> None:
    channel = await make_channel(sending_services, factory)
    notice = "Vou te passar para um atendente."

    _, (result, _) = await asyncio.gather(
        hand_off_with_a_notice(sending_services, notice),
        simulate(sending_settings, twilio_simulator, channel),
    )

    assert result.exit_code == 0, result.output
    assert f"{channel.phone_number} -> {CUSTOMER}: {notice}" in result.output
    assert "with the team" not in result.output


def test_the_other_reasons_read_as_what_to_do() -> None:
    organization_off = NoAiReply("agent_ai_disabled").explanation()
    opted_out = NoAiReply("contact_opted_out").explanation()

    assert organization_off == (
        "The conversation is with the team (the AI is switched off for the whole"
        " organization): no AI reply will come. Reply from the API (sendMessage) or switch"
        " the AI back on (updateAgent, aiEnabled)."
    )
    assert "opted out" in opted_out
    assert "START" in opted_out
    assert NoAiReply("something_new").explanation() == "No AI reply will come (something_new)."
