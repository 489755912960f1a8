"""The API under uvicorn on a free loopback port, and a graphql-transport-ws client."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect

from atende.app import create_app
from atende.config import Settings
from atende.conversations.events import EventHub

STARTUP_TIMEOUT = 15.0
RECEIVE_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    app: Starlette
    port: int

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def events(self) -> EventHub:
        hub: EventHub = self.app.state.services.events
        return hub

    async def wait_for_subscribers(self, count: int) -> None:
        for _ in range(int(RECEIVE_TIMEOUT / 0.02)):
            if self.events.subscriber_count == count:
                return
            await asyncio.sleep(0.02)
        raise TimeoutError(f"{self.events.subscriber_count} subscribers, not {count}")

    async def wait_until_no_connection_is_held(self) -> None:
        """Until every connection of the API's pool is back (a subscription registers
        before it hands its connection back: the two are moments apart)."""
        stats: dict[str, int] = {}
        for _ in range(int(RECEIVE_TIMEOUT / 0.02)):
            stats = self.app.state.services.database.pool.get_stats()
            if stats.get("pool_available", 0) == stats.get("pool_size", 0):
                return
            await asyncio.sleep(0.02)
        raise TimeoutError(f"connections still held: {stats}")


@asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The app served by uvicorn (websockets-sansio, as `atende serve`) on 127.0.0.1."""
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, ws="websockets-sansio", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(int(STARTUP_TIMEOUT / 0.02)):
            if server.started or task.done():
                break
            await asyncio.sleep(0.02)
        if task.done():
            task.result()
        async with asyncio.timeout(STARTUP_TIMEOUT):
            await app.state.services.events.listening.wait()
        yield LiveServer(app=app, port=port)
    finally:
        server.should_exit = True
        async with asyncio.timeout(STARTUP_TIMEOUT):
            await task


class GraphQLSocket:
    """A graphql-transport-ws client, enough for tests."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, timeout: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            raw = await self.connection.recv()
        message: dict[str, Any] = json.loads(raw)
        return message

    async def subscribe(
        self, operation_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        await self.send(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )

    async def next_payload(self, operation_id: str) -> dict[str, Any]:
        """The payload of the next ``next`` message for the operation (pings answered)."""
        while True:
            message = await self.receive()
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            assert message.get("id") == operation_id, message
            assert message["type"] == "next", message
            payload: dict[str, Any] = message["payload"]
            return payload


@asynccontextmanager
async def graphql_socket(
    server: LiveServer, payload: dict[str, Any] | None
) -> AsyncIterator[GraphQLSocket]:
    """Connected and initialised with ``payload``; the ack is checked by the caller."""
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as connection:  # type: ignore[list-item]
        socket_ = GraphQLSocket(connection)
        await socket_.send({"type": "connection_init", "payload": payload or {}})
        yield socket_
