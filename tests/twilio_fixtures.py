"""Fixtures for anything that talks to Twilio: the simulator, the real client, a webhook
receiver, a business with a channel, the API serving webhooks. Registered for every test
directory by ``tests/conftest.py`` (``pytest_plugins``): the transport's tests
(tests/transports/twilio), the dev tools' (tests/devtools) and the channels' use them.

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

from atende.app import create_app
from atende.config import Settings
from atende.devtools.twilio_simulator import TwilioSimulator, create_simulator_app
from atende.services import Services, open_services
from atende.transports.twilio.client import TwilioService
from atende.transports.twilio.http import TwilioHttpClient
from atende.transports.twilio.models import TwilioCredentials
from atende.transports.twilio.signature import read_form
from tests.channels.world import TestChannel, make_channel
from tests.factories import Factory
from tests.fakes.server import BackgroundServer

#: Seconds between simulated status changes in tests.
TEST_CALLBACK_DELAY = 0.02


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
    with BackgroundServer(create_simulator_app(simulator)) as server:
        yield RunningSimulator(simulator=simulator, base_url=server.url)


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
    with BackgroundServer(app) as server:
        receiver.base_url = server.url
        yield receiver


@pytest.fixture
def webhook_receiver(_webhook_receiver_server: WebhookReceiver) -> WebhookReceiver:
    with _webhook_receiver_server._lock:
        _webhook_receiver_server.received.clear()
    _webhook_receiver_server.status_code = 200
    return _webhook_receiver_server


# -- a business with a channel (webhooks, sends) ----------------------------------------


@pytest.fixture
async def channel(services: Services, factory: Factory) -> TestChannel:
    """A WhatsApp channel (simulator account, encrypted token) of a new organization."""
    return await make_channel(services, factory)


@dataclass
class RunningApp:
    """The API app served by uvicorn on 127.0.0.1, with its public URL set to itself, so
    the simulator's status callbacks reach it."""

    settings: Settings
    base_url: str


@pytest.fixture
def sending_settings(settings: Settings, twilio_simulator: RunningSimulator) -> Iterator[Settings]:
    """Settings for sending through the simulator, with tiny retry delays, and the API
    serving webhooks at ``public_url`` (a real server on a free port)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    configured = settings.model_copy(
        update={
            "public_url": f"http://127.0.0.1:{port}",
            "twilio_api_base_url": twilio_simulator.base_url,
            "send_retry_base_seconds": 0.01,
            "send_retry_max_seconds": 0.05,
            "send_max_attempts": 3,
        }
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(configured), log_config=None, ws="none", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API did not start")
        time.sleep(0.01)
    try:
        yield configured
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


@pytest.fixture
async def sending_services(sending_settings: Settings) -> AsyncIterator[Services]:
    """Services (as a worker has them) that send through the simulator."""
    async with open_services(sending_settings, name="atende-test-worker") as opened:
        yield opened
