"""A scriptable OpenAI-compatible server for tests, so the real ``openai`` client runs.

It serves ``POST /v1/chat/completions``, ``POST /v1/audio/transcriptions`` (scripted with
``script_transcriptions``, recorded in ``transcriptions``; a voice note gets
``transcript_default`` otherwise) and ``GET /v1/models`` on a free 127.0.0.1 port,
under uvicorn in a thread of the test process (so it answers while a test blocks, and
while other processes — a worker, the API — call it too). Point a client at
``fake.base_url``.

Script what the next calls get, in order; when the script runs out, every call gets
``fake.default`` (an echo of the last customer message)::

    fake_openai.script(
        ErrorReply.rate_limited(),
        TextReply("Olá! Como posso ajudar?", prompt_tokens=50, completion_tokens=9),
    )
    ...
    assert fake_openai.requests[0].user_texts == ["oi", "tudo bem?"]

``default`` may also be a function of the request, for tests where concurrent callers
need different answers. Every request is recorded (``requests``), and ``max_in_flight``
says how many were ever served at once. Thread-safe: the server thread and the test
share one lock.

To use the fixtures outside ``tests/ai``, import them into that package's
``conftest.py``: ``from tests.fakes.openai_server import fake_openai, fake_openai_server``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import BackgroundServer

HANDOFF_TOOL_NAME = "handoff_to_human"
FAKE_MODEL_ID = "fake-model"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received, as sent."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Mapping[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def model(self) -> str | None:
        return self.body.get("model")

    @property
    def temperature(self) -> float | None:
        return self.body.get("temperature")

    @property
    def tools(self) -> list[dict[str, Any]] | None:
        return self.body.get("tools")

    @property
    def tool_names(self) -> list[str]:
        return [tool["function"]["name"] for tool in self.tools or []]

    @property
    def roles(self) -> list[str]:
        return [message["role"] for message in self.messages]

    def texts(self, role: str) -> list[str]:
        """The contents of the messages with ``role``, in order."""
        return [_text_of(m) for m in self.messages if m.get("role") == role]

    @property
    def user_texts(self) -> list[str]:
        return self.texts("user")

    @property
    def system_prompt(self) -> str | None:
        first = self.messages[0] if self.messages else None
        return _text_of(first) if first and first.get("role") == "system" else None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


class Scripted(Protocol):
    """One scripted answer."""

    async def respond(self, request: RecordedRequest, fake: FakeOpenAI) -> Response: ...


@dataclass(frozen=True)
class TextReply:
    """A normal answer. Token counts default to estimates from the text lengths."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"
    model: str | None = None
    include_usage: bool = True

    async def respond(self, request: RecordedRequest, fake: FakeOpenAI) -> Response:
        return completion_response(
            request,
            {"role": "assistant", "content": self.text, "refusal": None},
            finish_reason=self.finish_reason,
            model=self.model,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            include_usage=self.include_usage,
        )


@dataclass(frozen=True)
class EchoReply:
    """The default: ``eco: <last user message>`` (so a test can see what the model saw)."""

    prefix: str = "eco: "

    async def respond(self, request: RecordedRequest, fake: FakeOpenAI) -> Response:
        texts = request.user_texts
        return await TextReply(self.prefix + (texts[-1] if texts else "")).respond(request, fake)


@dataclass(frozen=True)
class ToolCallReply:
    """A tool call with ``arguments`` sent verbatim (so they may be invalid JSON)."""

    name: str
    arguments: str
    text: str | None = None

    async def respond(self, request: RecordedRequest, fake: FakeOpenAI) -> Response:
        call = {
            "id": f"call_{fake.next_id()}",
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }
        message = {"role": "assistant", "content": self.text, "refusal": None, "tool_calls": [call]}
        return completion_response(request, message, finish_reason="tool_calls")


