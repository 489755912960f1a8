"""A webhook receiver on a free loopback port (uvicorn): it keeps what it was sent and
answers as told (a status, or no answer at all)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.graphql.live import STARTUP_TIMEOUT, free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int
    received: list[Received] = field(default_factory=list)
    #: What the next requests get: statuses in turn (the last one stays), or "hang".
    answers: list[int | str] = field(default_factory=lambda: [200])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def handle(self, request: Request) -> Response:
        self.received.append(Received(dict(request.headers), await request.body()))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if answer == "hang":
            await asyncio.sleep(3600)
        assert isinstance(answer, int)
        return Response(b"ok" if answer < 300 else b"nope", status_code=answer)


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    port = free_port()
    state = Receiver(port=port)
    app = Starlette(routes=[Route("/hooks", state.handle, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        yield state
    finally:
        server.should_exit = True
        server.force_exit = True
        async with asyncio.timeout(STARTUP_TIMEOUT):
            await task
