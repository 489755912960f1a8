"""What README's configuration table says of the embedded cluster: it keeps its data and
log in ATENDE_DATA_DIR, listens on 127.0.0.1 only (ATENDE_DB_PORT), and finds its
binaries in ATENDE_PG_BIN_DIR, else ``pg_config --bindir``, else the newest
``/usr/lib/postgresql/*/bin``."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from atende.db import embedded
from atende.db.embedded import EmbeddedPostgres, EmbeddedPostgresError, find_postgres_bin_dir
from tests.conftest import free_port


def test_the_cluster_keeps_its_data_and_log_in_its_folder_and_listens_on_loopback() -> None:
    # Not pytest's tmp_path: as root, the postgres user must be able to reach the folder.
    data_dir = Path(tempfile.mkdtemp(prefix="atende-embedded-"))
    cluster = EmbeddedPostgres(data_dir=data_dir, port=free_port(), ephemeral=True)
    try:
        cluster.start()
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            listening = conn.execute("show listen_addresses").fetchone()
            sockets = conn.execute("show unix_socket_directories").fetchone()
            directory = conn.execute("show data_directory").fetchone()

        assert listening == ("127.0.0.1",)
        assert sockets == ("",)  # no Unix socket either
        assert directory is not None
        assert Path(directory[0]).is_relative_to(data_dir.resolve())
        assert (data_dir / "postgres" / "PG_VERSION").exists()
        assert "database system is ready" in cluster.log_file.read_text()
        assert cluster.log_file.parent == data_dir.resolve()
    finally:
        cluster.destroy()
        shutil.rmtree(data_dir, ignore_errors=True)


def fake_bin_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    for program in ("initdb", "pg_ctl"):
        (path / program).write_text("#!/bin/sh\n")
    return path


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine of the test's making: ``/usr/lib/postgresql`` is ``tmp_path/lib``, and
    nothing is on the PATH until the test puts it there."""
    lib = tmp_path / "lib"
    lib.mkdir()
    real_path = Path

    def path(value: str | os.PathLike[str]) -> Path:
        return lib if str(value) == "/usr/lib/postgresql" else real_path(value)

    monkeypatch.setattr(embedded, "Path", path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    return tmp_path


def put_pg_config(machine: Path, bin_dir: Path) -> None:
    tools = machine / "empty-path"
    tools.mkdir(exist_ok=True)
    script = tools / "pg_config"
    script.write_text(f'#!/bin/sh\n[ "$1" = --bindir ] && echo "{bin_dir}"\n')
    script.chmod(0o755)


def test_the_newest_installed_version_is_found(machine: Path) -> None:
    for version in ("9", "15", "16"):  # 16 is newer than 9, though it sorts before it
        fake_bin_dir(machine / "lib" / version / "bin")

    assert find_postgres_bin_dir() == machine / "lib" / "16" / "bin"


def test_pg_config_comes_before_the_installed_versions(machine: Path) -> None:
    fake_bin_dir(machine / "lib" / "16" / "bin")
    chosen = fake_bin_dir(machine / "from-pg-config")
    put_pg_config(machine, chosen)

    assert find_postgres_bin_dir() == chosen


def test_the_configured_folder_comes_first(machine: Path) -> None:
    put_pg_config(machine, fake_bin_dir(machine / "from-pg-config"))
    configured = fake_bin_dir(machine / "configured")

    assert find_postgres_bin_dir(configured) == configured


def test_no_binaries_is_one_error_naming_the_setting(machine: Path) -> None:
    with pytest.raises(EmbeddedPostgresError, match="ATENDE_PG_BIN_DIR"):
        find_postgres_bin_dir()
