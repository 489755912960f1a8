"""bench/webhooks: outgoing webhooks, from the committing transaction to the receiver's 200.

On a database of its own (a throwaway embedded cluster on a free port), ten organizations
each register one endpoint (``message.received``) on one of ten local receivers (aiohttp,
in this process). This process commits events at a fixed rate: each a transaction that
stores an inbound message, whose trigger records the delivery and defers its job in the
same transaction, as ingest does. A real ``atende worker`` (the default concurrency, 10
job slots) posts them, signed. Each delivery's latency runs from just before its
transaction's COMMIT to the moment its receiver answers 200.

The baseline is the least such a sender can do: the same signed POSTs (same body, same
Standard Webhooks headers) sent by a bare httpx loop to the same receivers at the same
rate, its latency from just before each POST.

Phases, each measured for Atende and the baseline alike:

- **fixed rate** (``FIXED_RATE`` events/s): p50 and p99;
- **highest rate held**: rising rates (``RATES``), each for a few seconds, until one is
  not held (an event not delivered within ``DRAIN_SECONDS`` of the step's end, or a p99
  over ``HELD_P99_MS``: the sender fell behind);
- **a hanging receiver**: rounds at the fixed rate in pairs, ``normal`` (every receiver
  answers) and ``hanging`` (receiver 0 holds every request without answering, until the
  round ends), in an order drawn anew for each pair. The target: the other nine's p50 and
  p99 move by no more than 20% (the median over pairs of hanging/normal, stated with each
  pair's own). After a hanging round its leftovers (requests held, jobs put back or
  retrying later) are answered, brought forward and drained, so the next round starts
  clean.

Also targets: every event delivered to the receivers that answer, and the fixed rate held.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import psycopg
from aiohttp import web

from atende.channels.crypto import TokenCipher
from atende.db.migrations import apply_migrations
from atende.webhooks.delivery import new_secret, signed_headers, webhook_id
from bench.graphql import bench_database, free_port
from bench.harness import Metric, Result, RoundOrder, benchmark_environment, percentile

RECEIVERS = 10
#: The receiver that hangs in the hanging rounds (its organization's endpoint).
HANGING = 0
SECRET_KEY = "bench-webhooks-secret-key-0123456789-abcdef"  # noqa: S105 - bench only
#: Events per second for the p50/p99 figures and the hanging rounds: well under what one
#: worker delivered on the shared 2-core machine under other work (load average 10: 10-20
#: events/s held), so that a round measures latency, not a backlog.
FIXED_RATE = 10
#: Rates tried, in turn, for the highest rate held.
RATES = (10, 20, 50, 100, 200, 400, 800)
QUICK_RATES = (10, 50)
#: A rate is held when every event arrives within this long after its step and the step's
#: p99 is under HELD_P99_MS (a sender that falls behind builds a backlog: its p99 grows
#: with the step's length).
DRAIN_SECONDS = 5.0
HELD_P99_MS = 500.0
#: Connections committing events: enough that the transactions never queue for one.
COMMITTERS = 8
MAX_CHANGE = 1.2  # the others' latency with a hanging receiver: at most +20 %


# -- receivers -------------------------------------------------------------------------------


@dataclass
class Receivers:
    """Ten local HTTP servers answering 200 (and noting when), one of which may hang."""

    ports: list[int] = field(default_factory=list)
    #: Event number -> when its receiver answered (perf_counter).
    answered: dict[int, float] = field(default_factory=dict)
    hanging: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)
    held: int = 0
    runners: list[web.AppRunner] = field(default_factory=list)

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}/hook"

    async def start(self) -> None:
        for index in range(RECEIVERS):
            app = web.Application()
            app.router.add_post("/hook", self._handler(index))
            runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
            await runner.setup()
            port = free_port()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            self.runners.append(runner)
            self.ports.append(port)

    async def stop(self) -> None:
        self.release.set()
        for runner in self.runners:
            await runner.cleanup()

    def _handler(self, index: int) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            if index == HANGING and self.hanging:
                self.held += 1
                # Until the round ends (or the sender gives up and disconnects).
                await self.release.wait()
            number = int(orjson.loads(body)["data"]["message"]["body"].removeprefix("bench-"))
            self.answered.setdefault(number, time.perf_counter())
            return web.Response(status=200)

        return handle


# -- the two senders ---------------------------------------------------------------------------


@dataclass
class Seeded:
    organizations: list[uuid.UUID]
    conversations: list[uuid.UUID]
    endpoints: list[uuid.UUID]
    secrets: list[str]


def seed(url: str, receivers: Receivers) -> Seeded:
    """Ten organizations, each with a conversation and an endpoint on its receiver."""
    cipher = TokenCipher(SECRET_KEY)
    seeded = Seeded([], [], [], [])
    owner = uuid.uuid4()
    email = f"bench-{owner.hex[:8]}@example.com"
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into auth.users (id, email, created_at) values (%s, %s, now())", [owner, email]
        )
        conn.execute(
            "insert into public.profiles (id, email, full_name) values (%s, %s, 'Dona')",
            [owner, email],
        )
        for index in range(RECEIVERS):
            secret = new_secret()
            row = conn.execute(
                """
                with org as (
                    insert into public.organizations (name) values (%(name)s) returning id
                ), membership as (
                    insert into public.memberships (organization_id, user_id, role)
                    select id, %(owner)s, 'owner' from org
                ), channel as (
                    insert into public.channels (organization_id, kind, phone_number,
                                                 twilio_account_sid,
                                                 twilio_auth_token_ciphertext)
                    select id, 'whatsapp', %(phone)s, 'AC' || md5(random()::text), 'c'
                    from org returning id, organization_id
                ), contact as (
                    insert into public.contacts (organization_id, phone_number, profile_name)
                    select id, '+5521900000001', 'Cliente' from org returning id
                ), conversation as (
                    -- The assistant off: the events are what is measured, not replies.
                    insert into public.conversations (organization_id, channel_id,
                                                      contact_id, last_inbound_at, ai_enabled)
                    select channel.organization_id, channel.id, contact.id, now(), false
                    from channel cross join contact returning id
                ), endpoint as (
                    insert into public.webhook_endpoints (organization_id, url, events,
                                                          secret_ciphertext)
                    select id, %(url)s, '{message.received}'::text[], %(secret)s from org
                    returning id
                )
                select org.id, conversation.id, endpoint.id
                from org cross join conversation cross join endpoint
                """,
                {
                    "name": f"Loja {index}",
                    "owner": owner,
                    "phone": f"+55119000000{index:02d}",
                    "url": receivers.url(index),
                    "secret": cipher.encrypt(secret),
                },
            ).fetchone()
            assert row is not None
            seeded.organizations.append(row[0])
            seeded.conversations.append(row[1])
            seeded.endpoints.append(row[2])
            seeded.secrets.append(secret)
    return seeded


@dataclass
class Phase:
    """One timed stretch: when each event started (just before COMMIT, or before the
    POST), and to which receiver it went."""

    started: dict[int, float] = field(default_factory=dict)
    receiver: dict[int, int] = field(default_factory=dict)
    lag_ms: float = 0.0  # how late the last event left, against its schedule

    def latencies(self, answered: dict[int, float], *, skip: int | None = None) -> list[float]:
        return [
            (answered[n] - t) * 1000
            for n, t in self.started.items()
            if n in answered and self.receiver[n] != skip
        ]

    def missing(self, answered: dict[int, float], *, skip: int | None = None) -> int:
        return sum(1 for n in self.started if n not in answered and self.receiver[n] != skip)


class Numbers:
    def __init__(self) -> None:
        self.next = 0

    def take(self) -> int:
        self.next += 1
        return self.next


async def at_rate(
    rate: float, seconds: float, fire: Callable[[int], Coroutine[Any, Any, None]]
) -> float:
    """Start ``fire(i)`` every 1/rate s for ``seconds`` (open loop: a slow one does not
    delay the next); returns how late the last one started, in ms."""
    count = max(1, round(rate * seconds))
    start = time.perf_counter() + 0.05
    tasks: list[asyncio.Task[None]] = []
    lag = 0.0
    for i in range(count):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lag = max(0.0, time.perf_counter() - due)
        tasks.append(asyncio.create_task(fire(i)))
    await asyncio.gather(*tasks)
    return lag * 1000


class AtendeSender:
    """Commits events: an inbound message each, whose trigger records the delivery."""

    def __init__(self, url: str, seeded: Seeded, numbers: Numbers) -> None:
        self.url = url
        self.seeded = seeded
        self.numbers = numbers
        self.free: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(COMMITTERS):
            self.free.put_nowait(await psycopg.AsyncConnection.connect(self.url))

    async def close(self) -> None:
        while not self.free.empty():
            await self.free.get_nowait().close()

    async def run(self, rate: float, seconds: float) -> Phase:
        phase = Phase()

        async def fire(i: int) -> None:
            number = self.numbers.take()
            index = i % RECEIVERS
            phase.receiver[number] = index
            conn = await self.free.get()
            try:
                await conn.execute(
                    "insert into public.messages (organization_id, conversation_id, direction,"
                    " author, body, status) values (%s, %s, 'inbound', 'contact', %s, 'received')",
                    [
                        self.seeded.organizations[index],
                        self.seeded.conversations[index],
                        f"bench-{number}",
                    ],
                )
                phase.started[number] = time.perf_counter()
                await conn.commit()
            finally:
                self.free.put_nowait(conn)

        phase.lag_ms = await at_rate(rate, seconds, fire)
        return phase


class BareLoop:
    """The baseline: the same signed POSTs from a bare httpx loop."""

    def __init__(self, receivers: Receivers, seeded: Seeded, numbers: Numbers) -> None:
        self.receivers = receivers
        self.seeded = seeded
        self.numbers = numbers
        self.client = httpx.AsyncClient(
            timeout=10.0, limits=httpx.Limits(max_connections=100, max_keepalive_connections=20)
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def run(self, rate: float, seconds: float) -> Phase:
        phase = Phase()

        async def fire(i: int) -> None:
            number = self.numbers.take()
            index = i % RECEIVERS
            phase.receiver[number] = index
            body = orjson.dumps(
                {
                    "type": "message.received",
                    "timestamp": datetime.now(UTC).isoformat(),
                    "data": {"message": {"body": f"bench-{number}"}},
                }
            ).decode()
            headers = {
                "content-type": "application/json",
                **signed_headers(
                    self.seeded.secrets[index], webhook_id(uuid.uuid4()), body, datetime.now(UTC)
                ),
            }
            phase.started[number] = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                await self.client.post(
                    self.receivers.url(index), content=body.encode(), headers=headers
                )

        phase.lag_ms = await at_rate(rate, seconds, fire)
        return phase


async def drain(receivers: Receivers, phase: Phase, *, skip: int | None, seconds: float) -> None:
    """Wait until every event of the phase (but ``skip``'s) was answered, or ``seconds``."""
    deadline = time.monotonic() + seconds
    # Polled: the receivers note answers in a dict, and a phase checks its own events.
    while phase.missing(receivers.answered, skip=skip) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


# -- the worker --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def worker(url: str) -> AsyncIterator[asyncio.subprocess.Process]:
    env = benchmark_environment(
        {
            "DATABASE_URL": url,
            "ATENDE_ENV": "development",
            "ATENDE_LOG_LEVEL": "WARNING",
            "ATENDE_SECRET_KEY": SECRET_KEY,
            "ATENDE_OUTGOING_WEBHOOKS_ALLOW_PRIVATE": "true",
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "atende", "worker", env=env
    )
    try:
        deadline = time.monotonic() + 30
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            while True:
                if process.returncode is not None:
                    raise RuntimeError("atende worker exited")
                row = await (
                    await conn.execute("select count(*) from procrastinate.procrastinate_workers")
                ).fetchone()
                if row and row[0]:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("atende worker did not start")
                await asyncio.sleep(0.2)
        yield process
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=40)


async def quiesce(url: str, seconds: float = 60.0) -> None:
    """Wait until no delivery job is running or due within seconds (a phase's backlog is
    not the next phase's); a retry queued for minutes later is left (it goes to a receiver
    that answers)."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            row = await (
                await conn.execute(
                    "select count(*) from procrastinate.procrastinate_jobs"
                    " where queue_name = 'webhooks' and (status = 'doing' or (status = 'todo'"
                    " and (scheduled_at is null or scheduled_at < now() + interval '3 s')))"
                )
            ).fetchone()
            if row and row[0] == 0:
                return
            await asyncio.sleep(0.1)


async def job_runs(url: str) -> int:
    """Runs of delivery jobs so far (Procrastinate counts each: a job put back for a
    full lane, or after a failed attempt, runs again)."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        row = await (
            await conn.execute(
                "select coalesce(sum(attempts), 0) from procrastinate.procrastinate_jobs"
                " where queue_name = 'webhooks'"
            )
        ).fetchone()
    return int(row[0]) if row else 0


