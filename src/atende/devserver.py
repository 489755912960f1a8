"""``atende dev``: the whole product on one machine, for development and demos.

Starts the embedded Postgres (unless ``DATABASE_URL`` is set), applies migrations and the
seed, then runs each process of the product as a child: the API, the worker, and the
local stand-ins for services that have no credentials configured. Ctrl-C (or SIGTERM)
stops the children, then Postgres.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from types import FrameType

import click

from atende.config import Settings
from atende.db.migrations import apply_migrations
from atende.db.seed import load_seed
from atende.devtools.demo_model import DEMO_MODEL_PORT, demo_model_environment, uses_demo_model
from atende.devtools.demo_workspace import (
    DEMO_CHANNEL_NUMBER,
    DEMO_CUSTOMER_NUMBER,
    DEMO_EMAIL,
    DEMO_ORGANIZATION,
    DEMO_PASSWORD,
    ensure_demo_workspace,
    wants_demo_workspace,
)
from atende.devtools.mail_catcher import DEFAULT_HTTP_PORT as MAIL_CATCHER_PORT
from atende.devtools.mail_catcher import DEFAULT_SMTP_PORT as MAIL_CATCHER_SMTP_PORT
from atende.services import database_url, embedded_postgres

STOP_TIMEOUT_SECONDS = 15.0
#: Where ``make dev`` runs the Twilio simulator when no TWILIO_API_BASE_URL is set.
TWILIO_SIMULATOR_PORT = 8020


@dataclass
class ChildProcess:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self, base_env: dict[str, str]) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            self.argv, env={**base_env, **self.env}
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def atende_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "atende", *arguments]


def companion_processes(settings: Settings, env: dict[str, str]) -> list[ChildProcess]:
    """The processes ``make dev`` runs, stand-ins included where credentials are missing."""
    processes = [
        ChildProcess("api", atende_command("serve")),
        ChildProcess("worker", atende_command("worker")),
    ]
    if uses_demo_model(settings):
        env.update(demo_model_environment(DEMO_MODEL_PORT))
        processes.append(
            ChildProcess("demo-model", atende_command("demo-model", "--port", str(DEMO_MODEL_PORT)))
        )
        click.echo(
            "No OPENAI_API_KEY or OPENAI_BASE_URL: replies come from the offline demo model "
            f"(http://127.0.0.1:{DEMO_MODEL_PORT}/v1). Set OPENAI_API_KEY for a real model."
        )
    if settings.twilio_api_base_url is None:
        for process in processes:  # the API and the worker reach Twilio through it
            process.env["TWILIO_API_BASE_URL"] = f"http://127.0.0.1:{TWILIO_SIMULATOR_PORT}"
        processes.append(
            ChildProcess(
                "twilio-simulator",
                atende_command("simulator", "--port", str(TWILIO_SIMULATOR_PORT)),
            )
        )
    if settings.smtp_url is None:
        for process in processes:  # the API and the worker send mail through it
            process.env["ATENDE_SMTP_URL"] = (
                f"smtp://127.0.0.1:{MAIL_CATCHER_SMTP_PORT}?starttls=false"
            )
        processes.append(
            ChildProcess(
                "mail-catcher",
                atende_command(
                    "mail-catcher",
                    "--port",
                    str(MAIL_CATCHER_PORT),
                    "--smtp-port",
                    str(MAIL_CATCHER_SMTP_PORT),
                ),
            )
        )
    return processes


def run_dev(settings: Settings) -> None:
    env = dict(os.environ)
    cluster = embedded_postgres(settings) if settings.uses_embedded_database else None
    if cluster is not None:
        click.echo(f"starting embedded Postgres in {settings.data_dir} ...")
        cluster.start()
    url = database_url(settings)
    for migration in apply_migrations(url):
        click.echo(f"applied {migration.file_name}")
    load_seed(url)
    demo = wants_demo_workspace(settings)
    if demo and asyncio.run(ensure_demo_workspace(settings)).created:
        click.echo(f"created the demo workspace ({DEMO_ORGANIZATION})")

    children = companion_processes(settings, env)
    stopping = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        for child in children:
            child.start(env)
        base = f"http://{settings.host}:{settings.port}"
        if _wait_until_ready(f"{base}/readyz", lambda: stopping):
            _print_banner(settings, base, url if cluster else "(DATABASE_URL)", demo=demo)
        while not stopping:
            if any(c.process is not None and c.process.poll() is not None for c in children):
                failed = [c.name for c in children if c.process and c.process.poll() is not None]
                click.echo(f"{', '.join(failed)} exited; stopping everything", err=True)
                break
            time.sleep(0.2)
    finally:
        click.echo("stopping ...")
        for child in children:
            child.stop()
        for child in children:
            child.wait(STOP_TIMEOUT_SECONDS)
        if cluster is not None:
            cluster.stop()
        click.echo("stopped.")


def _print_banner(settings: Settings, base: str, database: str, *, demo: bool) -> None:
    click.echo("")
    click.echo("Atende is running. Ctrl-C stops everything.")
    click.echo(f"  Web app              {base}/")
    click.echo(f"  GraphiQL playground  {base}/graphql")
    click.echo(f"  Twilio webhooks      {settings.public_url}/webhooks/twilio/messages")
    click.echo(f"  Health               {base}/healthz  {base}/readyz")
    click.echo(f"  Database             {database}")
    if settings.smtp_url is None:
        click.echo(f"  Mails sent           http://127.0.0.1:{MAIL_CATCHER_PORT}")
    if demo:
        click.echo(f"  Demo sign-in         {DEMO_EMAIL} / {DEMO_PASSWORD}")
        click.echo(
            "  Write as a customer  .venv/bin/atende simulate --channel "
            f'{DEMO_CHANNEL_NUMBER} --from {DEMO_CUSTOMER_NUMBER} "Olá!"'
        )
    click.echo("")


def _wait_until_ready(url: str, should_stop: object, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(should_stop) and should_stop():
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - local URL
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    click.echo(f"{url} did not answer within {timeout:.0f}s", err=True)
    return False
