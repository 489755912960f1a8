"""Applies ``supabase/migrations`` to any Postgres, recording them as the Supabase CLI does.

Both tools read and write ``supabase_migrations.schema_migrations`` (``version``,
``statements``, ``name``), so a database migrated by one is current for the other. Each
file runs in its own transaction together with its record: it lands whole or not at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from atende.errors import AtendeError
from atende.resources import migrations_dir

_FILE_NAME = re.compile(r"^(?P<version>\d{14})_(?P<name>[a-z0-9_]+)\.sql$")

# A fixed key so that two `atende db migrate` runs never interleave.
_ADVISORY_LOCK_KEY = 0x61_74_65_6E_64_65  # "atende"

_HISTORY_TABLE = """
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
    version text not null primary key
);
alter table supabase_migrations.schema_migrations add column if not exists statements text[];
alter table supabase_migrations.schema_migrations add column if not exists name text;
"""


class MigrationError(AtendeError):
    """A migration could not be applied."""


@dataclass(frozen=True, order=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def file_name(self) -> str:
        return self.path.name

    def read(self) -> str:
        return self.path.read_text()


def discover_migrations(directory: Path | None = None) -> list[Migration]:
    """Every migration file, in the order it must run."""
    folder = directory or migrations_dir()
    migrations = []
    for path in sorted(folder.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path.name}: migration files are named <14-digit UTC timestamp>_<name>.sql"
            )
        migrations.append(Migration(match["version"], match["name"], path))
    versions = [migration.version for migration in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a version")
    return migrations


def applied_versions(conn: psycopg.Connection[tuple[object, ...]]) -> set[str]:
    exists = conn.execute(
        "select to_regclass('supabase_migrations.schema_migrations') is not null"
    ).fetchone()
    if not exists or not exists[0]:
        return set()
    rows = conn.execute("select version from supabase_migrations.schema_migrations").fetchall()
    return {str(row[0]) for row in rows}


def pending_migrations(
    conn: psycopg.Connection[tuple[object, ...]], directory: Path | None = None
) -> list[Migration]:
    done = applied_versions(conn)
    return [m for m in discover_migrations(directory) if m.version not in done]


def apply_migrations(conninfo: str, directory: Path | None = None) -> list[Migration]:
    """Apply every pending migration, each in its own transaction; return those applied.

    A failing file rolls back alone: those before it stay applied and recorded.
    """
    applied: list[Migration] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", [_ADVISORY_LOCK_KEY])
        try:
            conn.execute(_HISTORY_TABLE)
            for migration in pending_migrations(conn, directory):
                _apply_one(conn, migration)
                applied.append(migration)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", [_ADVISORY_LOCK_KEY])
    return applied


def _apply_one(conn: psycopg.Connection[tuple[object, ...]], migration: Migration) -> None:
    text = migration.read()
    try:
        with conn.transaction():
            # No parameters: psycopg sends the file with the simple query protocol, which
            # runs every statement in it.
            conn.execute(text)
            conn.execute("reset all")
            conn.execute(
                "insert into supabase_migrations.schema_migrations (version, statements, name)"
                " values (%s, %s, %s)",
                [migration.version, [text], migration.name],
            )
    except psycopg.Error as error:
        raise MigrationError(f"{migration.file_name} failed: {_describe(error)}") from error


def _describe(error: psycopg.Error) -> str:
    diag = error.diag
    message = diag.message_primary or str(error).strip().splitlines()[0]
    parts = [f"{error.sqlstate or ''} {message}".strip()]
    if diag.context:
        parts.append(diag.context.strip().splitlines()[0])
    if diag.statement_position:
        parts.append(f"at character {diag.statement_position}")
    return "; ".join(parts)
