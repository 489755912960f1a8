"""The one door through which all database work passes.

Every unit of work runs in a transaction *as someone*: an authenticated user (role
``authenticated`` and their JWT claims, exactly as PostgREST sets them, so row-level
security applies), an anonymous caller (``anon``), or the platform itself
(``service_role``, for webhooks and jobs). The boundary (request, webhook, job) owns the
transaction; services receive the connection.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, LiteralString
from uuid import UUID

import psycopg
from psycopg.rows import DictRow

from atende.db.pool import Connection, Pool


class DatabaseRole(StrEnum):
    ANON = "anon"
    AUTHENTICATED = "authenticated"
    SERVICE = "service_role"


@dataclass(frozen=True)
class Caller:
    """Who a transaction runs as: the Postgres role and the JWT claims it sees."""

    role: DatabaseRole
    claims: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def anonymous(cls) -> Caller:
        return cls(DatabaseRole.ANON, {"role": DatabaseRole.ANON.value})

    @classmethod
    def service(cls) -> Caller:
        return cls(DatabaseRole.SERVICE, {"role": DatabaseRole.SERVICE.value})

    @classmethod
    def user(cls, claims: Mapping[str, Any]) -> Caller:
        return cls(DatabaseRole.AUTHENTICATED, dict(claims))

    @property
    def user_id(self) -> UUID | None:
        subject = self.claims.get("sub")
        if self.role is not DatabaseRole.AUTHENTICATED or not subject:
            return None
        return UUID(str(subject))


#: The platform itself (webhooks, jobs): the caller a ``service_pool``'s sessions are.
SERVICE = Caller.service()


class Database:
    """Transactions as a caller, on the process's pools.

    ``service_pool`` (optional): connections that are the platform (``Caller.service()``)
    for their whole session, so the platform's own work (webhooks, jobs) runs without
    switching roles: a statement is one plain round trip, without the caller's settings
    or a pipeline (half the client CPU of ``fetch_one`` on ``pool``, measured). Without
    it, the platform's work runs on ``pool`` as any other caller's.
    """

    def __init__(
        self, pool: Pool, *, statement_timeout_ms: int = 5000, service_pool: Pool | None = None
    ) -> None:
        self.pool = pool
        self.service_pool = service_pool
        self.statement_timeout_ms = statement_timeout_ms

    def _service_pool_for(self, caller: Caller) -> Pool | None:
        """Where ``caller``'s work runs as the session it already is: the service pool,
        for the platform, when there is one."""
        return self.service_pool if caller == SERVICE else None

    @asynccontextmanager
    async def transaction(
        self, caller: Caller, *, timeout: float | None = None
    ) -> AsyncIterator[Connection]:
        """A connection inside one transaction as ``caller``; commits unless the block
        raises (``psycopg.Rollback`` rolls back quietly).

        ``timeout``: seconds to wait for a connection (the pool's default when None);
        past it ``psycopg_pool.PoolTimeout`` is raised.
        """
        if (service_pool := self._service_pool_for(caller)) is not None:
            # Autocommit connections: transaction() sends BEGIN and COMMIT itself.
            async with service_pool.connection(timeout=timeout) as conn, conn.transaction():
                yield conn
            return
        async with self.pool.connection(timeout=timeout) as conn:
            # The implicit BEGIN and the caller's settings go out together (a short
            # pipeline): one round trip. The block's own statements then run in the
            # ordinary mode: psycopg's pipeline mode saves a round trip per statement but
            # costs more CPU per statement, and under load CPU is what an API process
            # runs out of.
            async with conn.pipeline():
                await set_caller(conn, caller, statement_timeout_ms=self.statement_timeout_ms)
            try:
                yield conn
            except psycopg.Rollback:
                # Asked to roll back without a failure (a GraphQL operation with errors).
                await conn.rollback()
                return
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()

    async def fetch_one(
        self,
        caller: Caller,
        query: LiteralString,
        params: Mapping[str, Any] | Sequence[Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> DictRow | None:
        """One statement in a transaction of its own as ``caller``: its first row.

        For hot paths (webhooks, jobs): the caller's settings and the statement travel
        together, in a pipeline of one Sync, which Postgres runs as one implicit
        transaction (the ``set_config(..., true)`` apply to the statement, and both
        commit or roll back together): one round trip instead of four (BEGIN, settings,
        statement, COMMIT). Parameters are bound server-side and the statements are
        prepared as any other, so a large parameter (a webhook batch's JSON) is sent as
        it is, not quoted into the query text. As the platform, on ``service_pool``, the
        statement goes alone: its session already is the platform.
        """
        rows = await self.fetch_all(caller, query, params, timeout=timeout)
        return rows[0] if rows else None

    async def fetch_all(
        self,
        caller: Caller,
        query: LiteralString,
        params: Mapping[str, Any] | Sequence[Any] | None = None,
        *,
        timeout: float | None = None,
        prepare: bool | None = None,
    ) -> list[DictRow]:
        """``fetch_one``, every row. ``prepare=False``: never a prepared statement (psycopg
        prepares a statement run five times), for one whose best plan depends on its
        parameters."""
        if (service_pool := self._service_pool_for(caller)) is not None:
            async with service_pool.connection(timeout=timeout) as conn:
                return await (await conn.execute(query, params, prepare=prepare)).fetchall()
        async with self.pool.connection(timeout=timeout) as conn:
            # No BEGIN of psycopg's: the pipeline's Sync ends the implicit transaction.
            await conn.set_autocommit(True)
            try:
                async with conn.pipeline():
                    await set_caller(conn, caller, statement_timeout_ms=self.statement_timeout_ms)
                    cursor = await conn.execute(query, params, prepare=prepare)
                return await cursor.fetchall()
            finally:
                # A broken connection refuses; the pool discards it anyway.
                with contextlib.suppress(psycopg.Error):
                    await conn.set_autocommit(False)

    def as_user(self, claims: Mapping[str, Any]) -> Any:
        return self.transaction(Caller.user(claims))

    def as_service(self) -> Any:
        return self.transaction(Caller.service())

    async def applied_migrations(self, *, timeout: float | None = None) -> set[str]:
        """The versions in ``supabase_migrations.schema_migrations``: read as the role the
        process connects as, because that bookkeeping belongs to no API role."""
        async with self.pool.connection(timeout=timeout) as conn:
            cursor = await conn.execute("select version from supabase_migrations.schema_migrations")
            return {str(row["version"]) for row in await cursor.fetchall()}

    async def ping(self) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("select 1")


async def set_caller(conn: Connection, caller: Caller, *, statement_timeout_ms: int) -> None:
    """Make the current transaction ``caller``'s (``SET LOCAL`` of role, claims and timeout)."""
    settings = caller_settings(caller, statement_timeout_ms=statement_timeout_ms)
    await conn.execute(
        "select set_config('role', %s, true),"
        " set_config('request.jwt.claims', %s, true),"
        " set_config('statement_timeout', %s, true)",
        [settings["role"], settings["request.jwt.claims"], settings["statement_timeout"]],
    )


def caller_settings(caller: Caller, *, statement_timeout_ms: int) -> dict[str, str]:
    """What makes a session or a transaction ``caller``'s: the role PostgREST would set,
    the JWT claims row-level security reads, and our statement timeout."""
    return {
        "role": caller.role.value,
        "request.jwt.claims": json.dumps(dict(caller.claims)),
        "statement_timeout": str(statement_timeout_ms),
    }
