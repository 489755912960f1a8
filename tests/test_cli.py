"""The `atende` command: clear one-line errors, and the database it manages."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest

from atende.db import embedded
from atende.db.embedded import EmbeddedPostgres
from tests.conftest import free_port


def atende(
    *arguments: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "atende", *arguments],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})},
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_unreachable_database_is_one_line_naming_the_host(command: str) -> None:
    port = free_port()
    result = atende(command, env={"DATABASE_URL": f"postgresql://u:hunter22@127.0.0.1:{port}/x"})

    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert f"127.0.0.1:{port}/x" in result.stderr
    assert "refused" in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert "hunter22" not in result.stderr


def test_simulate_without_the_database_says_which_settings_to_share() -> None:
    port = free_port()
    result = atende(
        "simulate",
        "--channel",
        "+5511999990000",
        "--from",
        "+5511988887777",
        "oi",
        env={"DATABASE_URL": f"postgresql://u:hunter22@127.0.0.1:{port}/x"},
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot reach the database" in result.stderr
    assert "same DATABASE_URL" in result.stderr
    assert "hunter22" not in result.stderr


def test_invalid_settings_are_reported_by_name() -> None:
    result = atende("serve", env={"ATENDE_SECRET_KEY": "short", "ATENDE_PORT": "http"})

    assert result.returncode != 0
    assert "ATENDE_SECRET_KEY" in result.stderr
    assert "ATENDE_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_url_prints_database_url_when_set() -> None:
    result = atende("db", "url", env={"DATABASE_URL": "postgresql://a@db.example:5432/app"})
    assert result.stdout.strip() == "postgresql://a@db.example:5432/app"


def test_db_commands_with_database_url_never_start_a_cluster(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql://a@127.0.0.1:1/app", "ATENDE_DATA_DIR": str(tmp_path)}
    result = atende("db", "start", env=env)
    assert result.returncode == 0
    assert "nothing to start" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_migrate_on_a_current_database_says_so(database_url: str) -> None:
    result = atende("db", "migrate", env={"DATABASE_URL": database_url})
    assert result.returncode == 0
    assert "up to date" in result.stdout


def test_migrate_failure_exits_non_zero_naming_the_file(database_url: str) -> None:
    # Forget that the messaging migration ran: applying it again fails on its first
    # `create table`, as a migration that does not fit the database would.
    failing = "20261207000200_messaging.sql"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "delete from supabase_migrations.schema_migrations where version = %s",
            [failing.split("_", 1)[0]],
        )

    result = atende("db", "migrate", env={"DATABASE_URL": database_url})

    assert result.returncode == 1
    assert failing in result.stderr
    assert "already exists" in result.stderr
    assert "Traceback" not in result.stderr
    with psycopg.connect(database_url) as conn:
        recorded = conn.execute(
            "select count(*) from supabase_migrations.schema_migrations where version = %s",
            [failing.split("_", 1)[0]],
        ).fetchone()
    assert recorded == (0,), "a failed migration is not recorded as applied"


def test_embedded_database_lifecycle() -> None:
    # Not pytest's tmp_path: the postgres user must be able to reach the folder.
    data_dir = Path(tempfile.mkdtemp(prefix="atende-cli-"))
    env = {"ATENDE_DATA_DIR": str(data_dir), "ATENDE_DB_PORT": str(free_port())}
    try:
        started = atende("db", "start", env=env)
        assert started.returncode == 0, started.stderr
        url = atende("db", "url", env=env).stdout.strip()
        assert url.endswith(f":{env['ATENDE_DB_PORT']}/atende")

        migrated = atende("db", "migrate", env=env)
        assert "applied 20261124000000_supabase_compat.sql" in migrated.stdout
        status = atende("db", "status", env=env)
        assert status.returncode == 0
        assert "0 migration(s) pending" in status.stdout

        reset = atende("db", "reset", "--yes", env=env)
        assert reset.returncode == 0, reset.stderr
        assert "applied 20261124000000_supabase_compat.sql" in reset.stdout

        assert atende("db", "stop", env=env).returncode == 0
        stopped = atende("db", "status", env=env)
        assert stopped.returncode == 1
        assert "not running" in stopped.stdout
    finally:
        EmbeddedPostgres(data_dir=data_dir, port=int(env["ATENDE_DB_PORT"])).destroy()


def test_a_stop_that_hangs_ends_immediately_and_loses_nothing_committed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No time at all for the fast shutdown: pg_ctl gives up at once while the server is
    # still shutting down, so stop() goes on to an immediate shutdown.
    monkeypatch.setattr(embedded, "FAST_SHUTDOWN_SECONDS", 0)
    cluster = EmbeddedPostgres(
        data_dir=Path(tempfile.mkdtemp(prefix="atende-stop-")),
        port=free_port(),
        database="atende",
        ephemeral=False,
    )
    try:
        cluster.start()
        with psycopg.connect(cluster.url("atende"), autocommit=True) as conn:
            conn.execute("create table kept (n integer)")
            conn.execute("insert into kept select generate_series(1, 1000)")
        cluster.stop()
        assert not cluster.is_running()
        cluster.start()
        with psycopg.connect(cluster.url("atende")) as conn:
            assert conn.execute("select count(*) from kept").fetchone() == (1000,)
    finally:
        cluster.destroy()


def test_connections_opened_during_a_shutdown_do_not_hold_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Postgres 15 waits for connections that arrive during its shutdown and never send a
    # startup packet, up to authentication_timeout: found in the fault suite, where a
    # fast shutdown under client retries held 30 s and more.
    monkeypatch.setattr(embedded, "AUTHENTICATION_TIMEOUT_SECONDS", 1)
    monkeypatch.setattr(embedded, "FAST_SHUTDOWN_SECONDS", 20)
    cluster = EmbeddedPostgres(
        data_dir=Path(tempfile.mkdtemp(prefix="atende-stop-")), port=free_port(), ephemeral=True
    )
    silent: list[socket.socket] = []
    try:
        cluster.start()
        with psycopg.connect(cluster.url()) as conn:
            assert conn.execute("show authentication_timeout").fetchone() == ("1s",)
        stopping = threading.Thread(target=cluster.stop)
        stopping.start()
        while stopping.is_alive() and len(silent) < 20:
            with contextlib.suppress(OSError):
                silent.append(socket.create_connection(("127.0.0.1", cluster.port), timeout=1))
            time.sleep(0.01)
        stopping.join(timeout=60)
        assert silent, "no connection reached the server while it was stopping"
        assert not cluster.is_running()
        assert "stopping it immediately" not in caplog.text
    finally:
        for connection in silent:
            connection.close()
        cluster.destroy()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_worker_stops_gracefully_on_signal(database_url: str, stop_signal: signal.Signals) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-m", "atende", "worker"],
        env={"PATH": os.environ.get("PATH", ""), "DATABASE_URL": database_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert worker.stdout is not None
    for line in worker.stdout:
        if "Starting worker" in line:
            break
    worker.send_signal(stop_signal)
    output = worker.communicate(timeout=30)[0]

    assert worker.returncode == 0, output
    assert "worker stopped" in output


def wait_until_idle(database_url: str, timeout: float = 30.0) -> None:
    """Until the worker's startup jobs ran and none is running or due (for half a second).

    So the outage meets an idle worker, which stops at once when its LISTEN connection
    dies. One meeting jobs mid-way stops only after their connections time out (5 s in the
    queue's pool, up to 30 s in the shared one), which tests/faults/test_postgres_restart.py
    covers with a live load.
    """
    busy_or_done = """
        select count(*) filter (
                   where status = 'doing'
                      or status = 'todo' and coalesce(scheduled_at, now()) <= now()
               ),
               count(*) filter (where status in ('succeeded', 'failed'))
          from procrastinate.procrastinate_jobs
    """
    deadline = time.monotonic() + timeout
    idle_since: float | None = None
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            busy, done = conn.execute(busy_or_done).fetchone() or (1, 0)
            if busy or not done:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= 0.5:
                return
            time.sleep(0.1)
    raise AssertionError(f"the worker was not idle within {timeout} s")


def test_worker_outlives_a_database_outage(database_url: str, postgres: EmbeddedPostgres) -> None:
    # Procrastinate stops its worker when its LISTEN connection cannot reconnect (found by
    # tests/faults/test_postgres_restart.py): the process starts a new one, once it can.
    worker = subprocess.Popen(
        [sys.executable, "-m", "atende", "worker"],
        env={"PATH": os.environ.get("PATH", ""), "DATABASE_URL": database_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    watchdog = threading.Timer(120, worker.kill)  # a hung worker fails the test, not CI
    watchdog.start()
    database = database_url.rsplit("/", 1)[1]
    seen: list[str] = []

    def read_until(*texts: str) -> None:
        assert worker.stdout is not None
        for line in worker.stdout:
            seen.append(line)
            if any(text in line for text in texts):
                return
        raise AssertionError(f"the worker ended before {texts}:\n{''.join(seen)}")

    try:
        read_until("Starting worker")
        wait_until_idle(database_url)
        with psycopg.connect(postgres.url("postgres"), autocommit=True) as admin:
            admin.execute(f'alter database "{database}" allow_connections false')
            try:
                admin.execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
                    [database],
                )
                # Procrastinate stops its worker (a side task failed, or it did).
                read_until("Side task", "queue worker stopped by itself")
            finally:
                admin.execute(f'alter database "{database}" allow_connections true')
        read_until("Starting worker")
        assert worker.poll() is None
        assert "queue worker stopped by itself" in "".join(seen)
        worker.send_signal(signal.SIGTERM)
        output = "".join(seen) + worker.communicate(timeout=60)[0]
    finally:
        watchdog.cancel()
        worker.kill()
    assert worker.returncode == 0, output
    assert "worker stopped" in output
