"""bench/web's own consistency checks (bench/consistency.py), on results made here: the
messages add up, and the Lighthouse scores are the medians of the runs stated."""

from __future__ import annotations

import json
from typing import Any

from bench.consistency import problems
from bench.harness import Metric, Result


def web_result(
    *, accessibility: list[float], performance: list[float], seen: int = 20, unseen: int = 0
) -> Result:
    runs = len(accessibility)
    return Result(
        name="web",
        params={"messages": 20, "lighthouse": {"runs": runs, "failing_audits": []}},
        metrics={
            "render_p50": Metric(60.0, "ms"),
            "messages_seen": Metric(seen, "messages"),
            "messages_unseen": Metric(unseen, "messages"),
            "initial_js_gzip": Metric(80.0, "kB"),
            "lighthouse_accessibility": Metric(sorted(accessibility)[runs // 2], "score"),
            "lighthouse_performance": Metric(sorted(performance)[runs // 2], "score"),
        },
        spreads={
            "lighthouse_accessibility": accessibility,
            "lighthouse_performance": performance,
        },
        targets={
            "render_p50": "< 300",
            "messages_unseen": "<= 0",
            "initial_js_gzip": "<= 200",
            "lighthouse_accessibility": ">= 95",
            "lighthouse_performance": ">= 90",
        },
    )


def as_file(result: Result) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(json.dumps(result.as_json()))
    return parsed


def test_a_consistent_web_result_has_no_problems() -> None:
    result = web_result(accessibility=[100, 96, 98], performance=[99, 91, 100])
    assert problems(as_file(result)) == []
    assert result.met


def test_scores_under_their_targets_are_missed_not_inconsistent() -> None:
    result = web_result(accessibility=[94], performance=[89])
    assert problems(as_file(result)) == []
    assert result.verdict("lighthouse_accessibility") == "missed"
    assert result.verdict("lighthouse_performance") == "missed"


def test_a_score_that_is_not_the_median_of_its_runs_is_a_problem() -> None:
    data = as_file(web_result(accessibility=[100, 90, 98], performance=[99, 91, 100]))
    data["metrics"]["lighthouse_accessibility"]["value"] = 100
    assert problems(data) == [
        "lighthouse_accessibility: 100.0 is not the median of its runs [100, 90, 98]"
    ]


def test_runs_stated_that_are_not_the_runs_made_is_a_problem() -> None:
    data = as_file(web_result(accessibility=[100], performance=[99]))
    data["params"]["lighthouse"]["runs"] = 3
    assert problems(data) == [
        "lighthouse_accessibility: 1 rounds stated for 3 Lighthouse runs",
        "lighthouse_performance: 1 rounds stated for 3 Lighthouse runs",
    ]


def test_messages_that_do_not_add_up_are_a_problem() -> None:
    data = as_file(web_result(accessibility=[100], performance=[99], seen=18, unseen=1))
    assert problems(data) == ["seen 18 + unseen 1 != 20 messages posted"]
