"""The one door through which all database work passes.

Every unit of work runs in a transaction *as someone*: an authenticated user (role
``authenticated`` and their JWT claims, exactly as PostgREST sets them, so row-level
security applies), an anonymous caller (``anon``), or the platform itself
(``service_role``, for webhooks and jobs). The boundary (request, webhook, job) owns the
transaction; services receive the connection.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

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


class Database:
    """Transactions as a caller, on the process's pool."""

    def __init__(self, pool: Pool, *, statement_timeout_ms: int = 5000) -> None:
        self.pool = pool
        self.statement_timeout_ms = statement_timeout_ms

    @asynccontextmanager
    async def transaction(self, caller: Caller) -> AsyncIterator[Connection]:
        """A connection inside one transaction as ``caller``; commits unless it raises."""
        async with self.pool.connection() as conn, conn.transaction():
            await become(conn, caller, statement_timeout_ms=self.statement_timeout_ms)
            yield conn

    def as_user(self, claims: Mapping[str, Any]) -> Any:
        return self.transaction(Caller.user(claims))

    def as_service(self) -> Any:
        return self.transaction(Caller.service())

    async def ping(self) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("select 1")


async def become(conn: Connection, caller: Caller, *, statement_timeout_ms: int) -> None:
    """Switch the current transaction to ``caller``'s role and claims (``SET LOCAL``)."""
    # In a pipeline, the implicit BEGIN and these settings travel together: one round
    # trip per transaction instead of two.
    async with conn.pipeline():
        await set_caller(conn, caller, statement_timeout_ms=statement_timeout_ms)


async def set_caller(conn: Connection, caller: Caller, *, statement_timeout_ms: int) -> None:
    """``become``'s statement, without a pipeline of its own (one already open)."""
    await conn.execute(
        "select set_config('role', %s, true),"
        " set_config('request.jwt.claims', %s, true),"
        " set_config('statement_timeout', %s, true)",
        [caller.role.value, json.dumps(dict(caller.claims)), str(statement_timeout_ms)],
    )
