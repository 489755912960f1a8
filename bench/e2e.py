"""bench/e2e: a customer's WhatsApp message in, the AI's reply handed to Twilio.

Every process of the product runs as it does in production, on loopback: Postgres (a
cluster of the benchmark's own, or ``DATABASE_URL``), the API (``atende serve``), two
workers (``atende worker``) and an instant local model (``atende demo-model``, the
offline demo model). Twilio is the product's simulator in a process of its own
(bench/e2e_twilio.py), tapped to note when each send request arrives; it answers and
posts the ``sent``/``delivered`` status callbacks, as Twilio does. This load process
only plays the customers: it posts pre-signed incoming-message webhooks at a steady
rate, each from a new customer (one conversation, one reply each; the agent's debounce
is 0).

For each conversation:

- **overhead**: when the simulator received the send request, minus the inbound
  message's ``created_at`` (the platform's own record of the webhook): what the platform
  takes (ingest, queue, reply job, send job), the instant model's call included. Nothing
  is subtracted for the model: the call's time as the worker measures it
  (``ai_runs.latency_ms``, printed apart as "model call") is mostly the platform's own
  client and event loop, and under load its queueing.
- **end to end**: the same from when this process posted the webhook.

The baseline is the same pipeline unloaded (5 conversations a second), in the same run.
Then the rate steps up: 25 and 50 a second always (the latency targets are judged at
50), then 75, 100, 150 until one is not held (``--quick``: 25 and 50 only); a full run
then halves twice the gap between the highest rate held and the lowest one above it not
held (to the nearest 5 a second). A rate is **held** when this process offered it (at
least 95 % of it: its own lag does not count for the platform), every webhook is
accepted and answered, and the backlog (conversations posted and not yet answered,
sampled four times a second) does not grow while the rate is offered: its mean over the
step's last quarter exceeds its mean over the second quarter by at most a quarter of a
second of arrivals (so the pipeline answers within about 5 % of the offered rate). The
highest rate held is reported. The steps run one after another, not in rounds: each
figure at 50/s is stated with its spread over the step's four quarters (by posting time).

Targets: overhead p50 <= 30 ms and p99 <= 100 ms at 50/s, 50/s held, and no
conversation doubled (more than one AI reply, inbound message or replied run).

The voice-note case (after the rates): voice notes (an Ogg file Twilio's stand-in holds,
an empty body) at a light 2 a second for 20 s (5 s with ``--quick``), and text messages
at the same rate just before. A voice note goes through everything a real one does: the
media job downloads it from the stand-in, the transcription job sends it to the demo
model's transcription endpoint, and the reply, which waited for the transcript, is woken
by it. Reported: the voice notes' overhead p50/p99 and what they add to the text path's
at the same rate, and the download and transcription jobs' own times (their Procrastinate
events). Every voice note must be answered; the text path keeps its targets.

CPU is read from /proc per process over each step and divided by its conversations:
the platform (API, workers, Postgres) and, apart, the harness (this load process, the
Twilio simulator, the demo model).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import psycopg

from bench.harness import (
    Metric,
    Result,
    benchmark_environment,
    percentile,
    recycle_wal_segments,
)

NAME = "e2e"
ACCOUNT_SID = "AC" + "e2e0" * 8
AUTH_TOKEN = "bench-e2e-auth-token-0123456789"  # noqa: S105 - a local stand-in's
SECRET_KEY = "bench-e2e-secret-key-0123456789-abcdefghijkl"  # noqa: S105 - bench only
BUSINESS_NUMBER = "+5511930000000"
INBOUND_PATH = "/webhooks/twilio/messages"
TARGET_RATE = 50.0
UNLOADED_RATE = 5.0
#: Worker processes (the product scales workers out; one per core here).
WORKERS = int(os.environ.get("BENCH_E2E_WORKERS", "2"))
#: Set to 1 to load pg_stat_statements in the benchmark's own cluster and print the
#: statements that cost the most per conversation at each rate (a profiling aid;
#: it costs Postgres some CPU itself, so leave it off for the numbers).
PG_STATS = os.environ.get("BENCH_E2E_PG_STATS") == "1"
#: How often the backlog is sampled while a rate is offered.
SAMPLE_SECONDS = 0.25
#: How long the answers of a step may take to arrive after its last webhook.
DRAIN_SECONDS = 30.0

PLATFORM = ("api", *(f"worker-{i}" for i in range(WORKERS)), "postgres")
HARNESS = ("load (this process)", "twilio simulator", "demo model")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the processes -----------------------------------------------------------------------


@dataclass
class Processes:
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, arguments: list[str], env: dict[str, str]) -> None:
        """``python -m <arguments>`` (the product is ``atende ...``), logged to a file."""
        log = open(Path(tempfile.gettempdir()) / f"atende-bench-{NAME}-{name}.log", "wb")  # noqa: SIM115 - the child owns it
        self.children[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            [sys.executable, "-m", *arguments],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pids(self) -> dict[str, int]:
        return {name: child.pid for name, child in self.children.items()}

    def stop(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children.values():
            try:
                child.wait(timeout=40)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def check(self) -> None:
        for name, child in self.children.items():
            if child.poll() is not None:
                raise RuntimeError(f"{name} ({child.args!r}) exited with {child.returncode}")


@contextlib.contextmanager
def bench_database() -> Iterator[tuple[str, int | None]]:
    """``DATABASE_URL``, or a fresh cluster of the benchmark's own (durable, as in use),
    with its postmaster's pid when it is local."""
    from atende.db.embedded import EmbeddedPostgres  # noqa: PLC0415 - a heavy import
    from atende.db.migrations import apply_migrations  # noqa: PLC0415

    if os.environ.get("DATABASE_URL"):
        url = os.environ["DATABASE_URL"]
        apply_migrations(url)
        yield url, None
        return
    data_dir = Path(tempfile.mkdtemp(prefix="atende-bench-e2e-"))
    cluster = EmbeddedPostgres(
        data_dir=data_dir, port=free_port(), database="atende_bench", max_connections=200
    )
    if PG_STATS:
        cluster.initialize()
        with (cluster.cluster_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\nshared_preload_libraries = 'pg_stat_statements'\n"
                "pg_stat_statements.track = all\n"
            )
    cluster.start()
    try:
        apply_migrations(cluster.url())
        recycle_wal_segments(cluster.url())
        if PG_STATS:
            with psycopg.connect(cluster.url(), autocommit=True) as conn:
                conn.execute("create extension pg_stat_statements")
        postmaster = int((cluster.cluster_dir / "postmaster.pid").read_text().split()[0])
        yield cluster.url(), postmaster
    finally:
        cluster.destroy()
        shutil.rmtree(data_dir, ignore_errors=True)


