"""ATENDE_CORS_ORIGINS: the comma-separated origins whose pages may call the API and open
its WebSockets from a browser; pages on any other origin may do neither."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from atende.app import create_app
from atende.config import Settings
from tests.graphql.live import live_server

ALLOWED = "https://app.example"
OTHER = "https://elsewhere.example"


def test_the_variable_is_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATENDE_CORS_ORIGINS", f"{ALLOWED}, https://admin.example,")

    assert Settings().cors_origins == [ALLOWED, "https://admin.example"]


@pytest.fixture
def cors_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"cors_origins": [ALLOWED, "https://admin.example"]})


@pytest.fixture
async def cors_client(cors_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app: Starlette = create_app(cors_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://atende.test") as http:
            yield http


def preflight(origin: str) -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }


async def test_a_listed_origin_may_call_the_api(cors_client: httpx.AsyncClient) -> None:
    checked = await cors_client.options("/graphql", headers=preflight(ALLOWED))
    called = await cors_client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"origin": ALLOWED}
    )

    assert checked.status_code == 200
    assert checked.headers["access-control-allow-origin"] == ALLOWED
    assert "authorization" in checked.headers["access-control-allow-headers"].lower()
    assert called.status_code == 200
    assert called.headers["access-control-allow-origin"] == ALLOWED


async def test_another_origin_may_not(cors_client: httpx.AsyncClient) -> None:
    checked = await cors_client.options("/graphql", headers=preflight(OTHER))
    called = await cors_client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"origin": OTHER}
    )

    assert checked.status_code == 400
    assert "access-control-allow-origin" not in checked.headers
    assert "access-control-allow-origin" not in called.headers


async def test_by_default_no_origin_may(client: httpx.AsyncClient) -> None:
    checked = await client.options("/graphql", headers=preflight(ALLOWED))

    assert "access-control-allow-origin" not in checked.headers


async def open_socket(url: str, origin: str) -> str:
    """The first message the server sends after ``connection_init``."""
    async with connect(
        url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        origin=origin,  # type: ignore[arg-type]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        return str(json.loads(await ws.recv())["type"])


async def test_websockets_from_a_listed_origin_only(
    settings: Settings, cors_settings: Settings
) -> None:
    async with live_server(cors_settings) as server:
        assert await open_socket(server.ws_url, ALLOWED) == "connection_ack"
        with pytest.raises(InvalidStatus) as refused:
            await open_socket(server.ws_url, OTHER)
        assert refused.value.response.status_code == 403
    async with live_server(settings) as server:
        with pytest.raises(InvalidStatus):
            await open_socket(server.ws_url, ALLOWED)
