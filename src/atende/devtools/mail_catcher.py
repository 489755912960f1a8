"""The mail catcher: an SMTP server on loopback that keeps every mail it receives and
shows them over HTTP, so ``make dev`` sends real mail and nobody's inbox gets it.

``atende mail-catcher`` runs it (``atende dev`` does when ``ATENDE_SMTP_URL`` is unset,
and points the API and the worker at it). ``GET /`` lists the mails, newest first;
``GET /messages/<n>`` shows one (headers, the plain text, the HTML in a sandboxed
frame); ``GET /messages.json`` gives them all, for scripts and tests. Mails live in
memory only: a restart forgets them.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

logger = logging.getLogger("atende.devtools.mail_catcher")

#: Where ``make dev`` runs it: the web page, and the SMTP server the API and worker use.
DEFAULT_HTTP_PORT = 8025
DEFAULT_SMTP_PORT = 1025
#: Mails kept; the oldest go first.
KEEP = 500


@dataclass(frozen=True)
class CaughtMail:
    number: int
    received_at: datetime
    envelope_from: str
    envelope_to: list[str]
    message: EmailMessage

    def header(self, name: str) -> str:
        return str(self.message.get(name, ""))

    def part(self, subtype: str) -> str | None:
        body = self.message.get_body(preferencelist=(subtype,))
        return None if body is None else str(body.get_content())

    def as_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "received_at": self.received_at.isoformat(),
            "envelope_from": self.envelope_from,
            "envelope_to": self.envelope_to,
            "from": self.header("From"),
            "to": self.header("To"),
            "subject": self.header("Subject"),
            "text": self.part("plain"),
            "html": self.part("html"),
        }


@dataclass
class MailCatcher:
    """Keeps what its SMTP server receives (aiosmtpd calls ``handle_DATA``)."""

    mails: list[CaughtMail] = field(default_factory=list)
    received: asyncio.Condition = field(default_factory=asyncio.Condition)
    _count: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self._count += 1
        mail = CaughtMail(
            number=self._count,
            received_at=datetime.now(UTC),
            envelope_from=str(envelope.mail_from),
            envelope_to=[str(address) for address in envelope.rcpt_tos],
            message=message,
        )
        async with self.received:
            self.mails.append(mail)
            del self.mails[:-KEEP]
            self.received.notify_all()
        logger.info("caught mail %d: %s", mail.number, mail.header("Subject"))
        return "250 Message accepted for delivery"

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[CaughtMail]:
        """The mails, once at least ``count`` have arrived."""
        async with asyncio.timeout(timeout), self.received:
            await self.received.wait_for(lambda: len(self.mails) >= count)
        return list(self.mails)

    def find(self, number: int) -> CaughtMail | None:
        return next((mail for mail in self.mails if mail.number == number), None)

    @asynccontextmanager
    async def serving(
        self, host: str = "127.0.0.1", port: int = DEFAULT_SMTP_PORT
    ) -> AsyncIterator[int]:
        """The SMTP server on this event loop, while the block runs; yields its port."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(self, hostname="atende-mail-catcher"), host=host, port=port
        )
        try:
            yield server.sockets[0].getsockname()[1]
        finally:
            server.close()
            await server.wait_closed()


def create_mail_catcher_app(
    catcher: MailCatcher, *, smtp_host: str = "127.0.0.1", smtp_port: int = DEFAULT_SMTP_PORT
) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with catcher.serving(smtp_host, smtp_port) as port:
            logger.info("mail catcher: SMTP on %s:%d", smtp_host, port)
            yield

    async def index(request: Request) -> Response:
        rows = "\n".join(
            f'<tr><td><a href="/messages/{mail.number}">{mail.number}</a></td>'
            f"<td>{html.escape(mail.received_at.strftime('%H:%M:%S'))}</td>"
            f"<td>{html.escape(mail.header('To'))}</td>"
            f'<td><a href="/messages/{mail.number}">'
            f"{html.escape(mail.header('Subject'))}</a></td></tr>"
            for mail in reversed(catcher.mails)
        )
        body = (
            f"<table><tr><th>#</th><th>received</th><th>to</th><th>subject</th></tr>{rows}</table>"
            if catcher.mails
            else "<p>No mail yet.</p>"
        )
        return HTMLResponse(_page("Atende mail catcher", body))

    async def show(request: Request) -> Response:
        mail = catcher.find(int(request.path_params["number"]))
        if mail is None:
            return HTMLResponse(_page("Not found", "<p>No such mail.</p>"), status_code=404)
        headers = "".join(
            f"<tr><th>{name}</th><td>{html.escape(mail.header(name))}</td></tr>"
            for name in ("From", "To", "Subject", "Date")
        )
        text = mail.part("plain")
        html_part = mail.part("html")
        body = f'<p><a href="/">all mails</a></p><table>{headers}</table>'
        if text is not None:
            body += f"<h2>Text</h2><pre>{html.escape(text)}</pre>"
        if html_part is not None:
            body += (
                '<h2>HTML</h2><iframe sandbox style="width:100%;height:480px;border:1px solid #ccc"'
                f' srcdoc="{html.escape(html_part, quote=True)}"></iframe>'
            )
        return HTMLResponse(_page(mail.header("Subject"), body))

    async def as_json(request: Request) -> Response:
        return JSONResponse([mail.as_json() for mail in catcher.mails])

    return Starlette(
        routes=[
            Route("/", index),
            Route("/messages.json", as_json),
            Route("/messages/{number:int}", show),
        ],
        lifespan=lifespan,
    )


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 8px;"
        "text-align:left}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def run_mail_catcher(
    *, host: str = "127.0.0.1", port: int = DEFAULT_HTTP_PORT, smtp_port: int = DEFAULT_SMTP_PORT
) -> None:
    """Serve the catcher until interrupted (``atende mail-catcher``)."""
    logger.info("mail catcher on http://%s:%d (SMTP %s:%d)", host, port, host, smtp_port)
    uvicorn.run(
        create_mail_catcher_app(MailCatcher(), smtp_host=host, smtp_port=smtp_port),
        host=host,
        port=port,
        log_config=None,
        ws="none",
        lifespan="on",
    )
