"""The API process: health, readiness, the GraphQL endpoint and request limits."""

from __future__ import annotations

import httpx
import psycopg
from starlette.applications import Starlette

from atende.app import create_app
from atende.config import Settings
from atende.db.embedded import EmbeddedPostgres


async def test_healthz_answers_while_the_process_lives(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200


async def test_readyz_is_ready_on_a_migrated_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_readyz_reports_pending_migrations(
    client: httpx.AsyncClient, database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "delete from supabase_migrations.schema_migrations"
            " where version = (select max(version) from supabase_migrations.schema_migrations)"
        )
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"] == "migrations pending"
    assert len(response.json()["pending"]) == 1


async def test_readyz_answers_503_when_the_database_goes_away(
    postgres: EmbeddedPostgres, settings: Settings, database_url: str
) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            assert (await http.get("/readyz")).status_code == 200
            postgres.drop_database(database_url.rsplit("/", 1)[1])
            response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"] == "database unavailable"


async def test_graphiql_playground_is_served_on_get(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_graphiql_can_be_switched_off(settings: Settings) -> None:
    app: Starlette = create_app(settings.model_copy(update={"graphiql": False}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code != 200 or "graphiql" not in response.text.lower()


async def test_oversized_bodies_are_refused_with_413(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b"x" * 2_000_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
