"""bench/sign_in_flood's result, made here from rounds of figures (no server runs): its
ratio, verdicts and consistency check."""

from __future__ import annotations

import json
from typing import Any

from bench.consistency import problems
from bench.harness import MET, MISSED, NOT_MEASURED, RoundOrder
from bench.sign_in_flood import CASES, RATIO, Rounds, summarize


def rounds(quiet_ms: list[float], flood_ms: list[float], sign_ins: list[int]) -> Rounds:
    """Rounds whose inbox requests (1,000 each) all took one round's figure but the
    slowest 20, which took twice as long."""
    made = Rounds(seconds=10.0, sign_ins=sign_ins)
    for case, figures in (("quiet", quiet_ms), ("flood", flood_ms)):
        made.latencies[case] = [[ms] * 980 + [2 * ms] * 20 for ms in figures]
    return made


def result_file(made: Rounds) -> tuple[Any, dict[str, Any]]:
    order = RoundOrder(seed=1)
    for _ in made.sign_ins:
        order.shuffled(CASES)
    result = summarize(made, {"round_order": order.as_params()}, quick=False)
    parsed: dict[str, Any] = json.loads(json.dumps(result.as_json()))
    return result, parsed


def test_the_ratio_is_of_the_rounds_median_p99s_with_each_rounds_own() -> None:
    result, file = result_file(rounds([10, 12, 11], [12, 18, 13], [200, 210, 190]))

    assert result.baseline["inbox_p99_quiet"].value == 22
    assert result.metrics["inbox_p99_flood"].value == 26
    assert result.ratios[RATIO] == 26 / 22
    assert result.spreads[RATIO] == [24 / 20, 36 / 24, 26 / 22]
    assert result.metrics["sign_ins_per_second"].value == 20
    assert result.verdict(RATIO) == MET
    assert problems(file) == []


def test_a_flood_that_doubles_the_p99_misses_the_target() -> None:
    result, file = result_file(rounds([10, 10], [20, 21], [100, 100]))

    assert result.verdict(RATIO) == MISSED
    assert not result.met
    assert problems(file) == []


def test_no_sign_in_answered_is_no_flood_and_the_target_is_not_measured() -> None:
    result, file = result_file(rounds([10, 10], [10, 10], [100, 0]))

    assert result.verdict(RATIO) == NOT_MEASURED
    assert not result.met
    assert problems(file) == []
    del file["unmeasured"][RATIO]
    file["verdicts"][RATIO] = MET
    file["met"] = True
    assert problems(file) == [
        f"a flood round answered no sign-in ([100, 0]), but {RATIO} was judged"
    ]


def test_a_ratio_the_p99s_do_not_give_is_a_problem() -> None:
    _, file = result_file(rounds([10, 10], [12, 12], [100, 100]))
    file["ratios"][RATIO] = 1.0

    assert problems(file) == [f"{RATIO} is 1.0, but the p99s give 1.200"]


def test_every_round_is_stated(capsys: Any) -> None:
    result, file = result_file(rounds([10, 12], [12, 15], [100, 100]))
    file["spreads"]["inbox_p99_quiet"]["rounds"].pop()

    assert problems(file) == ["inbox_p99_quiet: not 2 rounds"]
    result.print_table()
    (quiet,) = [line for line in capsys.readouterr().out.splitlines() if "_p99_quiet" in line]
    assert quiet.split() == [
        "baseline",
        "inbox_p99_quiet",
        "22.00",
        "ms",
        "(rounds",
        "20-24,",
        "n=2)",
    ]
