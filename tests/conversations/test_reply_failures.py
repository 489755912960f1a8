"""When the model fails: transient failures are retried with backoff, and a reply that
fails for good sends the agent's fallback message and hands the conversation to the team.
Nothing is lost silently."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from atende.ai.errors import TransientModelError
from atende.ai.replies import retry_delay_seconds
from atende.conversations.tasks import ConversationTasks
from atende.services import Services
from tests.factories import ReplyFactory
from tests.fakes.openai_server import (
    EmptyChoicesReply,
    ErrorReply,
    FakeOpenAI,
    Hang,
    RawReply,
    Scripted,
    TextReply,
)
from tests.reply_fixtures import EventLog, Inspector, Shop, Worker, eventually

FALLBACK = (
    "Desculpe, estamos com dificuldades técnicas no momento. Um atendente vai te "
    "responder em breve."
)


async def assert_fell_back(
    inspect: Inspector, conversation_id: UUID, *, error_code: str
) -> dict[str, Any]:
    """The fallback happened: message, flag, reason, handoff. Returns the message."""
    [message] = await inspect.outbound(conversation_id)
    assert message["body"] == FALLBACK
    assert message["author"] == "system"
    assert message["is_error"]
    assert message["error_code"] == error_code
    assert message["error_message"]
    assert message["metadata"]["kind"] == "fallback"
    assert len(await inspect.jobs("channels:send_message")) == 1

    conversation = await inspect.conversation(conversation_id)
    assert conversation["status"] == "handoff"
    assert not conversation["ai_enabled"]

    fallback_run = (await inspect.runs(conversation_id))[-1]
    assert fallback_run["outcome"] == "fallback"
    assert fallback_run["message_id"] == message["id"]
    assert fallback_run["error"].startswith(f"[{error_code}] ")
    return message


async def test_server_errors_are_retried_then_the_customer_gets_the_fallback(
    *,
    shop: Shop,
    replies: ReplyFactory,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    fake_openai.script(*[ErrorReply(500)] * 3)  # reply_max_attempts = 3

    ingested = await replies.inbound(shop.channel, "oi")

    outcomes = await inspect.settled_outcomes(ingested.conversation_id, 3)
    assert outcomes == ["retrying", "retrying", "fallback"]
    assert len(fake_openai.requests) == 3
    message = await assert_fell_back(inspect, ingested.conversation_id, error_code="server_error")
    assert "HTTP 500" in message["error_message"]
    assert "gave up after 3 attempts" in message["error_message"]
    runs = await inspect.runs(ingested.conversation_id)
    assert all(run["error"].startswith("[server_error]") for run in runs)


async def test_a_transient_failure_then_success_is_just_a_late_reply(
    *,
    shop: Shop,
    replies: ReplyFactory,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    fake_openai.script(ErrorReply.rate_limited(retry_after=None), TextReply("Olá!"))

    ingested = await replies.inbound(shop.channel, "oi")

    assert await inspect.settled_outcomes(ingested.conversation_id, 2) == ["retrying", "replied"]
    [reply] = await inspect.outbound(ingested.conversation_id)
    assert reply["body"] == "Olá!"
    assert not reply["is_error"]
    assert (await inspect.conversation(ingested.conversation_id))["status"] == "open"
    # A later failure starts counting again.
    fake_openai.script(*[ErrorReply(503)] * 2, TextReply("De novo!"))
    await replies.inbound(shop.channel, "tudo bem?")
    assert await inspect.settled_outcomes(ingested.conversation_id, 5) == [
        "retrying",
        "replied",
        "retrying",
        "retrying",
        "replied",
    ]


@pytest.mark.parametrize(
    "reply_settings",
    [{"model_timeout_seconds": 0.3, "reply_max_attempts": 2}],
    indirect=True,
)
async def test_a_model_that_never_answers_times_out_into_the_fallback(
    *,
    shop: Shop,
    replies: ReplyFactory,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    fake_openai.script(Hang(seconds=5), Hang(seconds=5))

    ingested = await replies.inbound(shop.channel, "oi")

    assert await inspect.settled_outcomes(ingested.conversation_id, 2) == ["retrying", "fallback"]
    message = await assert_fell_back(inspect, ingested.conversation_id, error_code="timeout")
    assert "within 0.3s" in message["error_message"]


@pytest.mark.parametrize(
    ("reply", "error_code"),
    [
        (ErrorReply.invalid_api_key(), "authentication"),
        (ErrorReply.insufficient_quota(), "quota_exceeded"),
        (ErrorReply.model_not_found(), "model_not_found"),
        (ErrorReply(400, "Invalid temperature", type="invalid_request_error"), "bad_request"),
        (RawReply(), "invalid_response"),
        (RawReply(b'{"choices": [{"message": '), "invalid_response"),
        (EmptyChoicesReply(), "empty_reply"),
    ],
    ids=["401", "insufficient_quota", "404", "400", "html", "truncated-json", "no-choices"],
)
async def test_a_permanent_failure_falls_back_at_once_without_retrying(
    *,
    shop: Shop,
    replies: ReplyFactory,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
    reply: Scripted,
    error_code: str,
) -> None:
    fake_openai.script(reply)

    ingested = await replies.inbound(shop.channel, "oi")

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["fallback"]
    assert len(fake_openai.requests) == 1
    message = await assert_fell_back(inspect, ingested.conversation_id, error_code=error_code)
    assert "sk-test" not in message["error_message"]  # the provider's message, scrubbed


async def test_an_unexpected_exception_in_the_job_falls_back(
    *,
    shop: Shop,
    replies: ReplyFactory,
    services: Services,
    worker: Worker,
    inspect: Inspector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail from deep inside")

    monkeypatch.setattr(services.model, "generate", broken)

    ingested = await replies.inbound(shop.channel, "oi")

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["fallback"]
    message = await assert_fell_back(inspect, ingested.conversation_id, error_code="internal_error")
    assert "RuntimeError" in message["error_message"]
    assert "secret detail" not in message["error_message"]
    [job] = await inspect.jobs("conversations:generate_reply")
    assert job["status"] == "succeeded"  # handled: the fallback is the job's answer


async def test_the_team_is_told_of_a_fallback(
    *,
    shop: Shop,
    replies: ReplyFactory,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
    events: EventLog,
) -> None:
    fake_openai.script(ErrorReply.invalid_api_key())

    ingested = await replies.inbound(shop.channel, "oi")

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["fallback"]
    [handoff] = await eventually(
        lambda: _now(events.of_kind("conversation.handoff")), lambda found: len(found) == 1
    )
    assert handoff["organization_id"] == str(shop.organization.id)
    assert handoff["conversation_id"] == str(ingested.conversation_id)
    assert handoff["source"] == "fallback"
    assert "authentication" in handoff["reason"]


async def test_when_even_the_fallback_cannot_be_sent_the_team_still_gets_the_conversation(
    *,
    shop: Shop,
    replies: ReplyFactory,
    services: Services,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    fake_openai.script(Hang(seconds=10, then=ErrorReply.invalid_api_key()))
    ingested = await replies.inbound(shop.channel, "oi")
    await fake_openai.wait_for_requests(1)
    # While the model "thinks", the customer opts out: no message may go to them.
    async with services.database.as_service() as conn:
        await conn.execute(
            "update public.contacts set opted_out_at = now() where id = %s", [ingested.contact_id]
        )
    fake_openai.release_event.set()

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["fallback"]
    assert await inspect.outbound(ingested.conversation_id) == []
    assert await inspect.jobs("channels:send_message") == []
    conversation = await inspect.conversation(ingested.conversation_id)
    assert (conversation["status"], conversation["ai_enabled"]) == ("handoff", False)
    [run] = await inspect.runs(ingested.conversation_id)
    assert run["error"].startswith("[authentication] ")
    assert "the fallback message was not sent: contact_opted_out" in run["error"]


async def test_a_fallback_for_a_conversation_the_team_already_has_sends_nothing(
    *,
    shop: Shop,
    replies: ReplyFactory,
    services: Services,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    fake_openai.script(Hang(seconds=10, then=ErrorReply.invalid_api_key()))
    ingested = await replies.inbound(shop.channel, "oi")
    await fake_openai.wait_for_requests(1)
    async with services.database.as_service() as conn:
        await conn.execute(
            "update public.conversations set ai_enabled = false where id = %s",
            [ingested.conversation_id],
        )
    fake_openai.release_event.set()

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["skipped"]
    assert await inspect.outbound(ingested.conversation_id) == []
    [run] = await inspect.runs(ingested.conversation_id)
    assert "no fallback sent: conversation_ai_disabled" in run["error"]


async def test_the_retry_count_survives_new_messages_so_retries_stay_bounded(
    *,
    shop: Shop,
    replies: ReplyFactory,
    services: Services,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    """Without a worker: each handler run is one attempt, however the job got there."""
    tasks = ConversationTasks(
        database=services.database, model=services.model, settings=services.settings
    )
    fake_openai.script(*[ErrorReply(502)] * 3)
    ingested = await replies.inbound(shop.channel, "oi")

    first = await tasks.generate_reply(ingested.conversation_id)
    await replies.inbound(shop.channel, "alô?")  # the customer insists meanwhile
    second = await tasks.generate_reply(ingested.conversation_id)
    third = await tasks.generate_reply(ingested.conversation_id)

    assert [first.outcome, second.outcome, third.outcome] == ["retrying", "retrying", "fallback"]
    # Each retry was deferred with the conversation's locks; the one job waiting now
    # would find the conversation handed off.
    [waiting] = [
        job for job in await inspect.jobs("conversations:generate_reply") if job["status"] == "todo"
    ]
    assert waiting["queueing_lock"] == f"reply:{ingested.conversation_id}"
    assert waiting["lock"] == f"conversation:{ingested.conversation_id}"
    assert waiting["args"] == {"conversation_id": str(ingested.conversation_id)}
    assert (await tasks.generate_reply(ingested.conversation_id)).outcome == "nothing"


def test_backoff_doubles_respects_retry_after_and_is_capped() -> None:
    def delay(attempt: int, retry_after: float | None = None) -> float:
        return retry_delay_seconds(
            attempt,
            backoff_seconds=2.0,
            max_backoff_seconds=60.0,
            retry_after_seconds=retry_after,
        )

    assert [delay(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [2, 4, 8, 16, 32, 60, 60]
    assert delay(1, retry_after=10) == 10
    assert delay(3, retry_after=1) == 8
    assert delay(1, retry_after=600) == 60
    assert TransientModelError("x").retryable


async def _now(value: Any) -> Any:
    return value
