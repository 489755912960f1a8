"""ATENDE_REFRESH_TOKEN_TTL_SECONDS: how long a session's refresh token lives (README's
configuration table: 30 days by default)."""

from __future__ import annotations

import httpx
import psycopg

from atende.services import Services
from tests.identity.graphql import OWNER_PASSWORD, register, sign_in

EMAIL = "dona.maria@example.com"


async def test_a_refresh_token_lives_as_long_as_the_setting_says(
    client: httpx.AsyncClient, services: Services, database_url: str
) -> None:
    await register(client)

    result = await sign_in(client, EMAIL, OWNER_PASSWORD)

    assert result["__typename"] == "SignInSuccess"
    with psycopg.connect(database_url) as conn:
        lifetimes = conn.execute(
            "select extract(epoch from expires_at - created_at) from private.refresh_tokens"
        ).fetchall()
    ttl = services.settings.refresh_token_ttl_seconds
    assert ttl == 30 * 24 * 3600
    assert lifetimes
    assert all(abs(float(lifetime) - ttl) < 60 for (lifetime,) in lifetimes), lifetimes
