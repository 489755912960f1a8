"""Database.fetch_one: one statement as a caller, in one round trip, nothing left behind."""

from __future__ import annotations

import psycopg
import pytest

from atende.db.session import Caller
from atende.services import Services


async def test_the_statement_runs_as_the_caller(services: Services) -> None:
    row = await services.database.fetch_one(
        Caller.service(),
        "select current_user as role, current_setting('request.jwt.claims') as claims,"
        " %(n)s::int + 1 as n",
        {"n": 41},
    )
    assert row is not None
    assert (row["role"], row["n"]) == ("service_role", 42)
    assert '"service_role"' in row["claims"]

    anonymous = await services.database.fetch_one(Caller.anonymous(), "select current_user as r")
    assert anonymous == {"r": "anon"}


async def test_nothing_leaks_to_the_next_use_of_the_connection(services: Services) -> None:
    await services.database.fetch_one(Caller.anonymous(), "select 1 as one")
    with pytest.raises(psycopg.errors.DivisionByZero):
        await services.database.fetch_one(Caller.service(), "select 1 / 0 as boom")
    async with services.database.pool.connection() as conn:
        assert not conn.autocommit
        row = await (await conn.execute("select current_user as role")).fetchone()
    assert row is not None
    assert row["role"] != "anon"


async def test_parameters_are_quoted(services: Services) -> None:
    hostile = "'); drop table public.organizations; --"
    row = await services.database.fetch_one(
        Caller.service(), "select %(text)s::text as text", {"text": hostile}
    )
    assert row == {"text": hostile}
    assert await services.database.fetch_one(
        Caller.service(), "select count(*) as n from public.organizations"
    ) == {"n": 0}
