"""The offline demo model: a local OpenAI-compatible server for demos without a key.

``atende dev`` runs it (``atende demo-model``) when neither ``OPENAI_API_KEY`` nor
``OPENAI_BASE_URL`` is set, and points the API and the worker at it, so the product runs
end to end with the same client code a real model uses. It never pretends to be one:
every reply says, in Portuguese, that it comes from the offline demo model, and quotes
the customer's last message. When the request carries passages of the business's
knowledge base (``atende.ai.client.knowledge_message``), it answers with the first one and
names its document, so a demo shows what retrieval found. When the customer asks for a
person ("atendente", "humano", "pessoa", "human") it calls the ``handoff_to_human`` tool,
as a real model would.

It answers ``POST /v1/chat/completions`` (non-streaming; ``stream: true`` gets a clear
400), ``POST /v1/audio/transcriptions`` (a voice note gets a plainly marked demo
transcript that names the file it received, so ``make dev`` shows the whole voice-note
path) and ``GET /v1/models``, with OpenAI's JSON shapes, error bodies included.
"""

from __future__ import annotations

import json
import math
import re
import time
import unicodedata
import uuid
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from atende.ai.models import HANDOFF_TOOL_NAME, KNOWLEDGE_HEADER
from atende.config import Settings

DEMO_MODEL_ID = "atende-demo-offline"
DEMO_MODEL_HOST = "127.0.0.1"
DEMO_MODEL_PORT = 8030
#: What ``atende dev`` sets ``OPENAI_API_KEY`` to for its children; the demo ignores it.
DEMO_MODEL_API_KEY = "offline-demo"
DEMO_LABEL = "[Modelo de demonstração offline]"
DEMO_TRANSCRIPT_LABEL = "[Transcrição de demonstração]"
DEMO_HANDOFF_REASON = (
    "O cliente pediu para falar com uma pessoa (detectado pelo modelo de demonstração offline)."
)

_MAX_QUOTE = 280
#: The first passage of a knowledge message (atende.ai.client.knowledge_message).
_FIRST_PASSAGE = re.compile(
    r'<trecho 1: documento "(?P<title>[^"\n]*)"[^\n]*>\n(?P<text>.*?)\n</trecho 1>', re.DOTALL
)
#: Words that mean "let me talk to a person", compared without accents or case.
_ASKS_FOR_A_PERSON = re.compile(
    r"\b(atendentes?|humanos?|humanas?|pessoa|human|person|operadora?|gerente)\b"
)


def uses_demo_model(settings: Settings) -> bool:
    """Whether ``atende dev`` should run the demo model: no key and no server configured."""
    return settings.openai_api_key is None and not settings.openai_base_url


def demo_model_environment(port: int = DEMO_MODEL_PORT) -> dict[str, str]:
    """The variables that point a process's model client at the demo model."""
    return {
        "OPENAI_BASE_URL": f"http://{DEMO_MODEL_HOST}:{port}/v1",
        "OPENAI_API_KEY": DEMO_MODEL_API_KEY,
        # The demo model serves no embeddings; with a key set, the knowledge base would
        # otherwise ask it for OpenAI's and every document would fail to index.
        "ATENDE_EMBEDDINGS": "local",
    }


class _ChatRequest(BaseModel):
    model: str | None = None
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    stream: bool | None = None


def create_demo_model_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"]),
        ]
    )


async def transcriptions(request: Request) -> Response:
    """OpenAI's transcription API, for demos: it does not listen to the audio; it says so,
    with the file's name and size, in the shape a real model answers (``{"text": ...}``)."""
    try:
        # The form closes its uploaded file's spool when the block ends.
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                return _error(
                    400, "Envie o áudio como multipart/form-data no campo 'file'.", "file"
                )
            audio = await upload.read()
            name = upload.filename or "audio"
    except (HTTPException, MultiPartException, ValueError):
        return _error(400, "Envie o áudio como multipart/form-data no campo 'file'.", "file")
    return JSONResponse({"text": demo_transcript(name, len(audio))})


