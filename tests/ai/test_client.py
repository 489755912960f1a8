"""``ModelClient``: the real ``openai`` client against the fake OpenAI server."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from atende.ai.client import (
    MISSING_HANDOFF_REASON,
    NO_API_KEY,
    ModelClient,
    build_messages,
    recent_turns,
)
from atende.ai.errors import (
    ModelError,
    ModelFailure,
    ModelNotConfigured,
    PermanentModelError,
    TransientModelError,
)
from atende.ai.models import AgentPrompt, ConversationTurn, TurnRole
from atende.config import Settings
from tests.ai.conftest import TEST_API_KEY
from tests.fakes.openai_server import (
    EmptyChoicesReply,
    ErrorReply,
    FakeOpenAI,
    HandoffReply,
    Hang,
    JSONReply,
    RawReply,
    Scripted,
    TextReply,
    ToolCallReply,
)

PROMPT = AgentPrompt(
    system_prompt="Você é a assistente da Padaria Pão Quente. Responda em português.",
    model="gpt-4o-mini",
    temperature=0.2,
)


def customer(text: str) -> ConversationTurn:
    return ConversationTurn(role=TurnRole.CUSTOMER, text=text)


async def test_a_reply_sees_the_system_prompt_and_the_turns_in_order(
    model_client: ModelClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(TextReply("Temos pão de queijo sim!", prompt_tokens=57, completion_tokens=8))
    history = [
        customer("Oi, bom dia"),
        ConversationTurn(role=TurnRole.ASSISTANT, text="Bom dia! Como posso ajudar?"),
        ConversationTurn(role=TurnRole.TEAM, text="Aqui é a Ana, da equipe."),
        ConversationTurn(role=TurnRole.SYSTEM, text="A conversa voltou para o assistente."),
        ConversationTurn(
            role=TurnRole.CUSTOMER, text="Vocês têm isso?", media_note="o cliente enviou uma foto"
        ),
    ]

    reply = await model_client.generate(PROMPT, history)

    assert reply.text == "Temos pão de queijo sim!"
    assert reply.handoff is None
    assert not reply.wants_handoff
    assert (reply.prompt_tokens, reply.completion_tokens) == (57, 8)
    assert reply.model == "gpt-4o-mini"
    assert reply.finish_reason == "stop"
    assert reply.latency_ms >= 0

    [request] = fake_openai.requests
    assert request.model == "gpt-4o-mini"
    assert request.temperature == 0.2
    assert request.tool_names == ["handoff_to_human"]
    assert request.system_prompt == PROMPT.system_prompt
    assert request.roles == ["system", "user", "assistant", "assistant", "system", "user"]
    assert [m["content"] for m in request.messages[1:]] == [
        "Oi, bom dia",
        "Bom dia! Como posso ajudar?",
        "Aqui é a Ana, da equipe.",
        "A conversa voltou para o assistente.",
        "Vocês têm isso?\n[o cliente enviou uma foto]",
    ]
    assert request.authorization == f"Bearer {TEST_API_KEY}"
    assert request.body.get("stream") in (None, False)


async def test_one_call_sees_a_burst_of_customer_messages(
    model_client: ModelClient, fake_openai: FakeOpenAI
) -> None:
    burst = ["oi", "queria saber", "se vocês entregam", "no Centro", "hoje?"]

    reply = await model_client.generate(PROMPT, [customer(text) for text in burst])

    assert reply.text == "eco: hoje?"
    [request] = fake_openai.requests
    assert request.user_texts == burst


async def test_only_the_most_recent_turns_are_sent(
    model_client: ModelClient, fake_openai: FakeOpenAI
) -> None:
    prompt = PROMPT.model_copy(update={"max_history_turns": 3})
    history = [customer(f"mensagem {n}") for n in range(1, 8)]

    await model_client.generate(prompt, history)

    [request] = fake_openai.requests
    assert request.system_prompt == PROMPT.system_prompt
    assert request.user_texts == ["mensagem 5", "mensagem 6", "mensagem 7"]


def test_a_token_budget_drops_the_oldest_turns_but_never_the_latest() -> None:
    history = [customer("a" * 400), customer("b" * 40), customer("c" * 40)]

    within = recent_turns(PROMPT.model_copy(update={"max_history_tokens": 40}), history)
    tiny = recent_turns(PROMPT.model_copy(update={"max_history_tokens": 1}), history)
    roomy = recent_turns(PROMPT.model_copy(update={"max_history_tokens": 10_000}), history)

    assert [turn.text[0] for turn in within] == ["b", "c"]
    assert [turn.text[0] for turn in tiny] == ["c"]
    assert roomy == history


async def test_no_temperature_and_no_tools_when_the_agent_says_so(
    model_client: ModelClient, fake_openai: FakeOpenAI
) -> None:
    prompt = PROMPT.model_copy(update={"temperature": None, "handoff_enabled": False})

    await model_client.generate(prompt, [customer("oi")])

    [request] = fake_openai.requests
    assert "temperature" not in request.body
    assert "tools" not in request.body


async def test_a_handoff_tool_call_is_a_handoff_request(
    model_client: ModelClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(HandoffReply("Cliente quer negociar um pedido grande."))

    reply = await model_client.generate(PROMPT, [customer("quero falar com um atendente")])

    assert reply.wants_handoff
    assert reply.handoff is not None
    assert reply.handoff.reason == "Cliente quer negociar um pedido grande."
    assert reply.text is None
    assert reply.finish_reason == "tool_calls"
    assert reply.prompt_tokens is not None
    tool = fake_openai.requests[0].tools
    assert tool is not None
    assert tool[0]["function"]["parameters"]["required"] == ["reason"]


async def test_a_handoff_may_come_with_a_line_for_the_customer(
    model_client: ModelClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        ToolCallReply(
            "handoff_to_human", json.dumps({"reason": "pediu gerente"}), text="Vou chamar alguém."
        )
    )

    reply = await model_client.generate(PROMPT, [customer("chama o gerente")])

    assert reply.text == "Vou chamar alguém."
    assert reply.handoff is not None
    assert reply.handoff.reason == "pediu gerente"


@pytest.mark.parametrize("arguments", ["", "{}", '{"reason": "  "}'])
async def test_a_handoff_without_a_reason_is_still_a_handoff(
    model_client: ModelClient, fake_openai: FakeOpenAI, arguments: str
) -> None:
    fake_openai.script(ToolCallReply("handoff_to_human", arguments))

    reply = await model_client.generate(PROMPT, [customer("humano!")])

    assert reply.handoff is not None
    assert reply.handoff.reason == MISSING_HANDOFF_REASON


async def test_a_stray_tool_call_beside_text_answers_with_the_text(
    model_client: ModelClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(ToolCallReply("lookup_order", "{}", text="Seu pedido saiu para entrega."))

    reply = await model_client.generate(PROMPT, [customer("cadê meu pedido?")])

    assert reply.text == "Seu pedido saiu para entrega."
    assert reply.handoff is None


async def test_missing_usage_is_recorded_as_unknown(
    model_client: ModelClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(TextReply("oi", include_usage=False, model="llama3.2"))

    reply = await model_client.generate(PROMPT, [customer("oi")])

    assert reply.prompt_tokens is None
    assert reply.completion_tokens is None
    assert reply.model == "llama3.2"


CLASSIFICATION = [
    # (scripted answer, error class, failure, HTTP status)
    (ErrorReply(500), TransientModelError, ModelFailure.SERVER_ERROR, 500),
    (ErrorReply(503, "overloaded", code="server_is_overloaded"), TransientModelError,
     ModelFailure.SERVER_ERROR, 503),
    (RawReply("<html>502 Bad Gateway</html>", status=502), TransientModelError,
     ModelFailure.SERVER_ERROR, 502),
    (ErrorReply(408, "timeout"), TransientModelError, ModelFailure.TIMEOUT, 408),
    (ErrorReply.rate_limited(), TransientModelError, ModelFailure.RATE_LIMITED, 429),
    (ErrorReply(429, "slow down", type=None, code=None), TransientModelError,
     ModelFailure.RATE_LIMITED, 429),
    (ErrorReply(429, "slow down", code="slow_down"), TransientModelError,
     ModelFailure.RATE_LIMITED, 429),
    (ErrorReply.insufficient_quota(), PermanentModelError, ModelFailure.QUOTA_EXCEEDED, 429),
    (ErrorReply(429, "no credits", type="insufficient_quota", code="credit_balance_exhausted"),
     PermanentModelError, ModelFailure.QUOTA_EXCEEDED, 429),
    (ErrorReply.invalid_api_key(), PermanentModelError, ModelFailure.AUTHENTICATION, 401),
    (ErrorReply(403, "Country, region, or territory not supported", type="invalid_request_error",
                code="unsupported_country_region_territory"),
     PermanentModelError, ModelFailure.PERMISSION, 403),
    (ErrorReply(400, "This model's maximum context length is 128000 tokens.",
                type="invalid_request_error", code="context_length_exceeded"),
     PermanentModelError, ModelFailure.BAD_REQUEST, 400),
    (ErrorReply.model_not_found(), PermanentModelError, ModelFailure.MODEL_NOT_FOUND, 404),
    (ErrorReply(422, "unprocessable", type="invalid_request_error"), PermanentModelError,
     ModelFailure.BAD_REQUEST, 422),
    (RawReply("<html>oops</html>"), PermanentModelError, ModelFailure.INVALID_RESPONSE, None),
    (RawReply('{"id": "chatcmpl-1", "choi', content_type="application/json"),
     PermanentModelError, ModelFailure.INVALID_RESPONSE, None),
    (JSONReply({"hello": "world"}), PermanentModelError, ModelFailure.INVALID_RESPONSE, None),
    (JSONReply(["not", "an", "object"]), PermanentModelError, ModelFailure.INVALID_RESPONSE, None),
    (EmptyChoicesReply(), PermanentModelError, ModelFailure.EMPTY_REPLY, None),
    (TextReply(""), PermanentModelError, ModelFailure.EMPTY_REPLY, None),
    (TextReply("   \n"), PermanentModelError, ModelFailure.EMPTY_REPLY, None),
    (TextReply("", finish_reason="content_filter"), PermanentModelError,
     ModelFailure.EMPTY_REPLY, None),
    (ToolCallReply("handoff_to_human", '{"reason": "quer human'), PermanentModelError,
     ModelFailure.BAD_TOOL_CALL, None),
    (ToolCallReply("handoff_to_human", '["a", "list"]'), PermanentModelError,
     ModelFailure.BAD_TOOL_CALL, None),
    (ToolCallReply("handoff_to_human", '{"reason": 42}'), PermanentModelError,
     ModelFailure.BAD_TOOL_CALL, None),
    (ToolCallReply("delete_everything", "{}"), PermanentModelError,
     ModelFailure.BAD_TOOL_CALL, None),
]  # fmt: skip


@pytest.mark.parametrize(
    "case",
    CLASSIFICATION,
    ids=[f"{i}-{case[2]}-{case[3]}" for i, case in enumerate(CLASSIFICATION)],
)
async def test_failures_are_classified(
    model_client: ModelClient,
    fake_openai: FakeOpenAI,
    case: tuple[Scripted, type[ModelError], ModelFailure, int | None],
) -> None:
    answer, error_class, failure, status = case
    fake_openai.script(answer)

    with pytest.raises(error_class) as raised:
        await model_client.generate(PROMPT, [customer("oi")])

    error = raised.value
    assert error.failure is failure
    assert error.status_code == status
    assert error.retryable is (error_class is TransientModelError)
    assert error.reason
    assert error.latency_ms is not None
    assert len(fake_openai.requests) == 1, "the client must not retry by itself"


async def test_rate_limits_carry_the_code_and_retry_after(
    model_client: ModelClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(ErrorReply.rate_limited(retry_after="7"))

    with pytest.raises(TransientModelError) as raised:
        await model_client.generate(PROMPT, [customer("oi")])

    assert raised.value.code == "rate_limit_exceeded"
    assert raised.value.retry_after_seconds == 7.0
    assert "Rate limit reached" in raised.value.reason


async def test_a_reason_never_holds_the_api_key(
    model_client: ModelClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        ErrorReply.invalid_api_key(TEST_API_KEY),
        ErrorReply.invalid_api_key("sk-proj-someoneElsesKey1234"),
    )

    for _ in range(2):
        with pytest.raises(PermanentModelError) as raised:
            await model_client.generate(PROMPT, [customer("oi")])
        assert raised.value.code == "invalid_api_key"
        assert "Incorrect API key provided" in raised.value.reason
        assert TEST_API_KEY not in raised.value.reason
        assert TEST_API_KEY not in str(raised.value)
        assert "someoneElsesKey" not in raised.value.reason


async def test_a_hanging_server_is_a_transient_timeout(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Hang(seconds=10))

    async with ModelClient(
        api_key=TEST_API_KEY, base_url=fake_openai.base_url, timeout_seconds=0.3
    ) as client:
        with pytest.raises(TransientModelError) as raised:
            await client.generate(PROMPT, [customer("oi")])

        assert raised.value.failure is ModelFailure.TIMEOUT
        assert raised.value.latency_ms is not None
        assert 250 <= raised.value.latency_ms < 5000
        assert "0.3s" in raised.value.reason

        # The client is still usable after a timeout.
        reply = await client.generate(PROMPT, [customer("de novo")])
        assert reply.text == "eco: de novo"


async def test_a_server_that_is_not_there_is_a_transient_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with ModelClient(
        api_key=TEST_API_KEY, base_url=f"http://127.0.0.1:{port}/v1", timeout_seconds=2
    ) as client:
        with pytest.raises(TransientModelError) as raised:
            await client.generate(PROMPT, [customer("oi")])

    assert raised.value.failure is ModelFailure.CONNECTION
    assert f"127.0.0.1:{port}" in raised.value.reason


async def test_concurrent_calls_share_one_client(
    model_client: ModelClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.default = Hang(seconds=0.3)

    replies = await asyncio.gather(
        *(model_client.generate(PROMPT, [customer(f"conversa {n}")]) for n in range(5))
    )

    assert sorted(reply.text or "" for reply in replies) == [f"eco: conversa {n}" for n in range(5)]
    assert fake_openai.max_in_flight == 5


async def test_without_a_key_or_base_url_no_model_is_configured() -> None:
    async with ModelClient(api_key=None, base_url=None) as client:
        assert not client.configured
        with pytest.raises(ModelNotConfigured) as raised:
            await client.generate(PROMPT, [customer("oi")])

    assert raised.value.failure is ModelFailure.NOT_CONFIGURED
    assert not raised.value.retryable
    assert "OPENAI_API_KEY" in raised.value.reason


async def test_a_local_server_needs_no_key(fake_openai: FakeOpenAI) -> None:
    async with ModelClient(api_key=None, base_url=fake_openai.base_url) as client:
        await client.generate(PROMPT, [customer("oi")])

    assert fake_openai.requests[0].authorization == f"Bearer {NO_API_KEY}"


async def test_settings_choose_the_server_key_and_timeout(fake_openai: FakeOpenAI) -> None:
    settings = Settings(
        openai_api_key="sk-from-settings-0123456789",
        openai_base_url=fake_openai.base_url,
        model_timeout_seconds=4.5,
    )

    async with ModelClient.from_settings(settings) as client:
        assert client.timeout_seconds == 4.5
        await client.generate(PROMPT, [customer("oi")])

    assert fake_openai.requests[0].authorization == "Bearer sk-from-settings-0123456789"


def test_model_errors_keep_their_details_when_pickled() -> None:
    import pickle

    error = TransientModelError(
        "rate limited", failure=ModelFailure.RATE_LIMITED, status_code=429, code="x"
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object

    assert isinstance(copy, TransientModelError)
    assert (copy.reason, copy.failure, copy.status_code, copy.code) == (
        "rate limited",
        ModelFailure.RATE_LIMITED,
        429,
        "x",
    )
    assert (
        PermanentModelError().reason
        == "The model cannot answer this request; trying again will not help."
    )


def test_build_messages_maps_roles() -> None:
    messages = build_messages(
        PROMPT,
        [
            customer("a"),
            ConversationTurn(role=TurnRole.TEAM, text="b"),
            ConversationTurn(role=TurnRole.ASSISTANT, text="c"),
        ],
    )

    assert [m["role"] for m in messages] == ["system", "user", "assistant", "assistant"]


def test_a_turn_needs_text_or_media() -> None:
    with pytest.raises(ValueError, match="text or a media note"):
        ConversationTurn(role=TurnRole.CUSTOMER, text="  ")

    media_only = ConversationTurn(role=TurnRole.CUSTOMER, media_note="áudio de 12s")
    assert media_only.content() == "[áudio de 12s]"


async def test_services_open_one_model_client_from_settings(
    settings: Settings, fake_openai: FakeOpenAI
) -> None:
    from atende.services import open_services

    configured = settings.model_copy(update={"openai_base_url": fake_openai.base_url})
    async with open_services(configured, name="atende-test") as services:
        reply = await services.model.generate(PROMPT, [customer("oi")])

    assert reply.text == "eco: oi"
    assert services.model.timeout_seconds == settings.model_timeout_seconds
