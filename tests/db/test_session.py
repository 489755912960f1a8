"""The one door: transactions run as the caller, with their claims and a timeout."""

from __future__ import annotations

from datetime import UTC

import psycopg
import pytest

from atende.config import Settings
from atende.db.session import Caller
from atende.services import Services, open_services
from tests.factories import Factory


async def test_user_transaction_runs_as_authenticated_with_claims(
    services: Services, factory: Factory
) -> None:
    user = await factory.user()
    async with services.database.transaction(Caller.user(user.claims)) as conn:
        row = await (
            await conn.execute("select current_user as role, auth.uid() as uid, auth.role() as r")
        ).fetchone()
    assert row == {"role": "authenticated", "uid": user.id, "r": "authenticated"}


async def test_role_and_claims_do_not_outlive_the_transaction(
    services: Services, factory: Factory
) -> None:
    user = await factory.user()
    async with services.database.transaction(Caller.user(user.claims)):
        pass
    async with services.database.pool.connection() as conn:
        row = await (
            await conn.execute(
                "select current_user = session_user as reset,"
                " coalesce(current_setting('request.jwt.claims', true), '') as claims"
            )
        ).fetchone()
    assert row == {"reset": True, "claims": ""}


async def test_anonymous_callers_see_no_tenant_data(services: Services, factory: Factory) -> None:
    await factory.organization()
    async with services.database.transaction(Caller.anonymous()) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await conn.execute("select * from public.organizations")


async def test_service_role_bypasses_row_level_security(
    services: Services, factory: Factory
) -> None:
    await factory.organization()
    await factory.organization()
    async with services.database.transaction(Caller.service()) as conn:
        row = await (
            await conn.execute("select count(*) as n from public.organizations")
        ).fetchone()
    assert row == {"n": 2}


async def test_statements_past_the_timeout_are_cancelled(
    settings: Settings, factory: Factory
) -> None:
    user = await factory.user()
    quick = settings.model_copy(update={"statement_timeout_ms": 100})
    async with open_services(quick, name="atende-test-timeout") as services:
        for caller in (Caller.service(), Caller.user(user.claims), Caller.anonymous()):
            with pytest.raises(psycopg.errors.QueryCanceled):
                async with services.database.transaction(caller) as conn:
                    await conn.execute("select pg_sleep(2)")
            with pytest.raises(psycopg.errors.QueryCanceled):
                await services.database.fetch_one(caller, "select pg_sleep(2)")


async def test_a_failing_block_rolls_back(services: Services, factory: Factory) -> None:
    with pytest.raises(RuntimeError):
        async with services.database.transaction(Caller.service()) as conn:
            await conn.execute("insert into public.organizations (name) values ('Ghost')")
            raise RuntimeError("boom")
    async with services.database.transaction(Caller.service()) as conn:
        row = await (
            await conn.execute("select count(*) as n from public.organizations")
        ).fetchone()
    assert row == {"n": 0}


async def test_timestamps_come_back_in_utc(services: Services) -> None:
    # The pool's sessions run in the zone named UTC: psycopg then reads timestamps with
    # datetime's own UTC (a zoneinfo zone, as for a cluster's Etc/UTC, is slower).
    row = await services.database.fetch_one(Caller.service(), "select now() as at")
    assert row is not None
    assert row["at"].tzinfo is UTC


async def test_the_platform_works_on_sessions_that_are_service_role(
    services: Services, factory: Factory
) -> None:
    user = await factory.user()
    query = (
        "select current_user as role, current_setting('request.jwt.claims') as claims,"
        " current_setting('statement_timeout') as timeout,"
        " current_setting('application_name') as pool"
    )
    one = await services.database.fetch_one(Caller.service(), query)
    async with services.database.transaction(Caller.service()) as conn:
        other = await (await conn.execute(query)).fetchone()
    assert one is not None
    assert other is not None
    for row in (one, other):
        # On the service pool (each pool names its connections), not the team's.
        assert (row["role"], row["timeout"], row["pool"]) == (
            "service_role",
            "5s",
            "atende-test-service",
        )
        assert '"service_role"' in row["claims"]
    async with services.database.transaction(Caller.user(user.claims)) as conn:
        mine = await (await conn.execute(query)).fetchone()
    assert mine is not None
    assert (mine["role"], mine["pool"]) == ("authenticated", "atende-test")


async def test_what_a_service_statement_switches_for_itself_ends_with_it(
    services: Services,
) -> None:
    # A function may switch role or claims for its transaction (is_local); the next unit
    # of work on the same session must be the platform again, failed or not.
    await services.database.fetch_one(
        Caller.service(), "select set_config('role', 'anon', true) as r"
    )
    with pytest.raises(psycopg.errors.DivisionByZero):
        async with services.database.transaction(Caller.service()) as conn:
            await conn.execute("set local role anon")
            await conn.execute("select 1 / 0")
    for _ in range(3):  # whichever connection the pool hands out
        row = await services.database.fetch_one(Caller.service(), "select current_user as r")
        assert row == {"r": "service_role"}
