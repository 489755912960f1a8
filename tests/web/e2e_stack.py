"""The product on loopback for the web app's browser tests: ``python -m tests.web.e2e_stack
-- <command>`` starts it, runs the command (``npm --prefix web run e2e``: Playwright) with
where to find it in the environment, stops everything and exits with the command's status.

What runs, each as in ``make dev`` and on ports of its own (so a ``make dev`` may run
beside it): a throwaway Postgres cluster (``EmbeddedPostgres``, migrated), the demo
workspace (``ensure_demo_workspace``), ``atende serve`` (which serves the built app,
``web/dist``), ``atende worker``, ``atende simulator`` (Twilio), ``atende demo-model``
(the offline model) and ``atende mail-catcher`` (the account mails, their links to this
app). Then the demo customer writes once (a signed webhook, as Twilio posts it) and the
stack waits for the demo model's answer to be delivered, so the browser opens on the demo
conversation.

The command gets ``ATENDE_E2E_BASE_URL`` (the app), ``ATENDE_E2E_SIMULATOR_URL``,
``ATENDE_E2E_MAILS_URL`` (the mail catcher's page),
``ATENDE_E2E_DEMO_EMAIL``/``_PASSWORD``/``_CHANNEL``/``_CUSTOMER``, and what ``atende
simulate`` needs to play a customer (``DATABASE_URL``, ``ATENDE_PUBLIC_URL``,
``TWILIO_API_BASE_URL``, ``ATENDE_E2E_ATENDE``: the command's path).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

from atende.config import Settings
from atende.db.embedded import EmbeddedPostgres
from atende.db.migrations import apply_migrations
from atende.devtools.demo_model import demo_model_environment
from atende.devtools.demo_workspace import (
    DEMO_ACCOUNT_SID,
    DEMO_AUTH_TOKEN,
    DEMO_CHANNEL_NUMBER,
    DEMO_CUSTOMER_NUMBER,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    ensure_demo_workspace,
)
from atende.devtools.twilio_simulator import post_inbound_message

REPOSITORY = Path(__file__).resolve().parents[2]
#: The demo conversation's first message, as the README's first session writes it.
FIRST_MESSAGE = "Olá! Vocês abrem amanhã?"
READY_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Child:
    """One ``atende`` command, its output in a log file."""

    def __init__(self, name: str, arguments: Sequence[str], env: dict[str, str], logs: Path):
        self.name = name
        self.log_path = logs / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "atende", *arguments],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPOSITORY,
            )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)

    def tail(self, characters: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-characters:]


def wait_until(url: str, children: Sequence[Child], *, timeout: float = READY_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        dead = [child for child in children if not child.alive()]
        if dead or time.monotonic() > deadline:
            logs = "\n".join(f"--- {child.name}:\n{child.tail()}" for child in children)
            raise RuntimeError(f"{url} did not answer within {timeout:g}s\n{logs}")
        time.sleep(0.2)


async def seed_demo_conversation(api: str, simulator: str) -> None:
    """The demo customer writes, and the demo model's answer reaches the simulator."""
    delivery = await post_inbound_message(
        f"{api}/webhooks/twilio/messages",
        auth_token=DEMO_AUTH_TOKEN,
        account_sid=DEMO_ACCOUNT_SID,
        from_=f"whatsapp:{DEMO_CUSTOMER_NUMBER}",
        to=f"whatsapp:{DEMO_CHANNEL_NUMBER}",
        body=FIRST_MESSAGE,
        profile_name="Maria",
    )
    if delivery.status_code != 200:
        raise RuntimeError(f"the demo message was refused: {delivery.status_code}")
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=simulator, timeout=5) as http:
        while time.monotonic() < deadline:
            answer = await http.get(
                "/__simulator/messages", params={"to": f"whatsapp:{DEMO_CUSTOMER_NUMBER}"}
            )
            if any(m.get("status") == "delivered" for m in answer.json()["messages"]):
                return
            await asyncio.sleep(0.25)
    raise RuntimeError("the demo model's answer was not delivered within 60s")


