"""Rate limits on the identity flows: kept in Postgres, shared by every API process, per
account and per client address, with X-Forwarded-For believed from trusted proxies only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from atende.app import create_app
from atende.config import Settings, parse_rate_limit
from atende.identity.passwords import PasswordHasher
from atende.identity.rate_limits import client_address
from atende.services import Services
from tests.identity.graphql import (
    ACCEPT,
    INVITE,
    OWNER_PASSWORD,
    REFRESH,
    REGISTER,
    SIGN_IN,
    execute,
    register,
    registration,
)
from tests.identity.mailbox import mails_to
from tests.identity.test_accounts import REQUEST_RESET, RESEND, VERIFY

EMAIL = "dona.maria@example.com"
PEER = "198.51.100.7"

TOO_MANY = """
... on TooManyAttempts { retryAfterSeconds }
"""


#: Every window these tests use (15m, 1h, 1d) ends on a multiple of 15 minutes since the
#: epoch (the counters' fixed windows, 20261207000900_rate_limits.sql).
WINDOW_GRID_SECONDS = 15 * 60
#: Longer than any test here takes.
TEST_SPAN_SECONDS = 30


@pytest.fixture(autouse=True)
async def clear_of_a_window_boundary() -> None:
    """Start where no window ends within the test: at a boundary the counts start afresh
    (by design) and a test counting attempts would see one more allowed."""
    to_boundary = WINDOW_GRID_SECONDS - time.time() % WINDOW_GRID_SECONDS
    if to_boundary < TEST_SPAN_SECONDS:
        await asyncio.sleep(to_boundary + 1)


def with_retry_after(query: str) -> str:
    """``query`` also asking ``retryAfterSeconds`` of a TooManyAttempts."""
    return query.replace("... on UserError { message }", "... on UserError { message }" + TOO_MANY)


@asynccontextmanager
async def api(
    settings: Settings, *, peer: str = PEER, **limits: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An app of its own (its own pools and caches, as another process would have) on the
    test's database, with ``limits`` as settings; its requests come from ``peer``."""
    app = create_app(settings.model_copy(update=limits))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://atende.test") as http:
            yield http


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str, *, forwarded_for: str | None = None
) -> dict[str, Any]:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = await client.post(
        "/graphql",
        json={
            "query": with_retry_after(SIGN_IN),
            "variables": {"input": {"email": email, "password": password}},
        },
        headers=headers,
    )
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["signIn"]
    return result


async def test_the_attempt_past_the_limit_is_refused_with_a_retry_delay(
    settings: Settings,
) -> None:
    async with api(settings, rate_limit_sign_in="3/15m") as client:
        await register(client)
        outcomes = [
            (await sign_in(client, EMAIL, "wrong-password"))["__typename"] for _ in range(3)
        ]
        refused = await sign_in(client, EMAIL, OWNER_PASSWORD)

    assert outcomes == ["InvalidCredentials"] * 3
    assert refused["__typename"] == "TooManyAttempts"  # even with the right password
    assert 0 < refused["retryAfterSeconds"] <= 15 * 60
    assert refused["message"]


async def test_limits_hold_across_two_app_instances(settings: Settings) -> None:
    limits = {"rate_limit_sign_in": "4/15m"}
    async with api(settings, **limits) as first, api(settings, **limits) as second:
        await register(first)
        outcomes = [
            (await sign_in(client, EMAIL, "wrong-password"))["__typename"]
            for client in (first, second, first, second, first, second)
        ]

    assert outcomes == ["InvalidCredentials"] * 4 + ["TooManyAttempts"] * 2


async def test_per_account_and_per_address_limits_are_independent(settings: Settings) -> None:
    limits = {
        "rate_limit_sign_in": "2/15m",
        "rate_limit_sign_in_address": "4/15m",
        "trusted_proxies": ["10.0.0.0/8"],
    }
    async with (
        api(settings, peer="10.0.0.2", **limits) as proxy,
        api(settings, peer="203.0.113.50", **limits) as elsewhere,
    ):
        await register(proxy)
        from_a = "192.0.2.1"
        # The account's limit: two attempts, from whichever address.
        first = [
            (await sign_in(proxy, EMAIL, "wrong", forwarded_for=from_a))["__typename"]
            for _ in range(2)
        ]
        account_refused = await sign_in(elsewhere, EMAIL, OWNER_PASSWORD)
        # The address's limit: four attempts, whichever the accounts (two counted above).
        others = [
            (await sign_in(proxy, f"pessoa{i}@example.com", "wrong", forwarded_for=from_a))[
                "__typename"
            ]
            for i in range(3)
        ]
        # Another address still signs other accounts in.
        other_address = await sign_in(
            proxy, "pessoa9@example.com", "wrong", forwarded_for="192.0.2.2"
        )

    assert first == ["InvalidCredentials"] * 2
    assert account_refused["__typename"] == "TooManyAttempts"
    assert others == ["InvalidCredentials", "InvalidCredentials", "TooManyAttempts"]
    assert other_address["__typename"] == "InvalidCredentials"


