"""What every benchmark shares: the database to use, result files, percentiles, tables."""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import random
import shutil
import statistics
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg

T = TypeVar("T")

RESULTS_DIR = Path(__file__).parent / "results"
BENCH_DIR = Path(__file__).parent


@dataclass
class Metric:
    value: float
    unit: str

    def as_json(self) -> dict[str, Any]:
        return {"value": round(self.value, 3), "unit": self.unit}


#: A target's verdict: met, missed, or not measured (the conditions it is defined under did
#: not occur in the run, e.g. no rate the baseline held): never counted as met.
MET, MISSED, NOT_MEASURED = "met", "missed", "not measured"


@dataclass
class Result:
    """One benchmark run, in the format DESIGN.md gives for bench/results/<name>.json.

    ``spreads``: for each ratio (and any metric or baseline figure measured over rounds),
    its value in each round, so that the noise behind the figure is stated next to it
    (min-max); a key that is both a metric and a baseline figure is the metric's.
    ``unmeasured``: targets the run could not measure, with the reason; ``met`` is then
    false (a target not measured is not met), and the verdict says "not measured".
    ``quick``: a short smoke run; its file is ``<name>.quick.json``, beside the full one.
    """

    name: str
    params: dict[str, Any]
    metrics: dict[str, Metric]
    baseline: dict[str, Metric] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)
    spreads: dict[str, list[float]] = field(default_factory=dict)
    unmeasured: dict[str, str] = field(default_factory=dict)
    quick: bool = False
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def verdict(self, key: str) -> str:
        if key in self.unmeasured:
            return NOT_MEASURED
        return MET if _meets(self._value(key), self.targets[key]) else MISSED

    @property
    def met(self) -> bool:
        return all(self.verdict(key) == MET for key in self.targets)

    def _value(self, key: str) -> float:
        if key in self.ratios:
            return self.ratios[key]
        return self.metrics[key].value

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "quick": self.quick,
            "started_at": self.started_at,
            "git": git_commit(),
            "params": self.params,
            "metrics": {k: m.as_json() for k, m in self.metrics.items()},
            "baseline": {k: m.as_json() for k, m in self.baseline.items()},
            "ratios": {k: round(v, 3) for k, v in self.ratios.items()},
            "spreads": {k: spread_json(v) for k, v in self.spreads.items()},
            "targets": self.targets,
            "verdicts": {k: self.verdict(k) for k in self.targets},
            "unmeasured": self.unmeasured,
            "met": self.met,
        }

    @property
    def path(self) -> Path:
        return RESULTS_DIR / f"{self.name}{'.quick' if self.quick else ''}.json"

    def write(self) -> Path:
        RESULTS_DIR.mkdir(exist_ok=True)
        self.path.write_text(json.dumps(self.as_json(), indent=2) + "\n")
        return self.path

    def print_table(self) -> None:
        def spread(key: str) -> str:
            rounds = self.spreads.get(key)
            if not rounds:
                return ""
            return f"  (rounds {min(rounds):.3g}-{max(rounds):.3g}, n={len(rounds)})"

        rows = [(f"{k}", f"{m.value:.2f} {m.unit}{spread(k)}") for k, m in self.metrics.items()]
        rows += [
            # A key that names a metric too: its spread is the metric's.
            (f"baseline {k}", f"{m.value:.2f} {m.unit}{'' if k in self.metrics else spread(k)}")
            for k, m in self.baseline.items()
        ]
        rows += [(k, f"{v:.3f}{spread(k)}") for k, v in self.ratios.items()]
        for key, target in self.targets.items():
            reason = f" ({self.unmeasured[key]})" if key in self.unmeasured else ""
            rows.append((f"target {key}", f"{target}: {self.verdict(key)}{reason}"))
        missing = [k for k in self.targets if self.verdict(k) != MET]
        rows.append(("met", "yes" if self.met else f"NO ({', '.join(missing)})"))
        if self.quick:
            rows.append(("note", "--quick: a smoke run, its figures and verdicts not to quote"))
        width = max(len(r[0]) for r in rows)
        print(f"\n== {self.name} ==")
        for label, value in rows:
            print(f"  {label:<{width}}  {value}")


def spread_json(rounds: list[float]) -> dict[str, Any]:
    finite = [value for value in rounds if math.isfinite(value)]
    return {
        "min": round(min(finite), 3) if finite else None,
        "max": round(max(finite), 3) if finite else None,
        "rounds": [round(value, 3) for value in rounds],
    }