async def setup_business(database_url: str) -> None:
    """An organization with its owner, a WhatsApp channel, and an agent answering at once."""
    from atende.channels.crypto import TokenCipher  # noqa: PLC0415 - the channels module

    cipher = TokenCipher(SECRET_KEY)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=False) as conn:
        user_id = uuid.uuid4()
        await conn.execute(
            "insert into auth.users (id, aud, role, email, created_at, updated_at)"
            " values (%s, 'authenticated', 'authenticated', %s, now(), now())",
            [user_id, f"bench-{user_id.hex[:8]}@example.com"],
        )
        await conn.execute(
            "insert into public.profiles (id, email, full_name) values (%s, %s, 'Bench')",
            [user_id, f"bench-{user_id.hex[:8]}@example.com"],
        )
        row = await (
            await conn.execute(
                "insert into public.organizations (name) values ('Bench e2e') returning id"
            )
        ).fetchone()
        assert row is not None
        organization_id = row[0]
        await conn.execute(
            "insert into public.memberships (organization_id, user_id, role)"
            " values (%s, %s, 'owner')",
            [organization_id, user_id],
        )
        await conn.execute(
            "delete from public.channels where kind = 'whatsapp' and phone_number = %s",
            [BUSINESS_NUMBER],
        )
        await conn.execute(
            "insert into public.channels (organization_id, kind, phone_number,"
            " twilio_account_sid, twilio_auth_token_ciphertext)"
            " values (%s, 'whatsapp', %s, %s, %s)",
            [organization_id, BUSINESS_NUMBER, ACCOUNT_SID, cipher.encrypt(AUTH_TOKEN)],
        )
        await conn.execute(
            "update public.agents set debounce_seconds = 0 where organization_id = %s",
            [organization_id],
        )
        await conn.commit()
    # A knowledge base (the agent has knowledge on by default): every reply retrieves
    # passages before asking the model, as a business with documents does.
    from bench.knowledge import store_set_documents  # noqa: PLC0415 - as the cipher above

    await asyncio.to_thread(store_set_documents, database_url, organization_id)


@dataclass
class Product:
    """The running product: where to post webhooks, and where Twilio's side reports."""

    webhook_url: str
    simulator_url: str
    pids: dict[str, int]


