"""Fixtures for anything that talks to Twilio: the simulator, the real client, a webhook
receiver. Reusable from any test directory (``pytest_plugins`` or a conftest import).

- ``twilio_simulator``: the simulator, served by uvicorn in a thread on a free
  127.0.0.1 port for the whole session and reset before each test. Its ``base_url`` is
  what ``TWILIO_API_BASE_URL`` would be; ``simulator`` is the in-process object (faults,
  recorded messages).
- ``twilio_http_client`` / ``twilio_service``: the product's ``TwilioHttpClient`` and
  ``TwilioService`` pointed at the simulator (short timeouts).
- ``twilio_credentials``: an account for the simulator.
- ``webhook_receiver``: a server that records every POST it gets (status callbacks,
  inbound webhooks), to check what the simulator sends.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from atende.channels.http import TwilioHttpClient
from atende.channels.models import TwilioCredentials
from atende.channels.service import TwilioService
from atende.channels.signature import read_form
from atende.channels.simulator import TwilioSimulator, create_simulator_app

#: Seconds between simulated status changes in tests.
TEST_CALLBACK_DELAY = 0.02


class ServerThread:
    """An ASGI app served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, app: ASGIApp) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_config=None, ws="none", lifespan="on")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.005)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll (briefly) until ``condition()`` holds; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(0.01)


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """``wait_until`` for async tests: polls without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        await asyncio.sleep(0.01)


@dataclass
class RunningSimulator:
    simulator: TwilioSimulator
    base_url: str


@pytest.fixture(scope="session")
def _twilio_simulator_server() -> Iterator[RunningSimulator]:
    simulator = TwilioSimulator(callback_delay_seconds=TEST_CALLBACK_DELAY)
    with ServerThread(create_simulator_app(simulator)) as server:
        yield RunningSimulator(simulator=simulator, base_url=server.base_url)


@pytest.fixture
def twilio_simulator(_twilio_simulator_server: RunningSimulator) -> RunningSimulator:
    """The session's simulator, with no messages and no faults."""
    _twilio_simulator_server.simulator.reset()
    return _twilio_simulator_server


@pytest.fixture
def twilio_credentials() -> TwilioCredentials:
    return TwilioCredentials(
        account_sid="AC" + "0" * 32, auth_token=SecretStr("simulator-auth-token-0123456789")
    )


@pytest.fixture
async def twilio_http_client(twilio_simulator: RunningSimulator) -> AsyncIterator[TwilioHttpClient]:
    client = TwilioHttpClient(base_url=twilio_simulator.base_url, timeout=2.0, connect_timeout=1.0)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def twilio_service(twilio_http_client: TwilioHttpClient) -> TwilioService:
    return TwilioService(twilio_http_client)


@dataclass(frozen=True)
class ReceivedRequest:
    url: str
    path: str
    headers: dict[str, str]
    form: list[tuple[str, str]]

    @property
    def params(self) -> dict[str, str]:
        return dict(self.form)


@dataclass
class WebhookReceiver:
    """Records every POST; answers ``status_code`` (200 unless a test changes it)."""

    base_url: str = ""
    received: list[ReceivedRequest] = field(default_factory=list)
    status_code: int = 200
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base_url + path

    def requests(self, path: str | None = None) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.received if path is None or r.path == path]

    async def handle(self, request: Request) -> Response:
        recorded = ReceivedRequest(
            url=str(request.url),
            path=request.url.path,
            headers=dict(request.headers),
            form=await read_form(request),
        )
        with self._lock:
            self.received.append(recorded)
        return PlainTextResponse("", status_code=self.status_code)


@pytest.fixture(scope="session")
def _webhook_receiver_server() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    app = Starlette(routes=[Route("/{path:path}", receiver.handle, methods=["POST"])])
    with ServerThread(app) as server:
        receiver.base_url = server.base_url
        yield receiver


@pytest.fixture
def webhook_receiver(_webhook_receiver_server: WebhookReceiver) -> WebhookReceiver:
    with _webhook_receiver_server._lock:
        _webhook_receiver_server.received.clear()
    _webhook_receiver_server.status_code = 200
    return _webhook_receiver_server