class RoundOrder:
    """Each round's order of the things a benchmark interleaves, shuffled anew per round
    (a fixed order would give one of them the same place, after the same one, every time:
    a warmer cache, a machine calmer or busier at that point of the cycle). The seed and
    the orders drawn are recorded, so a run's order can be read back from its JSON."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        self._random = random.Random(self.seed)
        self.orders: list[list[str]] = []

    def shuffled(self, items: Sequence[T]) -> list[T]:
        order = list(items)
        self._random.shuffle(order)
        self.orders.append([str(item) for item in order])
        return order

    def as_params(self) -> dict[str, Any]:
        return {"seed": self.seed, "orders": self.orders}


def _meets(value: float, target: str) -> bool:
    operator, _, number = target.partition(" ")
    limit = float(number)
    return {">=": value >= limit, "<=": value <= limit, ">": value > limit, "<": value < limit}[
        operator
    ]


def percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return float("nan")
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=1000, method="inclusive")[
        min(998, max(0, int(fraction * 1000) - 1))
    ]


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, as a developer runs it
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


#: Abuse limits off: a benchmark's load comes from one address and repeats sign-ins and
#: registrations by design; what it measures is the work, not the refusals
#: (``bench.sign_in_flood``'s flood too: with the limits on, its attempts would be refused
#: before bcrypt, and the inbox would be measured beside almost no work).
RATE_LIMITS_OFF = {
    f"ATENDE_RATE_LIMIT_{name}": "off"
    for name in (
        "SIGN_IN",
        "SIGN_IN_ADDRESS",
        "REGISTRATION_ADDRESS",
        "REFRESH",
        "REFRESH_ADDRESS",
        "INVITATION",
        "INVITATION_ADDRESS",
    )
}


def benchmark_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for the processes a benchmark starts (the abuse limits off)."""
    return {**os.environ, **RATE_LIMITS_OFF, **(extra or {})}


#: WAL segment files a fresh benchmark cluster gets before it is measured: 16 MB each, up
#: to Postgres' default max_wal_size (1 GB), which bounds how many a checkpoint keeps.
WARM_WAL_SEGMENTS = 64


def recycle_wal_segments(url: str, segments: int = WARM_WAL_SEGMENTS) -> None:
    """Give a fresh cluster (a superuser's ``url``) the WAL files a running server keeps.

    Why: a server that has run through a checkpoint renames its old WAL files for reuse;
    a fresh one creates and zero-fills a 16 MB file whenever it needs the next one, and the
    transaction that crosses into it waits for the write and its fsync (IO:WALInitWrite
    and WALInitSync, 25-30 ms on the benchmark machine). That happens every ~4,500
    webhooks in bench/ingest, an order of magnitude more often than for its one-row
    baseline: an artifact of the fresh cluster, not of the workload. Switching files
    ``segments`` times, then a checkpoint, leaves that many files ready for reuse.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(segments):
            # A switch needs WAL since the last one: a transaction id's commit record.
            conn.execute("select pg_current_xact_id()")
            conn.execute("select pg_switch_wal()")
        conn.execute("checkpoint")


@contextlib.contextmanager
def load_process_without_gc_pauses() -> Iterator[None]:
    """The load process's garbage collector held back while it times requests.

    Why: the load process holds its pre-signed requests (~450,000 in a full bench/ingest
    run) and every request's task; a full collection walks them all and stopped its event
    loop for 40-100 ms twice in a 12 s run at 1,184 requests/s. Requests due meanwhile
    went out late, all at once, and were counted slow from their scheduled time: that
    made most of the run's slow requests (114-131 over 50 ms, against none with the
    collector held back, alternating runs against one API). The servers measured are
    untouched; reference cycles are collected after the timed part.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
        gc.collect()


def ensure_node_modules() -> None:
    """The benchmarks' Node tools (PostGraphile 4 for ``graphql``, Lighthouse for ``web``)
    in bench/node_modules, exactly as bench/package-lock.json pins them: ``npm ci`` at
    first use, and again whenever the lockfile is newer than the install."""
    installed = BENCH_DIR / "node_modules" / ".package-lock.json"
    lockfile = BENCH_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lockfile.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to install the benchmarks' Node tools (Node 20+)")
    subprocess.run(  # noqa: S603 - fixed arguments
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=BENCH_DIR,
        check=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