async def wait_until_ready(
    urls: list[str], database_url: str, processes: Processes, *, timeout: float = 60.0
) -> None:
    """Every URL answers 200, and a worker has a fresh heartbeat."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while True:
            processes.check()
            try:
                statuses = []
                for url in urls:
                    async with http.get(url) as answer:
                        statuses.append(answer.status)
                async with await psycopg.AsyncConnection.connect(database_url) as conn:
                    row = await (
                        await conn.execute(
                            "select count(*) from procrastinate.procrastinate_workers"
                            " where last_heartbeat > now() - interval '30 seconds'"
                        )
                    ).fetchone()
                if all(status == 200 for status in statuses) and row and row[0] > 0:
                    return
            except (aiohttp.ClientError, TimeoutError, psycopg.OperationalError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the product did not become ready in {timeout:g} s")
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def running_product(
    database_url: str, *, ready_timeout: float = 60.0
) -> AsyncIterator[Product]:
    """The API, the workers, the demo model and the tapped Twilio simulator (``ready_timeout``:
    how long they may take to answer, a busy machine's start included)."""
    api_port, model_port, simulator_port = free_port(), free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    model_url = f"http://127.0.0.1:{model_port}/v1"
    simulator_url = f"http://127.0.0.1:{simulator_port}"
    common = {
        "DATABASE_URL": database_url,
        "ATENDE_ENV": "development",
        "ATENDE_LOG_LEVEL": "WARNING",
        "ATENDE_SECRET_KEY": SECRET_KEY,
        "ATENDE_PUBLIC_URL": api_url,
        "OPENAI_BASE_URL": model_url,
        "OPENAI_API_KEY": "offline-demo",
        "ATENDE_EMBEDDINGS": "local",
        "TWILIO_API_BASE_URL": simulator_url,
    }
    processes = Processes()
    try:
        processes.start(
            "twilio-simulator",
            ["bench.e2e_twilio", "--port", str(simulator_port), "--callback-delay", "0.2"],
            benchmark_environment(),
        )
        processes.start(
            "demo-model",
            ["atende", "demo-model", "--port", str(model_port)],
            benchmark_environment(),
        )
        processes.start(
            "api",
            ["atende", "serve", "--host", "127.0.0.1", "--port", str(api_port)],
            benchmark_environment(common),
        )
        for index in range(WORKERS):
            processes.start(
                f"worker-{index}",
                ["atende", "worker"],
                benchmark_environment(
                    {
                        **common,
                        "ATENDE_WORKER_CONCURRENCY": "20",
                        "ATENDE_DB_SERVICE_POOL_MAX_SIZE": "15",
                    }
                ),
            )
        await wait_until_ready(
            [f"{api_url}/readyz", f"{model_url}/models", f"{simulator_url}/__bench/received/count"],
            database_url,
            processes,
            timeout=ready_timeout,
        )
        names = {"twilio-simulator": "twilio simulator", "demo-model": "demo model"}
        yield Product(
            webhook_url=f"{api_url}{INBOUND_PATH}",
            simulator_url=simulator_url,
            pids={names.get(name, name): pid for name, pid in processes.pids.items()},
        )
    finally:
        processes.stop()


# -- where the CPU goes --------------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces.
    return text[text.rindex(")") + 2 :].split()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux /proc), 0 if unknown."""
    fields = _stat(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / _TICKS


def children_cpu_seconds(parent: int) -> float:
    """CPU of a process's direct children (Postgres's backends under its postmaster)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == parent:
                total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


@dataclass
class CpuMeter:
    """CPU seconds per part of the system, between two readings."""

    pids: dict[str, int]
    postmaster: int | None
    readings: dict[str, float] = field(default_factory=dict)

    def read(self) -> dict[str, float]:
        now = {name: process_cpu_seconds(pid) for name, pid in self.pids.items()}
        now["load (this process)"] = time.process_time()
        if self.postmaster is not None:
            now["postgres"] = process_cpu_seconds(self.postmaster) + children_cpu_seconds(
                self.postmaster
            )
        return now

    def start(self) -> None:
        self.readings = self.read()

    def per_conversation_ms(self, conversations: int) -> dict[str, float]:
        now = self.read()
        return {
            name: (now[name] - self.readings.get(name, 0.0)) * 1000 / max(1, conversations)
            for name in now
        }


def cpu_lines(cpu: dict[str, float]) -> list[str]:
    platform = {name: cpu[name] for name in PLATFORM if name in cpu}
    harness = {name: cpu[name] for name in HARNESS if name in cpu}

    def listed(part: dict[str, float]) -> str:
        return ", ".join(f"{name} {value:.1f}" for name, value in part.items())

    return [
        f"CPU ms per conversation: platform {sum(platform.values()):.1f} ({listed(platform)})",
        f"                         harness {sum(harness.values()):.1f} ({listed(harness)})",
    ]


# -- the load ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One pre-signed incoming-message webhook, from a new customer."""

    customer: str
    body: bytes
    headers: dict[str, str]


#: Each customer's number, unique in a run (random numbers collided about once a full run:
#: a customer then wrote twice, was answered twice, and counted as three extra answers).
CUSTOMER_NUMBERS = itertools.count(uuid.uuid4().int % 10**8)


