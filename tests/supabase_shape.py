"""Tests on a database shaped like a new Supabase project's (``make test-supabase``).

``scripts/test-supabase.sh`` builds the cluster from ``../shared/supabase-shape`` and
migrates a template database there as ``postgres``, then runs a part of the suite with
``TEST_ON_SUPABASE_SHAPE`` set to that cluster's address. The tests then connect as
``postgres`` (on Supabase not a superuser: what an application's ``DATABASE_URL`` is),
and do what needs more (copying and dropping databases, loading pgTAP) as
``supabase_admin``, the platform's own superuser. Users are kept by Supabase Auth there,
which writes ``auth.users`` as ``supabase_auth_admin``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from atende.db.embedded import find_postgres_bin_dir

#: Set by scripts/test-supabase.sh: ``postgresql://postgres@127.0.0.1:<port>/<template>``.
#: Read at import, before any fixture clears the environment.
SHAPE_URL = os.environ.get("TEST_ON_SUPABASE_SHAPE") or None

APPLICATION_ROLE = "postgres"
ADMIN_ROLE = "supabase_admin"
AUTH_ROLE = "supabase_auth_admin"


def as_role(url: str, role: str) -> str:
    """``url`` (``postgresql://user@host:port/db``) connecting as ``role`` instead (the
    shape trusts local connections)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))


def as_role_on_shape(url: str, role: str) -> str:
    """``url`` as ``role`` on the Supabase shape; elsewhere ``url`` itself (the embedded
    cluster has one role, a superuser, which stands for every other)."""
    return as_role(url, role) if SHAPE_URL else url


def on_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


@dataclass
class SupabaseShapeCluster:
    """The part of ``EmbeddedPostgres`` the tests use, over the shape's running cluster."""

    template_url: str
    bin_dir: Path | None = None

    def __post_init__(self) -> None:
        self.bin_dir = self.bin_dir or find_postgres_bin_dir()

    @property
    def database(self) -> str:
        """The migrated template, as ``EmbeddedPostgres.database`` is."""
        return urlsplit(self.template_url).path.lstrip("/")

    def url(self, database: str | None = None) -> str:
        return as_role(on_database(self.template_url, database or self.database), APPLICATION_ROLE)

    def admin_url(self, database: str | None = None) -> str:
        return as_role(self.url(database), ADMIN_ROLE)

    def create_database(self, name: str, template: str | None = None) -> None:
        statement = sql.SQL("create database {} template {} owner {}").format(
            sql.Identifier(name),
            sql.Identifier(template or self.database),
            sql.Identifier(APPLICATION_ROLE),
        )
        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            conn.execute(statement)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )

    def destroy(self) -> None:
        """The script that built the cluster stops it."""
