"""HTTP plumbing shared by every route."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class BodySizeLimitMiddleware:
    """Refuses request bodies over a size with 413, before any handler reads them.

    Checks ``Content-Length`` up front and counts streamed chunks as they arrive, so a
    client that lies about (or omits) the length is cut off too. A multipart request (a
    file upload) may be up to ``max_upload_bytes`` instead.
    """

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, max_upload_bytes: int | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes or max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        limit = self.max_body_bytes
        if headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data"):
            limit = self.max_upload_bytes
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(send)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await _too_large(send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    body = b"Request body too large"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


#: For HTML without a policy of its own (the web app's pages and GraphiQL's set theirs:
#: ``atende.api.webapp``): this origin's files only, nothing inline.
HTML_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; font-src 'self' data:;"
    " img-src 'self' data: https:; connect-src 'self' ws: wss:; frame-ancestors 'none';"
    " base-uri 'none'; form-action 'self'"
)
#: For everything else (JSON, TwiML, plain text): nothing is to be rendered or framed.
DATA_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
#: Browsers remember to use https for this long (a year), once they have seen it.
HSTS_MAX_AGE_SECONDS = 31_536_000


class SecurityHeaders:
    """Adds the headers every response carries: no MIME sniffing, no framing, no
    referrer across origins, a content security policy (a strict one for HTML), and
    HSTS when the public URL is https. Headers a handler set itself are kept."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]
        if https:
            common.append(
                (b"strict-transport-security", f"max-age={HSTS_MAX_AGE_SECONDS}".encode())
            )
        self.common = common

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                content_type = dict(headers).get(b"content-type", b"")
                policy = (
                    HTML_CONTENT_SECURITY_POLICY
                    if content_type.startswith(b"text/html")
                    else DATA_CONTENT_SECURITY_POLICY
                )
                for name, value in [*self.common, (b"content-security-policy", policy.encode())]:
                    if name not in present:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CoalescedWrites:
    """A transport whose writes within one turn of the event loop go out as one.

    uvicorn writes a response's status line and headers, then its body: two sends, and on
    a loopback or a virtual machine's network each send costs the sender the receiver's
    side of TCP and a wake-up (the largest single cost of an inbox request on the
    benchmark machine, py-spy). Both writes happen in the same turn, so joining what is
    written before the turn ends halves the sends, without waiting for anything.
    Everything else goes to the transport as it is; closing sends what is pending first.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a ``CoalescedWrites`` transport (``uvicorn.run(...,
    http=CoalescingHttpToolsProtocol)``)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; they have its methods.
        real = cast(asyncio.Transport, transport)
        super().connection_made(cast(asyncio.Transport, CoalescedWrites(real, self.loop)))
