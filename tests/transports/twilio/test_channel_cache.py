"""ATENDE_CHANNEL_CACHE_SECONDS: how long an API process reuses a channel it looked up
for a webhook (0: never), which bounds how long a channel disabled behind its back (by
another process, or in the database) may still be accepted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from atende.app import create_app
from atende.config import Settings
from atende.db.session import Caller
from atende.services import Services
from tests.channels.world import TestChannel, deliver


@asynccontextmanager
async def api(settings: Settings, cache_seconds: float) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"channel_cache_seconds": cache_seconds}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://atende.test") as http:
            yield http


async def disable(services: Services, channel: TestChannel) -> None:
    async with services.database.transaction(Caller.service()) as conn:
        await conn.execute("update public.channels set enabled = false where id = %s", [channel.id])


async def test_without_a_cache_a_disabled_channel_is_refused_at_once(
    settings: Settings, services: Services, channel: TestChannel
) -> None:
    async with api(settings, cache_seconds=0) as client:
        assert (await deliver(client, channel)).status_code == 200
        await disable(services, channel)

        assert (await deliver(client, channel)).status_code == 403


async def test_a_disabled_channel_is_accepted_at_most_for_the_cache_seconds(
    settings: Settings, services: Services, channel: TestChannel
) -> None:
    cache_seconds = 1.0
    async with api(settings, cache_seconds=cache_seconds) as client:
        assert (await deliver(client, channel)).status_code == 200
        await disable(services, channel)
        still_cached = await deliver(client, channel)
        await asyncio.sleep(cache_seconds + 0.2)

        assert still_cached.status_code == 200
        assert (await deliver(client, channel)).status_code == 403