def deliveries(
    count: int, signed_url: str, media: tuple[tuple[str, str], ...] = ()
) -> list[Delivery]:
    """``count`` webhooks, each from a new customer, signed before the clock starts; with
    ``media`` (URL, content type), each is that file with an empty body (a voice note)."""
    from atende.devtools.twilio_simulator import inbound_message_params  # noqa: PLC0415
    from atende.transports.twilio.signature import signature_headers  # noqa: PLC0415

    made = []
    for index in range(count):
        customer = f"whatsapp:+55219{next(CUSTOMER_NUMBERS) % 10**8:08d}"
        params = inbound_message_params(
            account_sid=ACCOUNT_SID,
            from_=customer,
            to=f"whatsapp:{BUSINESS_NUMBER}",
            body="" if media else f"Oi! Pedido número {index}, vocês entregam hoje?",
            profile_name="Cliente",
            media=media,
        )
        headers = {
            **signature_headers(signed_url, params, AUTH_TOKEN),
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
        }
        made.append(Delivery(customer, urlencode(params).encode(), headers))
    return made


@dataclass
class Step:
    rate: float
    seconds: float
    sent: dict[str, float] = field(default_factory=dict)  # customer address -> posted at
    refused: int = 0
    #: (seconds since the first webhook, conversations posted and not yet answered)
    backlog: list[tuple[float, int]] = field(default_factory=list)
    #: Seconds after the last webhook until every answer had arrived (None: not all did).
    drained_after: float | None = None
    overhead_ms: list[float] = field(default_factory=list)
    #: (posted at, overhead in ms) of each answered conversation: the step's quarters.
    overhead_by_posting: list[tuple[float, float]] = field(default_factory=list)
    end_to_end_ms: list[float] = field(default_factory=list)
    model_call_ms: list[float] = field(default_factory=list)
    replied: int = 0
    #: Webhooks a second this process actually posted (its own lag lowers it).
    offered_rate: float = 0.0
    #: CPU milliseconds per conversation, by process.
    cpu: dict[str, float] = field(default_factory=dict)

    def _mean_backlog(self, start: float, end: float) -> float:
        window = [
            count for at, count in self.backlog if start * self.seconds <= at <= end * self.seconds
        ]
        return statistics.fmean(window) if window else 0.0

    @property
    def backlog_growth(self) -> float:
        """Mean backlog over the last quarter of the step minus over its second quarter."""
        return self._mean_backlog(0.75, 1.0) - self._mean_backlog(0.25, 0.5)

    @property
    def allowed_growth(self) -> float:
        """A quarter of a second of arrivals (at least 3 conversations)."""
        return max(3.0, self.rate / 4)

    @property
    def held(self) -> bool:
        return (
            self.refused == 0
            and self.offered_rate >= 0.95 * self.rate
            and self.replied == len(self.sent)
            and self.backlog_growth <= self.allowed_growth
        )

    def quarters(self, fraction: float) -> list[float]:
        """The overhead's percentile in each quarter of the step (by posting time): the
        rounds its figures are stated with, for their spread."""
        ordered = [overhead for _, overhead in sorted(self.overhead_by_posting)]
        size = -(-len(ordered) // 4)
        return [
            percentile(ordered[start : start + size], fraction)
            for start in range(0, len(ordered), size or 1)
        ]

    def summary(self) -> str:
        verdict = "held" if self.held else "NOT held"
        drained = "never" if self.drained_after is None else f"{self.drained_after:.1f} s"
        return (
            f"{self.rate:>5.0f}/s ({self.offered_rate:.1f} offered): {verdict};"
            f" {self.replied}/{len(self.sent)} answered"
            f" ({self.refused} refused), backlog growth {self.backlog_growth:+.1f}"
            f" (allowed {self.allowed_growth:.1f}), all answered {drained} after the last"
            f" webhook; overhead p50 {percentile(self.overhead_ms, 0.5):.1f} ms"
            f" p99 {percentile(self.overhead_ms, 0.99):.1f} ms (model call p50"
            f" {percentile(self.model_call_ms, 0.5):.0f} ms)"
        )


async def received_count(http: aiohttp.ClientSession, simulator_url: str) -> int:
    async with http.get(f"{simulator_url}/__bench/received/count") as answer:
        return int((await answer.json())["count"])


async def received(simulator_url: str) -> dict[str, float]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{simulator_url}/__bench/received") as answer,
    ):
        return {str(to): float(at) for to, at in (await answer.json()).items()}


