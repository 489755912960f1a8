"""Every pgTAP file under supabase/tests, each in a fresh migrated database."""

from __future__ import annotations

from pathlib import Path

import pytest

from atende.db.embedded import EmbeddedPostgres
from tests.db.pgtap import install_pgtap, run_pgtap_file

SQL_TESTS = sorted((Path(__file__).parents[2] / "supabase" / "tests").glob("*.sql"))


@pytest.mark.parametrize("path", SQL_TESTS, ids=[path.name for path in SQL_TESTS])
def test_pgtap_file(postgres: EmbeddedPostgres, database_url: str, path: Path) -> None:
    install_pgtap(database_url)
    database = database_url.rsplit("/", 1)[1]
    report = run_pgtap_file(postgres, database, path)
    assert report.planned > 0, report.output
    assert not report.failed, report.output
    assert len(report.passed) == report.planned, report.output


def test_there_are_pgtap_files() -> None:
    assert SQL_TESTS, "supabase/tests holds the SQL test suite"
