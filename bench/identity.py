"""Sign-in refusals take the same time whether the e-mail exists or not.

Starts ``atende serve`` on a database of its own (``DATABASE_URL``, or a throwaway
embedded cluster on a free port, so a running ``atende dev`` is never touched), registers
an organization, then signs in from this process over loopback, interleaving three kinds
of attempt: the right password (for reference), a wrong password for the registered e-mail
(the baseline), and an unknown e-mail, in an order drawn anew each round. The ratio of the
medians is what matters: an attacker who could tell "unknown e-mail" by its speed could
enumerate users.
Each ratio is stated with its spread over five blocks of consecutive rounds.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid

import httpx

from atende.db.migrations import apply_migrations
from bench.graphql import bench_database, free_port
from bench.harness import Metric, Result, RoundOrder, benchmark_environment, percentile

#: The rounds fall into this many blocks of consecutive rounds, each ratio's spread.
BLOCKS = 5
PASSWORD = "bench-password-0123"  # noqa: S105 - a throwaway user in a throwaway database
SIGN_IN = """
mutation ($input: SignInInput!) { signIn(input: $input) { __typename } }
"""
REGISTER = """
mutation ($input: RegisterOrganizationInput!) {
  registerOrganization(input: $input) { __typename }
}
"""


async def _wait_ready(client: httpx.AsyncClient, server: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.returncode is not None:
            raise RuntimeError("atende serve exited")
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("atende serve did not become ready")


async def _sign_in(client: httpx.AsyncClient, email: str, password: str, expected: str) -> float:
    started = time.perf_counter()
    response = await client.post(
        "/graphql",
        json={"query": SIGN_IN, "variables": {"input": {"email": email, "password": password}}},
    )
    elapsed = (time.perf_counter() - started) * 1000
    assert response.json()["data"]["signIn"]["__typename"] == expected, response.text
    return elapsed


async def _attempt(client: httpx.AsyncClient, kind: str, email: str) -> float:
    """One sign-in of ``kind``: the right password, a wrong one, or an unknown e-mail."""
    if kind == "right":
        return await _sign_in(client, email, PASSWORD, "SignInSuccess")
    if kind == "wrong":
        return await _sign_in(client, email, "not-the-password", "InvalidCredentials")
    unknown = f"nobody-{uuid.uuid4().hex[:6]}@example.com"
    return await _sign_in(client, unknown, PASSWORD, "InvalidCredentials")


async def run(quick: bool) -> Result:
    rounds = 20 if quick else 100
    with bench_database() as (url, _cluster):
        await asyncio.to_thread(apply_migrations, url)
        return await _measure(url, rounds, quick)


async def _measure(url: str, rounds: int, quick: bool) -> Result:
    port = free_port()
    env = benchmark_environment({"DATABASE_URL": url, "ATENDE_LOG_LEVEL": "WARNING"})
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "atende", "serve", "--port", str(port), env=env
    )
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    samples: dict[str, list[float]] = {"right": [], "wrong": [], "unknown": []}
    order = RoundOrder()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await _wait_ready(client, server)
            registered = await client.post(
                "/graphql",
                json={
                    "query": REGISTER,
                    "variables": {
                        "input": {
                            "organizationName": "Bench",
                            "fullName": "Bench",
                            "email": email,
                            "password": PASSWORD,
                        }
                    },
                },
            )
            assert "RegisterOrganizationSuccess" in registered.text, registered.text
            # Warm-up: connections, caches, the dummy hash.
            await _sign_in(client, email, "warm-up-password", "InvalidCredentials")
            await _sign_in(client, f"x{email}", "warm-up-password", "InvalidCredentials")
            for _ in range(rounds):
                for kind in order.shuffled(["right", "wrong", "unknown"]):
                    samples[kind].append(await _attempt(client, kind, email))
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)

    wrong = statistics.median(samples["wrong"])
    unknown = statistics.median(samples["unknown"])
    size = -(-rounds // BLOCKS)
    blocks = [
        (
            statistics.median(samples["unknown"][i : i + size]),
            statistics.median(samples["wrong"][i : i + size]),
        )
        for i in range(0, rounds, size)
    ]
    result = Result(
        name="identity",
        params={
            "rounds": rounds,
            "database": "DATABASE_URL" if "DATABASE_URL" in os.environ else "embedded",
            "blocks": len(blocks),
            "quick": quick,
            "round_order": order.as_params(),
        },
        metrics={
            "sign_in_unknown_email_p50": Metric(unknown, "ms"),
            "sign_in_unknown_email_p90": Metric(percentile(samples["unknown"], 0.9), "ms"),
            "sign_in_right_password_p50": Metric(statistics.median(samples["right"]), "ms"),
        },
        baseline={
            "sign_in_wrong_password_p50": Metric(wrong, "ms"),
            "sign_in_wrong_password_p90": Metric(percentile(samples["wrong"], 0.9), "ms"),
        },
        ratios={
            "unknown_email_vs_wrong_password": unknown / wrong,
            "wrong_password_vs_unknown_email": wrong / unknown,
        },
        spreads={
            "unknown_email_vs_wrong_password": [u / w for u, w in blocks],
            "wrong_password_vs_unknown_email": [w / u for u, w in blocks],
        },
        quick=quick,
        # Comparable: neither refusal is more than 20% faster than the other.
        targets={
            "unknown_email_vs_wrong_password": ">= 0.8",
            "wrong_password_vs_unknown_email": ">= 0.8",
        },
    )
    result.print_table()
    result.write()
    return result