async def drive(product: Product, step: Step, media: tuple[tuple[str, str], ...] = ()) -> None:
    """Post ``rate`` pre-signed webhooks a second for ``seconds``, sampling the backlog;
    then wait (bounded) for every answer."""
    work = deliveries(int(step.rate * step.seconds), product.webhook_url, media)
    connector = aiohttp.TCPConnector(limit=500)
    async with aiohttp.ClientSession(connector=connector) as http:
        answered_before = await received_count(http, product.simulator_url)

        async def one(delivery: Delivery) -> None:
            step.sent[delivery.customer] = time.time()
            async with http.post(
                product.webhook_url, data=delivery.body, headers=delivery.headers
            ) as answer:
                await answer.read()
                if answer.status != 200:
                    step.refused += 1

        async def backlog_now() -> int:
            answered = await received_count(http, product.simulator_url) - answered_before
            return len(step.sent) - answered

        async def sample(started: float) -> None:
            while True:
                step.backlog.append((time.monotonic() - started, await backlog_now()))
                await asyncio.sleep(SAMPLE_SECONDS)

        started = time.monotonic()
        sampler = asyncio.create_task(sample(started))
        tasks = []
        for index, delivery in enumerate(work):
            delay = started + index / step.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(delivery)))
        await asyncio.gather(*tasks)
        # What was offered: the spread of the posts' own start times.
        spread = max(step.sent.values()) - min(step.sent.values())
        step.offered_rate = (len(step.sent) - 1) / spread if spread > 0 else step.rate
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        last_webhook = started + (len(work) - 1) / step.rate
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            if await backlog_now() <= 0:
                step.drained_after = time.monotonic() - last_webhook
                break
            await asyncio.sleep(0.05)


async def measure(database_url: str, simulator_url: str, step: Step) -> dict[str, float]:
    """The overhead and end-to-end latency of each answered conversation; returns when
    each send request arrived, by customer."""
    arrivals = await received(simulator_url)
    phones = [customer.removeprefix("whatsapp:") for customer in step.sent]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        rows = await (
            await conn.execute(
                "select ct.phone_number, m.created_at, coalesce(r.latency_ms, 0) as latency_ms"
                " from public.contacts as ct"
                " join public.conversations as c on c.contact_id = ct.id"
                " join public.messages as m on m.conversation_id = c.id"
                "  and m.direction = 'inbound'"
                " left join public.ai_runs as r on r.conversation_id = c.id"
                "  and r.outcome = 'replied'"
                " where ct.phone_number = any(%s)",
                [phones],
            )
        ).fetchall()
    for phone, created_at, latency_ms in rows:
        customer = f"whatsapp:{phone}"
        arrived = arrivals.get(customer)
        if arrived is None:
            continue
        step.replied += 1
        step.overhead_ms.append((arrived - created_at.timestamp()) * 1000)
        step.overhead_by_posting.append((step.sent[customer], step.overhead_ms[-1]))
        step.end_to_end_ms.append((arrived - step.sent[customer]) * 1000)
        step.model_call_ms.append(float(latency_ms))
    return arrivals


PHASES_QUERY = """
with convs as (
    select c.id as conversation_id, ct.phone_number,
           (select min(m.created_at) from public.messages as m
            where m.conversation_id = c.id and m.direction = 'inbound') as received_at,
           (select min(m.created_at) from public.messages as m
            where m.conversation_id = c.id and m.author = 'ai') as replied_at,
           (select m.id from public.messages as m
            where m.conversation_id = c.id and m.author = 'ai' limit 1) as reply_id
    from public.contacts as ct
    join public.conversations as c on c.contact_id = ct.id
    where ct.phone_number = any(%s)
)
select convs.phone_number, convs.received_at, convs.replied_at,
       (select min(e.at) from procrastinate.procrastinate_jobs as j
        join procrastinate.procrastinate_events as e on e.job_id = j.id and e.type = 'started'
        where j.task_name = 'conversations:generate_reply'
          and j.args ->> 'conversation_id' = convs.conversation_id::text) as reply_started_at,
       (select min(e.at) from procrastinate.procrastinate_jobs as j
        join procrastinate.procrastinate_events as e on e.job_id = j.id and e.type = 'started'
        where j.task_name = 'channels:send_message'
          and j.args ->> 'message_id' = convs.reply_id::text) as send_started_at
from convs
"""


async def phases(database_url: str, arrivals: dict[str, float], step: Step) -> dict[str, float]:
    """Median milliseconds of each phase, from the timestamps the platform records."""
    phones = [customer.removeprefix("whatsapp:") for customer in step.sent]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        rows = await (await conn.execute(PHASES_QUERY, [phones])).fetchall()
    spans: dict[str, list[float]] = {
        "webhook_to_stored": [],
        "stored_to_reply_job": [],
        "reply_job": [],
        "reply_to_send_job": [],
        "send_job_to_twilio": [],
    }
    for phone, received_at, replied, reply_started, send_started in rows:
        customer = f"whatsapp:{phone}"
        arrived = arrivals.get(customer)
        if None in (received_at, replied, reply_started, send_started, arrived):
            continue
        spans["webhook_to_stored"].append((received_at.timestamp() - step.sent[customer]) * 1000)
        spans["stored_to_reply_job"].append((reply_started - received_at).total_seconds() * 1000)
        spans["reply_job"].append((replied - reply_started).total_seconds() * 1000)
        spans["reply_to_send_job"].append((send_started - replied).total_seconds() * 1000)
        spans["send_job_to_twilio"].append((arrived - send_started.timestamp()) * 1000)
    return {name: percentile(values, 0.5) for name, values in spans.items()}


