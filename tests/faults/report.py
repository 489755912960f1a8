"""What the fault suite measured: a table at the end of the run, and
``bench/results/faults.json`` in the benchmarks' format (``bench.harness.Result``).

Tests record rows here; ``conftest.pytest_terminal_summary`` prints and writes them.
Timings are measured and compared with their targets in the results file; the tests
assert correctness (nothing lost, nothing duplicated) and bound their waits, but never
assert a timing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bench.harness import Metric, Result

#: Targets of every fault row.
MAX_RECOVERY_SECONDS = 30.0


@dataclass(frozen=True)
class FaultRow:
    """One fault and what came of it."""

    fault: str
    injected: str
    messages_in: int
    replies_out: int
    duplicates: int
    lost: int
    #: Seconds from the end of the fault (or the message, for per-message faults) until
    #: everything it touched was done. None when not applicable.
    recovery_seconds: float | None
    note: str = ""

    @property
    def key(self) -> str:
        return re.sub(r"[^a-z0-9]+", "_", self.fault.lower()).strip("_")


@dataclass(frozen=True)
class CostRow:
    """What refusing one kind of abusive request costs, against a normal query."""

    request: str
    answer: str
    refused_ms: float
    normal_ms: float

    @property
    def key(self) -> str:
        return re.sub(r"[^a-z0-9]+", "_", self.request.lower()).strip("_")

    @property
    def ratio(self) -> float:
        return self.refused_ms / self.normal_ms if self.normal_ms else float("nan")


FAULTS: list[FaultRow] = []
COSTS: list[CostRow] = []


def record(row: FaultRow) -> None:
    FAULTS.append(row)


def record_cost(row: CostRow) -> None:
    COSTS.append(row)


def result() -> Result:
    metrics: dict[str, Metric] = {}
    baseline: dict[str, Metric] = {}
    ratios: dict[str, float] = {}
    targets: dict[str, str] = {}
    for row in FAULTS:
        metrics[f"{row.key}.messages_in"] = Metric(row.messages_in, "messages")
        metrics[f"{row.key}.replies_out"] = Metric(row.replies_out, "messages")
        metrics[f"{row.key}.duplicates"] = Metric(row.duplicates, "messages")
        metrics[f"{row.key}.lost"] = Metric(row.lost, "messages")
        targets[f"{row.key}.duplicates"] = "<= 0"
        targets[f"{row.key}.lost"] = "<= 0"
        if row.recovery_seconds is not None:
            metrics[f"{row.key}.recovery"] = Metric(row.recovery_seconds, "s")
            targets[f"{row.key}.recovery"] = f"< {MAX_RECOVERY_SECONDS:g}"
    for cost in COSTS:
        metrics[f"refuse_{cost.key}"] = Metric(cost.refused_ms, "ms")
        baseline[f"refuse_{cost.key}"] = Metric(cost.normal_ms, "ms")
        ratios[f"refuse_{cost.key}_vs_normal_query"] = cost.ratio
        targets[f"refuse_{cost.key}_vs_normal_query"] = "< 1"
    return Result(
        name="faults",
        params={
            "faults": [row.fault for row in FAULTS],
            "injected": {row.key: row.injected for row in FAULTS},
            "notes": {row.key: row.note for row in FAULTS if row.note},
            "abuse": {cost.key: cost.answer for cost in COSTS},
            "command": ".venv/bin/pytest -m faults",
        },
        metrics=metrics,
        baseline=baseline,
        ratios=ratios,
        targets=targets,
    )


def table() -> str:
    lines: list[str] = []
    if FAULTS:
        header: tuple[str, ...] = (
            "fault",
            "injected",
            "in",
            "out",
            "dup",
            "lost",
            "recovery",
        )
        rows: list[tuple[str, ...]] = [
            (
                row.fault,
                row.injected,
                str(row.messages_in),
                str(row.replies_out),
                str(row.duplicates),
                str(row.lost),
                "-" if row.recovery_seconds is None else f"{row.recovery_seconds:.1f} s",
            )
            for row in FAULTS
        ]
        lines += _render(header, rows)
        notes = [f"  {row.fault}: {row.note}" for row in FAULTS if row.note]
        if notes:
            lines += ["", "notes:", *notes]
    if COSTS:
        lines.append("")
        header = ("abusive request", "answer", "refused (ms)", "normal query (ms)", "ratio")
        rows = [
            (
                cost.request,
                cost.answer,
                f"{cost.refused_ms:.2f}",
                f"{cost.normal_ms:.2f}",
                f"{cost.ratio:.2f}",
            )
            for cost in COSTS
        ]
        lines += _render(header, rows)
    return "\n".join(lines)


def _render(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    return [line(header), "-+-".join("-" * w for w in widths), *(line(r) for r in rows)]
