"""supabase/schema.sql: Atende's schemas as the migrations leave them, in one file to read.

``python -m tests.db.schema_sql`` (``make schema-sql``) migrates a throwaway database and
writes the file; tests/db/test_schema_sql.py fails when the migrations and the file differ.

The file holds ``public`` and ``private``, Atende's own schemas, as ``pg_dump --schema-only
--no-owner`` prints them (tables, functions, policies, grants, comments), without what
changes from run to run. Left out: ``auth`` and ``extensions`` (Supabase's, or the compat
migration's stand-ins for them), ``procrastinate`` (Procrastinate's packaged schema, which
tests/db/test_migrations.py checks) and ``supabase_migrations`` (the migration history).
"""

from __future__ import annotations

import re
import socket
import subprocess
import tempfile
from pathlib import Path

from atende.db.embedded import EmbeddedPostgres, find_postgres_bin_dir
from atende.db.migrations import apply_migrations

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "supabase" / "schema.sql"
SCHEMAS = ("public", "private")
REGENERATE = "make schema-sql"

_HEADER = """\
-- supabase/schema.sql: GENERATED, do not edit. Regenerate with `{command}`
-- (python -m tests.db.schema_sql) after changing supabase/migrations/; a test
-- (tests/db/test_schema_sql.py) fails while the two differ.
--
-- The place to read today's schema: Atende's own schemas ({schemas}) exactly as the
-- migrations leave them (pg_dump --schema-only --no-owner, pg_dump {major}), with every
-- table, function, trigger, policy, grant and comment once, in pg_dump's order. Why an
-- object is the way it is: the comments in the migration that creates it. Not here:
-- auth and extensions (Supabase's, or the stand-ins of the compat migration) and
-- procrastinate (Procrastinate's packaged schema, checked by tests/db/test_migrations.py).
"""

_MAJOR = re.compile(r"pg_dump (\d+)\)")
_NOISE = (
    # Per run or per machine: pg_dump's random \restrict key, its version, session SETs.
    re.compile(r"^\\(un)?restrict "),
    re.compile(r"^-- Dumped (from|by) "),
    re.compile(r"^SET "),
    re.compile(r"^SELECT pg_catalog\.set_config\('search_path'"),
    re.compile(r"^-- PostgreSQL database dump( complete)?$"),
)


def pg_dump_major(bin_dir: Path) -> int:
    """The major version of the pg_dump in ``bin_dir``: the output's form depends on it."""
    version = subprocess.run(  # noqa: S603 - fixed arguments
        [str(bin_dir / "pg_dump"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"\) (\d+)", version) or re.search(r"(\d+)", version)
    assert match, version
    return int(match.group(1))


def major_of(text: str) -> int | None:
    """The pg_dump major version a schema.sql was written with (from its header)."""
    match = _MAJOR.search(text)
    return int(match.group(1)) if match else None


def render(conninfo: str, bin_dir: Path) -> str:
    """The text of schema.sql for the database at ``conninfo``."""
    arguments = [str(bin_dir / "pg_dump"), "--schema-only", "--no-owner"]
    arguments += [f"--schema={schema}" for schema in SCHEMAS]
    dump = subprocess.run(  # noqa: S603 - fixed arguments
        [*arguments, "--dbname", conninfo], capture_output=True, text=True, check=True
    ).stdout
    lines = [line for line in dump.splitlines() if not any(p.search(line) for p in _NOISE)]
    body = "\n".join(lines).replace("; Owner: -\n", "\n")
    # What is left of the banner, and each object's three-line title made one line.
    body = re.sub(r"^--\n--$", "", body, flags=re.MULTILINE)
    body = re.sub(r"^--\n(-- Name: .*)\n--$", r"\1", body, flags=re.MULTILINE)
    body = re.sub(r"\n{3,}", "\n\n", body).strip("\n")
    header = _HEADER.format(
        command=REGENERATE, schemas=", ".join(SCHEMAS), major=pg_dump_major(bin_dir)
    )
    return f"{header}\n{body}\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def generate() -> str:
    """Migrate a database on a throwaway cluster and render it."""
    cluster = EmbeddedPostgres(
        data_dir=Path(tempfile.mkdtemp(prefix="atende-schema-sql-")),
        port=_free_port(),
        database="schema_sql",
        ephemeral=True,
    )
    cluster.start()
    try:
        apply_migrations(cluster.url())
        return render(cluster.url(), cluster.bin_dir or find_postgres_bin_dir())
    finally:
        cluster.destroy()


def main() -> None:
    text = generate()
    changed = not SCHEMA_FILE.exists() or SCHEMA_FILE.read_text() != text
    SCHEMA_FILE.write_text(text)
    print(f"{'wrote' if changed else 'unchanged:'} {SCHEMA_FILE}")


if __name__ == "__main__":
    main()
