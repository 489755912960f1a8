"""The bot steps aside: when a person has the conversation, and when the model asks for one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from atende.services import Services
from tests.factories import ReplyFactory
from tests.fakes.openai_server import FakeOpenAI, HandoffReply, Hang, TextReply, ToolCallReply
from tests.reply_fixtures import EventLog, Inspector, Shop, Worker, eventually

HANDOFF_MESSAGE = "Certo! Vou chamar um atendente da nossa equipe, que vai te responder em breve."


@pytest.mark.parametrize(
    ("change", "blocker"),
    [
        (
            "update public.conversations set ai_enabled = false where id = %s",
            "conversation_ai_disabled",
        ),
        (
            "update public.conversations set status = 'handoff' where id = %s",
            "conversation_handoff",
        ),
        (
            "update public.conversations set status = 'closed', closed_at = now() where id = %s",
            "conversation_closed",
        ),
        (
            "update public.agents set ai_enabled = false where organization_id ="
            " (select organization_id from public.conversations where id = %s)",
            "agent_ai_disabled",
        ),
        (
            "update public.contacts set opted_out_at = now() where id ="
            " (select contact_id from public.conversations where id = %s)",
            "contact_opted_out",
        ),
        (
            "update public.conversations set last_inbound_at = now() - interval '25 hours'"
            " where id = %s",
            "outside_customer_service_window",
        ),
    ],
    ids=["ai-off", "handoff", "closed", "agent-off", "opted-out", "window-closed"],
)
async def test_a_reply_job_that_finds_the_ai_may_not_answer_skips_without_asking_the_model(
    *,
    shop: Shop,
    replies: ReplyFactory,
    services: Services,
    paused_worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
    change: str,
    blocker: str,
) -> None:
    ingested = await replies.inbound(shop.channel, "oi")
    assert ingested.reply_job_id is not None
    async with services.database.as_service() as conn:  # while the job waits
        await conn.execute(change, [ingested.conversation_id])
    await paused_worker.start()

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["skipped"]
    assert fake_openai.requests == []
    assert await inspect.outbound(ingested.conversation_id) == []
    [run] = await inspect.runs(ingested.conversation_id)
    assert run["error"] == blocker


async def test_when_the_team_has_the_conversation_customer_messages_defer_no_reply(
    *,
    shop: Shop,
    replies: ReplyFactory,
    services: Services,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    first = await replies.inbound(shop.channel, "oi")
    assert await inspect.settled_outcomes(first.conversation_id, 1) == ["replied"]
    async with services.database.as_service() as conn:
        await conn.execute(
            "update public.conversations set ai_enabled = false where id = %s",
            [first.conversation_id],
        )

    again = await replies.inbound(shop.channel, "quero falar com alguém")

    assert again.reply_job_id is None
    await asyncio.sleep(0.3)
    assert len(fake_openai.requests) == 1
    assert await inspect.outcomes(first.conversation_id) == ["replied"]


async def test_a_team_reply_during_the_model_call_wins_and_the_ai_reply_is_dropped(
    *,
    shop: Shop,
    replies: ReplyFactory,
    services: Services,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    fake_openai.script(Hang(seconds=10, then=TextReply("resposta atrasada", prompt_tokens=30)))
    ingested = await replies.inbound(shop.channel, "oi")
    await fake_openai.wait_for_requests(1)
    async with services.database.as_service() as conn:
        await conn.execute(
            "select private.queue_outbound_message(%s, 'member', 'Oi! Aqui é a Ana.')",
            [ingested.conversation_id],
        )
    fake_openai.release_event.set()

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["skipped"]
    bodies = [message["body"] for message in await inspect.outbound(ingested.conversation_id)]
    assert bodies == ["Oi! Aqui é a Ana."]
    [run] = await inspect.runs(ingested.conversation_id)
    assert run["error"] == "the reply was not sent: team_replied"
    assert run["prompt_tokens"] == 30  # the tokens were spent all the same


async def test_the_model_hands_the_conversation_to_a_person(
    *,
    shop: Shop,
    replies: ReplyFactory,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
    events: EventLog,
) -> None:
    fake_openai.script(HandoffReply("O cliente quer negociar um pedido grande."))

    ingested = await replies.inbound(shop.channel, "quero falar com o gerente")

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["handoff"]
    [notice] = await inspect.outbound(ingested.conversation_id)
    assert notice["body"] == HANDOFF_MESSAGE
    assert notice["author"] == "ai"
    assert not notice["is_error"]
    assert notice["metadata"]["kind"] == "handoff"
    assert notice["metadata"]["handoff_reason"] == "O cliente quer negociar um pedido grande."
    assert len(await inspect.jobs("channels:send_message")) == 1

    conversation = await inspect.conversation(ingested.conversation_id)
    assert (conversation["status"], conversation["ai_enabled"]) == ("handoff", False)
    [run] = await inspect.runs(ingested.conversation_id)
    assert run["message_id"] == notice["id"]
    assert run["error"] is None
    [event] = await eventually(
        lambda: _now(events.of_kind("conversation.handoff")), lambda found: len(found) == 1
    )
    assert event["conversation_id"] == str(ingested.conversation_id)
    assert event["reason"] == "O cliente quer negociar um pedido grande."
    assert event["source"] == "ai"

    # The bot is out of it now: more messages wait for the team.
    later = await replies.inbound(shop.channel, "alô?")
    assert later.reply_job_id is None


async def test_the_models_own_words_go_before_the_agents_handoff_message(
    *,
    shop: Shop,
    replies: ReplyFactory,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    await replies.configure_agent(
        shop.organization.id, handoff_message="Já chamei alguém da equipe. Aguarde!"
    )
    fake_openai.script(
        ToolCallReply(
            "handoff_to_human",
            '{"reason": "reclamação"}',
            text="Sinto muito pelo ocorrido.",
        )
    )

    ingested = await replies.inbound(shop.channel, "meu pedido veio errado!")

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["handoff"]
    [notice] = await inspect.outbound(ingested.conversation_id)
    assert notice["body"] == "Sinto muito pelo ocorrido.\n\nJá chamei alguém da equipe. Aguarde!"


async def test_a_handoff_the_customer_cannot_be_told_of_still_reaches_the_team(
    *,
    shop: Shop,
    replies: ReplyFactory,
    services: Services,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    fake_openai.script(Hang(seconds=10, then=HandoffReply()))
    ingested = await replies.inbound(shop.channel, "atendente")
    await fake_openai.wait_for_requests(1)
    async with services.database.as_service() as conn:
        await conn.execute(
            "update public.contacts set opted_out_at = now() where id = %s", [ingested.contact_id]
        )
    fake_openai.release_event.set()

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["handoff"]
    assert await inspect.outbound(ingested.conversation_id) == []
    conversation = await inspect.conversation(ingested.conversation_id)
    assert conversation["status"] == "handoff"
    [run] = await inspect.runs(ingested.conversation_id)
    assert run["error"] == "the handoff notice was not sent: contact_opted_out"


async def _now(value: Any) -> Any:
    return value
