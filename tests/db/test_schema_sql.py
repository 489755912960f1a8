"""supabase/schema.sql is what the migrations make (as Procrastinate's schema is checked)."""

from __future__ import annotations

import difflib

import pytest

from atende.db.embedded import EmbeddedPostgres, find_postgres_bin_dir
from tests.db.schema_sql import REGENERATE, SCHEMA_FILE, major_of, pg_dump_major, render
from tests.supabase_shape import SHAPE_URL


@pytest.mark.skipif(
    SHAPE_URL is not None, reason="the Supabase shape adds its own roles' grants to the dump"
)
def test_schema_sql_is_what_the_migrations_make(postgres: EmbeddedPostgres) -> None:
    bin_dir = postgres.bin_dir or find_postgres_bin_dir()
    written = SCHEMA_FILE.read_text() if SCHEMA_FILE.exists() else ""
    if written and major_of(written) != pg_dump_major(bin_dir):
        pytest.skip(
            f"{SCHEMA_FILE.name} was written by pg_dump {major_of(written)}, this is"
            f" pg_dump {pg_dump_major(bin_dir)}: their output differs in form"
        )
    made = render(postgres.url(postgres.database), bin_dir)
    if written != made:
        diff = difflib.unified_diff(
            written.splitlines(),
            made.splitlines(),
            "supabase/schema.sql",
            "migrations",
            n=1,
            lineterm="",
        )
        shown = "\n".join(list(diff)[:60])
        pytest.fail(
            f"supabase/schema.sql is not what supabase/migrations make: run `{REGENERATE}`"
            f" and commit the file.\n{shown}",
            pytrace=False,
        )
