"""Runs a pgTAP file with psql and reads its TAP output."""

from __future__ import annotations

import glob
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg

from atende.db.embedded import EmbeddedPostgres, find_postgres_bin_dir

_PLAN = re.compile(r"^1\.\.(\d+)$", re.MULTILINE)
_RESULT = re.compile(r"^(not ok|ok) (\d+)(.*)$", re.MULTILINE)


@dataclass
class TapReport:
    planned: int
    passed: list[str]
    failed: list[str]
    output: str


def install_pgtap(conninfo: str) -> None:
    """``create extension pgtap``, or load the SQL unpacked by scripts/ensure-pgtap.sh."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        try:
            conn.execute("create extension if not exists pgtap with schema extensions")
            return
        except psycopg.errors.FeatureNotSupported:
            pass
        except psycopg.errors.UndefinedFile:
            pass
        unpacked = sorted(glob.glob(".atende/pgtap/usr/share/postgresql/*/extension/pgtap--*.sql"))
        full = [path for path in unpacked if re.search(r"pgtap--\d+\.\d+\.\d+\.sql$", path)]
        if not full:
            raise RuntimeError("pgTAP is not installed: run scripts/ensure-pgtap.sh")
        text = Path(full[-1]).read_text()
        text = "\n".join(line for line in text.splitlines() if not line.startswith("\\echo"))
        conn.execute("set search_path to extensions")
        conn.execute(text.replace("MODULE_PATHNAME", "$libdir/pgtap"))


def run_pgtap_file(cluster: EmbeddedPostgres, database: str, path: Path) -> TapReport:
    psql = str((cluster.bin_dir or find_postgres_bin_dir()) / "psql")
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [
            psql,
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            cluster.url(database),
            "-c",
            "set search_path to public, extensions",
            "-f",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    plan = _PLAN.search(result.stdout)
    passed = [m.group(0) for m in _RESULT.finditer(result.stdout) if m.group(1) == "ok"]
    failed = [m.group(0) for m in _RESULT.finditer(result.stdout) if m.group(1) == "not ok"]
    if result.returncode != 0:
        failed.append(f"psql exited {result.returncode}")
    return TapReport(
        planned=int(plan.group(1)) if plan else -1, passed=passed, failed=failed, output=output
    )
