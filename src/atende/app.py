"""The Starlette application, built by an explicit factory: routes, middleware, lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from atende.api.schema import build_schema
from atende.api.view import AtendeGraphQL
from atende.api.webapp import web_routes
from atende.config import Settings
from atende.conversations.events import EventHub
from atende.db.migrations import discover_migrations
from atende.http import BodySizeLimitMiddleware, SecurityHeaders
from atende.media.endpoints import MEDIA_ROUTE, media_file_endpoint
from atende.services import Services, database_url, open_services
from atende.transports.twilio.transport import TwilioTransport
from atende.transports.twilio.webhooks import webhook_routes

logger = logging.getLogger("atende.app")


def create_app(settings: Settings) -> Starlette:
    """The API process's ASGI app. Nothing is opened until the lifespan starts."""
    expected_migrations = {migration.version for migration in discover_migrations()}
    schema = build_schema(introspection=settings.introspection)
    # Bound now, opened in the lifespan: its webhook endpoints are routes of this app.
    transport = TwilioTransport(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_services(settings, name="atende-api", transport=transport) as services:
            # One LISTEN connection per process feeds every subscription (realtime).
            services.events = EventHub(database_url(settings))
            await services.events.start()
            app.state.services = services
            try:
                yield
            finally:
                await services.events.stop()

    def opened_services() -> Services:
        services: Services | None = getattr(app.state, "services", None)
        if services is None:
            raise RuntimeError("the API's services are not open")
        return services

    graphql_app = AtendeGraphQL(
        schema=schema,
        services=opened_services,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=False,
        allowed_origins=settings.cors_origins,
        # Documents for the knowledge base come as GraphQL multipart uploads. No CSRF
        # risk: a request is someone's only with a bearer token in its Authorization
        # header, which a cross-site form cannot send.
        multipart_uploads_enabled=True,
    )

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        services: Services | None = getattr(app.state, "services", None)
        if services is None:
            return _not_ready("starting")
        try:
            applied = await services.database.applied_migrations(timeout=2.0)
        except (psycopg.Error, TimeoutError, OSError) as error:
            logger.warning("readiness check: database unavailable: %s", type(error).__name__)
            return _not_ready("database unavailable")
        missing = sorted(expected_migrations - applied)
        if missing:
            return _not_ready("migrations pending", pending=missing)
        return JSONResponse({"status": "ready"})

    webhooks = dict(transport.endpoints())
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/graphql", graphql_app, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_app),
        Route(
            MEDIA_ROUTE,
            media_file_endpoint(lambda: opened_services().dependencies),
            methods=["GET", "HEAD"],
        ),
        *webhook_routes(webhooks),
        # The team's web app (web/, built into web/dist): /, its pages and their assets.
        *web_routes(),
    ]
    middleware = [
        Middleware(
            BodySizeLimitMiddleware,
            max_body_bytes=settings.max_body_bytes,
            max_upload_bytes=settings.max_upload_bytes,
        ),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["authorization", "content-type"],
        ),
    ]
    app = AtendeApp(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        fast_paths=webhooks,
        https=settings.public_url.startswith("https://"),
    )
    return app


class AtendeApp(Starlette):
    """Starlette, with Twilio's webhook POSTs sent straight to their endpoints.

    Why: a webhook needs none of the stack the team's API goes through (CORS, the
    general body cap, Starlette's error pages, routing): its endpoint caps its own body,
    answers its own errors, and an unexpected exception still becomes uvicorn's 500.
    Those layers were ~15 % of the API's CPU a webhook (bench/ingest). Any other
    request, or another method on those paths (405), goes the usual way.
    """

    def __init__(self, *, fast_paths: dict[str, ASGIApp], https: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fast_paths = fast_paths
        # Outermost, so webhooks' fast paths and Starlette's own errors carry them too.
        self.secured = SecurityHeaders(self._dispatch, https=https)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.secured(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.fast_paths.get(scope["path"])
            if endpoint is not None:
                scope["app"] = self  # what Starlette sets: handlers read app.state
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def _not_ready(reason: str, **details: Any) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "reason": reason, **details}, status_code=503)
