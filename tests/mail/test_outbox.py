"""E-mail that is really sent: the outbox, the job and a real SMTP server on loopback
(the mail catcher, or an aiosmtpd server that refuses), against a real Postgres."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import procrastinate
import psycopg
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr

from atende.config import Settings
from atende.db.session import SERVICE
from atende.devtools.mail_catcher import MailCatcher
from atende.mail.outbox import MAX_ATTEMPTS, queue_mail
from atende.queue import app as queue_app
from atende.queue import defer_job
from atende.services import Services, open_services
from tests.conftest import free_port

APP_URL = "https://app.atende.test"
PASSWORD = "s3cr3t-smtp-pass"


@pytest.fixture
async def catcher() -> AsyncIterator[tuple[MailCatcher, int]]:
    caught = MailCatcher()
    async with caught.serving("127.0.0.1", 0) as port:
        yield caught, port


def with_smtp(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"smtp_url": SecretStr(url), "app_url": APP_URL})


async def queue_test_mail(services: Services, recipient: str = "dona@loja.example") -> str:
    async with services.database.transaction(SERVICE) as conn:
        mail_id = await queue_mail(
            conn,
            recipient=recipient,
            kind="test",
            params={},
            link_base=services.settings.mail_link_base,
        )
    return str(mail_id)


async def run_mail_jobs(services: Services) -> None:
    """The worker, with the real job registry, until no mail job is due."""
    # A connector of this test's own: an app keeps the first pool it was opened with.
    with queue_app.replace_connector(procrastinate.PsycopgConnector()) as app:
        async with app.open_async(services.database.pool):
            await app.run_worker_async(
                queues=["mail"],
                wait=False,
                additional_context={"dependencies": services.dependencies},
                install_signal_handlers=False,
            )


def outbox(database_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute(
            "select id::text, recipient, kind, subject, status, attempts, last_error,"
            " sent_at is not null as has_sent_at from private.mail_outbox order by created_at"
        ).fetchall()


def mail_jobs(database_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute(
            "select status::text, attempts, args->>'mail_id' as mail_id"
            " from procrastinate.procrastinate_jobs where task_name = 'mail:send_mail'"
        ).fetchall()


def make_due(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("set search_path to procrastinate, public")  # its triggers need it
        conn.execute("update procrastinate_jobs set scheduled_at = now()")


async def test_a_queued_mail_is_delivered_with_both_parts_and_links_to_the_app(
    settings: Settings, database_url: str, catcher: tuple[MailCatcher, int]
) -> None:
    caught, port = catcher
    async with open_services(with_smtp(settings, f"smtp://127.0.0.1:{port}")) as services:
        mail_id = await queue_test_mail(services)
        assert caught.mails == []  # queued, not sent by the request
        await run_mail_jobs(services)

    [mail] = caught.mails
    message = mail.message
    assert message["From"] == "Atende <no-reply@atende.dev>"
    assert message["To"] == "dona@loja.example"
    assert message["Subject"] == "Teste de e-mail do Atende"
    assert message.get_content_type() == "multipart/alternative"
    assert mail.envelope_to == ["dona@loja.example"]
    text, html = mail.part("plain"), mail.part("html")
    assert text is not None
    assert html is not None
    assert "o envio de e-mails do Atende está funcionando" in text
    assert f"{APP_URL}/" in text
    assert f'href="{APP_URL}/"' in html
    assert '<html lang="pt-BR">' in html
    [row] = outbox(database_url)
    assert row["id"] == mail_id
    assert (row["status"], row["attempts"], row["last_error"], row["has_sent_at"]) == (
        "sent",
        1,
        None,
        True,
    )
    assert mail_jobs(database_url) == [{"status": "succeeded", "attempts": 1, "mail_id": mail_id}]


async def test_an_unreachable_server_is_retried_and_recorded_without_the_password(
    settings: Settings, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    closed_port = free_port()
    url = f"smtp://atende:{PASSWORD}@127.0.0.1:{closed_port}?timeout=5"
    caplog.set_level(logging.DEBUG)
    async with open_services(with_smtp(settings, url)) as services:
        mail_id = await queue_test_mail(services)
        await run_mail_jobs(services)

    [row] = outbox(database_url)
    assert (row["status"], row["attempts"]) == ("queued", 1)
    assert row["last_error"]
    assert f"127.0.0.1:{closed_port}" in row["last_error"]
    assert PASSWORD not in row["last_error"]
    # Retried later: the same job waits for its next attempt.
    assert mail_jobs(database_url) == [{"status": "todo", "attempts": 1, "mail_id": mail_id}]
    assert PASSWORD not in caplog.text
    assert "?timeout" not in caplog.text


class RefusingHandler:
    """Refuses every recipient with ``code`` the first ``times`` times, then accepts."""

    def __init__(self, code: str, times: int) -> None:
        self.code = code
        self.times = times
        self.delivered: list[Envelope] = []

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.times > 0:
            self.times -= 1
            return self.code
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.delivered.append(envelope)
        return "250 OK"


@pytest.fixture
async def refusing_server() -> AsyncIterator[tuple[RefusingHandler, int]]:
    handler = RefusingHandler("550 5.1.1 No such mailbox", times=1)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler), host="127.0.0.1", port=0)
    try:
        yield handler, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_permanent_refusal_is_given_up_and_recorded(
    settings: Settings, database_url: str, refusing_server: tuple[RefusingHandler, int]
) -> None:
    handler, port = refusing_server
    async with open_services(with_smtp(settings, f"smtp://127.0.0.1:{port}")) as services:
        mail_id = await queue_test_mail(services, "ninguem@loja.example")
        await run_mail_jobs(services)

    [row] = outbox(database_url)
    assert (row["status"], row["attempts"], row["has_sent_at"]) == ("failed", 1, False)
    assert "550" in row["last_error"]
    assert "No such mailbox" in row["last_error"]
    assert "ninguem" not in row["last_error"]  # it is logged: no address in it
    assert handler.delivered == []
    # Not retried: the job ended, the outbox says why.
    assert mail_jobs(database_url) == [{"status": "succeeded", "attempts": 1, "mail_id": mail_id}]


async def test_a_transient_refusal_is_retried_and_then_sent(
    settings: Settings, database_url: str, refusing_server: tuple[RefusingHandler, int]
) -> None:
    handler, port = refusing_server
    handler.code = "451 4.3.0 Try again later"
    async with open_services(with_smtp(settings, f"smtp://127.0.0.1:{port}")) as services:
        await queue_test_mail(services)
        await run_mail_jobs(services)
        [first] = outbox(database_url)
        make_due(database_url)  # the backoff, skipped
        await run_mail_jobs(services)

    assert (first["status"], first["attempts"]) == ("queued", 1)
    assert "451" in first["last_error"]
    [row] = outbox(database_url)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, None)
    assert len(handler.delivered) == 1
    [job] = mail_jobs(database_url)
    assert job["status"] == "succeeded"


async def test_the_last_attempt_gives_up(settings: Settings, database_url: str) -> None:
    async with open_services(with_smtp(settings, f"smtp://127.0.0.1:{free_port()}")) as services:
        await queue_test_mail(services)
        with psycopg.connect(database_url) as conn:
            conn.execute("update private.mail_outbox set attempts = %s", [MAX_ATTEMPTS - 1])
        await run_mail_jobs(services)

    [row] = outbox(database_url)
    assert (row["status"], row["attempts"]) == ("failed", MAX_ATTEMPTS)
    assert mail_jobs(database_url)[0]["status"] == "succeeded"


async def test_a_mail_queued_in_a_transaction_that_rolls_back_is_never_sent(
    settings: Settings, database_url: str, catcher: tuple[MailCatcher, int]
) -> None:
    caught, port = catcher
    async with open_services(with_smtp(settings, f"smtp://127.0.0.1:{port}")) as services:
        with pytest.raises(RuntimeError):
            async with services.database.transaction(SERVICE) as conn:
                await queue_mail(
                    conn, recipient="dona@loja.example", kind="test", params={}, link_base=APP_URL
                )
                raise RuntimeError("the registration failed: its mail goes with it")
        await run_mail_jobs(services)

    assert outbox(database_url) == []
    assert mail_jobs(database_url) == []
    assert caught.mails == []


async def test_a_sent_mail_is_not_sent_again_by_a_repeated_job(
    settings: Settings, database_url: str, catcher: tuple[MailCatcher, int]
) -> None:
    caught, port = catcher
    async with open_services(with_smtp(settings, f"smtp://127.0.0.1:{port}")) as services:
        mail_id = await queue_test_mail(services)
        await run_mail_jobs(services)
        async with services.database.transaction(SERVICE) as conn:
            await defer_job(conn, "mail:send_mail", {"mail_id": mail_id}, queue="mail")
        await run_mail_jobs(services)

    assert len(caught.mails) == 1


async def test_without_an_smtp_url_mail_waits_in_the_outbox(
    settings: Settings, database_url: str
) -> None:
    async with open_services(settings) as services:
        await queue_test_mail(services)
        await run_mail_jobs(services)

    [row] = outbox(database_url)
    assert (row["status"], row["attempts"], row["last_error"]) == (
        "queued",
        1,
        "ATENDE_SMTP_URL is not set",
    )
