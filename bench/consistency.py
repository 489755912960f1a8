"""Is a benchmark's result file internally consistent? (``python -m bench`` checks each
file it writes; ``make bench-smoke`` thereby checks every benchmark's ``--quick`` run.)

Not whether the targets were met: whether the file says what it claims. Every target has
a verdict computed from the file's own figures, ``met`` is their conjunction (a target
not measured is not met), every ratio states the spread of its rounds, and each
benchmark's counts add up.
"""

from __future__ import annotations

import math
import operator
import statistics
from collections.abc import Callable
from typing import Any

from bench.harness import MET, MISSED, NOT_MEASURED

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
#: Values are rounded to 3 decimals in the file: a comparison this close to its limit is
#: not re-judged from them.
_ROUNDING = 0.001
_KEYS = (
    "name",
    "quick",
    "started_at",
    "git",
    "params",
    "metrics",
    "baseline",
    "ratios",
    "spreads",
    "targets",
    "verdicts",
    "unmeasured",
    "met",
)


def problems(result: dict[str, Any]) -> list[str]:
    """What is inconsistent in ``result`` (a parsed bench/results/<name>.json); [] if
    nothing."""
    missing = [key for key in _KEYS if key not in result]
    if missing:
        return [f"missing keys: {missing}"]
    found = _verdicts(result) + _spreads(result)
    check = _BENCHMARKS.get(result["name"])
    if check is not None:
        found += check(result)
    return found


def _value(result: dict[str, Any], key: str) -> float | None:
    if key in result["ratios"]:
        return float(result["ratios"][key])
    if key in result["metrics"]:
        return float(result["metrics"][key]["value"])
    return None


def _verdicts(result: dict[str, Any]) -> list[str]:
    found: list[str] = []
    targets: dict[str, str] = result["targets"]
    verdicts: dict[str, str] = result["verdicts"]
    if set(verdicts) != set(targets):
        found.append(f"verdicts {sorted(verdicts)} are not for the targets {sorted(targets)}")
    for key, target in targets.items():
        value = _value(result, key)
        verdict = verdicts.get(key)
        if value is None:
            found.append(f"target {key!r} names no metric or ratio")
            continue
        if key in result["unmeasured"]:
            if verdict != NOT_MEASURED:
                found.append(f"{key}: not measured ({result['unmeasured'][key]}) but {verdict}")
            continue
        symbol, _, number = target.partition(" ")
        limit = float(number)
        if verdict not in (MET, MISSED):
            found.append(f"{key}: verdict {verdict!r}")
        elif abs(value - limit) > _ROUNDING and not math.isnan(value):
            expected = MET if _COMPARE[symbol](value, limit) else MISSED
            if verdict != expected:
                found.append(f"{key}: {value} {target} is {expected}, the file says {verdict}")
    all_met = all(verdicts.get(key) == MET and key not in result["unmeasured"] for key in targets)
    if result["met"] != all_met:
        found.append(f"met is {result['met']} but the verdicts are {verdicts}")
    return found


