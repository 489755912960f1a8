"""What a process needs to do its work, built once from settings and opened in its lifespan.

The API and the worker open the same ``Services``; request handlers and jobs receive it
explicitly (Starlette's ``app.state``, Procrastinate's ``additional_context``), never
through globals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from atende.config import Settings
from atende.db.embedded import EmbeddedPostgres
from atende.db.pool import Pool, create_pool, open_pool
from atende.db.session import SERVICE, Database, caller_settings
from atende.identity.provider import IdentityProvider
from atende.identity.providers import open_identity_provider
from atende.identity.tokens import TokenService

if TYPE_CHECKING:  # openai and twilio are slow to import; `atende --help` need not pay
    from atende.ai.client import ModelClient
    from atende.channels.directory import ChannelDirectory
    from atende.channels.service import TwilioService


@dataclass
class Services:
    settings: Settings
    pool: Pool
    database: Database
    tokens: TokenService
    #: The model client (one per process; ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``).
    model: ModelClient
    #: Twilio's Messages API for any channel's account (``TWILIO_API_BASE_URL``).
    twilio: TwilioService
    #: Where users and passwords live (``ATENDE_IDENTITY_PROVIDER``).
    identity_provider: IdentityProvider
    #: Channels for webhooks (briefly cached) and the cipher of their auth tokens.
    channels: ChannelDirectory


def database_url(settings: Settings) -> str:
    """``DATABASE_URL``, or the embedded cluster's URL when it is not set."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return embedded_postgres(settings).url()


def embedded_postgres(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(
        data_dir=settings.data_dir, port=settings.db_port, bin_dir=settings.pg_bin_dir
    )


def token_service(settings: Settings) -> TokenService:
    return TokenService(
        settings.jwt_secret.get_secret_value(),
        ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        jwks_url=settings.jwks_url,
    )


@asynccontextmanager
async def open_services(
    settings: Settings, *, name: str = "atende", serves_team: bool = True
) -> AsyncIterator[Services]:
    """``serves_team``: whether this process answers the team's API. A worker does not: its
    jobs run on the service pool, so it keeps no idle connection in the team's pool."""
    url = database_url(settings)
    pool = create_pool(
        url,
        min_size=settings.db_pool_min_size if serves_team else 0,
        max_size=settings.db_pool_max_size,
        name=name,
    )
    # The platform's own work (webhooks, jobs) on connections that are service_role for
    # their whole session: one plain statement per unit of work (see Database).
    service_pool = create_pool(
        url,
        min_size=1,
        max_size=settings.db_service_pool_max_size,
        name=f"{name}-service",
        autocommit=True,
        session_settings=caller_settings(
            SERVICE, statement_timeout_ms=settings.statement_timeout_ms
        ),
    )
    from atende.ai.client import ModelClient  # noqa: PLC0415 - see TYPE_CHECKING above
    from atende.channels.directory import channel_directory  # noqa: PLC0415 - as above
    from atende.channels.service import open_twilio_service  # noqa: PLC0415 - as above

    # Whatever was opened is closed, in reverse order, however far the opening got and
    # whichever closing fails.
    async with AsyncExitStack() as opened:
        # Closing a pool that did not finish opening is safe, and stops what it started.
        opened.push_async_callback(pool.close)
        await open_pool(pool)
        opened.push_async_callback(service_pool.close)
        await open_pool(service_pool, check_reachable_first=False)  # just reached
        model = ModelClient.from_settings(settings)
        opened.push_async_callback(model.close)
        database = Database(
            pool, statement_timeout_ms=settings.statement_timeout_ms, service_pool=service_pool
        )
        twilio = await opened.enter_async_context(open_twilio_service(settings))
        identity_provider = await opened.enter_async_context(
            open_identity_provider(settings, database)
        )
        yield Services(
            settings=settings,
            pool=pool,
            database=database,
            tokens=token_service(settings),
            model=model,
            twilio=twilio,
            identity_provider=identity_provider,
            channels=channel_directory(settings, database),
        )
