"""bench/graphql: the inbox query, Atende against PostGraphile 4 and a hand-written floor.

The query: one organization's 20 most recent conversations with their contact and last
message, as an authenticated member, RLS on. Three servers answer it from the same
database, tables and policies:

* Atende: ``atende serve`` as a real process;
* PostGraphile 4 (pinned by bench/package-lock.json, installed with ``npm ci`` into
  bench/node_modules at first use), each request run as role ``authenticated`` with
  ``request.jwt.claims`` (pgSettings), as PostgREST and Supabase do;
* the floor: a hand-written Starlette + psycopg endpoint on Atende's own building blocks
  (pipelined BEGIN and settings, orjson, GC tuning) returning the same JSON with one SQL
  statement (bench/graphql_floor.py).

Token verification is treated alike: each server keeps the claims of the tokens it
verified until they expire (Atende's cache; the floor uses the same class, the
PostGraphile script a Map with the same rules), and the load runs in two modes, each
reported: ``verify``, a fresh token with every request (every server verifies every
request: many clients, each with its own token), and ``cached``, one token throughout
(every server finds it in its cache: one client polling).

One load process (bench/graphql_load.py) drives each server in each mode in turn, at the
same concurrency, in rounds whose order is shuffled anew each round (the machine is
shared: only ratios compare, and each ratio is stated with its rounds' spread). Then the inbox's
latency is measured alone with 10k and with 1M messages in the database (100k with
--quick), which must stay flat: every part of the query is index-backed. On its own
cluster the benchmark keeps both sizes side by side (a second database, a second
Atende) and alternates between them, so the machine's load falls on both alike.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg

from atende.api.view import VerifiedTokens
from atende.config import DEVELOPMENT_JWT_SECRET
from atende.db.embedded import EmbeddedPostgres
from atende.db.migrations import apply_migrations
from atende.identity.tokens import TokenService
from bench.harness import (
    Metric,
    Result,
    RoundOrder,
    benchmark_environment,
    ensure_node_modules,
    percentile,
)

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).parent
POSTGRAPHILE_SCRIPT = BENCH_DIR / "graphql_postgraphile.js"
#: The token modes: a fresh token per request (every server verifies every request), or
#: one token throughout (every server finds it in its cache of verified tokens).
TOKEN_MODES = ("verify", "cached")
#: Atende's cache of verified tokens holds this many; the floor and the PostGraphile
#: script get the same size.
TOKEN_CACHE_SIZE = VerifiedTokens().max_size
#: Fresh tokens a load process makes for the ``verify`` mode, sent in turn: twice the
#: cache, so a token sent again has long left every cache.
FRESH_TOKENS = 2 * TOKEN_CACHE_SIZE
CONVERSATIONS = 200
MESSAGES_PER_CONVERSATION = 50  # 10k messages to begin with
PAGE = 20
READY_TIMEOUT = 20.0

ATENDE_QUERY = """
query Inbox($org: ID!, $first: Int!) {
  organization(id: $org) {
    conversations(first: $first) {
      edges {
        cursor
        node {
          id status aiEnabled lastMessageAt
          contact { id name phoneNumber }
          lastMessage { id body direction author createdAt }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

POSTGRAPHILE_QUERY = """
query Inbox($org: UUID!, $first: Int!) {
  allConversations(
    condition: { organizationId: $org }
    orderBy: [LAST_MESSAGE_AT_DESC, ID_DESC]
    first: $first
  ) {
    edges {
      cursor
      node {
        id status aiEnabled lastMessageAt
        contact: contactByContactId { id displayName profileName phoneNumber }
        lastMessage: messagesByConversationId(first: 1, orderBy: [CREATED_AT_DESC, ID_DESC]) {
          nodes { id body direction author createdAt }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the database --------------------------------------------------------------------------


@contextmanager
def bench_database() -> Iterator[tuple[str, EmbeddedPostgres | None]]:
    """DATABASE_URL when set; else an embedded cluster of its own, in a temp dir (which
    the benchmark may add databases to)."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"], None
        return
    data_dir = Path(tempfile.mkdtemp(prefix="atende-bench-graphql-"))
    cluster = EmbeddedPostgres(
        data_dir=data_dir, port=free_port(), database="atende_bench", ephemeral=True
    )
    cluster.start()
    try:
        yield cluster.url(), cluster
    finally:
        cluster.destroy()


def seed(url: str) -> tuple[uuid.UUID, uuid.UUID, str]:
    """An organization with 200 conversations of 50 messages; its owner's id and email."""
    owner = uuid.uuid4()
    email = f"bench-{owner.hex[:8]}@example.com"
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into auth.users (id, email, created_at) values (%s, %s, now())", [owner, email]
        )
        conn.execute(
            "insert into public.profiles (id, email, full_name) values (%s, %s, 'Bench Owner')",
            [owner, email],
        )
        row = conn.execute(
            "insert into public.organizations (name) values ('Padaria Bench') returning id"
        ).fetchone()
        assert row is not None
        organization: uuid.UUID = row[0]
        conn.execute(
            "insert into public.memberships (organization_id, user_id, role)"
            " values (%s, %s, 'owner')",
            [organization, owner],
        )
        conn.execute(
            """
            with channel as (
                insert into public.channels (organization_id, kind, phone_number,
                                             twilio_account_sid, twilio_auth_token_ciphertext)
                values (%(org)s, 'whatsapp', %(phone)s, 'AC' || md5(random()::text),
                        'ciphertext')
                returning id
            ), contacts as (
                insert into public.contacts (organization_id, phone_number, profile_name)
                select %(org)s, '+55119' || lpad(i::text, 8, '0'), 'Cliente ' || i
                from generate_series(1, %(n)s) as i
                returning id
            )
            insert into public.conversations (organization_id, channel_id, contact_id,
                                              last_inbound_at, last_message_at)
            select %(org)s, channel.id, contacts.id, now() - interval '1 hour',
                   now() - (random() * interval '7 days')
            from contacts cross join channel
            """,
            {
                "org": organization,
                "n": CONVERSATIONS,
                "phone": "+5511" + str(uuid.uuid4().int % 10**9).zfill(9),
            },
        )
        add_messages(conn, organization, MESSAGES_PER_CONVERSATION * CONVERSATIONS)
    return organization, owner, email


def add_messages(conn: psycopg.Connection[Any], organization: uuid.UUID, count: int) -> None:
    """``count`` more messages, spread over the organization's conversations, older first."""
    conn.execute(
        """
        insert into public.messages (organization_id, conversation_id, direction, author,
                                     body, status, created_at, metadata)
        select %(org)s, c.ids[1 + i %% array_length(c.ids, 1)],
               case when i %% 2 = 0 then 'inbound' else 'outbound' end::public.message_direction,
               case when i %% 2 = 0 then 'contact' else 'ai' end::public.message_author,
               'Mensagem ' || i || ': quero saber do pedido',
               case when i %% 2 = 0 then 'received' else 'delivered' end::public.message_status,
               now() - interval '8 days' + (i * interval '1 millisecond'),
               jsonb_build_object('message_sid', 'SMbench' || %(tag)s || i)
        from generate_series(1, %(n)s) as i,
             (select array_agg(id) as ids from public.conversations
              where organization_id = %(org)s) as c
        """,
        {"org": organization, "n": count, "tag": uuid.uuid4().hex[:8]},
    )
    conn.commit()
    with psycopg.connect(conn.info.dsn, autocommit=True) as admin:
        admin.execute("vacuum analyze public.messages")


# -- the servers ----------------------------------------------------------------------------


class Server:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int) -> None:
        self.name = name
        self.port = port
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log")  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            argv,
            env=benchmark_environment(env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-2000:]


def start_servers(url: str) -> dict[str, Server]:
    ensure_node_modules()
    ports = {name: free_port() for name in ("postgraphile", "floor")}
    common = {"DATABASE_URL": url, "ATENDE_JWT_SECRET": DEVELOPMENT_JWT_SECRET}
    return {
        "atende": atende_server("atende", url),
        "postgraphile": Server(
            "postgraphile",
            ["node", str(POSTGRAPHILE_SCRIPT)],
            {
                **common,
                "PORT": str(ports["postgraphile"]),
                "JWT_SECRET": DEVELOPMENT_JWT_SECRET,
                "TOKEN_CACHE_SIZE": str(TOKEN_CACHE_SIZE),
                "NODE_ENV": "production",
            },
            ports["postgraphile"],
        ),
        "floor": Server(
            "floor",
            [sys.executable, "-m", "bench.graphql_floor"],
            {**common, "PORT": str(ports["floor"])},
            ports["floor"],
        ),
    }


def request_body(name: str, organization: uuid.UUID) -> dict[str, Any]:
    query = POSTGRAPHILE_QUERY if name == "postgraphile" else ATENDE_QUERY
    return {"query": query, "variables": {"org": str(organization), "first": PAGE}}


def edges_of(name: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    if name == "postgraphile":
        edges: list[dict[str, Any]] = body["data"]["allConversations"]["edges"]
    else:
        edges = body["data"]["organization"]["conversations"]["edges"]
    return edges


async def first_page(server: Server, body: dict[str, Any], token: str) -> list[str]:
    """The ids of the inbox page ``server`` answers, once it answers (or we stop here)."""
    url = f"http://127.0.0.1:{server.port}/graphql"
    deadline = time.monotonic() + READY_TIMEOUT
    last = ""
    async with httpx.AsyncClient(timeout=10) as http:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited: {server.output()}")
            with suppress(httpx.HTTPError):
                response = await http.post(
                    url, json=body, headers={"Authorization": f"Bearer {token}"}
                )
                last = response.text[:500]
                if response.status_code == 200 and "errors" not in response.json():
                    return [e["node"]["id"] for e in edges_of(server.name, response.json())]
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.name} did not answer: {server.output()} {last}")
            await asyncio.sleep(0.25)


async def wait_until_serving(
    servers: dict[str, Server], organization: uuid.UUID, token: str
) -> None:
    """Every server answers the inbox with the same 20 conversations, or we stop here."""
    answers = {
        name: await first_page(server, request_body(name, organization), token)
        for name, server in servers.items()
    }
    if not (answers["atende"] == answers["postgraphile"] == answers["floor"]):
        raise RuntimeError(f"the servers disagree about the inbox: {answers}")
    if len(answers["atende"]) != PAGE:
        raise RuntimeError(f"expected {PAGE} conversations, got {len(answers['atende'])}")


def issue_token(owner: uuid.UUID, email: str) -> str:
    tokens = TokenService(DEVELOPMENT_JWT_SECRET, ttl=timedelta(hours=2))
    return tokens.issue(user_id=owner, email=email, session_id=uuid.uuid4()).token


def atende_server(name: str, url: str) -> Server:
    port = free_port()
    return Server(
        name,
        [sys.executable, "-m", "atende", "serve", "--port", str(port)],
        {
            "DATABASE_URL": url,
            "ATENDE_JWT_SECRET": DEVELOPMENT_JWT_SECRET,
            "ATENDE_LOG_LEVEL": "WARNING",
            "ATENDE_GRAPHIQL": "false",
        },
        port,
    )


def token_auth(token: str, mode: str = "cached") -> dict[str, Any]:
    """What the load process sends in ``mode``: ``token`` throughout (``cached``), or
    fresh tokens with ``token``'s claims, one per request (``verify``)."""
    if mode == "cached":
        return {"token": token}
    claims = jwt.decode(token, options={"verify_signature": False})
    return {"fresh": {"secret": DEVELOPMENT_JWT_SECRET, "claims": claims, "count": FRESH_TOKENS}}


def drive(
    server: Server, body: dict[str, Any], token: str, *, concurrency: int, seconds: float
) -> dict[str, Any]:
    """``drive_with`` one token throughout."""
    return drive_with(server, body, token_auth(token), concurrency=concurrency, seconds=seconds)


def drive_with(
    server: Server, body: dict[str, Any], auth: dict[str, Any], *, concurrency: int, seconds: float
) -> dict[str, Any]:
    """One round of the load process against ``server``: its measurements."""
    job = {
        "host": "127.0.0.1",
        "port": server.port,
        "path": "/graphql",
        "headers": {},
        "auth": auth,
        "body": body,
        "concurrency": concurrency,
        "duration": seconds,
        "warmup": min(1.0, seconds / 3),
        "expect": '"edges"',
    }
    completed = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-m", "bench.graphql_load", json.dumps(job)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=seconds + 120,
    )
    result: dict[str, Any] = json.loads(completed.stdout)
    if result["errors"]:
        raise RuntimeError(
            f"{server.name}: {result['errors']} bad answers: {result['first_error']}"
        )
    return result


LARGE_DATABASE = "atende_bench_large"


async def latency_small_and_large(
    servers: dict[str, Server],
    url: str,
    cluster: EmbeddedPostgres | None,
    small_world: tuple[uuid.UUID, str],
    *,
    extra_messages: int,
    bursts: int,
    seconds: float,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The inbox's latency alone (one request at a time), with few and with many messages.

    In bursts, best burst's median: the least disturbed by whatever else the machine does.
    With a cluster of its own, the large database is a second one beside the small, served
    by a second Atende, and bursts alternate between them, so the machine's moods fall on
    both alike. With DATABASE_URL, the same database grows between the two measurements.
    """
    organization, token = small_world
    atende = servers["atende"]
    body = request_body("atende", organization)
    if cluster is None:
        small = [drive(atende, body, token, concurrency=1, seconds=seconds) for _ in range(bursts)]
        with psycopg.connect(url) as conn:
            add_messages(conn, organization, extra_messages)
        big = [drive(atende, body, token, concurrency=1, seconds=seconds) for _ in range(bursts)]
        return small, big
    cluster.create_database(LARGE_DATABASE)
    large_url = cluster.url(LARGE_DATABASE)
    apply_migrations(large_url)
    large_organization, large_owner, large_email = seed(large_url)
    with psycopg.connect(large_url) as conn:
        add_messages(conn, large_organization, extra_messages)
    large_token = issue_token(large_owner, large_email)
    servers["atende_large"] = large_server = atende_server("atende_large", large_url)
    large_body = request_body("atende", large_organization)
    await first_page(large_server, large_body, large_token)
    small, big = [], []
    for _ in range(bursts):
        small.append(drive(atende, body, token, concurrency=1, seconds=seconds))
        big.append(drive(large_server, large_body, large_token, concurrency=1, seconds=seconds))
    return small, big


# -- the run --------------------------------------------------------------------------------


async def run(quick: bool) -> Result:
    concurrency = 8
    # Short rounds in shuffled order, medians across them: on a shared machine, load from
    # elsewhere then falls on every server alike.
    seconds = 1.0 if quick else 6.0
    rounds = 2 if quick else 5
    large = 50_000 if quick else 1_000_000
    latency_seconds = 0.5 if quick else 3.0
    bursts = 2 if quick else 6
    params: dict[str, Any] = {
        "conversations": CONVERSATIONS,
        "page": PAGE,
        "concurrency": concurrency,
        "seconds_per_round": seconds,
        "rounds": rounds,
        "token_modes": {
            "verify": f"a fresh token per request ({FRESH_TOKENS} made per round, sent in turn)",
            "cached": "one token throughout",
        },
        "token_cache_size": TOKEN_CACHE_SIZE,
        "messages_small": CONVERSATIONS * MESSAGES_PER_CONVERSATION,
        "messages_large": large,
        "latency_bursts": bursts,
        "latency_seconds_per_burst": latency_seconds,
        "quick": quick,
    }
    order = RoundOrder()
    with bench_database() as (url, cluster):
        apply_migrations(url)
        organization, owner, email = seed(url)
        token = issue_token(owner, email)
        servers = start_servers(url)
        try:
            await wait_until_serving(servers, organization, token)
            samples = throughput_rounds(
                servers,
                organization,
                token,
                order,
                rounds=rounds,
                concurrency=concurrency,
                seconds=seconds,
            )
            small, big = await latency_small_and_large(
                servers,
                url,
                cluster,
                (organization, token),
                extra_messages=large - params["messages_small"],
                bursts=bursts,
                seconds=latency_seconds,
            )
        finally:
            for server in servers.values():
                server.stop()
            if cluster is None:
                with psycopg.connect(url) as conn:
                    conn.execute("delete from public.organizations where id = %s", [organization])
    params["latency_interleaved"] = cluster is not None
    params["round_order"] = order.as_params()
    result = summarize(samples, small, big, params, quick=quick)
    result.print_table()
    print(f"wrote {result.write()}")
    return result


#: samples[mode][server]: each round's measurements, in round order.
Samples = dict[str, dict[str, list[dict[str, Any]]]]


def throughput_rounds(
    servers: dict[str, Server],
    organization: uuid.UUID,
    token: str,
    order: RoundOrder,
    *,
    rounds: int,
    concurrency: int,
    seconds: float,
) -> Samples:
    """Every server in every token mode, once a round, in an order shuffled per round."""
    names = list(servers)
    auth = {mode: token_auth(token, mode) for mode in TOKEN_MODES}
    samples: Samples = {mode: {name: [] for name in names} for mode in TOKEN_MODES}
    for number in range(rounds):
        for run_name in order.shuffled([f"{m}:{n}" for m in TOKEN_MODES for n in names]):
            mode, name = run_name.split(":")
            sample = drive_with(
                servers[name],
                request_body(name, organization),
                auth[mode],
                concurrency=concurrency,
                seconds=seconds,
            )
            samples[mode][name].append(sample)
            print(
                f"round {number + 1} {mode:>6} {name:<12}"
                f" {sample['requests'] / sample['duration']:7.1f} req/s"
            )
    return samples


def summarize(
    samples: Samples,
    small: list[dict[str, Any]],
    big: list[dict[str, Any]],
    params: dict[str, Any],
    *,
    quick: bool,
) -> Result:
    names = ["atende", "postgraphile", "floor"]

    def best(bursts: list[dict[str, Any]], fraction: float) -> float:
        return min(percentile(burst["latencies_ms"], fraction) for burst in bursts)

    def per_round(mode: str, name: str) -> list[float]:
        return [s["requests"] / s["duration"] for s in samples[mode][name]]

    def throughput(mode: str, name: str) -> float:
        return float(statistics.median(per_round(mode, name)))

    def latencies(mode: str, name: str) -> list[float]:
        return [value for s in samples[mode][name] for value in s["latencies_ms"]]

    def round_ratios(mode: str, name: str, other: str) -> list[float]:
        """Each round's ratio (the two servers' runs of the same round)."""
        return [
            mine / theirs
            for mine, theirs in zip(per_round(mode, name), per_round(mode, other), strict=True)
        ]

    # Every round's throughput, for whoever wants to see the noise behind the medians.
    params["throughput_rounds"] = {
        mode: {name: [round(value, 1) for value in per_round(mode, name)] for name in names}
        for mode in TOKEN_MODES
    }
    print("throughput per round (req/s):", json.dumps(params["throughput_rounds"]))
    metrics: dict[str, Metric] = {}
    baseline: dict[str, Metric] = {}
    ratios: dict[str, float] = {}
    spreads: dict[str, list[float]] = {}
    targets: dict[str, str] = {}
    for mode in TOKEN_MODES:
        for prefix, name in (("", "atende"), ("postgraphile_", "postgraphile")):
            metrics[f"{prefix}throughput_{mode}"] = Metric(throughput(mode, name), "req/s")
            metrics[f"{prefix}p50_{mode}"] = Metric(percentile(latencies(mode, name), 0.5), "ms")
            metrics[f"{prefix}p99_{mode}"] = Metric(percentile(latencies(mode, name), 0.99), "ms")
        baseline[f"throughput_{mode}"] = Metric(throughput(mode, "floor"), "req/s")
        baseline[f"p50_{mode}"] = Metric(percentile(latencies(mode, "floor"), 0.5), "ms")
        baseline[f"p99_{mode}"] = Metric(percentile(latencies(mode, "floor"), 0.99), "ms")
        for key, other, target in (
            (f"throughput_vs_baseline_{mode}", "floor", ">= 0.50"),
            (f"throughput_vs_postgraphile_{mode}", "postgraphile", ">= 1.00"),
        ):
            ratios[key] = throughput(mode, "atende") / throughput(mode, other)
            spreads[key] = round_ratios(mode, "atende", other)
            targets[key] = target
    small_p50 = [percentile(burst["latencies_ms"], 0.5) for burst in small]
    big_p50 = [percentile(burst["latencies_ms"], 0.5) for burst in big]
    metrics.update(
        {
            "inbox_latency_p50_small": Metric(best(small, 0.50), "ms"),
            "inbox_latency_p99_small": Metric(best(small, 0.99), "ms"),
            "inbox_latency_p50_large": Metric(best(big, 0.50), "ms"),
            "inbox_latency_p99_large": Metric(best(big, 0.99), "ms"),
        }
    )
    ratios["latency_large_vs_small"] = (
        metrics["inbox_latency_p50_large"].value / metrics["inbox_latency_p50_small"].value
    )
    # Each pair of bursts (small, then large: side by side on the embedded cluster).
    spreads["latency_large_vs_small"] = [b / a for a, b in zip(small_p50, big_p50, strict=True)]
    targets["latency_large_vs_small"] = "<= 1.50"
    return Result(
        name="graphql",
        params=params,
        metrics=metrics,
        baseline=baseline,
        ratios=ratios,
        spreads=spreads,
        targets=targets,
        quick=quick,
    )