@contextmanager
def product(workdir: Path) -> Iterator[dict[str, str]]:
    """Everything running; yields the environment the tests get."""
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    cluster = EmbeddedPostgres(
        data_dir=workdir / "postgres", port=free_port(), database="atende", ephemeral=True
    )
    cluster.start()
    children: list[Child] = []
    try:
        database_url = cluster.url()
        apply_migrations(database_url)
        api_port, simulator_port, model_port = free_port(), free_port(), free_port()
        mails_port, smtp_port = free_port(), free_port()
        api = f"http://127.0.0.1:{api_port}"
        simulator = f"http://127.0.0.1:{simulator_port}"
        mails = f"http://127.0.0.1:{mails_port}"
        env = {
            name: os.environ[name]
            for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
            if name in os.environ
        }
        env |= {
            "ATENDE_ENV": "development",
            "ATENDE_LOG_LEVEL": "INFO",
            "DATABASE_URL": database_url,
            "ATENDE_PORT": str(api_port),
            "ATENDE_PUBLIC_URL": api,
            "TWILIO_API_BASE_URL": simulator,
            "ATENDE_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}?starttls=false",
            "ATENDE_APP_URL": api,
            "ATENDE_WORKER_POLL_INTERVAL_SECONDS": "0.2",
            # The knowledge base's built-in offline embedder (the demo model has none).
            "ATENDE_EMBEDDINGS": "local",
            # The tests sign the demo owner in more often than a person would.
            "ATENDE_RATE_LIMIT_SIGN_IN": "200/15m",
            "ATENDE_RATE_LIMIT_SIGN_IN_ADDRESS": "1000/15m",
            **demo_model_environment(model_port),
        }
        settings = Settings.model_validate(
            {
                "database_url": database_url,
                "twilio_api_base_url": simulator,
                "public_url": api,
                "app_url": api,
            }
        )
        asyncio.run(ensure_demo_workspace(settings))
        children.append(Child("simulator", ["simulator", "--port", str(simulator_port)], env, logs))
        children.append(Child("demo-model", ["demo-model", "--port", str(model_port)], env, logs))
        children.append(
            Child(
                "mail-catcher",
                ["mail-catcher", "--port", str(mails_port), "--smtp-port", str(smtp_port)],
                env,
                logs,
            )
        )
        children.append(Child("api", ["serve"], env, logs))
        children.append(Child("worker", ["worker"], env, logs))
        wait_until(f"{simulator}/__simulator", children)
        wait_until(f"{mails}/messages.json", children)
        wait_until(f"{api}/readyz", children)
        asyncio.run(seed_demo_conversation(api, simulator))
        yield env | {
            "ATENDE_E2E_BASE_URL": api,
            "ATENDE_E2E_SIMULATOR_URL": simulator,
            "ATENDE_E2E_MAILS_URL": mails,
            "ATENDE_E2E_DEMO_EMAIL": DEMO_EMAIL,
            "ATENDE_E2E_DEMO_PASSWORD": DEMO_PASSWORD,
            "ATENDE_E2E_CHANNEL": DEMO_CHANNEL_NUMBER,
            "ATENDE_E2E_CUSTOMER": DEMO_CUSTOMER_NUMBER,
            "ATENDE_E2E_ATENDE": str(Path(sys.executable).with_name("atende")),
            "ATENDE_E2E_LOGS": str(logs),
        }
    except BaseException:
        for child in children:
            print(f"--- {child.name} log (tail):\n{child.tail()}", file=sys.stderr)
        raise
    finally:
        for child in reversed(children):
            child.stop()
        cluster.stop()
        cluster.destroy()


def main(argv: Sequence[str]) -> int:
    command = list(argv[1:] if argv[:1] == ["--"] else argv)
    if not command:
        print("usage: python -m tests.web.e2e_stack -- <command> [args...]", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="atende-e2e-"))
    workdir.chmod(0o755)  # Postgres runs as its own user when this runs as root
    try:
        with product(workdir) as env:
            print(f"the product is up at {env['ATENDE_E2E_BASE_URL']}; running {command}")
            result = subprocess.run(  # noqa: S603 - the command the developer gave
                command, env={**os.environ, **env}, check=False, stdin=subprocess.DEVNULL
            )
            if result.returncode != 0:
                for log in sorted(Path(env["ATENDE_E2E_LOGS"]).glob("*.log")):
                    print(f"--- {log.name} (tail):\n{log.read_text(errors='replace')[-3000:]}")
            return result.returncode
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
