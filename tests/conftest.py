"""Shared fixtures: a throwaway Postgres for the session, a clean database for each test.

The cluster is started once per test run (``EmbeddedPostgres``, the product's own code,
with durability off). Migrations are applied once to a template database; each test that
asks for ``database_url`` gets a database of its own that starts as a copy of it
(tests/databases.py), so tests are isolated and may use as many connections, processes
and commits as they like.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from atende.app import create_app
from atende.config import Environment, IdentityProviderName, Settings
from atende.db.embedded import EmbeddedPostgres
from atende.db.migrations import apply_migrations
from atende.services import Services, open_services
from tests.databases import TestCluster, TestDatabases
from tests.factories import Factory
from tests.identity.fake_supabase_auth import (
    SERVICE_ROLE_KEY,
    FakeSupabaseAuth,
    serve_fake_supabase_auth,
)
from tests.supabase_shape import (
    AUTH_ROLE,
    SHAPE_URL,
    SupabaseShapeCluster,
    as_role,
    as_role_on_shape,
)

#: Fixtures shared across directories: Twilio's (the simulator, the client, a channel, the
#: API serving webhooks) and the reply pipeline's (a shop, a worker, an inspector).
pytest_plugins = ["tests.twilio_fixtures", "tests.reply_fixtures", "tests.skip_gate"]

TEMPLATE_DATABASE = "atende_template"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def postgres() -> Iterator[TestCluster]:
    if SHAPE_URL:
        shape = SupabaseShapeCluster(SHAPE_URL)
        apply_migrations(shape.url())
        yield shape
        return
    data_dir = Path(tempfile.mkdtemp(prefix="atende-test-pg-"))
    cluster = EmbeddedPostgres(
        data_dir=data_dir,
        port=free_port(),
        database=TEMPLATE_DATABASE,
        ephemeral=True,
        max_connections=300,
    )
    cluster.start()
    try:
        apply_migrations(cluster.url(TEMPLATE_DATABASE))
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def test_databases(postgres: TestCluster) -> Iterator[TestDatabases]:
    databases = TestDatabases(postgres, postgres.database)
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture
def database_url(postgres: TestCluster, test_databases: TestDatabases) -> Iterator[str]:
    """A database of this test's own, migrated and empty (as the template is)."""
    name = test_databases.acquire()
    try:
        yield postgres.url(name)
    finally:
        test_databases.release(name)


@pytest.fixture
def supabase_auth(database_url: str) -> Iterator[FakeSupabaseAuth]:
    """Supabase Auth's API on a local port, keeping users in the test database (as
    supabase_auth_admin, as Supabase Auth does, where that role exists)."""
    with serve_fake_supabase_auth(as_role_on_shape(database_url, AUTH_ROLE), free_port()) as fake:
        yield fake


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    configured = Settings(
        env=Environment.TEST,
        database_url=database_url,
        data_dir=tmp_path / "data",
        public_url="https://atende.test",
        db_pool_min_size=1,
        db_pool_max_size=10,
    )
    if not SHAPE_URL:
        return configured
    # A Supabase project's users are Supabase Auth's: the only provider that works there.
    return with_supabase_auth(configured, request.getfixturevalue("supabase_auth"))


def with_supabase_auth(settings: Settings, fake: FakeSupabaseAuth) -> Settings:
    """``settings`` with the ``supabase`` identity provider, served by ``fake``."""
    return settings.model_copy(
        update={
            "identity_provider": IdentityProviderName.SUPABASE,
            "supabase_url": fake.url,
            "supabase_service_role_key": SecretStr(SERVICE_ROLE_KEY),
        }
    )


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    async with open_services(settings, name="atende-test") as opened:
        yield opened


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(settings)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app, with its lifespan (pool and all) running."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://atende.test") as http:
            yield http


@pytest.fixture
async def factory(services: Services, database_url: str) -> Factory:
    # On the Supabase shape, users are Supabase Auth's to write, as on a real project.
    return Factory(services, auth_admin_url=as_role(database_url, AUTH_ROLE) if SHAPE_URL else None)


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach a real service through a variable left in the environment."""
    for name in list(os.environ):
        if (
            name.startswith(("ATENDE_", "OPENAI_", "TWILIO_", "SUPABASE_"))
            or name == "DATABASE_URL"
        ):
            monkeypatch.delenv(name, raising=False)
