"""Migrations: complete on an empty database, idempotent, atomic per file."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from procrastinate.schema import SchemaManager

from atende.db.embedded import EmbeddedPostgres
from atende.db.migrations import (
    MigrationError,
    apply_migrations,
    discover_migrations,
    pending_migrations,
)
from atende.resources import migrations_dir


@pytest.fixture
def empty_database(postgres: EmbeddedPostgres) -> str:
    name = "empty_" + Path(__file__).stem
    postgres.drop_database(name)
    postgres.create_database(name, template="template0")
    return postgres.url(name)


def test_all_migrations_apply_to_an_empty_database(empty_database: str) -> None:
    applied = apply_migrations(empty_database)

    assert [m.version for m in applied] == [m.version for m in discover_migrations()]
    with psycopg.connect(empty_database) as conn:
        roles = conn.execute(
            "select rolname, rolbypassrls from pg_roles"
            " where rolname in ('anon', 'authenticated', 'service_role') order by rolname"
        ).fetchall()
        assert roles == [("anon", False), ("authenticated", False), ("service_role", True)]
        columns = {
            row[0]
            for row in conn.execute(
                "select column_name from information_schema.columns"
                " where table_schema = 'auth' and table_name = 'users'"
            )
        }
        assert {
            "id",
            "email",
            "encrypted_password",
            "raw_user_meta_data",
            "raw_app_meta_data",
            "created_at",
        } <= columns
        functions = {
            row[0]
            for row in conn.execute(
                "select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
                " where n.nspname = 'auth'"
            )
        }
        assert {"uid", "jwt", "role"} <= functions
        assert conn.execute(
            "select extnamespace::regnamespace::text from pg_extension where extname = 'pgcrypto'"
        ).fetchone() == ("extensions",)
        assert conn.execute(
            "select to_regclass('procrastinate.procrastinate_jobs') is not null,"
            " to_regclass('public.procrastinate_jobs') is null"
        ).fetchone() == (True, True)
        recorded = conn.execute(
            "select version, name, array_length(statements, 1)"
            " from supabase_migrations.schema_migrations order by version"
        ).fetchall()
        assert [(m.version, m.name, 1) for m in discover_migrations()] == recorded
        assert pending_migrations(conn) == []


def test_auth_functions_read_the_request_claims(empty_database: str) -> None:
    apply_migrations(empty_database)
    with psycopg.connect(empty_database) as conn:
        conn.execute(
            "select set_config('request.jwt.claims',"
            ' \'{"sub": "6f1c1a8e-6d0b-4c7e-9a55-5a2b3f1d2c11", "role": "authenticated"}\', true)'
        )
        row = conn.execute("select auth.uid()::text, auth.role(), auth.jwt() ->> 'sub'").fetchone()
    assert row == (
        "6f1c1a8e-6d0b-4c7e-9a55-5a2b3f1d2c11",
        "authenticated",
        "6f1c1a8e-6d0b-4c7e-9a55-5a2b3f1d2c11",
    )


def test_running_migrations_twice_is_a_no_op(empty_database: str) -> None:
    first = apply_migrations(empty_database)
    second = apply_migrations(empty_database)

    assert first
    assert second == []


def test_compatibility_migration_leaves_existing_supabase_objects_alone(
    empty_database: str,
) -> None:
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute("create schema auth")
        conn.execute("create table auth.users (id uuid primary key, email text, marker int)")
        conn.execute("create function auth.uid() returns uuid language sql as 'select null::uuid'")
    apply_migrations(empty_database)
    with psycopg.connect(empty_database) as conn:
        columns = [
            row[0]
            for row in conn.execute(
                "select column_name from information_schema.columns"
                " where table_schema = 'auth' and table_name = 'users' order by ordinal_position"
            )
        ]
        body = conn.execute("select prosrc from pg_proc where proname = 'uid'").fetchone()
    assert columns == ["id", "email", "marker"]
    assert body == ("select null::uuid",)


def test_a_failing_migration_rolls_back_alone_and_names_the_file(
    empty_database: str, tmp_path: Path
) -> None:
    (tmp_path / "20200101000000_first.sql").write_text("create table first_table (id int);")
    (tmp_path / "20200101000001_broken.sql").write_text(
        "create table half_done (id int);\nselect * from no_such_table;"
    )
    (tmp_path / "20200101000002_after.sql").write_text("create table after_table (id int);")

    with pytest.raises(MigrationError) as failure:
        apply_migrations(empty_database, tmp_path)

    assert "20200101000001_broken.sql" in failure.value.message
    assert "no_such_table" in failure.value.message
    with psycopg.connect(empty_database) as conn:
        tables = conn.execute(
            "select to_regclass('first_table') is not null, to_regclass('half_done') is null,"
            " to_regclass('after_table') is null"
        ).fetchone()
        versions = conn.execute(
            "select version from supabase_migrations.schema_migrations"
        ).fetchall()
    assert tables == (True, True, True)
    assert versions == [("20200101000000",)]


def test_badly_named_migration_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "create_things.sql").write_text("select 1;")
    with pytest.raises(MigrationError, match=r"create_things\.sql"):
        discover_migrations(tmp_path)


def test_procrastinate_migration_is_the_packaged_schema() -> None:
    """Upgrading Procrastinate needs a new migration; this notices when one is missing."""
    migration = next(m for m in discover_migrations(migrations_dir()) if m.name == "procrastinate")
    assert migration.read().endswith(SchemaManager.get_schema())
