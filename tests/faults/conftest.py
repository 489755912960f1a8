"""Fixtures of the fault-injection suite (``pytest -m faults``, ``make test-faults``).

The product runs as in production, as child processes on 127.0.0.1: ``atende serve``,
``atende worker`` (as many as a test starts), ``atende simulator`` for Twilio; the model
is the tests' scriptable OpenAI-compatible server (``tests.fakes.openai_server``, in a
thread of this process). Postgres is a cluster of this suite's own, which tests stop and
start. Faults are injected from outside: signals, the cluster's ``pg_ctl``, the
simulator's fault API, the model's script.

At the end of the run the measured rows are printed as a table and written to
``bench/results/faults.json`` (``tests/faults/report.py``).
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAI, fake_openai, fake_openai_server
from tests.faults import report
from tests.faults.world import FaultCluster, Product, Simulator

__all__ = ["fake_openai", "fake_openai_server"]


@pytest.fixture(scope="session")
def fault_cluster() -> Iterator[FaultCluster]:
    from atende.db.migrations import apply_migrations

    cluster = FaultCluster(Path(tempfile.mkdtemp(prefix="atende-faults-pg-")))
    cluster.start()
    try:
        apply_migrations(cluster.url(FaultCluster.TEMPLATE))
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def simulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    simulator = Simulator(tmp_path_factory.mktemp("simulator"), log_level="DEBUG")
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture
async def simulator(simulator_process: Simulator) -> Simulator:
    """The simulator with no messages and no faults."""
    await simulator_process.reset()
    return simulator_process


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    if call.when == "call":
        item.stash[_FAILED] = outcome.failed
    return outcome


_FAILED = pytest.StashKey[bool]()

ProductFactory = Callable[..., Product]


@pytest.fixture
async def launch(
    request: pytest.FixtureRequest,
    fault_cluster: FaultCluster,
    simulator: Simulator,
    fake_openai: FakeOpenAI,
    tmp_path: Path,
) -> AsyncIterator[ProductFactory]:
    """``launch(**env)``: a Product on a fresh database (nothing started yet). Stopped,
    and its database dropped, after the test; its logs printed if the test failed."""
    made: list[Product] = []

    def factory(**env: str) -> Product:
        product = Product(
            fault_cluster,
            simulator,
            fake_openai.base_url,
            tmp_path / f"product-{len(made)}",
            env,
        )
        product.log_dir.mkdir(parents=True)
        made.append(product)
        return product

    try:
        yield factory
    finally:
        fake_openai.release_event.set()  # a hanging model answers, so workers stop quickly
        fault_cluster.start()  # a test that failed mid-outage leaves it stopped
        for product in made:
            product.stop()
        if request.node.stash.get(_FAILED, False):
            for product in made:
                print(product.logs(tail=10_000))
    # Whatever the fault, its logs (tracebacks of outages included) hold no secret.
    leaked = {name for product in made for name in product.leaked_secrets()}
    assert not leaked, f"secrets in the processes' output: {sorted(leaked)}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not report.FAULTS and not report.COSTS:
        return
    terminalreporter.section("fault injection: results")
    terminalreporter.write_line(report.table())
    path = report.result().write()
    terminalreporter.write_line(f"\nwritten to {path}")
