"""The team's web app and the GraphiQL page, as ``npm run build`` leaves them in
``web/dist`` (``make dev`` and ``make test`` build it): served by ``atende serve``.

- ``/`` and the app's own paths (``/sign-in``, ``/c/<conversation id>``) answer
  ``index.html``, which the app routes in the browser; never cached, so a new build is
  picked up on the next load.
- ``/assets/...``: the build's files, named by their content's hash, so cached for a year
  (``immutable``); the gzip or Brotli copy the build made is sent when the browser
  accepts it.
- ``GET /graphql`` from a browser: GraphiQL's page (``graphiql.html``), whose scripts and
  styles are files of the same build: nothing is loaded from a CDN.

Each HTML page carries its own content security policy: scripts and styles from this
origin only, the API over ``fetch`` and WebSockets.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from atende.resources import web_dist_dir

#: The app's pages: no inline script or style, nothing from another origin; images may
#: come from https (a message's media).
APP_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:;"
    " font-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none';"
    " frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
#: GraphiQL's page: its editor sets inline styles.
GRAPHIQL_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:;"
    " worker-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'none';"
    " form-action 'self'"
)
#: The paths the app routes itself (web/src/router.ts), each answered with index.html.
APP_PATHS = (
    "/",
    "/sign-in",
    "/c/{conversation_id}",
    "/forgot-password",
    "/settings",
    "/settings/{section}",
    "/usage",
    "/contacts",
    "/broadcasts",
    # Where the account mails link (docs/api.md#accounts), with ?token=.
    "/accept-invitation",
    "/reset-password",
    "/verify-email",
)
#: Files at the build's top level that pages link to by name.
TOP_LEVEL_FILES = ("favicon.svg",)
IMMUTABLE = "public, max-age=31536000, immutable"
#: Precompressed copies the build makes (web/scripts/compress.mjs), best first.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body>
<h1>{title} is not built yet</h1>
<p>Atende's web app and its GraphiQL playground are built from <code>web/</code> with
Node 20+: <code>make dev</code> builds them, or run
<code>npm --prefix web ci &amp;&amp; npm --prefix web run build</code>, then reload.</p>
<p>The API itself works meanwhile: <code>POST /graphql</code>.</p>
</body></html>
"""


def _html(directory: Path, name: str, policy: str, title: str) -> Response:
    page = directory / name
    headers = {"cache-control": "no-cache", "content-security-policy": policy}
    if not page.is_file():
        return HTMLResponse(NOT_BUILT.format(title=title), status_code=503, headers=headers)
    return _file(page, headers=headers, accept_encoding="")


def _file(path: Path, *, headers: dict[str, str], accept_encoding: str) -> Response:
    """A file (FileResponse answers HEAD with its headers alone)."""
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type in {"application/javascript", "image/svg+xml"}:
        media_type = f"{media_type}; charset=utf-8"
    accepted = {part.split(";")[0].strip() for part in accept_encoding.lower().split(",")}
    for encoding, suffix in ENCODINGS:
        compressed = path.with_name(path.name + suffix)
        if encoding in accepted and compressed.is_file():
            headers = {**headers, "content-encoding": encoding, "vary": "accept-encoding"}
            path = compressed
            break
    return FileResponse(path, media_type=media_type, headers=headers)


def graphiql_page(directory: Path | None = None) -> Response:
    """GraphiQL, as built with the app (a page saying how to build it, if it is not)."""
    return _html(
        directory or web_dist_dir(), "graphiql.html", GRAPHIQL_CONTENT_SECURITY_POLICY, "GraphiQL"
    )


def web_routes(directory: Path | None = None) -> list[BaseRoute]:
    """The routes of the built app in ``directory`` (``web/dist`` by default)."""
    root = directory or web_dist_dir()
    assets = (root / "assets").resolve()

    async def page(request: Request) -> Response:
        return _html(root, "index.html", APP_CONTENT_SECURITY_POLICY, "Atende's web app")

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        path = (assets / name).resolve()
        if path.parent != assets or not path.is_file() or path.suffix in {".br", ".gz"}:
            return PlainTextResponse("Not Found", status_code=404)
        return _file(
            path,
            headers={"cache-control": IMMUTABLE},
            accept_encoding=request.headers.get("accept-encoding", ""),
        )

    def top_level(name: str) -> Route:
        async def serve(request: Request) -> Response:
            path = root / name
            if not path.is_file():
                return PlainTextResponse("Not Found", status_code=404)
            return _file(
                path,
                headers={"cache-control": "public, max-age=3600"},
                accept_encoding=request.headers.get("accept-encoding", ""),
            )

        return Route(f"/{name}", serve, methods=["GET", "HEAD"])

    return [
        *(Route(path, page, methods=["GET", "HEAD"]) for path in APP_PATHS),
        Route("/assets/{name}", asset, methods=["GET", "HEAD"]),
        *(top_level(name) for name in TOP_LEVEL_FILES),
    ]