def demo_transcript(file_name: str, size: int) -> str:
    """The demo's transcript of a voice note: it says it is not one."""
    return (
        f"{DEMO_TRANSCRIPT_LABEL} O modelo de demonstração não ouve áudios; recebeu "
        f"{file_name} ({size} bytes). Configure OPENAI_API_KEY para transcrições reais."
    )


async def list_models(request: Request) -> Response:
    return JSONResponse(
        {
            "object": "list",
            "data": [{"id": DEMO_MODEL_ID, "object": "model", "created": 0, "owned_by": "atende"}],
        }
    )


async def chat_completions(request: Request) -> Response:
    try:
        body = json.loads(await request.body())
        chat = _ChatRequest.model_validate(body)
    except (ValueError, ValidationError):
        return _error(400, "O corpo precisa ser um JSON com uma lista 'messages'.", "messages")
    if chat.stream:
        return _error(
            400,
            "O modelo de demonstração offline não suporta stream=true; envie stream=false.",
            "stream",
        )

    last_customer_text = next(
        (_text_of(m) for m in reversed(chat.messages) if m.get("role") == "user"), ""
    )
    offers_handoff = any(
        (tool.get("function") or {}).get("name") == HANDOFF_TOOL_NAME for tool in chat.tools or []
    )
    message: dict[str, Any]
    if offers_handoff and asks_for_a_person(last_customer_text):
        arguments = json.dumps({"reason": DEMO_HANDOFF_REASON}, ensure_ascii=False)
        message = {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "tool_calls": [
                {
                    "id": f"call_{uuid.uuid4().hex[:24]}",
                    "type": "function",
                    "function": {"name": HANDOFF_TOOL_NAME, "arguments": arguments},
                }
            ],
        }
        finish_reason = "tool_calls"
        completion_text = arguments
    else:
        knowledge = next(
            (
                _text_of(m)
                for m in chat.messages
                if m.get("role") == "system" and _text_of(m).startswith(KNOWLEDGE_HEADER)
            ),
            "",
        )
        completion_text = demo_reply_text(last_customer_text, knowledge)
        message = {"role": "assistant", "content": completion_text, "refusal": None}
        finish_reason = "stop"

    prompt_tokens = sum(estimate_tokens(_text_of(m)) + 4 for m in chat.messages) + (
        estimate_tokens(json.dumps(chat.tools)) if chat.tools else 0
    )
    completion_tokens = estimate_tokens(completion_text)
    return JSONResponse(
        {
            "id": f"chatcmpl-demo-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": DEMO_MODEL_ID,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "system_fingerprint": None,
        }
    )


def demo_reply_text(customer_text: str, knowledge: str = "") -> str:
    """What the demo model says to a customer's message (and the knowledge message the
    request carried, if any: its first passage is quoted with its document's title)."""
    quote = _clip(" ".join(customer_text.split()))
    if not quote:
        return f"{DEMO_LABEL} Olá! Configure OPENAI_API_KEY para respostas reais."
    found = _FIRST_PASSAGE.search(knowledge)
    if found is not None:
        passage = _clip(" ".join(found["text"].split()))
        return (
            f"{DEMO_LABEL} Recebi sua mensagem: “{quote}”. "
            f"Na base de conhecimento (documento “{found['title']}”) encontrei: “{passage}”. "
            "Configure OPENAI_API_KEY para respostas reais."
        )
    return (
        f"{DEMO_LABEL} Recebi sua mensagem: “{quote}”. "
        "Configure OPENAI_API_KEY para respostas reais."
    )


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 1] + "…"


def asks_for_a_person(text: str) -> bool:
    folded = "".join(
        c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c)
    )
    return _ASKS_FOR_A_PERSON.search(folded) is not None


def estimate_tokens(text: str) -> int:
    """About four characters a token (OpenAI's rule of thumb), at least one."""
    return max(1, math.ceil(len(text) / 4))


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        return " ".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def _error(status: int, message: str, param: str | None) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": param,
                "code": "unsupported_value" if param == "stream" else None,
            }
        },
        status_code=status,
    )
