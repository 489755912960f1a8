"""Every pgTAP file under supabase/tests, each in a fresh migrated database."""

from __future__ import annotations

import re
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


@pytest.mark.parametrize("path", SQL_TESTS, ids=[path.name for path in SQL_TESTS])
def test_pgtap_file_declares_its_plan(path: Path) -> None:
    """A file that stops early, or skips a test, then fails: its count is written down."""
    text = path.read_text()
    assert re.search(r"^select plan\(\d+\);$", text, re.MULTILINE), (
        f"{path.name}: declare how many tests run, `select plan(N);`"
    )
    assert "no_plan" not in text, f"{path.name}: `select plan(N);`, not no_plan()"


@pytest.mark.parametrize("path", SQL_TESTS, ids=[path.name for path in SQL_TESTS])
def test_pgtap_file_acts_as_users_through_the_helper(path: Path) -> None:
    """Roles and JWT claims are set by supabase/tests/act_as.psql's functions only."""
    text = path.read_text().lower()
    by_hand = re.search(
        r"^\s*(set (local |session )?role|reset role)\b|set_config\('role'|jwt\.claims",
        text,
        re.MULTILINE,
    )
    assert by_hand is None, (
        f"{path.name} sets {by_hand.group(0).strip()!r} by hand: `\\ir act_as.psql` and call"
        " pg_temp.act_as(user_id), act_as_anon(), act_as_service_role() or reset_role()"
    )