async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(settings: Settings) -> None:
    limits = {"rate_limit_sign_in": "off", "rate_limit_sign_in_address": "2/15m"}
    untrusted = {**limits, "trusted_proxies": ["10.0.0.0/8"]}
    async with api(settings, peer="203.0.113.9", **untrusted) as client:
        # A client that is not a trusted proxy cannot pretend to be many addresses.
        spoofed = [
            (await sign_in(client, EMAIL, "wrong", forwarded_for=f"192.0.2.{i}"))["__typename"]
            for i in range(3)
        ]
    async with api(settings, peer="10.1.2.3", **untrusted) as proxy:
        forwarded = [
            (await sign_in(proxy, EMAIL, "wrong", forwarded_for=f"192.0.2.{i}"))["__typename"]
            for i in range(3)
        ]
        # A client cannot hide behind what it writes to the left of the proxy's entry.
        prefixed = [
            (await sign_in(proxy, EMAIL, "wrong", forwarded_for=f"192.0.2.{i}, 192.0.2.77"))[
                "__typename"
            ]
            for i in range(3)
        ]

    assert spoofed == ["InvalidCredentials", "InvalidCredentials", "TooManyAttempts"]
    assert forwarded == ["InvalidCredentials"] * 3
    assert prefixed == ["InvalidCredentials", "InvalidCredentials", "TooManyAttempts"]


@pytest.mark.local_identity  # the local provider hashes; on Supabase, Supabase Auth does
async def test_a_refused_attempt_hashes_no_password(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    verify = PasswordHasher.verify_sync

    def counting(self: PasswordHasher, password: str, stored_hash: str | None) -> bool:
        checks.append(password)
        return verify(self, password, stored_hash)

    monkeypatch.setattr(PasswordHasher, "verify_sync", counting)
    async with api(settings, rate_limit_sign_in="1/15m") as client:
        await register(client)
        allowed = await sign_in(client, EMAIL, "wrong")
        refused = [(await sign_in(client, EMAIL, "wrong"))["__typename"] for _ in range(5)]

    assert allowed["__typename"] == "InvalidCredentials"
    assert refused == ["TooManyAttempts"] * 5
    assert checks == ["wrong"]


async def test_registration_is_limited_per_address(settings: Settings) -> None:
    query = with_retry_after(REGISTER)
    async with api(settings, rate_limit_registration_address="2/1h") as client:
        outcomes = [
            (await execute(client, query, registration(email=f"dona{i}@example.com")))[
                "registerOrganization"
            ]
            for i in range(3)
        ]
        viewer_of_refused = await sign_in(client, "dona2@example.com", OWNER_PASSWORD)
    async with api(settings, rate_limit_registration_address="2/1h", peer="192.0.2.8") as other:
        from_elsewhere = await execute(other, query, registration(email="dona3@example.com"))

    assert [o["__typename"] for o in outcomes[:2]] == ["RegisterOrganizationSuccess"] * 2
    assert outcomes[2]["__typename"] == "TooManyAttempts"
    assert 0 < outcomes[2]["retryAfterSeconds"] <= 3600
    assert viewer_of_refused["__typename"] == "InvalidCredentials"  # nothing was created
    assert from_elsewhere["registerOrganization"]["__typename"] == "RegisterOrganizationSuccess"


async def test_refreshing_and_accepting_invitations_are_limited_per_token(
    settings: Settings,
) -> None:
    async with api(settings, rate_limit_refresh="2/15m", rate_limit_invitation="2/15m") as client:
        refreshes = [
            (await execute(client, with_retry_after(REFRESH), {"refreshToken": "made-up"}))[
                "refreshSession"
            ]["__typename"]
            for _ in range(3)
        ]
        accepts = [
            (
                await execute(
                    client,
                    with_retry_after(ACCEPT),
                    {"token": "made-up", "fullName": "Ana", "password": "senha-segura-1"},
                )
            )["acceptInvitation"]["__typename"]
            for _ in range(3)
        ]

    assert refreshes == ["InvalidRefreshToken", "InvalidRefreshToken", "TooManyAttempts"]
    assert accepts == ["InvalidInvitation", "InvalidInvitation", "TooManyAttempts"]


async def test_the_address_limit_of_refreshing_counts_every_token(settings: Settings) -> None:
    async with api(settings, rate_limit_refresh_address="2/15m") as client:
        outcomes = [
            (await execute(client, REFRESH, {"refreshToken": f"made-up-{i}"}))["refreshSession"][
                "__typename"
            ]
            for i in range(3)
        ]

    assert outcomes == ["InvalidRefreshToken", "InvalidRefreshToken", "TooManyAttempts"]


# -- Pure parts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.1", ["192.0.2.1"], [], "203.0.113.1"),
        ("203.0.113.1", ["192.0.2.1"], ["10.0.0.0/8"], "203.0.113.1"),
        ("10.0.0.1", ["192.0.2.1"], ["10.0.0.0/8"], "192.0.2.1"),
        ("10.0.0.1", ["192.0.2.9, 192.0.2.1, 10.0.0.5"], ["10.0.0.0/8"], "192.0.2.1"),
        ("10.0.0.1", ["192.0.2.9", "192.0.2.1"], ["10.0.0.0/8"], "192.0.2.1"),
        ("10.0.0.1", ["not-an-ip, 10.0.0.4"], ["10.0.0.0/8"], "10.0.0.4"),
        ("10.0.0.1", [], ["10.0.0.1"], "10.0.0.1"),
        ("::ffff:10.0.0.1", ["2001:db8::1"], ["10.0.0.0/8"], "2001:db8::1"),
        ("10.0.0.1", ["[2001:db8::2]:4711"], ["10.0.0.0/8"], "2001:db8::2"),
        ("10.0.0.1", ["192.0.2.3:1234"], ["10.0.0.0/8"], "192.0.2.3"),
        (None, ["192.0.2.1"], ["10.0.0.0/8"], None),
    ],
)
def test_the_client_address(
    peer: str | None, forwarded: list[str], trusted: list[str], expected: str | None
) -> None:
    assert client_address(peer, forwarded, trusted) == expected


