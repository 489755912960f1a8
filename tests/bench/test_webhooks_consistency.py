"""bench/webhooks' own consistency checks (bench/consistency.py), on results made here."""

from __future__ import annotations

import json
from typing import Any

from bench.consistency import problems
from bench.harness import Metric, Result, RoundOrder


def webhooks_result(pair_rounds: list[dict[str, dict[str, float]]] | None = None) -> Result:
    """A consistent bench/webhooks result of two pairs of rounds."""
    pairs = pair_rounds or [
        {"normal": {"p50": 20.0, "p99": 80.0}, "hanging": {"p50": 22.0, "p99": 72.0}},
        {"normal": {"p50": 18.0, "p99": 60.0}, "hanging": {"p50": 18.0, "p99": 66.0}},
    ]
    order = RoundOrder(seed=7)
    for _ in range(2):
        order.shuffled(["normal", "hanging"])
    p50 = [pair["hanging"]["p50"] / pair["normal"]["p50"] for pair in pairs]
    p99 = [pair["hanging"]["p99"] / pair["normal"]["p99"] for pair in pairs]
    return Result(
        name="webhooks",
        params={
            "pairs": 2,
            "pair_rounds": pairs,
            "rates": [10, 20, 50],
            "round_order": order.as_params(),
        },
        metrics={
            "highest_rate_held": Metric(20, "events/s"),
            "undelivered_at_fixed_rate": Metric(0, "events"),
            "others_undelivered_with_hanging": Metric(0, "events"),
        },
        ratios={
            "others_p50_hanging_vs_normal": sorted(p50)[0],
            "others_p99_hanging_vs_normal": sorted(p99)[0],
        },
        spreads={"others_p50_hanging_vs_normal": p50, "others_p99_hanging_vs_normal": p99},
        targets={
            "others_p50_hanging_vs_normal": "<= 1.2",
            "others_p99_hanging_vs_normal": "<= 1.2",
            "undelivered_at_fixed_rate": "<= 0",
            "others_undelivered_with_hanging": "<= 0",
            "highest_rate_held": ">= 10",
        },
    )


def as_file(result: Result) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(json.dumps(result.as_json()))
    return parsed


def test_a_consistent_webhooks_result_has_no_problems() -> None:
    assert problems(as_file(webhooks_result())) == []


def test_a_stated_pair_ratio_that_is_not_the_pairs_own_is_a_problem() -> None:
    written = as_file(webhooks_result())
    written["spreads"]["others_p99_hanging_vs_normal"]["rounds"][1] = 0.5
    found = problems(written)
    assert any("others_p99_hanging_vs_normal: rounds" in problem for problem in found), found


def test_a_missing_round_of_a_pair_is_a_problem() -> None:
    written = as_file(webhooks_result())
    del written["params"]["pair_rounds"][0]["hanging"]
    found = problems(written)
    assert any("pairs of normal and hanging" in problem for problem in found), found


def test_a_rate_held_that_was_never_tried_is_a_problem() -> None:
    written = as_file(webhooks_result())
    written["metrics"]["highest_rate_held"]["value"] = 30
    found = problems(written)
    assert any("not one of the rates tried" in problem for problem in found), found