async def reset_pg_stats(database_url: str) -> None:
    if PG_STATS:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("select pg_stat_statements_reset()")


async def print_pg_stats(database_url: str, conversations: int, limit: int = 25) -> None:
    """The statements that cost Postgres the most per conversation (BENCH_E2E_PG_STATS)."""
    if not PG_STATS:
        return
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        rows = await (
            await conn.execute(
                "select calls, total_exec_time, toplevel,"
                " left(regexp_replace(query, '\\s+', ' ', 'g'), 110)"
                " from pg_stat_statements order by total_exec_time desc limit %s",
                [limit],
            )
        ).fetchall()
    print("         statements (calls and ms per conversation; nested ones indented):")
    for calls, total, toplevel, query in rows:
        indent = "" if toplevel else "  "
        print(
            f"         {calls / conversations:6.2f} {total / conversations:7.3f} ms {indent}{query}"
        )


async def doubled_conversations(database_url: str) -> dict[str, int]:
    """The product's promise under load: each customer message stored once, answered once
    (each customer of the benchmark writes one message)."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await (
            await conn.execute(
                "select"
                " (select count(*) from (select conversation_id from public.messages"
                "   where author = 'ai' group by 1 having count(*) > 1) as r) as replies,"
                " (select count(*) from (select conversation_id from public.messages"
                "   where direction = 'inbound' group by 1 having count(*) > 1) as i) as inbound,"
                " (select count(*) from (select conversation_id from public.ai_runs"
                "   where outcome = 'replied' group by 1 having count(*) > 1) as a) as runs"
            )
        ).fetchone()
    assert row is not None
    return {"ai_replies": row[0], "inbound_messages": row[1], "replied_runs": row[2]}


def phase_line(values: dict[str, float]) -> str:
    return "median phases: " + ", ".join(f"{name} {value:.1f} ms" for name, value in values.items())


#: The rates offered after the unloaded baseline, in conversations a second.
RATES = (25.0, TARGET_RATE, 75.0, 100.0, 150.0)
QUICK_RATES = (25.0, TARGET_RATE)
#: A full run then halves the gap between the highest rate held and the lowest above it
#: not held this many times (to the nearest 5 a second), to find the highest held rate.
REFINEMENTS = 2


async def offer(
    product: Product,
    database_url: str,
    meter: CpuMeter,
    *,
    rate: float,
    seconds: float,
    label: str = "",
) -> Step:
    """One step: the rate offered, the answers awaited, measured and printed."""
    step = Step(rate, seconds)
    await reset_pg_stats(database_url)
    meter.start()
    await drive(product, step)
    step.cpu = meter.per_conversation_ms(len(step.sent))
    arrivals = await measure(database_url, product.simulator_url, step)
    print(f"  {step.summary()}{label}")
    print(f"         {phase_line(await phases(database_url, arrivals, step))}")
    for line in cpu_lines(step.cpu):
        print(f"         {line}")
    await print_pg_stats(database_url, len(step.sent))
    return step


def between(held: list[Step], not_held: list[Step]) -> float | None:
    """The next rate to try between the highest held and the lowest above it not held."""
    low = max((step.rate for step in held), default=0.0)
    high = min((step.rate for step in not_held if step.rate > low), default=None)
    if high is None:
        return None
    middle = round((low + high) / 2 / 5) * 5
    return None if middle in (low, high) else float(middle)


# -- the voice-note case ---------------------------------------------------------------------

#: The voice-note case's rate and length: light load, so its figures are the pipeline's
#: own (the text path is measured beside it at the same rate).
VOICE_RATE = 2.0
VOICE_SECONDS = 20.0
#: A voice note as WhatsApp sends one: Opus in Ogg, about 10 seconds (~16 kB).
VOICE_NOTE = b"OggS\x00\x02" + bytes(range(256)) * 64

VOICE_JOBS_QUERY = """
select j.task_name,
       extract(epoch from (max(e.at) filter (where e.type in ('succeeded', 'failed'))
                           - min(e.at) filter (where e.type = 'started'))) * 1000 as took_ms
from procrastinate.procrastinate_jobs as j
join procrastinate.procrastinate_events as e on e.job_id = j.id
join public.messages as m on m.id = (j.args ->> 'message_id')::uuid
join public.conversations as c on c.id = m.conversation_id
join public.contacts as ct on ct.id = c.contact_id
where j.task_name in ('channels:fetch_media', 'ai:transcribe_audio')
  and ct.phone_number = any(%s)
group by j.id, j.task_name
"""


async def voice_note_url(simulator_url: str) -> str:
    """The voice note, held by Twilio's stand-in as a customer's file: its MediaUrl."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{simulator_url}/__simulator/media?account_sid={ACCOUNT_SID}",
            data=VOICE_NOTE,
            headers={"Content-Type": "audio/ogg"},
        ) as answer,
    ):
        answer.raise_for_status()
        return str((await answer.json())["url"])


