"""bench/sign_in_flood: the inbox's latency during a sign-in flood, against the same inbox
without one, in the same run.

Starts ``atende serve`` (the abuse limits off, so every sign-in pays its bcrypt check: the
worst case, a flood from many addresses at once) on a database of its own seeded with
``bench.graphql``'s inbox (200 conversations of 50 messages). Each round measures, in an
order drawn anew, the inbox page (4 clients in a closed loop) alone (``quiet``, the
baseline) and while 16 more clients sign in with wrong passwords as fast as they are
answered (``flood``). bcrypt runs on ``ATENDE_PASSWORD_HASH_WORKERS`` threads of its own at
a lower priority (``HASH_THREAD_NICENESS``): the flood queues there, the event loop wins the
CPU, and the inbox's p99 should barely move.

Target: the median over the rounds of the flood's p99 is at most 1.5x that of the quiet
rounds; the ratio is stated with each round's own. Not measured when a flood round answered
no sign-in, or a round timed too few inbox requests for a p99.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from atende.config import DEVELOPMENT_JWT_SECRET, Settings
from atende.db.migrations import apply_migrations
from atende.identity.passwords import HASH_THREAD_NICENESS
from bench.graphql import ATENDE_QUERY, bench_database, free_port, issue_token, seed
from bench.harness import (
    Metric,
    Result,
    RoundOrder,
    benchmark_environment,
    load_process_without_gc_pauses,
    percentile,
)
from bench.identity import _wait_ready

NAME = "sign_in_flood"
CASES = ("quiet", "flood")
INBOX_CLIENTS = 4
FLOOD_CLIENTS = 16
#: A round's p99 from fewer inbox requests than this would be its slowest one or two.
MIN_INBOX_REQUESTS = 200
RATIO = "inbox_p99_flood_vs_quiet"
TARGET = "<= 1.5"
SIGN_IN = "mutation ($input: SignInInput!) { signIn(input: $input) { __typename } }"


@dataclass
class Rounds:
    """Each round's figures, per case: inbox latencies (ms) and sign-ins answered."""

    seconds: float
    latencies: dict[str, list[list[float]]] = field(
        default_factory=lambda: {case: [] for case in CASES}
    )
    sign_ins: list[int] = field(default_factory=list)

    def p(self, case: str, fraction: float) -> list[float]:
        return [percentile(latencies, fraction) for latencies in self.latencies[case]]

    def requests(self, case: str) -> list[int]:
        return [len(latencies) for latencies in self.latencies[case]]


async def _loop(until: float, call: Callable[[], Awaitable[None]]) -> None:
    while time.monotonic() < until:
        await call()


async def _measure(
    client: httpx.AsyncClient, organization: str, token: str, seconds: float, flood: bool
) -> tuple[list[float], int]:
    """Inbox latencies (ms) over ``seconds``, and how many sign-ins were answered."""
    body = {"query": ATENDE_QUERY, "variables": {"org": organization, "first": 20}}
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    answered = 0

    async def inbox() -> None:
        started = time.perf_counter()
        response = await client.post("/graphql", json=body, headers=headers)
        latencies.append((time.perf_counter() - started) * 1000)
        assert "errors" not in response.json(), response.text

    async def sign_in() -> None:
        nonlocal answered
        email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
        variables = {"input": {"email": email, "password": "not-the-password"}}
        response = await client.post("/graphql", json={"query": SIGN_IN, "variables": variables})
        assert "InvalidCredentials" in response.text, response.text
        answered += 1

    until = time.monotonic() + seconds
    tasks = [_loop(until, inbox) for _ in range(INBOX_CLIENTS)]
    if flood:
        tasks += [_loop(until, sign_in) for _ in range(FLOOD_CLIENTS)]
    await asyncio.gather(*tasks)
    return latencies, answered