def _spreads(result: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for key in result["ratios"]:
        if key not in result["spreads"]:
            found.append(f"ratio {key!r} states no spread")
    for key, spread in result["spreads"].items():
        rounds = spread["rounds"]
        if not rounds:
            found.append(f"spread of {key!r} has no rounds")
        elif spread["min"] is not None and not spread["min"] <= spread["max"]:
            found.append(f"spread of {key!r}: min {spread['min']} > max {spread['max']}")
    return found


def _count(result: dict[str, Any], key: str) -> int:
    return int(result["metrics"][key]["value"])


def _ingest(result: dict[str, Any]) -> list[str]:
    found: list[str] = []
    posted, distinct = _count(result, "posted_deliveries"), _count(result, "posted_messages")
    stored, lost = _count(result, "stored_messages"), _count(result, "lost_messages")
    if distinct == 0 or distinct > posted:
        found.append(f"{distinct} distinct messages of {posted} deliveries posted")
    if stored + lost != distinct:
        found.append(f"stored {stored} + lost {lost} != {distinct} messages posted")
    for key in ("lost_messages", "doubled_messages", "failures", "p99_at_rate"):
        if key not in result["targets"]:
            found.append(f"no target for {key}")
    params = result["params"]
    measured = params["baseline_held_rate_for_p99"] and not params["rate_for_p99_is_fallback"]
    if measured == ("p99_at_rate" in result["unmeasured"]):
        found.append(
            f"p99_at_rate: the baseline {'held' if measured else 'did not hold'} its rate,"
            f" but the target is {result['verdicts'].get('p99_at_rate')}"
        )
    rounds = params["rounds"]
    for concurrency in params["concurrencies"]:
        key = f"throughput_vs_baseline_at_{concurrency}_clients"
        if len(result["spreads"].get(key, {}).get("rounds", [])) != rounds:
            found.append(f"{key}: not {rounds} rounds")
    return found


def _graphql(result: dict[str, Any]) -> list[str]:
    found: list[str] = []
    params = result["params"]
    rounds = params["rounds"]
    for mode in ("verify", "cached"):
        for other in ("baseline", "postgraphile"):
            key = f"throughput_vs_{other}_{mode}"
            if key not in result["targets"]:
                found.append(f"no target for {key}")
            if len(result["spreads"].get(key, {}).get("rounds", [])) != rounds:
                found.append(f"{key}: not {rounds} rounds")
        for name, per_round in params["throughput_rounds"][mode].items():
            if len(per_round) != rounds or min(per_round) <= 0:
                found.append(f"{mode} {name}: rounds {per_round}")
    for case in params.get("extra_cases", []):
        key = f"throughput_vs_postgraphile_{case}"
        if len(result["spreads"].get(key, {}).get("rounds", [])) != rounds:
            found.append(f"{key}: not {rounds} rounds")
    orders = params["round_order"]["orders"]
    runs = sorted(f"{m}:{n}" for m, names in params["throughput_rounds"].items() for n in names)
    if len(orders) != rounds or any(sorted(order) != runs for order in orders):
        found.append(f"round orders {orders} are not {rounds} orders of {runs}")
    return found


def _e2e(result: dict[str, Any]) -> list[str]:
    found: list[str] = []
    doubled = result["params"]["conversations_doubled"]
    if _count(result, "doubled_conversations") != sum(doubled.values()):
        found.append(f"doubled_conversations is not the sum of {doubled}")
    if "doubled_conversations" not in result["targets"]:
        found.append("no target for doubled_conversations")
    return found


def _identity(result: dict[str, Any]) -> list[str]:
    params = result["params"]
    if len(params["round_order"]["orders"]) != params["rounds"]:
        return [f"{len(params['round_order']['orders'])} round orders for {params['rounds']}"]
    return []


def _sign_in_flood(result: dict[str, Any]) -> list[str]:
    found: list[str] = []
    ratio = "inbox_p99_flood_vs_quiet"
    if ratio not in result["targets"]:
        found.append(f"no target for {ratio}")
    params = result["params"]
    rounds = params["rounds"]
    for key in (ratio, "inbox_p99_flood", "inbox_p99_quiet", "sign_ins_per_second"):
        if len(result["spreads"].get(key, {}).get("rounds", [])) != rounds:
            found.append(f"{key}: not {rounds} rounds")
    answered = params["sign_ins_answered"]
    requests = params["inbox_requests"]
    if len(answered) != rounds or any(len(per_round) != rounds for per_round in requests.values()):
        found.append(f"counts per round {answered}, {requests} are not {rounds} rounds")
    orders = params["round_order"]["orders"]
    if len(orders) != rounds or any(sorted(order) != ["flood", "quiet"] for order in orders):
        found.append(f"round orders {orders} are not {rounds} orders of flood and quiet")
    flood = result["metrics"]["inbox_p99_flood"]["value"]
    quiet = result["baseline"]["inbox_p99_quiet"]["value"]
    if ratio in result["ratios"] and quiet > 0:
        stated = result["ratios"][ratio]
        if abs(stated - flood / quiet) > 2 * _ROUNDING:
            found.append(f"{ratio} is {stated}, but the p99s give {flood / quiet:.3f}")
    no_flood = bool(answered) and min(answered) == 0
    if no_flood and ratio not in result["unmeasured"]:
        found.append(f"a flood round answered no sign-in ({answered}), but {ratio} was judged")
    return found


def _webhooks(result: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for key in (
        "others_p50_hanging_vs_normal",
        "others_p99_hanging_vs_normal",
        "undelivered_at_fixed_rate",
        "others_undelivered_with_hanging",
    ):
        if key not in result["targets"]:
            found.append(f"no target for {key}")
    params = result["params"]
    pairs = params["pairs"]
    rounds = params["pair_rounds"]
    if len(rounds) != pairs or any(sorted(r) != ["hanging", "normal"] for r in rounds):
        return [*found, f"pair rounds {rounds} are not {pairs} pairs of normal and hanging"]
    orders = params["round_order"]["orders"]
    if len(orders) != pairs or any(sorted(order) != ["hanging", "normal"] for order in orders):
        found.append(f"round orders {orders} are not {pairs} orders of normal and hanging")
    for stat in ("p50", "p99"):
        key = f"others_{stat}_hanging_vs_normal"
        stated = result["spreads"].get(key, {}).get("rounds", [])
        own = [r["hanging"][stat] / r["normal"][stat] for r in rounds if r["normal"][stat]]
        if len(stated) != pairs or any(
            abs(a - b) > 0.01 * max(1.0, b) for a, b in zip(stated, own, strict=False)
        ):
            found.append(f"{key}: rounds {stated} are not the pairs' own {own}")
    held = result["metrics"]["highest_rate_held"]["value"]
    if held and held not in params["rates"]:
        found.append(f"highest_rate_held {held} is not one of the rates tried")
    return found


def _web(result: dict[str, Any]) -> list[str]:
    found: list[str] = []
    messages = int(result["params"]["messages"])
    seen, unseen = _count(result, "messages_seen"), _count(result, "messages_unseen")
    if seen + unseen != messages:
        found.append(f"seen {seen} + unseen {unseen} != {messages} messages posted")
    runs = int(result["params"]["lighthouse"]["runs"])
    for key, target in (("lighthouse_accessibility", ">= 95"), ("lighthouse_performance", ">= 90")):
        if result["targets"].get(key) != target:
            found.append(f"{key}: target {result['targets'].get(key)!r}, not {target!r}")
        rounds = result["spreads"].get(key, {}).get("rounds", [])
        value = _value(result, key)
        if len(rounds) != runs:
            found.append(f"{key}: {len(rounds)} rounds stated for {runs} Lighthouse runs")
        elif value is not None and abs(statistics.median(rounds) - value) > _ROUNDING:
            found.append(f"{key}: {value} is not the median of its runs {rounds}")
    return found


#: bench/scale's ratios (large over small) and the figure each is the ratio of.
_SCALE_RATIOS = {
    "ingest_throughput_large_vs_small": "ingest_throughput",
    "inbox_p99_large_vs_small": "inbox_p99",
    "reply_p50_large_vs_small": "reply_p50",
}
_SCALE_DETACH = "partition_detach_drop_ms"


def _scale(result: dict[str, Any]) -> list[str]:
    found: list[str] = []
    params = result["params"]
    rounds = params["rounds"]
    for key in (*_SCALE_RATIOS, "failures", _SCALE_DETACH):
        if key not in result["targets"]:
            found.append(f"no target for {key}")
    for key, figure in _SCALE_RATIOS.items():
        stated = result["ratios"].get(key)
        large = result["metrics"][figure]["value"]
        small = result["baseline"][figure]["value"]
        if stated is not None and small and abs(stated - large / small) > 2 * _ROUNDING:
            found.append(f"{key} is {stated}, but the figures give {large / small:.3f}")
        per_round = result["spreads"].get(key, {}).get("rounds", [])
        by_size = params["rounds_by_size"][figure]
        if len(per_round) != rounds or any(len(by_size[s]) != rounds for s in ("small", "large")):
            found.append(f"{key}: not {rounds} rounds")
    orders = params["round_order"]["orders"]
    if len(orders) != len(_SCALE_RATIOS) * rounds or any(
        sorted(order) != ["large", "small"] for order in orders
    ):
        found.append(f"round orders {orders} are not {len(_SCALE_RATIOS) * rounds} of both")
    if params["messages_partitioned"] == (_SCALE_DETACH in result["unmeasured"]):
        found.append(
            f"messages {'is' if params['messages_partitioned'] else 'is not'} partitioned,"
            f" but {_SCALE_DETACH} is {result['verdicts'].get(_SCALE_DETACH)}"
        )
    counted = params["messages"]
    added = params["generated_messages"] + params["inbox_history_messages"]
    if counted["large"] != counted["small"] + added:
        found.append(
            f"the large database holds {counted['large']} messages, not the small one's"
            f" {counted['small']} + {added} generated"
        )
    return found


_BENCHMARKS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "ingest": _ingest,
    "graphql": _graphql,
    "e2e": _e2e,
    "identity": _identity,
    "sign_in_flood": _sign_in_flood,
    "webhooks": _webhooks,
    "web": _web,
    "scale": _scale,
}