async def voice_note_case(product: Product, database_url: str, seconds: float) -> dict[str, Any]:
    """Voice notes against text at the same light rate: the latency a voice note adds
    (download from Twilio's stand-in, transcription by the stand-in model, the reply
    woken by the transcript), and each job's own time."""
    text = Step(VOICE_RATE, seconds)
    await drive(product, text)
    await measure(database_url, product.simulator_url, text)
    voice = Step(VOICE_RATE, seconds)
    await drive(product, voice, media=((await voice_note_url(product.simulator_url), "audio/ogg"),))
    await measure(database_url, product.simulator_url, voice)
    phones = [customer.removeprefix("whatsapp:") for customer in voice.sent]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        rows = await (await conn.execute(VOICE_JOBS_QUERY, [phones])).fetchall()
        [transcribed] = await (
            await conn.execute(
                "select count(*) from public.messages as m"
                " join public.conversations as c on c.id = m.conversation_id"
                " join public.contacts as ct on ct.id = c.contact_id"
                " where ct.phone_number = any(%s) and m.transcript is not null",
                [phones],
            )
        ).fetchone() or (0,)
    jobs: dict[str, list[float]] = {"channels:fetch_media": [], "ai:transcribe_audio": []}
    for task_name, took_ms in rows:
        if took_ms is not None:
            jobs[task_name].append(float(took_ms))
    figures = {
        "voice_overhead_p50": percentile(voice.overhead_ms, 0.5),
        "voice_overhead_p99": percentile(voice.overhead_ms, 0.99),
        "text_overhead_p50": percentile(text.overhead_ms, 0.5),
        "text_overhead_p99": percentile(text.overhead_ms, 0.99),
        "download_p50": percentile(jobs["channels:fetch_media"], 0.5),
        "download_p99": percentile(jobs["channels:fetch_media"], 0.99),
        "transcription_p50": percentile(jobs["ai:transcribe_audio"], 0.5),
        "transcription_p99": percentile(jobs["ai:transcribe_audio"], 0.99),
    }
    print(
        f"  voice notes at {VOICE_RATE:g}/s: {voice.replied}/{len(voice.sent)} answered,"
        f" {transcribed} transcribed; overhead p50 {figures['voice_overhead_p50']:.1f} ms,"
        f" p99 {figures['voice_overhead_p99']:.1f} ms (text at the same rate: p50"
        f" {figures['text_overhead_p50']:.1f}, p99 {figures['text_overhead_p99']:.1f});"
        f" download job p50 {figures['download_p50']:.1f} / p99 {figures['download_p99']:.1f},"
        f" transcription job p50 {figures['transcription_p50']:.1f} /"
        f" p99 {figures['transcription_p99']:.1f} ms"
    )
    return {
        **figures,
        "answered": voice.replied,
        "sent": len(voice.sent),
        "transcribed": int(transcribed),
    }


