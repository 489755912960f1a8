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
    # Built with the web app (tests/api/test_webapp.py); until then, how to build it.
    assert response.status_code in {200, 503}
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


async def test_every_response_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    responses = {
        "json": await client.post("/graphql", json={"query": "{ __typename }"}),
        "graphiql": await client.get("/graphql", headers={"accept": "text/html"}),
        "webhook refusal": await client.post("/webhooks/twilio/messages", content=b"x"),
        "not found": await client.get("/nowhere"),
    }
    for name, response in responses.items():
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", name
        assert headers["x-frame-options"] == "DENY", name
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin", name
        assert "frame-ancestors 'none'" in headers["content-security-policy"], name
        # The tests' public URL is https (tests/conftest.py).
        assert headers["strict-transport-security"] == "max-age=31536000", name
    # GraphiQL's page loads its own files only (built with the web app: no CDN); data
    # responses may load nothing.
    graphiql_policy = responses["graphiql"].headers["content-security-policy"]
    assert "script-src 'self';" in graphiql_policy
    assert "https:" not in graphiql_policy
    assert responses["json"].headers["content-security-policy"].startswith("default-src 'none'")


async def test_a_plain_http_public_url_sends_no_hsts(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"public_url": "http://127.0.0.1:8000"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://atende.test") as http:
            response = await http.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in response.headers


def test_production_hides_the_schema_unless_switched_on() -> None:
    secrets = {"jwt_secret": "j" * 40, "secret_key": "s" * 40}
    production = Settings(env="production", **secrets)  # type: ignore[arg-type]
    assert (production.graphiql, production.introspection) == (False, False)
    asked = Settings(env="production", introspection=True, **secrets)  # type: ignore[arg-type]
    assert (asked.graphiql, asked.introspection) == (False, True)
    development = Settings()
    assert (development.graphiql, development.introspection) == (True, True)
