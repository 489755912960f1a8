"""One transaction per GraphQL operation, as its caller, however many root fields open it."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest

from atende.db.pool import Connection
from atende.db.session import Caller
from atende.graphql.context import RequestTransaction
from atende.services import Services
from tests.factories import Factory


def connections_requested(services: Services) -> int:
    """Connections taken from either pool (the platform's work runs on the service pool)."""
    pools = [services.database.pool, services.database.service_pool]
    return sum(pool.get_stats().get("requests_num", 0) for pool in pools if pool is not None)


async def test_root_fields_opening_the_transaction_together_share_one_connection(
    services: Services,
) -> None:
    # Root fields resolve concurrently; each asks for the connection on first use (found
    # by tests/api/test_fuzz.py: the losers' connections stayed checked out, in a
    # transaction never committed).
    before = connections_requested(services)
    transaction = RequestTransaction(services.database, Caller.service())
    conns = await asyncio.gather(*(transaction.connection() for _ in range(4)))
    assert {id(conn) for conn in conns} == {id(conns[0])}
    assert connections_requested(services) == before + 1
    await transaction.finish(commit=True)
    assert conns[0].info.transaction_status.name == "IDLE"


async def test_an_operation_runs_as_its_caller_in_one_transaction(services: Services) -> None:
    transaction = RequestTransaction(services.database, Caller.anonymous())
    conn = await transaction.connection()
    first = await (
        await conn.execute(
            "select current_user as role, pg_current_xact_id()::text as xact,"
            " current_setting('statement_timeout') as timeout"
        )
    ).fetchone()
    second = await (await conn.execute("select pg_current_xact_id()::text as xact")).fetchone()
    assert first is not None
    assert second is not None
    assert first["role"] == "anon"
    assert first["timeout"] != "0"
    assert first["xact"] == second["xact"]
    await transaction.finish(commit=True)
    # Back in the pool as every other user of it expects: idle, not in autocommit.
    assert conn.info.transaction_status.name == "IDLE"
    assert conn.autocommit is False


async def contacts_numbered(services: Services, phone_number: str) -> int:
    row = await services.database.fetch_one(
        Caller.service(),
        "select count(*) as n from public.contacts where phone_number = %(phone)s",
        {"phone": phone_number},
    )
    assert row is not None
    return int(row["n"])


async def add_contact(conn: Connection, organization_id: uuid.UUID) -> str:
    phone_number = f"+55119{uuid.uuid4().int % 10**8:08d}"
    await conn.execute(
        "insert into public.contacts (organization_id, phone_number) values (%s, %s)",
        [organization_id, phone_number],
    )
    return phone_number


async def test_a_failed_operation_rolls_back_everything_it_wrote(
    services: Services, factory: Factory
) -> None:
    organization = await factory.organization()
    transaction = RequestTransaction(services.database, Caller.service())
    conn = await transaction.connection()
    phone_number = await add_contact(conn, organization.id)
    with pytest.raises(psycopg.errors.DivisionByZero):
        await conn.execute("select 1 / 0")
    await transaction.finish(commit=False)
    assert conn.info.transaction_status.name == "IDLE"
    # The platform's connections are autocommit sessions (Database's service pool).
    assert conn.autocommit is True
    assert await contacts_numbered(services, phone_number) == 0


async def test_a_committed_operation_keeps_what_it_wrote(
    services: Services, factory: Factory
) -> None:
    organization = await factory.organization()
    transaction = RequestTransaction(services.database, Caller.service())
    phone_number = await add_contact(await transaction.connection(), organization.id)
    await transaction.finish(commit=True)
    assert await contacts_numbered(services, phone_number) == 1