async def run(quick: bool) -> Result:
    seconds = 5 if quick else 20
    unloaded: Step
    steps: list[Step] = []
    print(
        "  held: every webhook answered and the backlog (posted, not yet answered) not"
        " growing while the rate is offered"
    )
    print(
        "        (mean over the last quarter of the step <= mean over the second quarter"
        " + a quarter second of arrivals)"
    )
    with bench_database() as (database_url, postmaster):
        await setup_business(database_url)
        async with running_product(database_url) as product:
            meter = CpuMeter(dict(product.pids), postmaster)
            await drive(product, Step(10, 1))  # warm up connections and caches
            unloaded = await offer(
                product,
                database_url,
                meter,
                rate=UNLOADED_RATE,
                seconds=seconds / 2,
                label=" (unloaded baseline)",
            )
            # Every rate up to the target is offered (the targets are judged there); above
            # it, the rates step up until one is not held.
            for rate in QUICK_RATES if quick else RATES:
                step = await offer(product, database_url, meter, rate=rate, seconds=seconds)
                steps.append(step)
                if not step.held and rate >= TARGET_RATE:
                    break
            for _ in range(0 if quick else REFINEMENTS):
                everything = [unloaded, *steps]
                next_rate = between(
                    [step for step in everything if step.held],
                    [step for step in everything if not step.held],
                )
                if next_rate is None:
                    break
                steps.append(
                    await offer(product, database_url, meter, rate=next_rate, seconds=seconds)
                )
            voice = await voice_note_case(
                product, database_url, VOICE_SECONDS / 4 if quick else VOICE_SECONDS
            )
            doubled = await doubled_conversations(database_url)
            print(
                "  conversations with more than one AI reply, inbound message or replied run:"
                f" {doubled}"
            )

    at_target = next(step for step in steps if step.rate == TARGET_RATE)
    held = [step.rate for step in (unloaded, *steps) if step.held]
    platform_cpu = sum(at_target.cpu.get(name, 0.0) for name in PLATFORM)
    unloaded_p50 = max(0.001, percentile(unloaded.overhead_ms, 0.5))
    harness_cpu = sum(at_target.cpu.get(name, 0.0) for name in HARNESS)
    result = Result(
        name=NAME,
        params={
            "quick": quick,
            "seconds_per_rate": seconds,
            "model": "offline demo model (atende demo-model)",
            "debounce_seconds": 0,
            "workers": WORKERS,
            "cpus": os.cpu_count(),
            "held": (
                "every webhook answered, the rate offered (>= 95 %), backlog growth over"
                " the step <= max(3, rate/4)"
            ),
            "max_held_rate_searched_up_to": max(QUICK_RATES if quick else RATES),
            "conversations_doubled": doubled,
            "voice_notes": {
                key: round(value, 1) if isinstance(value, float) else value
                for key, value in voice.items()
            },
            "steps": [
                {
                    "rate": step.rate,
                    "offered": round(step.offered_rate, 1),
                    "held": step.held,
                    "backlog_growth": round(step.backlog_growth, 1),
                    "overhead_p50_ms": round(percentile(step.overhead_ms, 0.5), 1),
                    "overhead_p99_ms": round(percentile(step.overhead_ms, 0.99), 1),
                    "model_call_p50_ms": round(percentile(step.model_call_ms, 0.5), 1),
                    "cpu_ms_per_conversation": {
                        name: round(value, 2) for name, value in step.cpu.items()
                    },
                }
                for step in (unloaded, *steps)
            ],
        },
        metrics={
            "overhead_p50": Metric(percentile(at_target.overhead_ms, 0.5), "ms"),
            "overhead_p99": Metric(percentile(at_target.overhead_ms, 0.99), "ms"),
            "end_to_end_p50": Metric(percentile(at_target.end_to_end_ms, 0.5), "ms"),
            "end_to_end_p99": Metric(percentile(at_target.end_to_end_ms, 0.99), "ms"),
            "replied_at_target": Metric(at_target.replied / max(1, len(at_target.sent)) * 100, "%"),
            # Conversations with more than one AI reply, inbound message or replied run.
            "doubled_conversations": Metric(sum(doubled.values()), "conversations"),
            "max_held_rate": Metric(max(held, default=0.0), "conversations/s"),
            "platform_cpu_at_target": Metric(platform_cpu, "ms/conversation"),
            "harness_cpu_at_target": Metric(harness_cpu, "ms/conversation"),
            # A voice note's overhead (webhook stored to the reply at Twilio) at a light
            # rate, and what it adds to a text message's at the same rate: the download
            # from Twilio's stand-in and the transcription by the stand-in model included.
            "voice_note_overhead_p50": Metric(voice["voice_overhead_p50"], "ms"),
            "voice_note_overhead_p99": Metric(voice["voice_overhead_p99"], "ms"),
            "voice_note_added_p50": Metric(
                voice["voice_overhead_p50"] - voice["text_overhead_p50"], "ms"
            ),
            "voice_note_added_p99": Metric(
                voice["voice_overhead_p99"] - voice["text_overhead_p99"], "ms"
            ),
            "voice_note_download_p50": Metric(voice["download_p50"], "ms"),
            "voice_note_transcription_p50": Metric(voice["transcription_p50"], "ms"),
            "voice_notes_answered": Metric(voice["answered"] / max(1, voice["sent"]) * 100, "%"),
        },
        baseline={
            "overhead_p50": Metric(percentile(unloaded.overhead_ms, 0.5), "ms"),
            "overhead_p99": Metric(percentile(unloaded.overhead_ms, 0.99), "ms"),
            "platform_cpu": Metric(
                sum(unloaded.cpu.get(name, 0.0) for name in PLATFORM), "ms/conversation"
            ),
        },
        ratios={
            "overhead_p50_vs_unloaded": percentile(at_target.overhead_ms, 0.5) / unloaded_p50,
        },
        # The rate steps run one after another (no rounds): a step's quarters, by posting
        # time, are the rounds its figures are stated with.
        spreads={
            "overhead_p50": at_target.quarters(0.5),
            "overhead_p99": at_target.quarters(0.99),
            "overhead_p50_vs_unloaded": [
                quarter / unloaded_p50 for quarter in at_target.quarters(0.5)
            ],
        },
        targets={
            "overhead_p50": "<= 30",
            "overhead_p99": "<= 100",
            "max_held_rate": f">= {TARGET_RATE:g}",
            "doubled_conversations": "<= 0",
            "voice_notes_answered": ">= 100",
        },
        quick=quick,
    )
    result.print_table()
    print(f"  written to {result.write()}")
    return result
