"""Registration is atomic across the identity provider and the database.

Failures are injected at each step, with each provider (local, and Supabase Auth through
the real client): the provider raising, the provider timing out (before and after it
created the user), the database failing after the user was created, and compensation
itself failing. Every time, the caller gets a typed error and no organization, membership,
profile or user is left behind, and the same e-mail can register right after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from atende.config import IdentityProviderName, Settings
from atende.identity.models import NewUser
from atende.services import Services
from tests.identity.conftest import PROVIDERS, settings_for
from tests.identity.faults import CreateFault, FaultyProvider, age_pending_users, make_inserts_fail
from tests.identity.graphql import REGISTER, execute, register, registration
from tests.identity.state import NOTHING, IdentityRows, identity_rows


@pytest.fixture(params=PROVIDERS, ids=[provider.value for provider in PROVIDERS])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    provider: IdentityProviderName = request.param
    return settings_for(provider, settings, request).model_copy(
        update={"identity_provider_timeout_seconds": 2.0}
    )


@pytest.fixture
async def provider(app: Starlette, client: httpx.AsyncClient) -> AsyncIterator[FaultyProvider]:
    """The running app's identity provider, wrapped to fail on demand."""
    services: Services = app.state.services
    faulty = FaultyProvider(services.identity.provider)
    services.identity.provider = faulty
    yield faulty
    services.identity.provider = faulty.inner


def nothing_but_abandoned_reservations(rows: IdentityRows) -> bool:
    """No organization, membership, profile, user, invitation or session exists."""
    return rows == IdentityRows(**{**NOTHING.__dict__, "pending_users": rows.pending_users})


async def attempt_registration(client: httpx.AsyncClient) -> str:
    data = await execute(client, REGISTER, registration())
    typename: str = data["registerOrganization"]["__typename"]
    assert data["registerOrganization"]["message"]
    return typename


async def upkeep(services: Services) -> int:
    return await services.identity.delete_abandoned_users()


@pytest.mark.parametrize("fault", [CreateFault.RAISE_BEFORE, CreateFault.RAISE_AFTER])
async def test_when_the_provider_raises_nothing_is_left(
    client: httpx.AsyncClient, provider: FaultyProvider, services: Services, fault: CreateFault
) -> None:
    provider.create_fault = fault

    assert await attempt_registration(client) == "TemporarilyUnavailable"

    rows = await identity_rows(services)
    assert nothing_but_abandoned_reservations(rows)
    provider.create_fault = None
    await register(client)


@pytest.mark.parametrize("fault", [CreateFault.HANG_BEFORE, CreateFault.HANG_AFTER])
async def test_when_the_provider_times_out_nothing_is_left(
    client: httpx.AsyncClient,
    provider: FaultyProvider,
    services: Services,
    database_url: str,
    fault: CreateFault,
) -> None:
    provider.create_fault = fault

    assert await attempt_registration(client) == "TemporarilyUnavailable"

    # The provider may still create the user late: its reservation stays, abandoned, for
    # the upkeep job, but it does not hold the e-mail.
    assert nothing_but_abandoned_reservations(await identity_rows(services))
    age_pending_users(database_url)
    await upkeep(services)
    assert await identity_rows(services) == NOTHING
    provider.create_fault = None
    await register(client)


@pytest.mark.parametrize("table", ["public.memberships", "private.sessions"])
async def test_when_the_database_fails_after_the_user_was_created_the_user_is_deleted(
    client: httpx.AsyncClient,
    provider: FaultyProvider,
    services: Services,
    database_url: str,
    table: str,
) -> None:
    make_inserts_fail(database_url, table)

    assert await attempt_registration(client) == "TemporarilyUnavailable"

    assert len(provider.created) == 1, "the provider did create the user"
    assert await identity_rows(services) == NOTHING


async def test_when_compensation_fails_too_the_upkeep_job_finishes_it(
    client: httpx.AsyncClient,
    provider: FaultyProvider,
    services: Services,
    database_url: str,
) -> None:
    make_inserts_fail(database_url, "public.memberships")
    provider.failing_deletions = 1

    assert await attempt_registration(client) == "TemporarilyUnavailable"

    left = await identity_rows(services)
    assert (left.organizations, left.memberships, left.profiles) == (0, 0, 0)
    assert (left.users, left.pending_users) == (1, 1), "the user awaits the upkeep job"
    assert await upkeep(services) == 0, "not before its grace period"
    age_pending_users(database_url)
    assert await upkeep(services) == 1
    assert await identity_rows(services) == NOTHING


async def test_a_process_that_dies_mid_registration_leaves_nothing_for_long(
    services: Services, database_url: str
) -> None:
    """The reservation is the saga's memory: even with no compensation at all (the process
    died after the provider created the user), the upkeep job removes the user."""
    service = services.identity
    user_id = await service._reserve_user("dona.maria@example.com", "registration")
    await service.provider.create_user(
        NewUser(
            id=user_id,
            email="dona.maria@example.com",
            password=SecretStr("pão-de-queijo-42"),
            full_name="Maria",
            email_confirmed=True,
        )
    )
    assert (await identity_rows(services)).users == 1

    age_pending_users(database_url)
    assert await upkeep(services) == 1
    assert await identity_rows(services) == NOTHING
