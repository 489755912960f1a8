"""README's "Watch it live": its `watch.py`, run as written against the API, prints what
the README says when a customer asks the demo model for a person: MESSAGE_CREATED for
the customer's message and for the AI's answer, HANDED_OFF and AI_CHANGED (the
conversation now HANDOFF), then MESSAGE_UPDATED as the answer goes SENDING, SENT and
DELIVERED. The whole product takes part: the signed webhook, the worker with the offline
demo model, sends through the Twilio simulator and its status callbacks, and the
subscription on another API process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from atende.config import Environment, Settings
from atende.devtools.demo_model import create_demo_model_app, demo_model_environment
from atende.devtools.twilio_simulator import post_inbound_message
from atende.services import Services
from atende.transports.twilio.webhooks import INBOUND_PATH
from tests.channels.world import TestChannel, make_channel
from tests.factories import Factory, ReplyFactory
from tests.fakes.server import BackgroundServer
from tests.graphql.live import live_server
from tests.reply_fixtures import Worker, open_queue_app
from tests.twilio_fixtures import RunningSimulator

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
CUSTOMER = "+5521900001111"
#: How long the whole story may take: the model, the send and the simulator's callbacks.
STORY_SECONDS = 30.0


def watch_py() -> str:
    """The Python block README asks the reader to save as watch.py."""
    after = README.split("save this as `watch.py`:", 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def joao_says() -> str:
    """What João writes in README's command for this step."""
    command = README.split("ask the demo model for a person:", 1)[1].split("```sh\n", 1)[1]
    assert f"--from {CUSTOMER} --name João" in command
    return command.split("\n", 1)[0].rsplit(' "', 1)[1].removesuffix('"')


@pytest.fixture(scope="module")
def demo_model() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_demo_model_app(), name="demo-model") as server:
        yield server


@pytest.fixture
def settings(database_url: str, tmp_path: Path, demo_model: BackgroundServer) -> Settings:
    """As `make dev` gives its processes without an OpenAI key."""
    model = demo_model_environment(demo_model.port)
    values: dict[str, Any] = {
        "env": Environment.TEST,
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "openai_base_url": model["OPENAI_BASE_URL"],
        "openai_api_key": model["OPENAI_API_KEY"],
        "worker_poll_interval_seconds": 0.05,
    }
    return Settings(**values)


@pytest.fixture
async def running_worker(sending_services: Services) -> AsyncIterator[Worker]:
    """A worker on every queue the story needs: replies and sends."""
    async with open_queue_app(sending_services):
        worker = Worker(sending_services, ["replies", "sends"])
        await worker.start()
        try:
            yield worker
        finally:
            await worker.stop()


async def printed_lines(process: asyncio.subprocess.Process, until: str) -> list[str]:
    """watch.py's lines, up to the first that contains ``until``."""
    assert process.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(STORY_SECONDS):
        while not lines or until not in lines[-1]:
            line = await process.stdout.readline()
            if not line:
                break
            lines.append(line.decode().rstrip("\n"))
    return lines


async def test_watch_py_prints_the_events_the_readme_lists(
    *,
    sending_settings: Settings,
    sending_services: Services,
    factory: Factory,
    running_worker: Worker,
    twilio_simulator: RunningSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As `make dev` runs the simulator: its callbacks half a second apart, so the
    # watcher reads the message SENT before it is DELIVERED.
    monkeypatch.setattr(twilio_simulator.simulator, "callback_delay_seconds", 0.5)
    channel: TestChannel = await make_channel(sending_services, factory)
    await ReplyFactory(sending_services).configure_agent(
        channel.organization.id, debounce_seconds=0
    )
    script = tmp_path / "watch.py"
    script.write_text(watch_py())

    async with live_server(sending_settings) as api:
        watcher = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            stdout=subprocess.PIPE,
            env={
                **os.environ,
                "API": f"{api.http_url}/graphql",
                "TOKEN": channel.organization.owner.token,
                "ORG": str(channel.organization.id),
            },
        )
        try:
            await api.wait_for_subscribers(1)
            delivery = await post_inbound_message(
                f"{sending_settings.public_url}{INBOUND_PATH}",
                auth_token=channel.auth_token,
                account_sid=channel.account_sid,
                from_=channel.address_of(CUSTOMER),
                to=channel.address,
                body=joao_says(),
                profile_name="João",
            )
            assert delivery.status_code == 200
            lines = await printed_lines(watcher, until='"DELIVERED"')
        finally:
            watcher.kill()
            await watcher.wait()

    events = [json.loads(line) for line in lines]
    # Each event shows the conversation and message as they are when it is sent.
    story = [(event["kind"], (event["message"] or {}).get("author")) for event in events]
    assert story[:4] == [
        ("MESSAGE_CREATED", "CONTACT"),
        ("MESSAGE_CREATED", "AI"),
        ("HANDED_OFF", None),
        ("AI_CHANGED", None),
    ], story
    assert [e["conversation"]["status"] for e in events[1:]] == ["HANDOFF"] * (len(events) - 1)
    assert [e["conversation"]["aiEnabled"] for e in events[1:]] == [False] * (len(events) - 1)
    updates = [(e["kind"], e["message"]["author"], e["message"]["status"]) for e in events[4:]]
    assert updates == [
        ("MESSAGE_UPDATED", "AI", "SENDING"),
        ("MESSAGE_UPDATED", "AI", "SENT"),
        ("MESSAGE_UPDATED", "AI", "DELIVERED"),
    ], story


def test_websockets_comes_with_atende_itself() -> None:
    """README: watch.py needs the `websockets` package, "installed with Atende": a
    dependency of Atende's own (through uvicorn[standard]), not of its dev tools."""
    wanted: list[tuple[str, set[str]]] = [("atende", set())]
    seen: set[str] = set()
    while wanted:
        name, extras = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or any(
                requirement.marker.evaluate({"extra": extra}) for extra in extras | {""}
            ):
                wanted.append((canonicalize_name(requirement.name), requirement.extras))

    assert "websockets" in seen
