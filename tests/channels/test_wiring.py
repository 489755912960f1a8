"""How the channel is wired in: Services, `atende simulator`, and `make dev`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from atende.config import Settings
from atende.devserver import TWILIO_SIMULATOR_PORT, companion_processes
from atende.services import Services
from atende.transports.twilio.client import TwilioService
from tests.conftest import free_port


async def test_services_open_a_twilio_service(services: Services) -> None:
    assert isinstance(services.transport.client, TwilioService)
    assert services.transport.client.http_client.base_url == services.settings.twilio_api_base_url


def test_make_dev_runs_the_simulator_when_no_twilio_base_url_is_set() -> None:
    children = {child.name: child for child in companion_processes(Settings(), {})}

    simulator = children["twilio-simulator"]
    assert simulator.argv[-3:] == ["simulator", "--port", str(TWILIO_SIMULATOR_PORT)]
    for name in ("api", "worker"):
        url = children[name].env["TWILIO_API_BASE_URL"]
        assert url == f"http://127.0.0.1:{TWILIO_SIMULATOR_PORT}"


def test_make_dev_uses_a_configured_twilio_base_url() -> None:
    env: dict[str, str] = {}
    children = companion_processes(Settings(twilio_api_base_url="https://api.twilio.com"), env)

    assert "twilio-simulator" not in [child.name for child in children]
    assert all("TWILIO_API_BASE_URL" not in child.env for child in children)
    assert "TWILIO_API_BASE_URL" not in env


def test_atende_simulator_serves_the_simulator() -> None:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "atende", "simulator", "--port", str(port)],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/__simulator", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the simulator did not start"
                time.sleep(0.1)
        assert answer.json()["simulator"] == "atende twilio simulator"
    finally:
        process.terminate()
        process.communicate(timeout=10)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert process.returncode in {0, -signal.SIGTERM}