JOB_TIMINGS = """
with jobs as (
    select j.id,
           min(e.at) filter (where e.type = 'deferred') as deferred,
           min(e.at) filter (where e.type = 'started') as first_started,
           max(e.at) filter (where e.type = 'started') as last_started,
           max(e.at) filter (where e.type = 'succeeded') as succeeded
    from procrastinate.procrastinate_jobs as j
    join procrastinate.procrastinate_events as e on e.job_id = j.id
    join public.webhook_deliveries as d on d.id = (j.args ->> 'delivery_id')::uuid
    where j.queue_name = 'webhooks' and j.id > %(after)s and d.endpoint_id <> %(skip)s
    group by j.id
)
select percentile_cont(0.5) within group (order by first_started - deferred) as wait_p50,
       percentile_cont(0.99) within group (order by first_started - deferred) as wait_p99,
       percentile_cont(0.5) within group (order by succeeded - last_started) as run_p50,
       percentile_cont(0.99) within group (order by succeeded - last_started) as run_p99,
       count(*) filter (where last_started > first_started) as put_back
from jobs
"""


async def last_job(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        row = await (
            await conn.execute("select coalesce(max(id), 0) from procrastinate.procrastinate_jobs")
        ).fetchone()
    return int(row[0]) if row else 0


async def job_timings(url: str, after: int, skip: uuid.UUID) -> dict[str, float]:
    """Where the others' deliveries spent their time, from the queue's own records: from
    the job's defer to its first start (waiting for a slot or the worker), and from its
    last start to its success (the POST and its bookkeeping), in ms; and how many were
    put back (a full lane) before they ran."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        row = await (await conn.execute(JOB_TIMINGS, {"after": after, "skip": skip})).fetchone()
    assert row is not None
    timings = {
        key: round(value.total_seconds() * 1000, 2) if value is not None else float("nan")
        for key, value in zip(("wait_p50", "wait_p99", "run_p50", "run_p99"), row[:4], strict=True)
    }
    return {**timings, "put_back": float(row[4])}


async def settle(url: str, endpoint: uuid.UUID, receivers: Receivers) -> None:
    """After a hanging round: answer what the hanging receiver holds, bring its
    deliveries' jobs waiting for later (put back for a full lane, or retrying after a
    timeout) to now, and let them finish: the next round starts with none of them."""
    receivers.release.set()
    receivers.hanging = False
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("set search_path to procrastinate, public")  # its triggers need it
        await conn.execute(
            "update procrastinate.procrastinate_jobs set scheduled_at = now()"
            " where queue_name = 'webhooks' and status = 'todo' and scheduled_at > now()"
        )
    await quiesce(url)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        # Failing since the hang: back to answering, as the endpoint's team would see it.
        await conn.execute(
            "update public.webhook_endpoints set failing_since = null where id = %s", [endpoint]
        )
    receivers.release = asyncio.Event()


# -- the run -----------------------------------------------------------------------------------


def p(samples: list[float], fraction: float) -> float:
    return percentile(samples, fraction) if samples else float("nan")


async def run(quick: bool) -> Result:
    with bench_database() as (url, _cluster):
        await asyncio.to_thread(apply_migrations, url)
        return await _measure(url, quick)


@dataclass
class Run:
    """What the phases share: the database, the receivers, the two senders."""

    url: str
    receivers: Receivers
    seeded: Seeded
    atende: AtendeSender
    bare: BareLoop
    steps: dict[str, list[dict[str, float]]] = field(
        default_factory=lambda: {"atende": [], "baseline": []}
    )
    pair_rounds: list[dict[str, dict[str, float]]] = field(default_factory=list)
    others: dict[str, list[float]] = field(default_factory=lambda: {"normal": [], "hanging": []})
    missing_others: int = 0
    held_by_hanging: list[int] = field(default_factory=list)

    async def fixed(
        self, send: Callable[[float, float], Awaitable[Phase]], seconds: float
    ) -> Phase:
        phase = await send(FIXED_RATE, seconds)
        await drain(self.receivers, phase, skip=None, seconds=DRAIN_SECONDS)
        await quiesce(self.url)
        return phase

    async def held(
        self,
        name: str,
        send: Callable[[float, float], Awaitable[Phase]],
        rates: tuple[int, ...],
        seconds: float,
    ) -> float:
        """The highest of ``rates`` held, trying each in turn until one is not."""
        held = 0.0
        for rate in rates:
            phase = await send(rate, seconds)
            await drain(self.receivers, phase, skip=None, seconds=DRAIN_SECONDS)
            await quiesce(self.url)
            missing = phase.missing(self.receivers.answered)
            p99 = p(phase.latencies(self.receivers.answered), 0.99)
            self.steps[name].append({"rate": rate, "p99_ms": round(p99, 2), "missing": missing})
            if missing or not p99 <= HELD_P99_MS:
                break
            held = rate
        return held

    async def round(self, kind: str, seconds: float) -> dict[str, float]:
        """One round at the fixed rate, receiver 0 hanging or not: the others' figures."""
        hanging = self.seeded.endpoints[HANGING]
        self.receivers.held = 0
        self.receivers.hanging = kind == "hanging"
        runs = await job_runs(self.url)
        first_job = await last_job(self.url)
        phase = await self.atende.run(FIXED_RATE, seconds)
        await drain(self.receivers, phase, skip=HANGING, seconds=DRAIN_SECONDS)
        latencies = phase.latencies(self.receivers.answered, skip=HANGING)
        self.missing_others += phase.missing(self.receivers.answered, skip=HANGING)
        self.others[kind] += latencies
        figures = {
            "p50": p(latencies, 0.5),
            "p99": p(latencies, 0.99),
            "job_runs": await job_runs(self.url) - runs,
            **await job_timings(self.url, first_job, hanging),
        }
        if kind == "hanging":
            self.held_by_hanging.append(self.receivers.held)
            await settle(self.url, hanging, self.receivers)
        else:
            await drain(self.receivers, phase, skip=None, seconds=DRAIN_SECONDS)
            await quiesce(self.url)
        return figures


