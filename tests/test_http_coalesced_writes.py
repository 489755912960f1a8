"""`atende serve`'s HTTP protocol: a response's writes go out as one send, nothing lost."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from atende.http import CoalescedWrites, CoalescingHttpToolsProtocol


class RecordingTransport(asyncio.Transport):
    """An in-memory transport: what was sent, one entry per send."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sent.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0


async def test_writes_of_one_turn_are_one_send_and_close_sends_what_is_pending() -> None:
    transport = RecordingTransport()
    writes = CoalescedWrites(transport, asyncio.get_running_loop())
    writes.write(b"HTTP/1.1 200 OK\r\n\r\n")
    writes.write(memoryview(b"body"))
    assert transport.sent == []
    assert writes.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\n\r\nbody")
    await asyncio.sleep(0)
    assert transport.sent == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    writes.write(b"last")
    writes.close()
    assert transport.sent[-1] == b"last"
    assert transport.closed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("olá " + request.query_params.get("n", ""))


async def stream(request: Request) -> StreamingResponse:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"um ", b"dois ", b"tres"):
            yield part
            await asyncio.sleep(0.01)

    return StreamingResponse(parts(), media_type="text/plain")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text.upper())


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = Starlette(
        routes=[Route("/hello", hello), Route("/stream", stream), WebSocketRoute("/echo", echo)]
    )
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http=CoalescingHttpToolsProtocol,
        ws="websockets-sansio",
        log_config=None,
        lifespan="off",
    )
    serving = uvicorn.Server(config)
    task = asyncio.create_task(serving.serve())
    while not serving.started:  # noqa: ASYNC110 - uvicorn's Server only has this flag
        await asyncio.sleep(0.01)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        serving.should_exit = True
        await task


async def test_responses_on_one_kept_alive_connection_arrive_whole(server: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{server}") as client:
        answers = [(await client.get("/hello", params={"n": str(n)})).text for n in range(20)]
        streamed = await client.get("/stream")
    assert answers == [f"olá {n}" for n in range(20)]
    assert streamed.text == "um dois tres"


async def test_a_websocket_upgraded_from_it_is_served(server: str) -> None:
    from websockets.asyncio.client import connect

    async with connect(f"ws://{server}/echo") as websocket:
        replies: list[Any] = []
        for text in ("oi", "tchau"):
            await websocket.send(text)
            replies.append(await websocket.recv())
    assert replies == ["OI", "TCHAU"]
