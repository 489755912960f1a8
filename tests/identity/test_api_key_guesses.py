"""Guessed API keys are limited per client address: past ATENDE_RATE_LIMIT_API_KEY_ADDRESS
failed keys, an address gets 429 for every key, right ones included, while other
addresses and people signed in go on."""

from __future__ import annotations

import httpx

from atende.app import create_app
from atende.config import Settings
from tests.factories import Factory
from tests.graphql.client import error_codes, graphql
from tests.identity.test_api_keys import ORGANIZATION, Key, codes_with, create_key

GUESSER = ("203.0.113.7", 40000)
NEIGHBOUR = ("198.51.100.9", 40000)


def guessed_key() -> Key:
    return Key(id="", secret="atende_" + "x" * 43)


async def test_an_address_past_the_guess_limit_is_refused_every_key(
    settings: Settings, factory: Factory
) -> None:
    app = create_app(settings.model_copy(update={"rate_limit_api_key_address": "3/15m"}))
    async with app.router.lifespan_context(app):
        guesser = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=GUESSER), base_url="http://atende.test"
        )
        neighbour = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=NEIGHBOUR), base_url="http://atende.test"
        )
        async with guesser, neighbour:
            organization = await factory.organization()
            key = await create_key(neighbour, organization)
            assert await codes_with(guesser, key, organization) == []  # right keys count not

            for _ in range(3):
                wrong = await guesser.post(
                    "/graphql",
                    json={"query": "{ viewer { user { id } } }"},
                    headers=guessed_key().headers,
                )
                assert error_codes(wrong.json()) == ["UNAUTHENTICATED"]
            refused = await guesser.post(
                "/graphql",
                json={"query": "{ viewer { user { id } } }"},
                headers=guessed_key().headers,
            )
            assert refused.status_code == 429
            retry_after = int(refused.headers["retry-after"])
            assert 1 <= retry_after <= 15 * 60
            assert refused.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"

            # The right key from that address is refused too: a guess that hits learns
            # nothing.
            right = await guesser.post(
                "/graphql",
                json={"query": ORGANIZATION, "variables": {"id": str(organization.id)}},
                headers=key.headers,
            )
            assert right.status_code == 429
            # Another address goes on, and so does a person signed in from the guesser's.
            assert await codes_with(neighbour, key, organization) == []
            person = await graphql(
                guesser, ORGANIZATION, {"id": str(organization.id)}, user=organization.owner
            )
            assert error_codes(person) == []


async def test_guesses_are_not_limited_when_the_limit_is_off(
    settings: Settings, factory: Factory
) -> None:
    app = create_app(settings.model_copy(update={"rate_limit_api_key_address": "off"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=GUESSER)
        async with httpx.AsyncClient(transport=transport, base_url="http://atende.test") as client:
            for _ in range(5):
                wrong = await client.post(
                    "/graphql",
                    json={"query": "{ viewer { user { id } } }"},
                    headers=guessed_key().headers,
                )
                assert error_codes(wrong.json()) == ["UNAUTHENTICATED"]
