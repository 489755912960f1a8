"""A skip fails the run unless tests/skip_gate.py allows it (run in a pytest of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_pytest(folder: Path, source: str) -> subprocess.CompletedProcess[str]:
    (folder / "test_sample.py").write_text(textwrap.dedent(source))
    return subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "pytest", "-p", "tests.skip_gate", "-q", str(folder)],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )


def test_an_unlisted_skip_fails_the_run_and_names_the_test(tmp_path: Path) -> None:
    result = run_pytest(
        tmp_path,
        """
        import pytest

        def test_runs() -> None:
            assert True

        @pytest.mark.skip(reason="no binary here")
        def test_skipped() -> None:
            assert False
        """,
    )
    assert result.returncode == 1, result.stdout
    assert "skipped but not allowed" in result.stdout
    assert "test_skipped: " in result.stdout
    assert "no binary here" in result.stdout


def test_a_run_without_skips_passes(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "def test_runs() -> None:\n    assert True\n")
    assert result.returncode == 0, result.stdout
    assert "skipped but not allowed" not in result.stdout
