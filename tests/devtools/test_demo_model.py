"""The offline demo model: the real ``ModelClient`` against it, and how ``atende dev`` runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from atende.ai.client import ModelClient
from atende.ai.models import AgentPrompt, ConversationTurn, TurnRole
from atende.config import Settings
from atende.devserver import companion_processes
from atende.devtools.demo_model import (
    DEMO_LABEL,
    DEMO_MODEL_API_KEY,
    DEMO_MODEL_ID,
    DEMO_TRANSCRIPT_LABEL,
    asks_for_a_person,
    create_demo_model_app,
    demo_model_environment,
    demo_reply_text,
)
from atende.knowledge.embeddings import LocalEmbedder, embedder_from_settings
from tests.conftest import free_port
from tests.fakes.server import BackgroundServer

PROMPT = AgentPrompt(system_prompt="Você é a assistente da Loja Exemplo.", model="gpt-4o-mini")


@pytest.fixture(scope="module")
def demo_server() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_demo_model_app(), name="demo-model") as server:
        yield server


@pytest.fixture
async def demo_client(demo_server: BackgroundServer) -> AsyncIterator[ModelClient]:
    async with ModelClient(
        api_key=DEMO_MODEL_API_KEY, base_url=f"{demo_server.url}/v1", timeout_seconds=5
    ) as client:
        yield client


def customer(text: str) -> ConversationTurn:
    return ConversationTurn(role=TurnRole.CUSTOMER, text=text)


async def test_the_reply_says_it_is_the_offline_demo(demo_client: ModelClient) -> None:
    reply = await demo_client.generate(
        PROMPT,
        [
            customer("Oi"),
            ConversationTurn(role=TurnRole.ASSISTANT, text="Olá!"),
            customer("Vocês abrem no domingo?"),
        ],
    )

    assert reply.text is not None
    assert reply.text.startswith("[Modelo de demonstração offline]")
    assert "“Vocês abrem no domingo?”" in reply.text
    assert "OPENAI_API_KEY" in reply.text
    assert reply.handoff is None
    assert reply.model == DEMO_MODEL_ID
    assert reply.finish_reason == "stop"
    assert reply.prompt_tokens is not None
    assert reply.prompt_tokens > 10
    assert reply.completion_tokens is not None
    assert reply.completion_tokens > 10


async def test_asking_for_an_attendant_hands_off(demo_client: ModelClient) -> None:
    reply = await demo_client.generate(PROMPT, [customer("quero falar com um atendente")])

    assert reply.handoff is not None
    assert "demonstração" in reply.handoff.reason
    assert reply.text is None
    assert reply.finish_reason == "tool_calls"


async def test_without_the_handoff_tool_it_answers_in_text(demo_client: ModelClient) -> None:
    prompt = PROMPT.model_copy(update={"handoff_enabled": False})

    reply = await demo_client.generate(prompt, [customer("quero falar com um humano")])

    assert reply.handoff is None
    assert reply.text is not None
    assert DEMO_LABEL in reply.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Quero falar com um ATENDENTE", True),
        ("posso falar com uma pessoa?", True),
        ("prefiro atendimento humano", True),
        ("I want a human", True),
        ("me passa pra atendente, por favor", True),
        ("qual o horário de atendimento?", False),
        ("quanto custa o bolo?", False),
        ("", False),
    ],
)
def test_what_counts_as_asking_for_a_person(text: str, expected: bool) -> None:
    assert asks_for_a_person(text) is expected


def test_long_messages_are_quoted_shortly() -> None:
    text = demo_reply_text("a" * 1000)

    assert len(text) < 400
    assert "…”" in text


async def test_a_voice_note_gets_a_plainly_marked_demo_transcript(
    demo_client: ModelClient, demo_server: BackgroundServer
) -> None:
    transcription = await demo_client.transcribe(
        b"OggS" + bytes(100),
        file_name="audio-1.ogg",
        content_type="audio/ogg",
        model="whisper-1",
        timeout_seconds=5,
    )
    assert transcription.text.startswith(DEMO_TRANSCRIPT_LABEL)
    assert "audio-1.ogg (104 bytes)" in transcription.text
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{demo_server.url}/v1/audio/transcriptions", data={"x": "1"})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "file"


async def test_stream_true_is_a_clear_400(demo_server: BackgroundServer) -> None:
    async with httpx.AsyncClient(base_url=demo_server.url) as http:
        response = await http.post(
            "/v1/chat/completions",
            json={"model": "x", "stream": True, "messages": [{"role": "user", "content": "oi"}]},
        )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "stream"
    assert "stream=true" in error["message"]


async def test_a_request_without_messages_is_a_400(demo_server: BackgroundServer) -> None:
    async with httpx.AsyncClient(base_url=demo_server.url) as http:
        response = await http.post("/v1/chat/completions", content=b"not json")

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_it_lists_its_model(demo_server: BackgroundServer) -> None:
    async with httpx.AsyncClient(base_url=demo_server.url) as http:
        response = await http.get("/v1/models")

    assert [model["id"] for model in response.json()["data"]] == [DEMO_MODEL_ID]


def test_dev_runs_the_demo_model_when_no_model_is_configured(
    capsys: pytest.CaptureFixture[str],
) -> None:
    env: dict[str, str] = {}

    children = companion_processes(Settings(), env)

    assert "demo-model" in [child.name for child in children]
    assert env["OPENAI_BASE_URL"] == "http://127.0.0.1:8030/v1"
    assert env["OPENAI_API_KEY"] == DEMO_MODEL_API_KEY
    assert "offline demo model" in capsys.readouterr().out


@pytest.mark.parametrize(
    "configured",
    [{"openai_api_key": "sk-real-0123456789"}, {"openai_base_url": "http://127.0.0.1:11434/v1"}],
)
def test_dev_leaves_a_configured_model_alone(configured: dict[str, str]) -> None:
    env: dict[str, str] = {}

    children = companion_processes(Settings(**configured), env)  # type: ignore[arg-type]

    assert "demo-model" not in [child.name for child in children]
    assert env == {}


def test_the_demo_model_command_serves_until_stopped() -> None:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "atende", "demo-model", "--port", str(port)],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        models = None
        deadline = time.monotonic() + 20
        while models is None and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1) as r:
                    models = json.load(r)
            except OSError:
                time.sleep(0.1)
        assert models is not None, "atende demo-model did not answer"
        assert models["data"][0]["id"] == DEMO_MODEL_ID
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


def test_processes_on_the_demo_model_index_knowledge_with_the_built_in_embedder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in demo_model_environment(free_port()).items():
        monkeypatch.setenv(name, value)
    assert isinstance(embedder_from_settings(Settings()), LocalEmbedder)
