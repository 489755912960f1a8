"""Databases for tests: a migrated copy of the template for each test, reused when clean.

Copying the template (``create database ... template``) costs a few hundred
milliseconds; emptying the tables of the previous test's database costs a few dozen. So a
test's database is kept for the next test when its schema is still exactly the template's
(same relations, functions, policies, triggers and migration records): its other
connections are terminated and every table the template has empty is truncated. A test
that changed the schema, dropped its database, or left it unreachable gets it thrown away
and the next test a fresh copy.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Protocol

import psycopg
from psycopg import sql

# What makes two databases "the same schema" for the tests' purposes.
_FINGERPRINT = """
select md5(concat_ws('|',
    (select string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, ',' order by 1)
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
        and n.nspname not like 'pg\\_temp%' and n.nspname not like 'pg\\_toast\\_temp%'),
    (select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname not in ('pg_catalog', 'information_schema')),
    (select count(*) from pg_trigger),
    (select count(*) from pg_policy),
    (select string_agg(version, ',' order by version)
       from supabase_migrations.schema_migrations)
))
"""

_TABLES = """
select format('%I.%I', n.nspname, c.relname) as name
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p')
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname not like 'pg\\_%'
order by 1
"""


class TestCluster(Protocol):
    """A running Postgres the tests get databases from: the embedded cluster, or the
    Supabase shape (tests/supabase_shape.py)."""

    bin_dir: Path | None

    @property
    def database(self) -> str:
        """The database ``url()`` names when given none: the migrated template."""

    def url(self, database: str | None = None) -> str:
        """Connecting as the application does."""

    def admin_url(self, database: str | None = None) -> str:
        """Connecting as a superuser, for the tests' own housekeeping."""

    def create_database(self, name: str, template: str | None = None) -> None: ...

    def drop_database(self, name: str) -> None: ...

    def destroy(self) -> None: ...


class TestDatabases:
    """Hands out migrated databases, one at a time (tests run one after another)."""

    def __init__(self, cluster: TestCluster, template: str) -> None:
        self.cluster = cluster
        self.template = template
        self._spare: str | None = None
        with psycopg.connect(cluster.admin_url(template), autocommit=True) as conn:
            row = conn.execute(_FINGERPRINT).fetchone()
            assert row is not None
            self._template_fingerprint = str(row[0])
            tables = [str(r[0]) for r in conn.execute(_TABLES)]
            empty = [
                table
                for table in tables
                if conn.execute(
                    sql.SQL("select not exists (select from {})").format(
                        sql.SQL(table)  # names quoted by format('%I') above
                    )
                ).fetchone()
                == (True,)
            ]
        self._truncate = sql.SQL("truncate table {} restart identity cascade").format(
            sql.SQL(", ").join(sql.SQL(table) for table in empty)
        )

    def acquire(self) -> str:
        if self._spare is not None:
            name, self._spare = self._spare, None
            return name
        name = f"test_{uuid.uuid4().hex[:16]}"
        self.cluster.create_database(name, template=self.template)
        return name

    def release(self, name: str) -> None:
        try:
            if self._reset(name):
                self._spare = name
                return
        except psycopg.Error:
            pass
        self.cluster.drop_database(name)

    def _reset(self, name: str) -> bool:
        with psycopg.connect(self.cluster.admin_url("postgres"), autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", [name])
            if exists.fetchone() is None:
                return False
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity"
                " where datname = %s and pid <> pg_backend_pid()",
                [name],
            )
        with psycopg.connect(self.cluster.admin_url(name), autocommit=True) as conn:
            row = conn.execute(_FINGERPRINT).fetchone()
            if row is None or str(row[0]) != self._template_fingerprint:
                return False
            conn.execute("set lock_timeout = '2s'")
            conn.execute(self._truncate)
        return True

    def close(self) -> None:
        if self._spare is not None:
            self.cluster.drop_database(self._spare)
            self._spare = None
