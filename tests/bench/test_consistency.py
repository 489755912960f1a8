"""The benchmarks' verdicts and their consistency check (bench/harness.py,
bench/consistency.py), on results made here: no benchmark runs (``make bench-smoke`` runs
them all, in --quick mode, and checks their files with the same code)."""

from __future__ import annotations

import json
from typing import Any

from bench.consistency import problems
from bench.harness import MET, MISSED, NOT_MEASURED, Metric, Result, RoundOrder


def ingest_result(**changes: Any) -> Result:
    """A consistent bench/ingest result: 1,100 deliveries, 1,000 messages, all stored."""
    unmeasured: dict[str, str] = changes.pop("unmeasured", {})
    counts = {
        "posted_deliveries": 1100,
        "posted_messages": 1000,
        "stored_messages": 1000,
        "lost_messages": 0,
        "doubled_messages": 0,
        **changes,
    }
    return Result(
        name="ingest",
        params={
            "rounds": 2,
            "concurrencies": [32],
            "baseline_held_rate_for_p99": not unmeasured,
            "rate_for_p99_is_fallback": bool(unmeasured),
        },
        metrics={
            "p99_at_rate": Metric(20.0, "ms"),
            "failures": Metric(0, "requests"),
            **{key: Metric(value, "messages") for key, value in counts.items()},
        },
        ratios={"throughput_vs_baseline": 0.9, "throughput_vs_baseline_at_32_clients": 0.9},
        spreads={
            "throughput_vs_baseline": [0.85, 0.95],
            "throughput_vs_baseline_at_32_clients": [0.85, 0.95],
        },
        targets={
            "throughput_vs_baseline": ">= 0.70",
            "p99_at_rate": "< 50",
            "failures": "<= 0",
            "lost_messages": "<= 0",
            "doubled_messages": "<= 0",
        },
        unmeasured=unmeasured,
    )


def as_file(result: Result) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(json.dumps(result.as_json()))
    return parsed


def test_a_consistent_result_has_no_problems() -> None:
    result = ingest_result()

    assert result.met
    assert problems(as_file(result)) == []


def test_a_lost_or_doubled_message_is_a_missed_target() -> None:
    lost = ingest_result(stored_messages=999, lost_messages=1)
    doubled = ingest_result(doubled_messages=1)

    assert lost.verdict("lost_messages") == MISSED
    assert not lost.met
    assert doubled.verdict("doubled_messages") == MISSED
    assert not doubled.met
    assert problems(as_file(lost)) == []


def test_counts_that_do_not_add_up_are_a_problem() -> None:
    assert problems(as_file(ingest_result(stored_messages=999))) == [
        "stored 999 + lost 0 != 1000 messages posted"
    ]


def test_a_target_not_measured_is_never_met() -> None:
    result = ingest_result(unmeasured={"p99_at_rate": "the baseline held no rate"})

    assert result.verdict("p99_at_rate") == NOT_MEASURED
    assert not result.met
    assert problems(as_file(result)) == []


def test_a_file_that_calls_an_unmeasured_target_met_is_a_problem() -> None:
    file = as_file(ingest_result(unmeasured={"p99_at_rate": "the baseline held no rate"}))
    file["verdicts"]["p99_at_rate"] = MET
    file["met"] = True

    assert problems(file) == [
        "p99_at_rate: not measured (the baseline held no rate) but met",
        "met is True but the verdicts are " + str(file["verdicts"]),
    ]


def test_a_p99_not_measured_while_the_baseline_held_its_rate_is_a_problem() -> None:
    file = as_file(ingest_result(unmeasured={"p99_at_rate": "?"}))
    file["params"]["baseline_held_rate_for_p99"] = True
    file["params"]["rate_for_p99_is_fallback"] = False

    assert problems(file) == [
        "p99_at_rate: the baseline held its rate, but the target is not measured"
    ]


def test_a_verdict_that_contradicts_the_figures_is_a_problem() -> None:
    file = as_file(ingest_result())
    file["ratios"]["throughput_vs_baseline"] = 0.5

    assert problems(file) == ["throughput_vs_baseline: 0.5 >= 0.70 is missed, the file says met"]


def test_a_ratio_without_its_spread_is_a_problem() -> None:
    file = as_file(ingest_result())
    del file["spreads"]["throughput_vs_baseline"]

    assert problems(file) == ["ratio 'throughput_vs_baseline' states no spread"]


def test_spreads_are_written_next_to_the_ratios(capsys: Any) -> None:
    result = ingest_result()
    result.print_table()

    assert "0.900  (rounds 0.85-0.95, n=2)" in capsys.readouterr().out
    assert as_file(result)["spreads"]["throughput_vs_baseline"] == {
        "min": 0.85,
        "max": 0.95,
        "rounds": [0.85, 0.95],
    }


def test_a_quick_result_has_a_file_of_its_own() -> None:
    assert ingest_result().path.name == "ingest.json"
    quick = ingest_result()
    quick.quick = True
    assert quick.path.name == "ingest.quick.json"


def test_round_orders_are_shuffled_per_round_and_recorded() -> None:
    order = RoundOrder(seed=7)
    orders = [order.shuffled(["a", "b", "c"]) for _ in range(20)]

    assert all(sorted(drawn) == ["a", "b", "c"] for drawn in orders)
    assert len({tuple(drawn) for drawn in orders}) > 1
    assert order.as_params() == {"seed": 7, "orders": orders}
    again = RoundOrder(seed=7)
    assert [again.shuffled(["a", "b", "c"]) for _ in range(20)] == orders
