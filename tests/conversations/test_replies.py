"""The AI reply job, end to end: a customer writes, a real worker asks the (fake) model
through the real ``openai`` client, and the answer is queued to be sent."""

from __future__ import annotations

import asyncio
import json
from typing import TypeVar

from atende.ai.replies import DEBOUNCED
from atende.conversations.tasks import ConversationTasks
from atende.services import Services
from tests.factories import ReplyFactory
from tests.fakes.openai_server import EchoReply, FakeOpenAI, Hang, RecordedRequest, TextReply
from tests.reply_fixtures import EventLog, Inspector, Shop, Worker, eventually

T = TypeVar("T")


async def test_a_customer_message_gets_the_models_answer_queued_to_send(
    *,
    shop: Shop,
    replies: ReplyFactory,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    fake_openai.script(
        TextReply("Temos pão de queijo, sim!", prompt_tokens=42, completion_tokens=7)
    )

    ingested = await replies.inbound(shop.channel, "Oi, vocês têm pão de queijo?")
    assert ingested.reply_job_id is not None

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["replied"]
    [request] = fake_openai.requests
    assert request.system_prompt == "Você é a assistente da Padaria Pão Quente."
    assert request.user_texts == ["Oi, vocês têm pão de queijo?"]
    assert request.model == "gpt-4o-mini"
    assert request.tool_names == ["handoff_to_human"]

    [reply] = await inspect.outbound(ingested.conversation_id)
    assert reply["author"] == "ai"
    assert reply["body"] == "Temos pão de queijo, sim!"
    assert reply["status"] == "queued"
    assert not reply["is_error"]
    assert reply["metadata"]["kind"] == "reply"

    [run] = await inspect.runs(ingested.conversation_id)
    assert run["message_id"] == reply["id"]
    assert (run["prompt_tokens"], run["completion_tokens"]) == (42, 7)
    assert run["error"] is None
    assert run["latency_ms"] >= 0
    assert str(reply["metadata"]["ai_run_id"])

    # The send is the channels module's job, deferred with the message, one lane per
    # conversation.
    [send] = await inspect.jobs("channels:send_message")
    assert send["args"] == {"message_id": str(reply["id"])}
    assert send["queue_name"] == "sends"
    assert send["lock"] == f"send:{ingested.conversation_id}"
    [job] = await inspect.jobs("conversations:generate_reply")
    assert job["status"] == "succeeded"
    assert job["lock"] == f"conversation:{ingested.conversation_id}"
    assert job["queueing_lock"] == f"reply:{ingested.conversation_id}"

    conversation = await inspect.conversation(ingested.conversation_id)
    assert conversation["status"] == "open"
    assert conversation["ai_enabled"]


async def test_a_burst_of_messages_gets_one_answer_that_saw_them_all(
    *,
    shop: Shop,
    replies: ReplyFactory,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    await replies.configure_agent(shop.organization.id, debounce_seconds=1)
    texts = ["oi", "bom dia", "queria saber", "se vocês abrem", "no domingo?"]

    # The burst lasts longer than the debounce: the job deferred by the first message
    # comes due while the customer is still writing, and must wait for the rest.
    for number, text in enumerate(texts):
        if number:
            await asyncio.sleep(0.35)
        ingested = await replies.inbound(shop.channel, text)

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["replied"]
    await asyncio.sleep(0.2)  # nothing else comes
    [request] = fake_openai.requests
    assert request.user_texts == texts
    [reply] = await inspect.outbound(ingested.conversation_id)
    assert reply["body"] == "eco: no domingo?"
    [quiet] = await inspect.rows(
        "select max(r.created_at) filter (where r.direction = 'outbound')"
        " - max(r.created_at) filter (where r.direction = 'inbound') as quiet"
        " from public.messages as r where r.conversation_id = %s",
        ingested.conversation_id,
    )
    assert quiet["quiet"].total_seconds() >= 1.0  # a debounce after the last message
    jobs = await inspect.jobs("conversations:generate_reply")
    assert {job["status"] for job in jobs} == {"succeeded"}


async def test_a_reply_job_that_finds_the_customer_still_writing_waits_for_the_quiet(
    *,
    services: Services,
    shop: Shop,
    replies: ReplyFactory,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    """Ingest leaves a waiting reply job alone; the job itself debounces (no worker here:
    the handler runs as a worker would run the job that came due)."""
    await replies.configure_agent(shop.organization.id, debounce_seconds=30)
    tasks = ConversationTasks(
        database=services.database, model=services.model, settings=services.settings
    )
    first = await replies.inbound(shop.channel, "oi")
    second = await replies.inbound(shop.channel, "tudo bem?")
    assert first.reply_job_id is not None
    assert second.reply_job_id is None  # the first one's job waits; it was not touched

    assert (await tasks.generate_reply(first.conversation_id)) == DEBOUNCED
    assert fake_openai.requests == []
    assert await inspect.runs(first.conversation_id) == []  # nothing to record yet
    [scheduled] = await inspect.rows(
        "select j.scheduled_at - c.last_inbound_at as quiet"
        " from procrastinate.procrastinate_jobs as j, public.conversations as c"
        " where j.task_name = 'conversations:generate_reply' and j.status = 'todo'"
        " and c.id = %s",
        first.conversation_id,
    )
    assert scheduled["quiet"].total_seconds() == 30  # at the end of the quiet time

    await replies.configure_agent(shop.organization.id, debounce_seconds=0)
    assert (await tasks.generate_reply(first.conversation_id)).outcome == "replied"
    [request] = fake_openai.requests
    assert request.user_texts == ["oi", "tudo bem?"]


async def test_a_second_burst_while_the_model_thinks_is_answered_after_the_first(
    *,
    shop: Shop,
    replies: ReplyFactory,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    fake_openai.script(Hang(seconds=10, then=TextReply("primeira resposta")))
    first = await replies.inbound(shop.channel, "primeira pergunta")
    await fake_openai.wait_for_requests(1)

    # The reply job is running (holding the conversation's lock); these queue another.
    await replies.inbound(shop.channel, "segunda pergunta")
    await replies.inbound(shop.channel, "terceira pergunta")
    await asyncio.sleep(0.2)
    assert len(fake_openai.requests) == 1  # never two replies at once in one conversation
    fake_openai.release_event.set()

    assert await inspect.settled_outcomes(first.conversation_id, 2) == ["replied", "replied"]
    first_request, second_request = fake_openai.requests
    assert first_request.user_texts == ["primeira pergunta"]
    assert second_request.user_texts == [
        "primeira pergunta",
        "segunda pergunta",
        "terceira pergunta",
    ]
    assert second_request.texts("assistant") == ["primeira resposta"]
    bodies = [message["body"] for message in await inspect.outbound(first.conversation_id)]
    assert bodies == ["primeira resposta", "eco: terceira pergunta"]


async def test_a_job_with_nothing_new_to_answer_does_nothing(
    *,
    shop: Shop,
    replies: ReplyFactory,
    services: Services,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    ingested = await replies.inbound(shop.channel, "oi")
    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["replied"]

    # A duplicate job (a retried job, a stalled one) finds the message answered.
    async with services.database.as_service() as conn:
        await conn.execute(
            "select private.defer_job('conversations:generate_reply',"
            " jsonb_build_object('conversation_id', %s::text), 'replies',"
            " 'conversation:' || %s, 'reply:' || %s)",
            [ingested.conversation_id] * 3,
        )
    await eventually(
        lambda: inspect.jobs("conversations:generate_reply"),
        lambda jobs: [job["status"] for job in jobs] == ["succeeded", "succeeded"],
    )
    assert len(fake_openai.requests) == 1
    assert await inspect.outcomes(ingested.conversation_id) == ["replied"]


async def test_two_conversations_are_answered_side_by_side_and_apart(
    *,
    shop: Shop,
    replies: ReplyFactory,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    def slow_echo(request: RecordedRequest) -> Hang:
        return Hang(seconds=0.4, then=EchoReply(prefix="resposta para: "))

    fake_openai.default = slow_echo
    ana = await replies.inbound(shop.channel, "sou a Ana", from_number="+5511911110001")
    bruno = await replies.inbound(shop.channel, "sou o Bruno", from_number="+5511922220002")
    assert ana.conversation_id != bruno.conversation_id

    assert await inspect.settled_outcomes(ana.conversation_id, 1) == ["replied"]
    assert await inspect.settled_outcomes(bruno.conversation_id, 1) == ["replied"]
    assert fake_openai.max_in_flight == 2  # they did not wait for each other
    assert sorted(request.user_texts[0] for request in fake_openai.requests) == [
        "sou a Ana",
        "sou o Bruno",
    ]
    assert all(len(request.user_texts) == 1 for request in fake_openai.requests)
    [to_ana] = await inspect.outbound(ana.conversation_id)
    [to_bruno] = await inspect.outbound(bruno.conversation_id)
    assert to_ana["body"] == "resposta para: sou a Ana"
    assert to_bruno["body"] == "resposta para: sou o Bruno"


async def test_the_model_sees_the_history_window_with_team_turns_and_media_notes(
    *,
    shop: Shop,
    replies: ReplyFactory,
    services: Services,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    await replies.configure_agent(shop.organization.id, history_messages=3, temperature=0.7)
    first = await replies.inbound(shop.channel, "mensagem antiga")
    assert await inspect.settled_outcomes(first.conversation_id, 1) == ["replied"]
    member = await _team_member_message(services, first.conversation_id, "Aqui é a Ana, da equipe.")
    assert member is not None

    await replies.inbound(
        shop.channel,
        "segue o comprovante",
        media=[{"url": "https://example.com/a.jpg", "content_type": "image/jpeg"}],
    )
    assert await inspect.settled_outcomes(first.conversation_id, 2) == ["replied", "replied"]

    request = fake_openai.requests[1]
    assert request.temperature == 0.7
    # Three messages: the first question fell out of the window.
    assert request.roles == ["system", "assistant", "assistant", "user"]
    assert request.texts("assistant") == ["eco: mensagem antiga", "Aqui é a Ana, da equipe."]
    [last] = request.user_texts
    assert last.startswith("segue o comprovante\n[o cliente enviou uma imagem")


async def test_events_announce_the_reply(
    *,
    shop: Shop,
    replies: ReplyFactory,
    worker: Worker,
    inspect: Inspector,
    events: EventLog,
) -> None:
    ingested = await replies.inbound(shop.channel, "oi")
    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["replied"]
    [reply] = await inspect.outbound(ingested.conversation_id)
    created = await eventually(
        lambda: _async(events.of_kind("message.created")), lambda found: len(found) >= 2
    )
    assert {event["message_id"] for event in created} >= {str(reply["id"])}


async def _async(value: T) -> T:
    return value


async def _team_member_message(services: Services, conversation_id: object, body: str) -> object:
    """A team member's message, queued as the takeover mutation would (AI left on)."""
    async with services.database.as_service() as conn:
        row = await (
            await conn.execute(
                "select private.queue_outbound_message(%s, 'member', %s, metadata => %s::jsonb)"
                " as id",
                [conversation_id, body, json.dumps({"kind": "test"})],
            )
        ).fetchone()
    return None if row is None else row["id"]