def summarize(rounds: Rounds, params: dict[str, Any], *, quick: bool) -> Result:
    """The result of ``rounds`` (each with one quiet and one flood measurement)."""
    p99 = {case: rounds.p(case, 0.99) for case in CASES}
    p50 = {case: rounds.p(case, 0.50) for case in CASES}
    per_second = [answered / rounds.seconds for answered in rounds.sign_ins]
    params = {
        **params,
        "rounds": len(rounds.sign_ins),
        "inbox_requests": {case: rounds.requests(case) for case in CASES},
        "sign_ins_answered": rounds.sign_ins,
    }
    unmeasured: dict[str, str] = {}
    if min(rounds.sign_ins) == 0:
        unmeasured[RATIO] = f"a flood round answered no sign-in ({rounds.sign_ins})"
    elif min(min(rounds.requests(case)) for case in CASES) < MIN_INBOX_REQUESTS:
        unmeasured[RATIO] = f"a round timed fewer than {MIN_INBOX_REQUESTS} inbox requests"
    quiet, flood = statistics.median(p99["quiet"]), statistics.median(p99["flood"])
    return Result(
        name=NAME,
        params=params,
        metrics={
            "inbox_p99_flood": Metric(flood, "ms"),
            "inbox_p50_flood": Metric(statistics.median(p50["flood"]), "ms"),
            "sign_ins_per_second": Metric(statistics.median(per_second), "sign-ins/s"),
        },
        baseline={
            "inbox_p99_quiet": Metric(quiet, "ms"),
            "inbox_p50_quiet": Metric(statistics.median(p50["quiet"]), "ms"),
        },
        ratios={RATIO: flood / quiet},
        spreads={
            RATIO: [f / q for q, f in zip(p99["quiet"], p99["flood"], strict=True)],
            "inbox_p99_flood": p99["flood"],
            "inbox_p99_quiet": p99["quiet"],
            "inbox_p50_flood": p50["flood"],
            "inbox_p50_quiet": p50["quiet"],
            "sign_ins_per_second": per_second,
        },
        targets={RATIO: TARGET},
        unmeasured=unmeasured,
        quick=quick,
    )


async def run(quick: bool) -> Result:
    round_count, seconds = (2, 3.0) if quick else (5, 10.0)
    rounds = Rounds(seconds=seconds)
    order = RoundOrder()
    with bench_database() as (url, _cluster):
        await asyncio.to_thread(apply_migrations, url)
        organization, owner, email = await asyncio.to_thread(seed, url)
        port = free_port()
        env = benchmark_environment(
            {
                "DATABASE_URL": url,
                "ATENDE_JWT_SECRET": DEVELOPMENT_JWT_SECRET,
                "ATENDE_LOG_LEVEL": "WARNING",
            }
        )
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "atende", "serve", "--port", str(port), env=env
        )
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                timeout=30,
                limits=httpx.Limits(max_connections=INBOX_CLIENTS + FLOOD_CLIENTS),
            ) as client:
                await _wait_ready(client, server)
                token = issue_token(owner, email)
                await _measure(client, str(organization), token, 1.0, flood=True)  # warm-up
                for _ in range(round_count):
                    for case in order.shuffled(CASES):
                        with load_process_without_gc_pauses():
                            latencies, answered = await _measure(
                                client, str(organization), token, seconds, flood=case == "flood"
                            )
                        rounds.latencies[case].append(latencies)
                        if case == "flood":
                            rounds.sign_ins.append(answered)
        finally:
            server.terminate()
            await asyncio.wait_for(server.wait(), timeout=30)
    result = summarize(
        rounds,
        {
            "quick": quick,
            "seconds_per_case": seconds,
            "inbox_clients": INBOX_CLIENTS,
            "flood_clients": FLOOD_CLIENTS,
            "database": "DATABASE_URL" if "DATABASE_URL" in os.environ else "embedded",
            "password_hash_workers": Settings().password_hash_workers,
            "hash_thread_niceness": HASH_THREAD_NICENESS,
            "cpus": os.cpu_count(),
            "round_order": order.as_params(),
        },
        quick=quick,
    )
    result.print_table()
    print(f"  written to {result.write()}")
    return result
