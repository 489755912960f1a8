"""What every resolver receives: who is calling, and their database transaction."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar, cast

import psycopg
import strawberry
from starlette.requests import Request
from starlette.websockets import WebSocket

from atende.db.pool import Connection
from atende.db.session import Caller, Database
from atende.dependencies import Dependencies

T = TypeVar("T")


class RequestTransaction:
    """One transaction per GraphQL operation, as the caller, opened on first use.

    Queries that never touch the database never take a connection; those that do share
    one, so DataLoaders batch within a consistent snapshot. The operation's outcome
    decides commit or rollback (see ``TransactionExtension``). The transaction is
    ``Database.transaction``'s, held open across the operation.

    Root fields resolve concurrently: the first use opens the transaction under a lock,
    so they all wait for the one connection instead of each taking one of their own (of
    which all but one would never be committed nor returned to the pool).
    """

    def __init__(self, database: Database, caller: Caller) -> None:
        self._database = database
        self.caller = caller
        self._stack: AsyncExitStack | None = None
        self._conn: Connection | None = None
        self._opening = asyncio.Lock()

    @property
    def opened(self) -> bool:
        """The transaction has begun (a statement of the operation's ran in it)."""
        return self._conn is not None

    async def connection(self) -> Connection:
        if self._conn is not None:
            return self._conn
        async with self._opening:
            if self._conn is None:
                stack = AsyncExitStack()
                conn = await stack.enter_async_context(self._database.transaction(self.caller))
                self._stack, self._conn = stack, conn
            return self._conn

    async def finish(self, *, commit: bool) -> None:
        stack = self._stack
        self._conn, self._stack = None, None
        if stack is None:
            return
        if commit:
            await stack.aclose()
        else:
            # Database.transaction rolls back on ``Rollback`` and swallows it.
            rollback = psycopg.Rollback()
            await stack.__aexit__(type(rollback), rollback, None)


@dataclass
class OperationScope:
    """What belongs to one GraphQL operation: its transaction and its DataLoaders.

    A WebSocket connection shares one ``Context`` between many operations, so these live
    in a context variable set per operation (``TransactionExtension``), not on the context.
    """

    transaction: RequestTransaction
    loaders: dict[str, Any] = field(default_factory=dict)


_current_operation: ContextVar[OperationScope | None] = ContextVar(
    "atende_graphql_operation", default=None
)


@dataclass
class Context:
    """The GraphQL context: built per HTTP request or per WebSocket connection."""

    database: Database
    dependencies: Dependencies
    request: Request | WebSocket
    caller: Caller = field(default_factory=Caller.anonymous)
    #: Set when the request carried a token that failed verification.
    authentication_failed: bool = False
    request_id: str = field(default_factory=lambda: secrets.token_hex(16))
    connection_params: dict[str, Any] | None = None
    #: The client's IP address (the peer's, or a trusted proxy's ``X-Forwarded-For``):
    #: what rate limits count per address.
    client_address: str | None = None
    #: Queries the SQL declarations cover run as one statement
    #: (``atende.graphql.sql_selection``); off, every query resolves field by field.
    compile_selections: bool = True

    @property
    def operation(self) -> OperationScope:
        scope = _current_operation.get()
        if scope is None:
            raise RuntimeError("no GraphQL operation is running")
        return scope

    def begin_operation(self) -> Token[OperationScope | None]:
        return _current_operation.set(
            OperationScope(RequestTransaction(self.database, self.caller))
        )

    @staticmethod
    def end_operation(token: Token[OperationScope | None]) -> None:
        _current_operation.reset(token)

    async def db(self) -> Connection:
        """The operation's connection, inside its transaction as the caller."""
        return await self.operation.transaction.connection()

    def loader(self, name: str, factory: Callable[[], T]) -> T:
        """The operation's DataLoader called ``name``, made on first use. Names are
        ``<domain>.<what>`` (``identity.users``), so two domains never share one."""
        loaders = self.operation.loaders
        if name not in loaders:
            loaders[name] = factory()
        return cast(T, loaders[name])

    async def release(self, *, commit: bool = True) -> None:
        """End the operation's transaction and forget its DataLoaders.

        For operations that live on (subscriptions): each event is read in a transaction
        of its own, opened on first use, so nothing is held while waiting for the next
        one, and nothing cached from an earlier event is served as current.
        """
        scope = self.operation
        transaction = scope.transaction
        scope.transaction = RequestTransaction(self.database, self.caller)
        scope.loaders.clear()
        await transaction.finish(commit=commit)

    def get(self, kind: type[T]) -> T:
        """The process's ``kind`` (a domain's service, the realtime hub...)."""
        return self.dependencies.get(kind)

    @asynccontextmanager
    async def short_transaction(self) -> AsyncIterator[Connection]:
        """A transaction of its own, as the caller (subscriptions: one per event)."""
        async with self.database.transaction(self.caller) as conn:
            yield conn


Info: TypeAlias = strawberry.Info[Context, None]
