"""The mail catcher: a real SMTP server on loopback that shows what it caught, run by
`atende mail-catcher` and by `make dev` when no ATENDE_SMTP_URL is set."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from email.message import EmailMessage

import aiosmtplib
import httpx
from pydantic import SecretStr

from atende.config import Settings
from atende.devserver import companion_processes
from atende.devtools.mail_catcher import (
    DEFAULT_HTTP_PORT,
    DEFAULT_SMTP_PORT,
    MailCatcher,
    create_mail_catcher_app,
)
from atende.mail.messages import build_message, render
from tests.conftest import free_port


def sample() -> EmailMessage:
    return build_message(
        mail_from="Atende <no-reply@atende.dev>",
        recipient="dona@loja.example",
        mail=render("test", {}, "https://app.example"),
    )


async def test_the_catcher_keeps_what_it_receives_and_shows_it() -> None:
    catcher = MailCatcher()
    async with catcher.serving("127.0.0.1", 0) as port:
        await aiosmtplib.send(sample(), hostname="127.0.0.1", port=port, start_tls=False)
        [mail] = await catcher.wait_for(1)

    assert mail.header("Subject") == "Teste de e-mail do Atende"
    transport = httpx.ASGITransport(app=create_mail_catcher_app(catcher))
    async with httpx.AsyncClient(transport=transport, base_url="http://catcher") as client:
        index = await client.get("/")
        shown = await client.get("/messages/1")
        missing = await client.get("/messages/2")
        listed = await client.get("/messages.json")
    assert 'href="/messages/1"' in index.text
    assert "Teste de e-mail do Atende" in index.text
    assert "dona@loja.example" in shown.text
    assert "o envio de e-mails do Atende está funcionando" in shown.text
    assert "<iframe sandbox" in shown.text
    assert missing.status_code == 404
    [entry] = listed.json()
    assert entry["to"] == "dona@loja.example"
    assert "https://app.example/" in entry["html"]


def test_make_dev_runs_the_mail_catcher_when_no_smtp_url_is_set() -> None:
    children = {child.name: child for child in companion_processes(Settings(), {})}

    catcher = children["mail-catcher"]
    assert catcher.argv[-4:] == [
        "--port",
        str(DEFAULT_HTTP_PORT),
        "--smtp-port",
        str(DEFAULT_SMTP_PORT),
    ]
    for name in ("api", "worker"):
        url = children[name].env["ATENDE_SMTP_URL"]
        assert url == f"smtp://127.0.0.1:{DEFAULT_SMTP_PORT}?starttls=false"


def test_make_dev_uses_a_configured_smtp_url() -> None:
    settings = Settings(smtp_url=SecretStr("smtps://u:p@mail.example"))
    children = companion_processes(settings, {})

    assert "mail-catcher" not in [child.name for child in children]
    assert all("ATENDE_SMTP_URL" not in child.env for child in children)


def test_atende_mail_catcher_catches_and_serves_mail() -> None:
    port, smtp_port = free_port(), free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter
        [
            sys.executable,
            "-m",
            "atende",
            "mail-catcher",
            "--port",
            str(port),
            "--smtp-port",
            str(smtp_port),
        ],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the mail catcher did not start"
                time.sleep(0.1)
        asyncio.run(
            aiosmtplib.send(sample(), hostname="127.0.0.1", port=smtp_port, start_tls=False)
        )
        [entry] = httpx.get(f"http://127.0.0.1:{port}/messages.json", timeout=5).json()
        assert entry["subject"] == "Teste de e-mail do Atende"
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert process.returncode in {0, -signal.SIGTERM}
