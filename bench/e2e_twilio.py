"""bench/e2e's Twilio: the product's simulator, tapped, in a process of its own.

The worker sends each reply here, as it would to Twilio; the simulator answers, then
posts the ``sent`` and ``delivered`` status callbacks to the API, as Twilio does. The tap
notes when each send request (``Messages.json``) arrived, by recipient, on this
machine's clock (``time.time()``, the clock the load process and Postgres use), and
serves those times to the load process::

    GET /__bench/received/count  {"count": n}        sends received so far
    GET /__bench/received        {"<To>": epoch, ...} when each recipient's first send came

A process of its own, so that its work (answering sends, posting callbacks) neither
delays the load process's clock readings nor hides in the load process's CPU: bench/e2e
reports its CPU as the "twilio simulator" line. It posts the status callbacks with
aiohttp instead of the simulator's httpx client (same URL, form, signature and headers):
on this 2-core machine Twilio's stand-in competes with the platform for CPU, and httpx
cost it about three times as much per callback.

    python -m bench.e2e_twilio --port 8020 --callback-delay 0.2
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
import uvicorn

from atende.devtools.twilio_simulator import (
    CallbackAttempt,
    SimulatedMessage,
    TwilioSimulator,
    create_simulator_app,
)
from atende.transports.twilio.signature import signature_headers

RECEIVED_PATH = "/__bench/received"


class LeanTwilioSimulator(TwilioSimulator):
    """The product's simulator, posting its status callbacks with aiohttp."""

    _session: aiohttp.ClientSession | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with super().running(), aiohttp.ClientSession() as session:
            self._session = session
            try:
                yield
            finally:
                self._session = None

    async def _post_status_callback(self, message: SimulatedMessage, token: str) -> None:
        url = message.status_callback or ""
        params = message.status_callback_params()
        headers = {
            **signature_headers(url, params, token),
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        }
        attempt = CallbackAttempt(status=message.status, url=url, at=datetime.now(UTC))
        assert self._session is not None
        try:
            async with self._session.post(
                url, data=urllib.parse.urlencode(params), headers=headers
            ) as answer:
                await answer.read()
                attempt.http_status = answer.status
        except aiohttp.ClientError as error:
            attempt.error = f"{type(error).__name__}: {error}"
        self.state.add_callback_attempt(message.sid, attempt)


class SendTap:
    """ASGI middleware noting when each send request arrives, by ``To``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.received: dict[str, float] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(RECEIVED_PATH):
            await self._report(scope, send)
            return
        if not (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].endswith("/Messages.json")
        ):
            await self.app(scope, receive, send)
            return
        arrived = time.time()
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        to = urllib.parse.parse_qs(body.decode()).get("To", [""])[0]
        self.received.setdefault(to, arrived)

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _report(self, scope: Any, send: Any) -> None:
        if scope["path"] == f"{RECEIVED_PATH}/count":
            payload: object = {"count": len(self.received)}
        else:
            payload = self.received
        body = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e_twilio")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--callback-delay", type=float, default=0.2)
    options = parser.parse_args()
    tap = SendTap(
        create_simulator_app(LeanTwilioSimulator(callback_delay_seconds=options.callback_delay))
    )
    uvicorn.run(
        tap,
        host="127.0.0.1",
        port=options.port,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws="none",
    )


if __name__ == "__main__":
    main()