def HandoffReply(reason: str = "O cliente pediu para falar com uma pessoa.") -> ToolCallReply:  # noqa: N802 - reads as a reply type in a script
    """A ``handoff_to_human`` tool call with a well-formed ``reason``."""
    return ToolCallReply(HANDOFF_TOOL_NAME, json.dumps({"reason": reason}, ensure_ascii=False))


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error with OpenAI's error body: ``{"error": {message, type, param, code}}``."""

    status: int
    message: str = "The server had an error while processing your request."
    type: str | None = "server_error"
    code: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    async def respond(self, request: RecordedRequest, fake: FakeOpenAI) -> Response:
        body = {
            "error": {"message": self.message, "type": self.type, "param": None, "code": self.code}
        }
        return JSONResponse(body, status_code=self.status, headers=dict(self.headers))

    @classmethod
    def rate_limited(cls, retry_after: str | None = "1") -> ErrorReply:
        return cls(
            429,
            "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3.",
            type="requests",
            code="rate_limit_exceeded",
            headers={"retry-after": retry_after} if retry_after else {},
        )

    @classmethod
    def insufficient_quota(cls) -> ErrorReply:
        return cls(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            type="insufficient_quota",
            code="insufficient_quota",
        )

    @classmethod
    def invalid_api_key(cls, key: str = "sk-test-abcdefghijklmnop") -> ErrorReply:
        return cls(
            401,
            f"Incorrect API key provided: {key}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            type="invalid_request_error",
            code="invalid_api_key",
        )

    @classmethod
    def model_not_found(cls, model: str = "gpt-nope") -> ErrorReply:
        return cls(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            type="invalid_request_error",
            code="model_not_found",
        )


@dataclass(frozen=True)
class Hang:
    """Wait ``seconds`` (or until the test ends), then answer ``then`` (an echo by default).

    Longer than the client's timeout, it is a hang; shorter, a slow model.
    """

    seconds: float = 30.0
    then: Scripted | None = None

    async def respond(self, request: RecordedRequest, fake: FakeOpenAI) -> Response:
        released = fake.release_event
        deadline = time.monotonic() + self.seconds
        # Polled, not awaited: the test's thread releases it, and asyncio events are not
        # thread-safe.
        while not released.is_set() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
        return await (self.then or EchoReply()).respond(request, fake)


@dataclass(frozen=True)
class RawReply:
    """Any body with any status and content type: garbage, truncated JSON, HTML pages."""

    body: bytes | str = b"<html><body>502 Bad Gateway</body></html>"
    status: int = 200
    content_type: str = "text/html"

    async def respond(self, request: RecordedRequest, fake: FakeOpenAI) -> Response:
        return Response(self.body, status_code=self.status, media_type=self.content_type)


@dataclass(frozen=True)
class JSONReply:
    """Any JSON document with any status, e.g. ``{"choices": []}``."""

    payload: Any
    status: int = 200

    async def respond(self, request: RecordedRequest, fake: FakeOpenAI) -> Response:
        return JSONResponse(self.payload, status_code=self.status)


def EmptyChoicesReply() -> JSONReply:  # noqa: N802 - reads as a reply type in a script
    """A well-formed completion with ``choices: []``."""
    return JSONReply(
        {
            "id": "chatcmpl-empty",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": FAKE_MODEL_ID,
            "choices": [],
            "usage": {"prompt_tokens": 10, "completion_tokens": 0, "total_tokens": 10},
        }
    )


@dataclass(frozen=True)
class TranscriptReply:
    """A transcription, as OpenAI's ``response_format=json`` answers it."""

    text: str

    async def respond(self, request: RecordedRequest, fake: FakeOpenAI) -> Response:
        return JSONResponse({"text": self.text})


@dataclass(frozen=True)
class RecordedTranscription:
    """One transcription request: the file as uploaded and the form's fields."""

    file_name: str
    content_type: str
    audio: bytes
    model: str | None
    language: str | None
    response_format: str | None


DEFAULT_TRANSCRIPT = "Vocês têm bolo de chocolate para hoje?"

Responder = Scripted | Callable[[RecordedRequest], Scripted]