async def _measure(url: str, quick: bool) -> Result:
    fixed_seconds = 2.0 if quick else 20.0
    step_seconds = 1.0 if quick else 5.0
    # A full round outlasts the hanging requests' 10 s timeout, so its retries and the
    # jobs put back while it hangs are part of what the others live with.
    round_seconds = 4.0 if quick else 30.0
    pairs = 1 if quick else 3
    rates = QUICK_RATES if quick else RATES
    receivers = Receivers()
    await receivers.start()
    numbers = Numbers()
    seeded = await asyncio.to_thread(seed, url, receivers)
    run = Run(
        url,
        receivers,
        seeded,
        AtendeSender(url, seeded, numbers),
        BareLoop(receivers, seeded, numbers),
    )
    order = RoundOrder()
    await run.atende.open()
    try:
        async with worker(url):
            # Warm-up: connections, the worker's pools and HTTP client, the receivers.
            warm = await run.atende.run(RECEIVERS, 1.0)
            await drain(receivers, warm, skip=None, seconds=10)
            await run.bare.run(RECEIVERS, 0.5)

            fixed = await run.fixed(run.atende.run, fixed_seconds)
            fixed_base = await run.fixed(run.bare.run, fixed_seconds)
            held = await run.held("atende", run.atende.run, rates, step_seconds)
            held_base = await run.held("baseline", run.bare.run, rates, step_seconds)
            for _ in range(pairs):
                run.pair_rounds.append(
                    {
                        kind: await run.round(kind, round_seconds)
                        for kind in order.shuffled(["normal", "hanging"])
                    }
                )
    finally:
        await run.atende.close()
        await run.bare.close()
        await receivers.stop()
    atende_latency = fixed.latencies(receivers.answered)
    base_latency = fixed_base.latencies(receivers.answered)
    pair_rounds, others = run.pair_rounds, run.others

    def ratio(stat: str) -> list[float]:
        # Each pair's own ratio: the pair's rounds ran side by side on the same machine.
        return [r["hanging"][stat] / r["normal"][stat] for r in pair_rounds]

    p50_rounds, p99_rounds = ratio("p50"), ratio("p99")
    result = Result(
        name="webhooks",
        params={
            "receivers": RECEIVERS,
            "fixed_rate": FIXED_RATE,
            "fixed_seconds": fixed_seconds,
            "rates": list(rates),
            "step_seconds": step_seconds,
            "held_p99_ms": HELD_P99_MS,
            "drain_seconds": DRAIN_SECONDS,
            "round_seconds": round_seconds,
            "pairs": pairs,
            "worker": "one atende worker, default concurrency",
            "database": "DATABASE_URL" if "DATABASE_URL" in os.environ else "embedded",
            "events_fixed": len(fixed.started),
            "rate_steps": run.steps,
            "pair_rounds": [
                {kind: {k: round(v, 2) for k, v in f.items()} for kind, f in r.items()}
                for r in pair_rounds
            ],
            "requests_held_by_hanging_receiver": run.held_by_hanging,
            "quick": quick,
            "round_order": order.as_params(),
        },
        metrics={
            "p50_at_fixed_rate": Metric(p(atende_latency, 0.5), "ms"),
            "p99_at_fixed_rate": Metric(p(atende_latency, 0.99), "ms"),
            "highest_rate_held": Metric(held, "events/s"),
            "undelivered_at_fixed_rate": Metric(fixed.missing(receivers.answered), "events"),
            "others_undelivered_with_hanging": Metric(run.missing_others, "events"),
            "others_p50_normal": Metric(p(others["normal"], 0.5), "ms"),
            "others_p99_normal": Metric(p(others["normal"], 0.99), "ms"),
            "others_p50_hanging": Metric(p(others["hanging"], 0.5), "ms"),
            "others_p99_hanging": Metric(p(others["hanging"], 0.99), "ms"),
        },
        baseline={
            "p50_at_fixed_rate": Metric(p(base_latency, 0.5), "ms"),
            "p99_at_fixed_rate": Metric(p(base_latency, 0.99), "ms"),
            "highest_rate_held": Metric(held_base, "events/s"),
        },
        ratios={
            "others_p50_hanging_vs_normal": statistics.median(p50_rounds),
            "others_p99_hanging_vs_normal": statistics.median(p99_rounds),
        },
        spreads={
            "others_p50_hanging_vs_normal": p50_rounds,
            "others_p99_hanging_vs_normal": p99_rounds,
        },
        quick=quick,
        targets={
            "others_p50_hanging_vs_normal": f"<= {MAX_CHANGE}",
            "others_p99_hanging_vs_normal": f"<= {MAX_CHANGE}",
            "undelivered_at_fixed_rate": "<= 0",
            "others_undelivered_with_hanging": "<= 0",
            "highest_rate_held": f">= {FIXED_RATE}",
        },
    )
    result.print_table()
    result.write()
    return result