def test_limits_are_read_as_attempts_per_window() -> None:
    assert parse_rate_limit("10/15m") == (10, 900)
    assert parse_rate_limit("5/h") == (5, 3600)
    assert parse_rate_limit("OFF") is None
    for bad in ("10", "0/1m", "10/0m", "ten/1m", "10/15 minutes"):
        with pytest.raises(ValueError, match="must be"):
            parse_rate_limit(bad)


def test_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATENDE_RATE_LIMIT_SIGN_IN", "3/1M")
    monkeypatch.setenv("ATENDE_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
    settings = Settings()
    assert settings.rate_limit_sign_in == "3/1m"
    assert settings.trusted_proxies == ["10.0.0.0/8", "192.0.2.1"]
    monkeypatch.setenv("ATENDE_TRUSTED_PROXIES", "proxy.internal")
    with pytest.raises(ValueError, match="not an IP address"):
        Settings()


async def test_password_hashing_runs_in_its_own_bounded_pool() -> None:
    hasher = PasswordHasher(cost=4, max_workers=1)
    try:
        hashed = await hasher.hash("senha-segura-1")
        assert await hasher.verify("senha-segura-1", hashed)
        pool = hasher._pool()
        assert pool._max_workers == 1
        assert all(t.name.startswith("atende-bcrypt") for t in pool._threads)
    finally:
        hasher.close()


async def test_the_account_flows_are_limited_before_any_lookup(
    settings: Settings, services: Services
) -> None:
    async with api(
        settings,
        rate_limit_verify_email_address="2/15m",
        rate_limit_password_reset="2/1h",
        rate_limit_password_reset_address="3/1h",
        rate_limit_account_mail="1/1h",
        rate_limit_invite="2/1h",
    ) as client:
        owner = await register(client)
        access = owner["session"]["accessToken"]
        organization = owner["organization"]["id"]

        async def outcome(query: str, variables: dict[str, Any], token: str | None = None) -> str:
            data = await execute(client, with_retry_after(query), variables, token=token)
            (result,) = data.values()
            typename: str = result["__typename"]
            return typename

        verifies = [await outcome(VERIFY, {"token": f"made-up-{i}"}) for i in range(3)]
        resets = [await outcome(REQUEST_RESET, {"email": EMAIL}) for _ in range(3)]
        # The address limit (3/1h) counts the account's three and refuses another address.
        other_address = await outcome(REQUEST_RESET, {"email": "outra@example.com"})
        resends = [await outcome(RESEND, {}, access) for _ in range(2)]
        invites = [
            await outcome(
                INVITE,
                {"organizationId": organization, "email": f"p{i}@example.com", "role": "AGENT"},
                access,
            )
            for i in range(3)
        ]

    assert verifies == ["InvalidToken", "InvalidToken", "TooManyAttempts"]
    assert resets == ["RequestPasswordResetSuccess"] * 2 + ["TooManyAttempts"]
    assert other_address == "TooManyAttempts"
    assert resends == ["ResendVerificationEmailSuccess", "TooManyAttempts"]
    assert invites == ["InviteMemberSuccess"] * 2 + ["TooManyAttempts"]
    assert len(await mails_to(services, EMAIL, "reset_password")) == 2, "refused: no mail"
