"""bench/scale: its result and consistency check, made here from rounds of figures (no
server runs), and its history generator and partition detach on the test database (on
whichever ``messages`` the migrations make: partitioned or not)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import psycopg
from bench.consistency import problems
from bench.graphql import seed
from bench.harness import MET, MISSED, NOT_MEASURED, RoundOrder
from bench.scale import (
    HISTORY_DAYS,
    INBOX_HISTORY_SHARE,
    MESSAGES_PER_CONVERSATION,
    NOT_PARTITIONED,
    SIZES,
    Detached,
    Rounds,
    detach_oldest_partition,
    ensure_history_partitions,
    generate_history,
    is_partitioned,
    next_month,
    oldest_partition,
    partition_bounds,
    secondary_indexes,
    summarize,
    utc_literal,
)


def made_rounds(**by_figure: tuple[list[float], list[float]]) -> Rounds:
    """Rounds whose figures are given as (small, large) per round; the rest alike."""
    made = Rounds()
    defaults = {
        "ingest_throughput": ([1000.0, 1100.0], [950.0, 1000.0]),
        "inbox_p50": ([4.0, 5.0], [4.5, 5.0]),
        "inbox_p99": ([10.0, 12.0], [11.0, 12.0]),
        "reply_p50": ([20.0, 30.0], [22.0, 30.0]),
        "reply_p99": ([40.0, 60.0], [44.0, 60.0]),
    }
    for figure, (small, large) in {**defaults, **by_figure}.items():
        setattr(made, figure, {"small": small, "large": large})
    return made


DETACHED = Detached("partitions.messages_2026_06", 10, 5, 20)


def result_file(made: Rounds, detached: Detached | None = DETACHED) -> tuple[Any, dict[str, Any]]:
    order = RoundOrder(seed=3)
    for _ in range(3 * 2):
        order.shuffled(SIZES)
    params = {
        "rounds": 2,
        "round_order": order.as_params(),
        "messages_partitioned": detached is not None,
        "generated_messages": 1_000,
        "inbox_history_messages": 10,
        "messages": {"small": 10_000, "large": 11_010},
    }
    result = summarize(made, [700.0], detached, 60.0, params, quick=True)
    parsed: dict[str, Any] = json.loads(json.dumps(result.as_json()))
    return result, parsed


def test_each_ratio_is_large_over_small_with_each_rounds_own() -> None:
    result, file = result_file(made_rounds())

    assert result.ratios["ingest_throughput_large_vs_small"] == 975 / 1050
    assert result.spreads["ingest_throughput_large_vs_small"] == [0.95, 1000 / 1100]
    assert result.ratios["inbox_p99_large_vs_small"] == 11.5 / 11
    assert result.ratios["reply_p50_large_vs_small"] == 26 / 25
    assert result.metrics["partition_detach_drop_ms"].value == 25
    assert result.met
    assert problems(file) == []


def test_a_large_database_slower_by_more_than_a_quarter_misses() -> None:
    result, file = result_file(
        made_rounds(inbox_p99=([10.0, 10.0], [13.0, 13.0]), ingest_throughput=([10, 10], [7, 7]))
    )

    assert result.verdict("inbox_p99_large_vs_small") == MISSED
    assert result.verdict("ingest_throughput_large_vs_small") == MISSED
    assert result.verdict("reply_p50_large_vs_small") == MET
    assert not result.met
    assert problems(file) == []


def test_an_unpartitioned_table_leaves_the_detach_not_measured() -> None:
    result, file = result_file(made_rounds(), detached=None)

    assert result.verdict("partition_detach_drop_ms") == NOT_MEASURED
    assert result.unmeasured["partition_detach_drop_ms"] == NOT_PARTITIONED
    assert not result.met
    assert problems(file) == []


def test_a_detach_not_measured_on_a_partitioned_table_is_a_problem() -> None:
    _, file = result_file(made_rounds(), detached=None)
    file["params"]["messages_partitioned"] = True

    assert problems(file) == [
        "messages is partitioned, but partition_detach_drop_ms is not measured"
    ]


def test_a_ratio_that_is_not_its_figures_or_a_missing_round_is_a_problem() -> None:
    _, file = result_file(made_rounds())
    file["ratios"]["reply_p50_large_vs_small"] = 0.9
    file["params"]["rounds_by_size"]["inbox_p99"]["large"].pop()

    assert problems(file) == [
        "inbox_p99_large_vs_small: not 2 rounds",
        "reply_p50_large_vs_small is 0.9, but the figures give 1.040",
    ]


def test_message_counts_that_do_not_add_up_are_a_problem() -> None:
    _, file = result_file(made_rounds())
    file["params"]["messages"]["large"] = 11_000

    assert problems(file) == [
        "the large database holds 11000 messages, not the small one's 10000 + 1010 generated"
    ]


def test_the_oldest_partition_is_the_lowest_bounded_one() -> None:
    partitions = [
        ("partitions.messages_before", "FOR VALUES FROM (MINVALUE) TO ('2026-06-01 00:00:00+00')"),
        ("partitions.messages_2026_07", "FOR VALUES FROM ('2026-07-01 00:00:00+00') TO ('x')"),
        ("partitions.messages_2026_06", "FOR VALUES FROM ('2026-06-01 00:00:00+00') TO ('y')"),
        ("partitions.messages_after", "FOR VALUES FROM ('2027-04-01 00:00:00+00') TO (MAXVALUE)"),
    ]

    assert oldest_partition(partitions) == "partitions.messages_2026_06"
    assert oldest_partition([("public.messages_default", "DEFAULT")]) is None


def test_next_month_rolls_over_the_year() -> None:
    assert next_month(datetime(2026, 12, 1)) == datetime(2027, 1, 1)
    assert next_month(datetime(2026, 6, 1)) == datetime(2026, 7, 1)


def test_the_generated_history_is_a_consistent_database(database_url: str) -> None:
    organizations = 10
    with psycopg.connect(database_url, autocommit=True) as conn:
        made = ensure_history_partitions(conn, HISTORY_DAYS + 1)
        partitioned = is_partitioned(conn)
        indexes_before = sorted(secondary_indexes(conn, "public.messages"))
    inbox, _, _ = seed(database_url)
    messages = 2_000

    generate_history(database_url, messages, inbox, organizations=organizations)

    with psycopg.connect(database_url) as conn:
        counts = conn.execute(
            "select count(*) filter (where metadata ->> 'message_sid' like 'SMgen%%'),"
            " count(*) filter (where metadata ->> 'message_sid' like 'SMinbox%%'"
            "  and organization_id = %s),"
            " count(distinct organization_id) filter (where metadata ->> 'message_sid'"
            "  like 'SMgen%%'),"
            " min(created_at) > now() - make_interval(days => %s)"
            " from public.messages",
            [inbox, HISTORY_DAYS + 1],
        ).fetchone()
        # Every generated conversation's last_message_at is its last message's time.
        wrong = conn.execute(
            "select count(*) from public.conversations as c"
            " where c.id::text like '5ca1e%%' and c.last_message_at is distinct from"
            " (select max(m.created_at) from public.messages as m where m.conversation_id = c.id)"
        ).fetchone()
        conversations = conn.execute(
            "select count(*) from public.conversations where id::text like '5ca1e%%'"
        ).fetchone()
        indexes_after = sorted(secondary_indexes(conn, "public.messages"))
        months = conn.execute(
            "select count(distinct date_trunc('month', created_at at time zone 'UTC'))"
            " from public.messages where metadata ->> 'message_sid' like 'SMgen%%'"
        ).fetchone()
    assert counts == (messages, int(messages * INBOX_HISTORY_SHARE), organizations, True)
    assert wrong == (0,)
    assert conversations == (messages // MESSAGES_PER_CONVERSATION,)
    assert indexes_after == indexes_before
    assert months is not None
    assert months[0] >= 6
    detached = detach_oldest_partition(database_url)
    if not partitioned:
        assert made == []
        assert detached is None
        return
    # Partitioned: the history's months have partitions, the oldest holds its first rows.
    assert detached is not None
    assert detached.rows > 0
    with psycopg.connect(database_url) as conn:
        sids = conn.execute(
            "select count(*) from private.message_sids where message_sid like 'SMgen%%'"
        ).fetchone()
        left = conn.execute(
            "select count(*) from pg_class where relname = %s",
            [detached.partition.split(".", 1)[1]],
        ).fetchone()
        before = [bound for _, _, bound in partition_bounds(conn) if "MINVALUE" in bound]
    assert sids == (messages,)
    assert left == (0,)
    # The older rows' partition took the dropped month's range: still contiguous.
    year, month = detached.partition.rsplit("_", 2)[-2:]
    following = utc_literal(next_month(datetime(int(year), int(month), 1)))
    assert before == [f"FOR VALUES FROM (MINVALUE) TO ('{following}')"]
