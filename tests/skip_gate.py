"""A skipped test fails the run, unless it is listed here with its reason.

Without this, a ``skipif`` on a missing binary or service would pass CI silently: the
run is green and the test never ran. Registered by ``tests/conftest.py``.
"""

from __future__ import annotations

import pytest

#: The tests that may be skipped (node id without parameters), and why.
ALLOWED_SKIPS: dict[str, str] = {
    "tests/db/test_schema_sql.py::test_schema_sql_is_what_the_migrations_make": (
        "on the Supabase shape its roles add grants to the dump; and a pg_dump of another"
        " major version than the one that wrote supabase/schema.sql writes another form"
    ),
}


class SkipGate:
    def __init__(self, allowed: dict[str, str]) -> None:
        self.allowed = allowed
        self.unexpected: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.skipped or hasattr(report, "wasxfail"):
            return
        if report.nodeid.split("[", 1)[0] in self.allowed:
            return
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        self.unexpected.append(f"{report.nodeid}: {reason}")

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.unexpected and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.unexpected:
            terminalreporter.section("skipped but not allowed in tests/skip_gate.py", red=True)
            for line in self.unexpected:
                terminalreporter.line(line)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SkipGate(ALLOWED_SKIPS), "atende-skip-gate")
