"""The composition root: what a process opens once, from settings, in its lifespan.

Only the process entry points (``app``, ``worker``, ``cli``, ``devserver``), the API
assembly and the dev tools import this module. Domains never do: each domain object
receives just the collaborators it uses, either from here in its constructor or, for
GraphQL resolvers and jobs, by type from ``Services.dependencies`` (see
docs/architecture.md, "Narrow collaborators").
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from atende.channels.crypto import TokenCipher
from atende.channels.transport import MessagingTransport
from atende.config import Settings, parse_rate_limit
from atende.conversations.events import EventHub
from atende.db.embedded import EmbeddedPostgres
from atende.db.pool import create_pool, open_pool
from atende.db.session import SERVICE, Database, caller_settings
from atende.dependencies import Dependencies
from atende.identity.api_keys import ApiKeys
from atende.identity.provider import IdentityProvider
from atende.identity.providers import open_identity_provider
from atende.identity.rate_limits import RateLimiter
from atende.identity.service import IdentityService
from atende.identity.tokens import TokenService
from atende.knowledge.embeddings import Embedder, embedder_from_settings
from atende.knowledge.search import KnowledgeSearch
from atende.mail.sender import Mailer
from atende.media.storage import MediaStorage, open_media_storage
from atende.media.urls import MediaUrls
from atende.webhooks.delivery import WebhookSender
from atende.webhooks.service import WebhookDeliveries

if TYPE_CHECKING:  # openai and twilio are slow to import; `atende --help` need not pay
    from atende.ai.client import ModelClient
    from atende.transports.twilio.transport import TwilioTransport


@dataclass
class Services:
    settings: Settings
    #: The one door to the database, for requests, jobs and health checks alike.
    database: Database
    tokens: TokenService
    #: The model client (one per process; ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``).
    model: ModelClient
    #: The messaging transport: Twilio's Messages API and webhooks (``TWILIO_API_BASE_URL``).
    transport: TwilioTransport
    #: Where users and passwords live (``ATENDE_IDENTITY_PROVIDER``).
    identity_provider: IdentityProvider
    #: Registration, sessions, invitations and member changes.
    identity: IdentityService
    #: The cipher of channels' stored auth tokens (``ATENDE_SECRET_KEY``).
    cipher: TokenCipher
    #: Where files are kept (``ATENDE_MEDIA_STORAGE``), and the links that open them.
    media_storage: MediaStorage
    media_urls: MediaUrls
    #: Sends e-mail (``ATENDE_SMTP_URL``); jobs use it, requests only queue mail.
    mailer: Mailer
    #: What this process knows of API keys, and their use it counts (flushed each second).
    api_keys: ApiKeys
    #: Posts outgoing webhooks: the delivery job's (ATENDE_OUTGOING_WEBHOOKS_ALLOW_PRIVATE).
    webhooks: WebhookDeliveries
    #: The knowledge base's embedder (``ATENDE_EMBEDDINGS``).
    embedder: Embedder
    #: The realtime hub, in processes that serve subscriptions (the API).
    events: EventHub | None = None

    @cached_property
    def knowledge_search(self) -> KnowledgeSearch:
        return KnowledgeSearch(database=self.database, embedder=self.embedder)

    @cached_property
    def dependencies(self) -> Dependencies:
        """What resolvers and jobs may ask for, by type."""
        from atende.ai.client import ModelClient  # noqa: PLC0415 - see TYPE_CHECKING above

        provided: dict[type[Any], object] = {
            Settings: self.settings,
            Database: self.database,
            TokenService: self.tokens,
            ModelClient: self.model,
            MessagingTransport: self.transport,
            IdentityService: self.identity,
            TokenCipher: self.cipher,
            MediaStorage: self.media_storage,
            MediaUrls: self.media_urls,
            Mailer: self.mailer,
            ApiKeys: self.api_keys,
            WebhookDeliveries: self.webhooks,
            Embedder: self.embedder,
            KnowledgeSearch: self.knowledge_search,
        }
        if self.events is not None:
            provided[EventHub] = self.events
        return Dependencies(provided)


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
    settings: Settings,
    *,
    name: str = "atende",
    serves_team: bool = True,
    transport: TwilioTransport | None = None,
) -> AsyncIterator[Services]:
    """``serves_team``: whether this process answers the team's API. A worker does not: its
    jobs run on the service pool, so it keeps no idle connection in the team's pool.
    ``transport``: the one whose endpoints the app already routes (a new one otherwise)."""
    url = database_url(settings)
    mailer = Mailer(settings)  # before any I/O: a malformed ATENDE_SMTP_URL stops the start
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
    from atende.transports.twilio.transport import TwilioTransport  # noqa: PLC0415 - as above

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
        embedder = embedder_from_settings(settings)
        opened.push_async_callback(embedder.close)
        database = Database(
            pool, statement_timeout_ms=settings.statement_timeout_ms, service_pool=service_pool
        )
        transport = transport or TwilioTransport(settings)
        await opened.enter_async_context(transport.open(database))
        identity_provider = await opened.enter_async_context(
            open_identity_provider(settings, database)
        )
        media_storage = await opened.enter_async_context(open_media_storage(settings))
        tokens = token_service(settings)
        api_keys = await opened.enter_async_context(
            ApiKeys(
                database,
                check_seconds=settings.session_check_seconds,
                limit=parse_rate_limit(settings.rate_limit_api_key),
                guesses=RateLimiter(database, settings),
            ).open()
        )
        # Deliveries may hold half the worker's job slots at most (webhooks.delivery).
        webhook_sender = WebhookSender(
            allow_private=settings.outgoing_webhooks_private_allowed,
            slots=max(2, settings.worker_concurrency // 2),
        )
        opened.push_async_callback(webhook_sender.close)
        yield Services(
            settings=settings,
            database=database,
            tokens=tokens,
            model=model,
            transport=transport,
            identity_provider=identity_provider,
            identity=IdentityService(
                database=database,
                provider=identity_provider,
                tokens=tokens,
                refresh_token_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
                provider_timeout=settings.identity_provider_timeout_seconds,
                mail_link_base=settings.mail_link_base,
                session_check_seconds=settings.session_check_seconds,
            ),
            cipher=TokenCipher.from_settings(settings),
            media_storage=media_storage,
            media_urls=MediaUrls.from_settings(settings),
            mailer=mailer,
            api_keys=api_keys,
            webhooks=WebhookDeliveries(
                database,
                TokenCipher.from_settings(settings),
                webhook_sender,
                link_base=settings.mail_link_base,
            ),
            embedder=embedder,
        )
