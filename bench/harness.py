"""What every benchmark shares: the database to use, result files, percentiles, tables."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import statistics
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

RESULTS_DIR = Path(__file__).parent / "results"


@dataclass
class Metric:
    value: float
    unit: str

    def as_json(self) -> dict[str, Any]:
        return {"value": round(self.value, 3), "unit": self.unit}


@dataclass
class Result:
    """One benchmark run, in the format DESIGN.md gives for bench/results/<name>.json."""

    name: str
    params: dict[str, Any]
    metrics: dict[str, Metric]
    baseline: dict[str, Metric] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def met(self) -> bool:
        return all(_meets(self._value(key), target) for key, target in self.targets.items())

    def _value(self, key: str) -> float:
        if key in self.ratios:
            return self.ratios[key]
        return self.metrics[key].value

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "started_at": self.started_at,
            "git": git_commit(),
            "params": self.params,
            "metrics": {k: m.as_json() for k, m in self.metrics.items()},
            "baseline": {k: m.as_json() for k, m in self.baseline.items()},
            "ratios": {k: round(v, 3) for k, v in self.ratios.items()},
            "targets": self.targets,
            "met": self.met,
        }

    def write(self) -> Path:
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / f"{self.name}.json"
        path.write_text(json.dumps(self.as_json(), indent=2) + "\n")
        return path

    def print_table(self) -> None:
        rows = [(f"{k}", f"{m.value:.2f} {m.unit}") for k, m in self.metrics.items()]
        rows += [(f"baseline {k}", f"{m.value:.2f} {m.unit}") for k, m in self.baseline.items()]
        rows += [(k, f"{v:.3f}") for k, v in self.ratios.items()]
        rows += [(f"target {k}", t) for k, t in self.targets.items()]
        rows.append(("met", "yes" if self.met else "NO"))
        width = max(len(r[0]) for r in rows)
        print(f"\n== {self.name} ==")
        for label, value in rows:
            print(f"  {label:<{width}}  {value}")


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


def benchmark_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for the processes a benchmark starts."""
    return {**os.environ, **(extra or {})}


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
