"""graphql-core's own execution tests, run against Atende's executor.

``atende.api.execution.AtendeExecutionContext`` overrides graphql-core internals (it is
pinned to graphql-core 3.3). So that an upgrade that breaks it fails loudly, this runs
the installed graphql-core version's test suite (``tests/execution``, from its source
distribution on PyPI, checked against PyPI's SHA-256 and kept under
``.atende/graphql-core-tests/``) twice: with Strawberry's execution context, which
Atende's extends, and with Atende's. Atende's must fail no test that Strawberry's passes
(Strawberry's own choices, such as handing resolvers the coerced variables, fail a few).

``python scripts/graphql_core_conformance.py`` (``make graphql-conformance``); exit 0 when
Atende's executor conforms, 1 when it fails a test Strawberry's passes.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".atende" / "graphql-core-tests"
INDEX = "https://pypi.org/simple/graphql-core/"
EXECUTORS = {
    "strawberry": "strawberry.schema.schema:StrawberryGraphQLCoreExecutionContext",
    "atende": "atende.api.execution:AtendeExecutionContext",
}
#: Loaded into each pytest run: graphql-core's default executors become the one chosen.
PLUGIN = """
import importlib
import os

execute = importlib.import_module("graphql.execution.execute")
module, name = os.environ["CONFORMANCE_EXECUTOR"].split(":")
executor = getattr(importlib.import_module(module), name)
execute.IncrementalExecutor = executor
execute.ExecutorThrowingOnIncremental = executor
"""
PYTEST_INI = """[pytest]
python_classes = PyTest*
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
filterwarnings = ignore::pytest.PytestConfigWarning
markers =
    timeout: graphql-core's per-test timeouts (pytest-timeout is not needed here)
    slow: graphql-core's slow tests
"""
FAILED = re.compile(r"^FAILED (\S+)", re.MULTILINE)
SUMMARY = re.compile(r"^=*\s*(\d+ (?:passed|failed)\b.*?)\s*=*$", re.MULTILINE)


def source_tests(version: str) -> Path:
    """graphql-core's ``tests`` folder of ``version``, downloaded once and verified."""
    folder = CACHE / version
    if (folder / "tests" / "execution").is_dir():
        return folder
    with httpx.Client(timeout=120, follow_redirects=True) as http:
        index = http.get(INDEX, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        index.raise_for_status()
        wanted = f"graphql_core-{version}.tar.gz"
        (entry,) = [f for f in index.json()["files"] if f["filename"] == wanted]
        download = http.get(entry["url"])
        download.raise_for_status()
        archive = download.content
    digest = hashlib.sha256(archive).hexdigest()
    if digest != entry["hashes"]["sha256"]:
        raise SystemExit(f"{wanted}: SHA-256 {digest} is not PyPI's")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / wanted
        path.write_bytes(archive)
        with tarfile.open(path) as tar:
            prefix = f"graphql_core-{version}/tests/"
            members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
            for member in members:
                member.name = member.name.removeprefix(f"graphql_core-{version}/")
            tar.extractall(folder, members=members, filter="data")
    (folder / "pytest.ini").write_text(PYTEST_INI)
    (folder / "conformance_executor.py").write_text(PLUGIN)
    return folder


def run(folder: Path, executor: str) -> tuple[set[str], str]:
    """The tests that failed with ``executor``, and pytest's summary line."""
    env = {
        **os.environ,
        "CONFORMANCE_EXECUTOR": EXECUTORS[executor],
        "PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rf",
            "-p",
            "no:cacheprovider",
            "-p",
            "conformance_executor",
            "tests/execution",
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    summary = SUMMARY.findall(result.stdout)
    if result.returncode not in (0, 1) or not summary:
        print(result.stdout[-4000:], result.stderr[-4000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"graphql-core's tests did not run with the {executor} executor")
    return set(FAILED.findall(result.stdout)), summary[-1]


def main() -> int:
    version = importlib.metadata.version("graphql-core")
    folder = source_tests(version)
    failed: dict[str, set[str]] = {}
    for executor in EXECUTORS:
        failed[executor], summary = run(folder, executor)
        print(f"graphql-core {version} tests/execution, {executor} executor: {summary}")
    regressions = sorted(failed["atende"] - failed["strawberry"])
    for test in sorted(failed["strawberry"]):
        print(f"  fails with Strawberry's executor too: {test}")
    if regressions:
        print("Atende's executor fails what Strawberry's passes:", *regressions, sep="\n  ")
        return 1
    print("Atende's executor passes every test Strawberry's passes.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
