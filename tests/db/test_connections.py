"""What README's configuration table says of the database connections a process opens:
how many (ATENDE_DB_POOL_*, ATENDE_DB_SERVICE_POOL_MAX_SIZE), and how long connecting
may take (DATABASE_URL: 5 s unless the URL sets ``connect_timeout``; the check at start,
10 s)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from pydantic import SecretStr

from atende.config import Settings
from atende.db.pool import DatabaseUnavailable, create_pool
from atende.services import open_services


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A URL whose server accepts connections and never answers (a database stuck
    starting, shutting down, or behind a firewall that swallows the handshake)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"postgresql://postgres@127.0.0.1:{listener.getsockname()[1]}/atende"
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def seconds_to_give_up(conninfo: str) -> float:
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(conninfo)
    return time.monotonic() - started


def test_a_pool_connection_gives_up_after_5_seconds(silent_server: str) -> None:
    conninfo = create_pool(silent_server).conninfo
    assert isinstance(conninfo, str)

    assert 4.5 <= seconds_to_give_up(conninfo) < 8


def test_a_connect_timeout_in_the_url_is_kept(silent_server: str) -> None:
    conninfo = create_pool(f"{silent_server}?connect_timeout=1").conninfo
    assert isinstance(conninfo, str)

    assert conninfo_to_dict(conninfo)["connect_timeout"] == "1"
    assert seconds_to_give_up(conninfo) < 3


async def test_the_pools_have_the_sizes_the_settings_give(settings: Settings) -> None:
    sized = settings.model_copy(
        update={"db_pool_min_size": 2, "db_pool_max_size": 7, "db_service_pool_max_size": 3}
    )

    async with open_services(sized, name="atende-test-sizes") as services:
        team, service = services.database.pool, services.database.service_pool
        assert service is not None
        assert (team.min_size, team.max_size) == (2, 7)
        assert service.max_size == 3
        assert team.get_stats()["pool_size"] >= 2


async def test_the_check_at_start_gives_up_after_10_seconds_naming_the_database(
    settings: Settings, silent_server: str
) -> None:
    silent = settings.model_copy(update={"database_url": SecretStr(silent_server)})
    started = time.monotonic()

    with pytest.raises(DatabaseUnavailable, match="cannot connect to"):
        async with open_services(silent, name="atende-test-silent"):
            pass

    assert 9.5 <= time.monotonic() - started < 14
