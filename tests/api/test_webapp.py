"""The team's web app and GraphiQL, served from the build in web/dist by atende serve."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from atende.api import webapp
from atende.api.webapp import graphiql_page, web_routes

INDEX = '<!doctype html><title>Atende</title><script type="module" src="/assets/app-1.js">'
SCRIPT = "console.log('atende');" * 50


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "graphiql.html").write_text("<!doctype html><title>Atende GraphiQL</title>")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path / "assets" / "app-1.js").write_text(SCRIPT)
    (tmp_path / "assets" / "app-1.js.gz").write_bytes(gzip.compress(SCRIPT.encode()))
    (tmp_path / "secret.txt").write_text("not an asset")
    return tmp_path


@pytest.fixture
async def http(dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=web_routes(dist))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://atende.test"
    ) as client:
        yield client


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/sign-in",
        "/c/0b9a1c1e-2a43-4f36-9d4e-1b1f4b0a7d10",
        "/forgot-password",
        "/settings/team",
        "/usage",
        "/contacts",
        "/broadcasts",
        "/accept-invitation?token=abc",
        "/reset-password?token=abc",
        "/verify-email?token=abc",
    ],
)
async def test_the_apps_paths_answer_its_page_never_cached(
    http: httpx.AsyncClient, path: str
) -> None:
    response = await http.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "connect-src 'self' ws: wss:" in policy


async def test_assets_are_immutable_and_sent_compressed_when_accepted(
    http: httpx.AsyncClient,
) -> None:
    compressed = await http.get("/assets/app-1.js", headers={"accept-encoding": "gzip"})
    plain = await http.get("/assets/app-1.js", headers={"accept-encoding": "identity"})

    assert compressed.headers["content-encoding"] == "gzip"
    assert compressed.headers["vary"] == "accept-encoding"
    assert compressed.text == SCRIPT  # httpx decodes it
    assert compressed.headers["content-type"].startswith("text/javascript")
    assert compressed.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "content-encoding" not in plain.headers
    assert plain.text == SCRIPT
    assert (await http.head("/assets/app-1.js")).status_code == 200
    assert (await http.get("/favicon.svg")).text == "<svg/>"


@pytest.mark.parametrize(
    "path",
    ["/nowhere", "/assets/missing.js", "/assets/app-1.js.gz", "/assets/..%2Fsecret.txt"],
)
async def test_anything_else_is_not_found(http: httpx.AsyncClient, path: str) -> None:
    assert (await http.get(path)).status_code == 404


async def test_an_unbuilt_app_says_how_to_build_it(tmp_path: Path) -> None:
    app = Starlette(routes=web_routes(tmp_path / "dist"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://atende.test"
    ) as client:
        response = await client.get("/")
    assert response.status_code == 503
    assert "npm --prefix web ci" in response.text
    assert b"not built" in bytes(graphiql_page(tmp_path / "dist").body)


async def test_graphiql_is_the_built_page_without_a_cdn(
    client: httpx.AsyncClient, dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webapp, "web_dist_dir", lambda: dist)
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.text == "<!doctype html><title>Atende GraphiQL</title>"
    policy = response.headers["content-security-policy"]
    assert "unpkg" not in policy
    assert "script-src 'self';" in policy
