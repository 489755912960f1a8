"""A Postgres cluster that Atende runs itself, in a folder of the project's.

Used when no ``DATABASE_URL`` is set (``make dev``) and for the throwaway cluster of the
test suite. Postgres refuses to run as root, so as root every server binary runs as the
``postgres`` system user, which then owns the data folder.
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from atende.errors import AtendeError

logger = logging.getLogger(__name__)

#: How long a fast shutdown may take before the server is stopped immediately.
FAST_SHUTDOWN_SECONDS = 30
#: How long a connection may take to authenticate (see ``_server_options``).
AUTHENTICATION_TIMEOUT_SECONDS = 10

DEFAULT_DATABASE = "atende"
SUPERUSER = "postgres"
#: Extensions the migrations create that PostgreSQL does not ship (its contrib ones,
#: pgcrypto and unaccent, come with the server). pgvector: the knowledge base's vectors.
REQUIRED_EXTENSIONS = ("vector",)


class EmbeddedPostgresError(AtendeError):
    """The embedded Postgres cluster could not be managed."""


def find_postgres_bin_dir(configured: Path | None = None) -> Path:
    """Where ``initdb``, ``pg_ctl`` and ``postgres`` live on this machine."""
    candidates: list[Path] = []
    if configured is not None:
        candidates.append(configured)
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run(  # noqa: S603 - fixed argument list
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    versioned = Path("/usr/lib/postgresql").glob("*/bin")
    candidates.extend(sorted(versioned, key=_major_version, reverse=True))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise EmbeddedPostgresError(
        "PostgreSQL server binaries not found: install PostgreSQL 15+ "
        "or set ATENDE_PG_BIN_DIR to the folder that holds initdb and pg_ctl"
    )


def missing_extensions(bin_dir: Path) -> list[str]:
    """Which of ``REQUIRED_EXTENSIONS`` the server in ``bin_dir`` cannot create.

    Empty when it has them all, and when there is no ``pg_config`` to ask (the migration
    then says what is missing).
    """
    pg_config = bin_dir / "pg_config"
    if not pg_config.exists():
        found = shutil.which("pg_config")
        if found is None:
            return []
        pg_config = Path(found)
    result = subprocess.run(  # noqa: S603 - fixed argument list
        [str(pg_config), "--sharedir"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return []
    extensions = Path(result.stdout.strip()) / "extension"
    return [name for name in REQUIRED_EXTENSIONS if not (extensions / f"{name}.control").exists()]


def pgvector_script() -> Path | None:
    """``scripts/ensure-pgvector.sh`` of a source checkout, if Atende runs from one."""
    candidate = Path(__file__).resolve().parents[3] / "scripts" / "ensure-pgvector.sh"
    return candidate if candidate.is_file() else None


def _runuser() -> str:
    for candidate in (shutil.which("runuser"), "/usr/sbin/runuser", "/sbin/runuser"):
        if candidate and Path(candidate).exists():
            return candidate
    raise EmbeddedPostgresError("running as root needs runuser (util-linux) to drop privileges")


def _major_version(bin_dir: Path) -> int:
    match = re.search(r"/(\d+)/bin$", str(bin_dir))
    return int(match.group(1)) if match else 0


@dataclass
class EmbeddedPostgres:
    """One local cluster: a data folder, a port, and the binaries that run it."""

    data_dir: Path
    port: int
    #: Found on first use (``find_postgres_bin_dir``) when not given.
    bin_dir: Path | None = None
    database: str = DEFAULT_DATABASE
    #: Trade durability for speed: for throwaway test clusters only.
    ephemeral: bool = False
    max_connections: int = 100

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()

    @property
    def cluster_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    def url(self, database: str | None = None) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database or self.database}"

    def admin_url(self, database: str | None = None) -> str:
        """For work only a superuser may do: ``url``, since the one role here is one."""
        return self.url(database)

    # -- lifecycle ---------------------------------------------------------------------

    def is_initialized(self) -> bool:
        return (self.cluster_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialized():
            return False
        result = self._run_as_owner(["pg_ctl", "status", "-D", str(self.cluster_dir)], check=False)
        return result.returncode == 0

    def initialize(self) -> None:
        """Create the cluster with ``initdb`` if it does not exist yet."""
        if self.is_initialized():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cluster_dir.mkdir(mode=0o700, exist_ok=True)
        self._hand_over_to_owner(self.data_dir)
        self._run_as_owner(
            [
                "initdb",
                "-D",
                str(self.cluster_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ]
        )

    def start(self) -> None:
        """Start the server (initialising it first) and make sure the database exists."""
        self.ensure_extensions()
        self.initialize()
        if not self.is_running():
            self._hand_over_to_owner(self.data_dir)
            result = self._run_as_owner(
                [
                    "pg_ctl",
                    "start",
                    "-D",
                    str(self.cluster_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    " ".join(self._server_options()),
                ],
                check=False,
            )
            if result.returncode != 0:
                raise EmbeddedPostgresError(
                    f"Postgres did not start on port {self.port}: {self._log_tail()}"
                )
        self.create_database(self.database)

    def stop(self) -> None:
        """Fast shutdown (sessions ended, a checkpoint); immediate if that hangs.

        Immediate is what an operator does next (pg_ctl's documentation): the server
        stops without a checkpoint and recovers from the WAL at the next start.
        """
        if not self.is_running():
            return
        fast = ["pg_ctl", "stop", "-D", str(self.cluster_dir), "-m", "fast", "-w"]
        result = self._run_as_owner([*fast, "-t", str(FAST_SHUTDOWN_SECONDS)], check=False)
        if result.returncode == 0 or not self.is_running():
            return
        logger.warning(
            "Postgres did not stop within %d s (fast shutdown); stopping it immediately."
            " Server log: %s",
            FAST_SHUTDOWN_SECONDS,
            self._log_tail(10),
        )
        # The fast shutdown may finish in the meantime, and pg_ctl then fails for want of
        # a PID file: only a server still running afterwards is a failure.
        immediate = ["pg_ctl", "stop", "-D", str(self.cluster_dir), "-m", "immediate", "-w"]
        result = self._run_as_owner(immediate, check=False)
        if result.returncode != 0 and self.is_running():
            raise EmbeddedPostgresError(
                f"Postgres did not stop: {result.stderr.strip()} {self._log_tail(10)}"
            )

    def destroy(self) -> None:
        """Stop the server and delete the data folder."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def ensure_extensions(self) -> None:
        """Make sure the server has the extensions the migrations need (pgvector).

        From a source checkout, a missing one is built and installed by
        ``scripts/ensure-pgvector.sh`` (which ``make dev`` and ``make test`` run first,
        so this is for ``atende dev`` and ``pytest`` run by hand); otherwise the error
        says what to install.
        """
        if self.bin_dir is None:
            self.bin_dir = find_postgres_bin_dir()
        missing = missing_extensions(self.bin_dir)
        if not missing:
            return
        script = pgvector_script()
        if script is not None:
            logger.warning("pgvector is missing; installing it with %s", script)
            result = subprocess.run(  # noqa: S603 - the checkout's own script
                [str(script)],
                env={**os.environ, "ATENDE_PG_BIN_DIR": str(self.bin_dir)},
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode == 0 and not missing_extensions(self.bin_dir):
                return
            detail = (result.stderr or result.stdout).strip()
            raise EmbeddedPostgresError(f"installing pgvector failed: {detail}")
        raise EmbeddedPostgresError(
            f"PostgreSQL in {self.bin_dir} lacks the extension(s) {', '.join(missing)}: "
            "install pgvector for it (the postgresql-<major>-pgvector package, or "
            "scripts/ensure-pgvector.sh from Atende's source, as root)"
        )

    # -- databases ---------------------------------------------------------------------

    def create_database(self, name: str, template: str | None = None) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone()
            if exists:
                return
            statement = sql.SQL("create database {}").format(sql.Identifier(name))
            if template:
                statement = sql.SQL("create database {} template {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            conn.execute(statement)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )

    # -- internals ---------------------------------------------------------------------

    def _server_options(self) -> list[str]:
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=''",
            f"-c max_connections={self.max_connections}",
            # Postgres 15 does not stop while a connection that has not finished its
            # startup lingers, up to this timeout (60 s by default; Postgres 18 ends them
            # at once). Clients that connected during the shutdown kept a fast shutdown
            # waiting 30 s or more in the fault suite. Local clients authenticate in
            # milliseconds.
            f"-c authentication_timeout={AUTHENTICATION_TIMEOUT_SECONDS}s",
        ]
        if self.ephemeral:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        return options

    def _log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_file.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no server log"
        return " | ".join(text[-lines:]) or "empty server log"

    def _runs_as_root(self) -> bool:
        return os.geteuid() == 0

    def _hand_over_to_owner(self, path: Path) -> None:
        if not self._runs_as_root():
            return
        owner = pwd.getpwnam(SUPERUSER)
        for directory, _subdirs, files in os.walk(path):
            os.chown(directory, owner.pw_uid, owner.pw_gid)
            for name in files:
                os.chown(Path(directory) / name, owner.pw_uid, owner.pw_gid)

    def _run_as_owner(
        self, command: Sequence[str], *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        program, *arguments = command
        if self.bin_dir is None:
            self.bin_dir = find_postgres_bin_dir()
        argv = [str(self.bin_dir / program), *arguments]
        if self._runs_as_root():
            try:
                pwd.getpwnam(SUPERUSER)
            except KeyError as missing:
                raise EmbeddedPostgresError(
                    "running as root needs a 'postgres' system user to own the cluster"
                ) from missing
            argv = [_runuser(), "-u", SUPERUSER, "--", *argv]
        result = subprocess.run(  # noqa: S603 - arguments built from fixed parts
            argv, capture_output=True, text=True, check=False, cwd="/"
        )
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise EmbeddedPostgresError(
                f"{program} failed: {' | '.join(detail[-3:]) or f'exit {result.returncode}'}"
            )
        return result
