"""The psycopg 3 connection pool each process opens once, in its lifespan."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeAlias
from weakref import WeakKeyDictionary

from psycopg import AsyncConnection, OperationalError, ProgrammingError
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from atende.errors import AtendeError

Connection: TypeAlias = AsyncConnection[DictRow]
Pool: TypeAlias = AsyncConnectionPool[Connection]

#: Procrastinate's tables and functions live in their own schema; connections that defer
#: or run jobs need it on their search path. ``extensions`` is where Supabase keeps pgcrypto.
SEARCH_PATH = "public, extensions, procrastinate"


class DatabaseUnavailable(AtendeError):
    """The database cannot be reached."""


#: How long the pool keeps trying to replace a lost connection (after 1 s, then doubling)
#: before that attempt gives up; the next request that finds no connection starts a new
#: one at once. psycopg_pool's default (5 minutes) lets the pause between tries grow past a
#: minute, so after an outage a process would notice the database's return that late.
RECONNECT_TIMEOUT_SECONDS = 15.0

#: How long one connection attempt may take, unless the connection string says otherwise.
#: psycopg's default is 130 s: an attempt against a server that accepts the connection and
#: does not answer (one shutting down waits for such clients up to its
#: ``authentication_timeout``, 60 s by default) would hold up the pool's next attempts.
CONNECT_TIMEOUT_SECONDS = 5


def with_connect_timeout(conninfo: str) -> str:
    """``conninfo`` with our ``connect_timeout``, unless it sets one of its own."""
    try:
        if conninfo_to_dict(conninfo).get("connect_timeout"):
            return conninfo
        return make_conninfo(conninfo, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    except ProgrammingError:
        return conninfo  # not parseable: connecting reports it


#: A connection handed out less than this ago is handed out again unchecked.
CHECK_IDLE_AFTER_SECONDS = 1.0
_handed_out_at: WeakKeyDictionary[Connection, float] = WeakKeyDictionary()


async def _check_if_idle(conn: Connection) -> None:
    """Check a connection that sat idle (a restart takes longer than a second to happen);
    one handed out a moment ago was alive then, and checking it would cost every request
    a round trip. (Timed from the hand-out, not the return: a ``reset`` callback to note
    returns would send every return through the pool's worker task.)"""
    now = time.monotonic()
    last = _handed_out_at.get(conn)
    _handed_out_at[conn] = now
    if last is not None and now - last < CHECK_IDLE_AFTER_SECONDS:
        return
    await AsyncConnectionPool.check_connection(conn)


async def _configure(conn: Connection) -> None:
    # Time zone UTC, by that name: the same zone as the Etc/UTC a cluster may default
    # to, but psycopg reads timestamps of a session in "UTC" with datetime's own UTC,
    # about a fifth faster than through a zoneinfo zone (an inbox page has ~200).
    await conn.execute(f"set search_path to {SEARCH_PATH}; set time zone 'UTC'")
    await conn.commit()


def _configure_with(
    session_settings: Mapping[str, str], *, autocommit: bool
) -> Callable[[Connection], Awaitable[None]]:
    """The pool's ``configure``: our defaults, then ``session_settings`` for the session's
    lifetime (``set_config(name, value, false)``), then autocommit if asked."""
    names, values = list(session_settings), list(session_settings.values())

    async def configure(conn: Connection) -> None:
        await _configure(conn)
        if names:
            await conn.execute(
                "select set_config(s.name, s.value, false)"
                " from unnest(%s::text[], %s::text[]) as s (name, value)",
                [names, values],
            )
            await conn.commit()
        if autocommit:
            await conn.set_autocommit(True)

    return configure


def create_pool(
    conninfo: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    name: str = "atende",
    autocommit: bool = False,
    wait_timeout: float = 30.0,
    session_settings: Mapping[str, str] | None = None,
) -> Pool:
    """A closed pool; open it with ``await pool.open(wait=True)``.

    ``autocommit``: connections run each statement as its own transaction, one round
    trip (psycopg otherwise sends BEGIN and COMMIT around it: three). For callers whose
    every unit of work is one statement, such as Procrastinate's queue operations;
    ``Database`` transactions need the default.

    ``wait_timeout``: how long a caller waits for a connection (all busy, or the database
    away) before ``psycopg_pool.PoolTimeout``; callers may pass their own.

    ``session_settings``: settings every connection keeps for its whole session (the
    service pool's role and claims: see ``atende.db.session``). Safe because connections
    are never shared between sessions: ``DATABASE_URL`` is a direct or session-pooler
    connection, never the transaction pooler.
    """
    return AsyncConnectionPool(
        with_connect_timeout(conninfo),
        connection_class=AsyncConnection[DictRow],
        kwargs={"row_factory": dict_row, "application_name": name},
        min_size=min_size,
        max_size=max_size,
        open=False,
        configure=_configure_with(session_settings or {}, autocommit=autocommit),
        # Hands out only live connections: after a Postgres restart the pool replaces
        # dead ones instead of failing the next requests.
        check=_check_if_idle,
        name=name,
        timeout=wait_timeout,
        reconnect_timeout=RECONNECT_TIMEOUT_SECONDS,
    )


async def open_pool(
    pool: Pool, timeout: float = 10.0, *, check_reachable_first: bool = True
) -> None:
    """Open the pool, failing fast with the cause when the database does not answer
    (unless the caller has just checked that: ``check_reachable_first=False``)."""
    conninfo = pool.conninfo
    if check_reachable_first and isinstance(conninfo, str):
        await check_reachable(conninfo, timeout=timeout)
    await pool.open(wait=True, timeout=timeout)


async def check_reachable(conninfo: str, timeout: float = 10.0) -> None:
    """Connect once, so an unreachable database is reported with its cause."""
    try:
        conn = await AsyncConnection.connect(conninfo, connect_timeout=max(1, int(timeout)))
    except OperationalError as error:
        raise DatabaseUnavailable(
            f"cannot connect to {describe_target(conninfo)}: {first_line(error)}"
        ) from error
    await conn.close()


def first_line(error: BaseException) -> str:
    """The cause in libpq's message, without the address it repeats or its hints.

    libpq says ``connection to server at "h", port p failed: <cause>`` and then a hint
    line; the cause is what an operator needs.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    cause = lines[0].rsplit("failed: ", 1)[-1].strip()
    return cause or lines[0]


def describe_target(conninfo: str) -> str:
    """``host:port/database`` of a connection string, without its credentials."""
    try:
        parts = conninfo_to_dict(conninfo)
    except Exception:
        return "the database"
    host = parts.get("host") or parts.get("hostaddr") or "localhost"
    port = parts.get("port") or 5432
    database = parts.get("dbname") or ""
    return f"{host}:{port}/{database}"
