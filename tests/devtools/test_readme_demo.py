"""What README's first pages show of `make dev` is what it does: the banner it prints
when ready, the demo workspace it makes, and the demo model's answer in the sample
`atende simulate` session."""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path

import psycopg
import pytest

from atende import devserver
from atende.config import Environment, Settings
from atende.devserver import ChildProcess
from atende.devtools.demo_model import demo_reply_text
from atende.devtools.demo_workspace import (
    DEMO_CHANNEL_NUMBER,
    DEMO_CUSTOMER_NUMBER,
    DEMO_EMAIL,
    DEMO_ORGANIZATION,
    DEMO_OWNER_NAME,
    DEMO_PASSWORD,
)
from atende.services import embedded_postgres

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def code_block_after(marker: str) -> list[str]:
    """The lines of the first fenced block after ``marker`` in the README."""
    after = README.split(marker, 1)[1]
    block = after.split("```", 2)[1]
    return block.split("\n", 1)[1].rstrip("\n").splitlines()


def test_the_demo_workspace_is_the_one_the_readme_names() -> None:
    assert f'the organization\n"{DEMO_ORGANIZATION}"' in README
    assert f"its owner `{DEMO_EMAIL}` with the password `{DEMO_PASSWORD}`" in README
    assert f"and a WhatsApp channel `{DEMO_CHANNEL_NUMBER}`" in README
    assert f"email={DEMO_EMAIL} password={DEMO_PASSWORD}" in README  # step 1's sign-in
    assert f"assigned to\n{DEMO_OWNER_NAME})" in README  # step 5's simulate notice


def test_make_dev_prints_the_banner_the_readme_shows(
    settings: Settings,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`atende dev` on a development setup without Twilio (the demo workspace's case),
    its children replaced by one that exits at once, which ends the run."""
    development = settings.model_copy(
        update={"env": Environment.DEVELOPMENT, "public_url": "http://127.0.0.1:8000"}
    )
    readiness: list[str] = []

    def ready(url: str, should_stop: object, timeout: float = 60.0) -> bool:
        readiness.append(url)
        return True

    monkeypatch.setattr(
        devserver,
        "companion_processes",
        lambda settings, env: [ChildProcess("stand-in", [sys.executable, "-c", "pass"])],
    )
    monkeypatch.setattr(devserver, "_wait_until_ready", ready)
    # run_dev installs its own handlers: pytest's come back afterwards.
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        devserver.run_dev(development)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)

    out = capsys.readouterr().out.splitlines()
    start = out.index("Atende is running. Ctrl-C stops everything.")
    printed = out[start : out.index("", start)]
    shown = code_block_after("When it is ready it prints:")
    assert readiness == ["http://127.0.0.1:8000/readyz"]
    assert [line for line in printed if "Database" not in line] == [
        line for line in shown if "Database" not in line
    ]
    # With DATABASE_URL set it names the variable; on the embedded default, the cluster.
    [database_line] = [line for line in shown if "Database" in line]
    assert database_line.split() == ["Database", embedded_postgres(Settings()).url()]
    assert "  Database             (DATABASE_URL)" in printed
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "select name from public.organizations where name = %s", [DEMO_ORGANIZATION]
        ).fetchone()
    assert row == (DEMO_ORGANIZATION,)


def test_the_sample_session_shows_what_simulate_prints_with_the_demo_model() -> None:
    [command] = code_block_after("**3. Write to the business as a customer.**")
    text = re.findall(r'"([^"]*)"$', command)[0]
    assert f"--channel {DEMO_CHANNEL_NUMBER} --from {DEMO_CUSTOMER_NUMBER}" in command

    sent, answered = code_block_after(f"{command}\n```\n")

    # The two lines' shapes are atende simulate's (tests/devtools/test_simulate.py).
    assert sent == f"{DEMO_CUSTOMER_NUMBER} -> {DEMO_CHANNEL_NUMBER} (whatsapp): {text}"
    assert answered == f"{DEMO_CHANNEL_NUMBER} -> {DEMO_CUSTOMER_NUMBER}: {demo_reply_text(text)}"
