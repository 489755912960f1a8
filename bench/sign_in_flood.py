"""The inbox's latency during a sign-in flood, against the same inbox without one.

``python -m bench.sign_in_flood [--quick]``. Starts ``atende serve`` (rate limits off, so
every sign-in pays its bcrypt check: the worst case, many addresses at once) on a database
of its own seeded with ``bench.graphql``'s inbox (200 conversations of 50 messages). Each
round measures, in an order drawn anew, the inbox page (4 clients in a closed loop) alone
(``quiet``) and while 16 more clients sign in with wrong passwords as fast as they are
answered (``flood``). bcrypt runs on ``ATENDE_PASSWORD_HASH_WORKERS`` threads of its own:
the flood queues there, and the inbox's p99 should barely move. Prints one table; the
figures are the medians over the rounds, with their range.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx

from atende.db.migrations import apply_migrations
from bench.graphql import ATENDE_QUERY, bench_database, issue_token, seed
from bench.harness import RoundOrder, benchmark_environment, percentile
from bench.identity import _free_port, _wait_ready

INBOX_CLIENTS = 4
FLOOD_CLIENTS = 16
SIGN_IN = "mutation ($input: SignInInput!) { signIn(input: $input) { __typename } }"


async def _loop(until: float, call: Callable[[], Awaitable[float]], samples: list[float]) -> None:
    while time.monotonic() < until:
        samples.append(await call())


async def _measure(
    client: httpx.AsyncClient, organization: str, token: str, seconds: float, flood: bool
) -> tuple[list[float], int]:
    """Inbox latencies (ms) over ``seconds``, and how many sign-ins were answered."""
    body = {"query": ATENDE_QUERY, "variables": {"org": organization, "first": 20}}
    headers = {"Authorization": f"Bearer {token}"}

    async def inbox() -> float:
        started = time.perf_counter()
        response = await client.post("/graphql", json=body, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        assert "errors" not in response.json(), response.text
        return elapsed

    async def sign_in() -> float:
        email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
        variables = {"input": {"email": email, "password": "not-the-password"}}
        response = await client.post("/graphql", json={"query": SIGN_IN, "variables": variables})
        assert "InvalidCredentials" in response.text, response.text
        return 0.0

    until = time.monotonic() + seconds
    latencies: list[float] = []
    sign_ins: list[float] = []
    tasks = [_loop(until, inbox, latencies) for _ in range(INBOX_CLIENTS)]
    if flood:
        tasks += [_loop(until, sign_in, sign_ins) for _ in range(FLOOD_CLIENTS)]
    await asyncio.gather(*tasks)
    return latencies, len(sign_ins)


async def run(quick: bool) -> dict[str, dict[str, float]]:
    rounds, seconds = (2, 3.0) if quick else (5, 10.0)
    with bench_database() as (url, _cluster):
        await asyncio.to_thread(apply_migrations, url)
        organization, owner, email = await asyncio.to_thread(seed, url)
        port = _free_port()
        env = benchmark_environment(
            {
                "DATABASE_URL": url,
                "ATENDE_LOG_LEVEL": "WARNING",
                "ATENDE_RATE_LIMIT_SIGN_IN": "off",
                "ATENDE_RATE_LIMIT_SIGN_IN_ADDRESS": "off",
            }
        )
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "atende", "serve", "--port", str(port), env=env
        )
        p99: dict[str, list[float]] = {"quiet": [], "flood": []}
        p50: dict[str, list[float]] = {"quiet": [], "flood": []}
        sign_ins_per_second: list[float] = []
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                timeout=30,
                limits=httpx.Limits(max_connections=INBOX_CLIENTS + FLOOD_CLIENTS),
            ) as client:
                await _wait_ready(client, server)
                token = issue_token(owner, email)
                await _measure(client, str(organization), token, 1.0, flood=True)  # warm-up
                order = RoundOrder()
                for _ in range(rounds):
                    for case in order.shuffled(["quiet", "flood"]):
                        latencies, answered = await _measure(
                            client, str(organization), token, seconds, flood=case == "flood"
                        )
                        p99[case].append(percentile(latencies, 0.99))
                        p50[case].append(percentile(latencies, 0.50))
                        if case == "flood":
                            sign_ins_per_second.append(answered / seconds)
        finally:
            server.terminate()
            await asyncio.wait_for(server.wait(), timeout=30)
    return {
        "inbox_p50_ms": {case: statistics.median(values) for case, values in p50.items()},
        "inbox_p99_ms": {case: statistics.median(values) for case, values in p99.items()},
        "inbox_p99_range_ms": {
            f"{case}_{end}": f(values)
            for case, values in p99.items()
            for end, f in (("min", min), ("max", max))
        },
        "sign_ins_per_second": {"flood": statistics.median(sign_ins_per_second)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sign_in_flood")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 3 s (smoke run)")
    figures = asyncio.run(run(parser.parse_args().quick))
    for name, values in figures.items():
        print(name, " ".join(f"{key}={value:.1f}" for key, value in values.items()))


if __name__ == "__main__":
    main()
