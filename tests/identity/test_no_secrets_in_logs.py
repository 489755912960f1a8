"""Passwords and tokens never reach a log or an error message, even at DEBUG and when
flows fail."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from atende.config import IdentityProviderName, Settings
from atende.services import Services
from tests.factories import Factory
from tests.identity.conftest import PROVIDERS, settings_for
from tests.identity.faults import CreateFault, FaultyProvider, make_inserts_fail
from tests.identity.graphql import (
    ACCEPT,
    INVITE,
    REFRESH,
    REGISTER,
    SIGN_OUT,
    VIEWER,
    execute,
    register,
    registration,
    sign_in,
)
from tests.identity.mailbox import mailed_token
from tests.identity.test_accounts import CHANGE, REQUEST_RESET, RESET, VERIFY

OWNER_PASSWORD = "segredo-da-dona-maria-1"
INVITEE_PASSWORD = "segredo-da-ana-2"
WRONG_PASSWORD = "tentativa-errada-3"
WEAK_PASSWORD = "fraca7!"


@pytest.fixture(params=PROVIDERS, ids=[provider.value for provider in PROVIDERS])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    provider: IdentityProviderName = request.param
    return settings_for(provider, settings, request).model_copy(
        update={"identity_provider_timeout_seconds": 2.0}
    )


@pytest.fixture
async def provider(app: Starlette, client: httpx.AsyncClient) -> AsyncIterator[FaultyProvider]:
    services: Services = app.state.services
    faulty = FaultyProvider(services.identity.provider)
    services.identity.provider = faulty
    yield faulty
    services.identity.provider = faulty.inner


async def test_flows_log_no_password_and_no_token(  # noqa: PLR0917 (fixtures)
    client: httpx.AsyncClient,
    services: Services,
    factory: Factory,
    provider: FaultyProvider,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [OWNER_PASSWORD, INVITEE_PASSWORD, WRONG_PASSWORD, WEAK_PASSWORD]

    registered = await register(client, password=OWNER_PASSWORD)
    session = registered["session"]
    organization_id = registered["organization"]["id"]
    secrets += [session["accessToken"], session["refreshToken"]]

    signed_in = (await sign_in(client, "dona.maria@example.com", OWNER_PASSWORD))["session"]
    secrets += [signed_in["accessToken"], signed_in["refreshToken"]]
    await sign_in(client, "dona.maria@example.com", WRONG_PASSWORD)
    await sign_in(client, "ninguem@example.com", WRONG_PASSWORD)

    refreshed = (await execute(client, REFRESH, {"refreshToken": session["refreshToken"]}))[
        "refreshSession"
    ]["session"]
    secrets += [refreshed["accessToken"], refreshed["refreshToken"]]
    await execute(client, REFRESH, {"refreshToken": session["refreshToken"]})  # reuse

    await execute(
        client,
        INVITE,
        {"organizationId": organization_id, "email": "ana@example.com", "role": "AGENT"},
        token=signed_in["accessToken"],
    )
    invitation = await mailed_token(services, "ana@example.com", "invitation")
    verification = await mailed_token(services, "dona.maria@example.com", "verify_email")
    secrets += [invitation, verification]
    await execute(
        client, ACCEPT, {"token": invitation, "fullName": "Ana", "password": WEAK_PASSWORD}
    )
    accepted = (
        await execute(
            client,
            ACCEPT,
            {"token": invitation, "fullName": "Ana", "password": INVITEE_PASSWORD},
        )
    )["acceptInvitation"]["session"]
    secrets += [accepted["accessToken"], accepted["refreshToken"]]
    await execute(client, VERIFY, {"token": verification})
    await execute(client, REQUEST_RESET, {"email": "ana@example.com"})
    reset = await mailed_token(services, "ana@example.com", "reset_password")
    secrets.append(reset)
    await execute(client, RESET, {"token": reset, "password": WEAK_PASSWORD})
    accepted = (await execute(client, RESET, {"token": reset, "password": INVITEE_PASSWORD}))[
        "resetPassword"
    ]["session"]
    secrets += [accepted["accessToken"], accepted["refreshToken"]]
    await execute(
        client,
        CHANGE,
        {"current": WRONG_PASSWORD, "new": INVITEE_PASSWORD},
        token=accepted["accessToken"],
    )
    await execute(client, VIEWER, token=accepted["accessToken"])
    await execute(client, SIGN_OUT, {"refreshToken": accepted["refreshToken"]})

    # Failures log more: a provider that fails after creating, then a database that fails.
    provider.create_fault = CreateFault.RAISE_AFTER
    await execute(client, REGISTER, registration(email="b@example.com", password=OWNER_PASSWORD))
    provider.create_fault = None
    make_inserts_fail(database_url, "public.memberships")
    await execute(client, REGISTER, registration(email="c@example.com", password=OWNER_PASSWORD))
    make_inserts_fail(database_url, "public.invitations")
    # An unexpected error inside an operation (logged with its traceback).
    await client.post(
        "/graphql",
        json={
            "query": INVITE,
            "variables": {
                "organizationId": organization_id,
                "email": "d@example.com",
                "role": "AGENT",
            },
        },
        headers={"Authorization": f"Bearer {signed_in['accessToken']}"},
    )

    assert any(record.levelno >= logging.WARNING for record in caplog.records), "failures logged"
    logged = [caplog.text]
    for record in caplog.records:
        logged += [record.getMessage(), repr(record.args), record.exc_text or ""]
    text = "\n".join(logged)
    leaked = [secret for secret in secrets if secret in text]
    assert not leaked, f"{len(leaked)} secret(s) in the log"


async def test_error_responses_do_not_echo_credentials(
    client: httpx.AsyncClient, provider: FaultyProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider.create_fault = CreateFault.RAISE_BEFORE
    failed = await client.post(
        "/graphql", json={"query": REGISTER, "variables": registration(password=OWNER_PASSWORD)}
    )
    # GraphQL's own errors quote the values they refuse: a misspelt field, a wrong type.
    misspelt = await client.post(
        "/graphql",
        json={
            "query": SIGN_IN_DOCUMENT,
            "variables": {
                "input": {"email": "a@example.com", "password": OWNER_PASSWORD, "pasword": 1}
            },
        },
    )
    mistyped = await client.post(
        "/graphql",
        json={
            "query": SIGN_IN_DOCUMENT,
            "variables": {"input": {"email": "a@example.com", "password": 20261124}},
        },
    )

    assert failed.json()["data"]["registerOrganization"]["__typename"] == "TemporarilyUnavailable"
    for response in (failed, misspelt, mistyped):
        assert OWNER_PASSWORD not in response.text
        assert "20261124" not in response.text
    assert "unknown field 'pasword'" in misspelt.json()["errors"][0]["message"]
    assert "[redacted]" in mistyped.json()["errors"][0]["message"]
    assert OWNER_PASSWORD not in caplog.text
    assert "20261124" not in caplog.text


SIGN_IN_DOCUMENT = "mutation ($input: SignInInput!) { signIn(input: $input) { __typename } }"