class FakeOpenAI:
    """The server and its script. Use the ``fake_openai`` fixture rather than this directly."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: deque[Scripted] = deque()
        self._requests: list[RecordedRequest] = []
        self._ids = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self.default: Responder = EchoReply()
        self.release_event = threading.Event()
        self._server: BackgroundServer | None = None
        self.port = 0
        self._transcription_script: deque[Scripted] = deque()
        self._transcriptions: list[RecordedTranscription] = []
        self.transcript_default: Scripted = TranscriptReply(DEFAULT_TRANSCRIPT)
        #: Set: transcription requests wait (polled) until it is cleared or the test ends.
        self.hold_transcriptions = threading.Event()

    def script_transcriptions(self, *replies: Scripted) -> None:
        """Append answers for the next transcription requests, in order."""
        with self._lock:
            self._transcription_script.extend(replies)

    @property
    def transcriptions(self) -> list[RecordedTranscription]:
        """Transcription requests received so far (answered or waiting), in order."""
        with self._lock:
            return list(self._transcriptions)

    # -- the script ------------------------------------------------------------------

    def script(self, *replies: Scripted) -> None:
        """Append answers for the next calls, in order."""
        with self._lock:
            self._script.extend(replies)

    @property
    def pending(self) -> int:
        """Scripted answers not used yet."""
        with self._lock:
            return len(self._script)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Chat completion requests received so far, in order of arrival."""
        with self._lock:
            return [r for r in self._requests if r.path.endswith("/chat/completions")]

    @property
    def all_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def max_in_flight(self) -> int:
        """The most chat completion requests ever being answered at the same time."""
        with self._lock:
            return self._max_in_flight

    async def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """The first ``count`` chat completion requests, once they have arrived."""
        deadline = time.monotonic() + timeout
        while len(requests := self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} request(s), got {len(requests)}")
            await asyncio.sleep(0.01)
        return requests[:count]

    def reset(self) -> None:
        """Forget the script and the requests; let hanging answers finish."""
        with self._lock:
            self._script.clear()
            self._requests.clear()
            self._max_in_flight = self._in_flight
            self.default = EchoReply()
            self.release_event.set()
            self.release_event = threading.Event()
            self._transcription_script.clear()
            self._transcriptions.clear()
            self.transcript_default = TranscriptReply(DEFAULT_TRANSCRIPT)
            self.hold_transcriptions.clear()

    def next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    # -- the server --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What ``OPENAI_BASE_URL`` should be."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        self._server = BackgroundServer(self.app(), name="fake-openai")
        self._server.start()
        self.port = self._server.port

    def stop(self) -> None:
        self.release_event.set()
        if self._server is not None:
            self._server.stop()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/audio/transcriptions", self._transcribe, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    async def _transcribe(self, request: Request) -> Response:
        # The form closes its uploaded file's spool when the block ends.
        async with request.form() as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                return JSONResponse({"error": {"message": "file is required"}}, status_code=400)
            fields = {key: value for key, value in form.items() if isinstance(value, str)}
            recorded = RecordedTranscription(
                file_name=upload.filename or "",
                content_type=upload.content_type or "",
                audio=await upload.read(),
                model=fields.get("model"),
                language=fields.get("language"),
                response_format=fields.get("response_format"),
            )
        with self._lock:
            self._transcriptions.append(recorded)
            scripted = (
                self._transcription_script.popleft()
                if self._transcription_script
                else self.transcript_default
            )
        released = self.release_event
        # Polled, not awaited: the test's thread clears it (asyncio events are not
        # thread-safe).
        while self.hold_transcriptions.is_set() and not released.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        as_request = RecordedRequest(
            request.method, request.url.path, dict(request.headers), fields
        )
        return await scripted.respond(as_request, self)

    async def _chat_completions(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"_unparsed": raw.decode(errors="replace")}
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            headers=dict(request.headers),
            body=body,
        )
        with self._lock:
            self._requests.append(recorded)
            scripted = self._script.popleft() if self._script else None
            default = self.default
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        if scripted is None:
            scripted = default(recorded) if callable(default) else default
        try:
            return await scripted.respond(recorded, self)
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _models(self, request: Request) -> Response:
        with self._lock:
            self._requests.append(RecordedRequest(request.method, request.url.path, {}, {}))
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": FAKE_MODEL_ID, "object": "model", "created": 0, "owned_by": "tests"}
                ],
            }
        )


def completion_response(
    request: RecordedRequest,
    message: dict[str, Any],
    *,
    finish_reason: str,
    model: str | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    include_usage: bool = True,
) -> JSONResponse:
    """A ``chat.completion`` object, as OpenAI sends it."""
    prompt_tokens = (
        prompt_tokens if prompt_tokens is not None else estimate_tokens(json.dumps(request.body))
    )
    completion_tokens = (
        completion_tokens
        if completion_tokens is not None
        else estimate_tokens(json.dumps(message, ensure_ascii=False))
    )
    body: dict[str, Any] = {
        "id": f"chatcmpl-fake-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model or request.model or FAKE_MODEL_ID,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "system_fingerprint": None,
    }
    if include_usage:
        body["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
    return JSONResponse(body)


def estimate_tokens(text: str) -> int:
    """About four characters a token, as OpenAI's rule of thumb says."""
    return max(1, len(text) // 4)


def _text_of(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    """One fake server for the whole run (``fake_openai`` resets it for each test)."""
    fake = FakeOpenAI()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The fake OpenAI server, with an empty script and no requests recorded."""
    fake_openai_server.reset()
    try:
        yield fake_openai_server
    finally:
        fake_openai_server.reset()
