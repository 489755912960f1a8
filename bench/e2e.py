"""bench/e2e: a customer's WhatsApp message in, the AI's reply handed to Twilio.

Every process of the product runs as it does in production, on loopback: Postgres (a
cluster of the benchmark's own, or ``DATABASE_URL``), the API (``atende serve``), the
worker (``atende worker``) and an instant local model (``atende demo-model``, the offline
demo model). This load process plays Twilio: it posts signed incoming-message webhooks at
a steady rate, each from a new customer (one conversation, one reply each; the agent's
debounce is 0), and serves the Twilio simulator the worker sends the replies to, tapped
to note when each send request arrives.

For each conversation:

- **overhead**: when the simulator received the send request, minus the inbound
  message's ``created_at`` (the platform's own record of the webhook), minus the model's
  latency (``ai_runs.latency_ms``): what the platform adds (ingest, queue, reply job,
  send job).
- **end to end**: the same from when this process posted the webhook.

The baseline is the same pipeline unloaded (a few conversations a second), in the same
run. Then the rate steps up; a rate is held when, a second after the last webhook of the
step, the replies have kept up (backlog under a quarter of a second of work).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn

from bench.harness import Metric, Result, benchmark_environment, percentile

NAME = "e2e"
ACCOUNT_SID = "AC" + "e2e0" * 8
AUTH_TOKEN = "bench-e2e-auth-token-0123456789"  # noqa: S105 - a local stand-in's
SECRET_KEY = "bench-e2e-secret-key-0123456789-abcdefghijkl"  # noqa: S105 - bench only
BUSINESS_NUMBER = "+5511930000000"
TARGET_RATE = 50.0
UNLOADED_RATE = 5.0
#: Worker processes (the product scales workers out; one per core here).
WORKERS = int(os.environ.get("BENCH_E2E_WORKERS", "2"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the Twilio side: the simulator, tapped ----------------------------------------------


class SendTap:
    """ASGI middleware noting when each send request (``Messages.json``) arrives, by ``To``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.received: dict[str, float] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].endswith("/Messages.json")
        ):
            await self.app(scope, receive, send)
            return
        arrived = time.time()
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        to = urllib.parse.parse_qs(body.decode()).get("To", [""])[0]
        self.received.setdefault(to, arrived)

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class ThreadedServer:
    """An ASGI app under uvicorn in a thread of this process (its own event loop)."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws="none",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="simulator", daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the simulator did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


# -- the product's processes ---------------------------------------------------------------


@dataclass
class Processes:
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, arguments: list[str], env: dict[str, str]) -> None:
        log = open(Path(tempfile.gettempdir()) / f"atende-bench-{NAME}-{name}.log", "wb")  # noqa: SIM115 - the child owns it
        self.children.append(
            subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "atende", *arguments],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=40)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def check(self) -> None:
        for child in self.children:
            if child.poll() is not None:
                raise RuntimeError(f"{child.args} exited with {child.returncode}")


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
    cluster.start()
    try:
        apply_migrations(cluster.url())
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


async def wait_until_ready(
    api_url: str, model_url: str, database_url: str, processes: Processes
) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2.0) as http:
        while True:
            processes.check()
            try:
                api = await http.get(f"{api_url}/readyz")
                model = await http.get(f"{model_url}/models")
                async with await psycopg.AsyncConnection.connect(database_url) as conn:
                    row = await (
                        await conn.execute(
                            "select count(*) from procrastinate.procrastinate_workers"
                            " where last_heartbeat > now() - interval '30 seconds'"
                        )
                    ).fetchone()
                if api.status_code == 200 and model.status_code == 200 and row and row[0] > 0:
                    return
            except (httpx.HTTPError, psycopg.OperationalError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the product did not become ready in 60 s")
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def running_product(
    database_url: str,
) -> AsyncIterator[tuple[str, SendTap, dict[str, int]]]:
    """The API, the worker, the demo model and the simulator; yields the webhook URL, the
    simulator's tap and the processes' pids."""
    from atende.channels.simulator import (  # noqa: PLC0415 - the channels module
        TwilioSimulator,
        create_simulator_app,
    )

    api_port, model_port, simulator_port = free_port(), free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    model_url = f"http://127.0.0.1:{model_port}/v1"
    common = {
        "DATABASE_URL": database_url,
        "ATENDE_ENV": "development",
        "ATENDE_LOG_LEVEL": "WARNING",
        "ATENDE_SECRET_KEY": SECRET_KEY,
        "ATENDE_PUBLIC_URL": api_url,
        "OPENAI_BASE_URL": model_url,
        "OPENAI_API_KEY": "offline-demo",
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{simulator_port}",
    }
    tap = SendTap(create_simulator_app(TwilioSimulator(callback_delay_seconds=0.2)))
    processes = Processes()
    with ThreadedServer(tap, simulator_port):
        try:
            processes.start(
                "demo-model", ["demo-model", "--port", str(model_port)], benchmark_environment()
            )
            processes.start(
                "api",
                ["serve", "--host", "127.0.0.1", "--port", str(api_port)],
                benchmark_environment(common),
            )
            for index in range(WORKERS):
                processes.start(
                    f"worker-{index}",
                    ["worker"],
                    benchmark_environment(
                        {
                            **common,
                            "ATENDE_WORKER_CONCURRENCY": "20",
                            "ATENDE_DB_POOL_MAX_SIZE": "15",
                        }
                    ),
                )
            await wait_until_ready(api_url, model_url, database_url, processes)
            pids = {
                name: child.pid
                for name, child in zip(
                    ("demo model", "api", *(f"worker-{i}" for i in range(WORKERS))),
                    processes.children,
                    strict=True,
                )
            }
            yield f"{api_url}/webhooks/twilio/messages", tap, pids
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


# -- the load ----------------------------------------------------------------------------------


@dataclass
class Step:
    rate: float
    seconds: float
    sent: dict[str, float] = field(default_factory=dict)  # customer address -> posted at
    refused: int = 0
    backlog_after: int = 0
    overhead_ms: list[float] = field(default_factory=list)
    end_to_end_ms: list[float] = field(default_factory=list)
    replied: int = 0

    @property
    def held(self) -> bool:
        return self.refused == 0 and self.backlog_after <= max(5, self.rate * 0.25)


async def drive(webhook_url: str, tap: SendTap, step: Step) -> None:
    """Post ``rate`` webhooks a second for ``seconds``, each from a new customer."""
    from atende.channels.simulator import post_inbound_message  # noqa: PLC0415

    count = int(step.rate * step.seconds)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as http:

        async def one(index: int) -> None:
            customer = f"whatsapp:+55219{uuid.uuid4().int % 10**8:08d}"
            step.sent[customer] = time.time()
            delivery = await post_inbound_message(
                webhook_url,
                auth_token=AUTH_TOKEN,
                account_sid=ACCOUNT_SID,
                from_=customer,
                to=f"whatsapp:{BUSINESS_NUMBER}",
                body=f"Oi! Pedido número {index}, vocês entregam hoje?",
                profile_name="Cliente",
                http_client=http,
            )
            if delivery.status_code != 200:
                step.refused += 1

        started = time.monotonic()
        tasks = []
        for index in range(count):
            delay = started + index / step.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index)))
        await asyncio.gather(*tasks)
    await asyncio.sleep(1.0)
    step.backlog_after = sum(1 for customer in step.sent if customer not in tap.received)
    # Let the rest arrive before measuring (bounded).
    deadline = time.monotonic() + 30
    # (Polled: the simulator notes arrivals in its own thread.)
    while time.monotonic() < deadline and any(c not in tap.received for c in step.sent):  # noqa: ASYNC110
        await asyncio.sleep(0.1)


async def measure(database_url: str, tap: SendTap, step: Step) -> None:
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
        arrived = tap.received.get(customer)
        if arrived is None:
            continue
        step.replied += 1
        step.overhead_ms.append((arrived - created_at.timestamp()) * 1000 - latency_ms)
        step.end_to_end_ms.append((arrived - step.sent[customer]) * 1000 - latency_ms)


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


async def phases(database_url: str, tap: SendTap, step: Step) -> dict[str, float]:
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
    for phone, received, replied, reply_started, send_started in rows:
        customer = f"whatsapp:{phone}"
        arrived = tap.received.get(customer)
        if None in (received, replied, reply_started, send_started, arrived):
            continue
        spans["webhook_to_stored"].append((received.timestamp() - step.sent[customer]) * 1000)
        spans["stored_to_reply_job"].append((reply_started - received).total_seconds() * 1000)
        spans["reply_job"].append((replied - reply_started).total_seconds() * 1000)
        spans["reply_to_send_job"].append((send_started - replied).total_seconds() * 1000)
        spans["send_job_to_twilio"].append((arrived - send_started.timestamp()) * 1000)
    return {name: percentile(values, 0.5) for name, values in spans.items()}


async def run(quick: bool) -> Result:
    unloaded = Step(UNLOADED_RATE, 3 if quick else 6)
    rates = [TARGET_RATE] if quick else [25.0, TARGET_RATE, 75.0, 100.0, 150.0]
    steps: list[Step] = []
    cpu_at_target: dict[str, float] = {}
    with bench_database() as (database_url, postmaster):
        await setup_business(database_url)
        async with running_product(database_url) as (webhook_url, tap, pids):
            meter = CpuMeter(pids, postmaster)
            await drive(webhook_url, tap, Step(10, 1))  # warm up connections and caches
            await drive(webhook_url, tap, unloaded)
            await measure(database_url, tap, unloaded)
            for rate in rates:
                step = Step(rate, 10 if quick else 20)
                meter.start()
                await drive(webhook_url, tap, step)
                cpu = meter.per_conversation_ms(len(step.sent))
                if rate == TARGET_RATE:
                    cpu_at_target = cpu
                await measure(database_url, tap, step)
                steps.append(step)
                print(
                    f"  {rate:>5.0f}/s: {step.replied}/{len(step.sent)} replied,"
                    f" backlog {step.backlog_after}, overhead p50"
                    f" {percentile(step.overhead_ms, 0.5):.1f} ms p99"
                    f" {percentile(step.overhead_ms, 0.99):.1f} ms"
                )
                print(
                    "         median phases: "
                    + ", ".join(
                        f"{name} {value:.1f} ms"
                        for name, value in (await phases(database_url, tap, step)).items()
                    )
                )
                print(
                    "         CPU per conversation: "
                    + ", ".join(f"{name} {value:.1f} ms" for name, value in cpu.items())
                )
                if not step.held:
                    break

    at_target = next((step for step in steps if step.rate == TARGET_RATE), steps[-1])
    held = [step.rate for step in steps if step.held]
    result = Result(
        name=NAME,
        params={
            "quick": quick,
            "rates": [step.rate for step in steps],
            "seconds_per_rate": at_target.seconds,
            "model": "offline demo model (atende demo-model)",
            "debounce_seconds": 0,
            "workers": WORKERS,
            "cpus": os.cpu_count(),
            "cpu_ms_per_conversation_at_target": {
                name: round(value, 2) for name, value in cpu_at_target.items()
            },
        },
        metrics={
            "overhead_p50": Metric(percentile(at_target.overhead_ms, 0.5), "ms"),
            "overhead_p99": Metric(percentile(at_target.overhead_ms, 0.99), "ms"),
            "end_to_end_p50": Metric(percentile(at_target.end_to_end_ms, 0.5), "ms"),
            "end_to_end_p99": Metric(percentile(at_target.end_to_end_ms, 0.99), "ms"),
            "replied_at_target": Metric(at_target.replied / max(1, len(at_target.sent)) * 100, "%"),
            "max_held_rate": Metric(max(held, default=0.0), "conversations/s"),
        },
        baseline={
            "overhead_p50": Metric(percentile(unloaded.overhead_ms, 0.5), "ms"),
            "overhead_p99": Metric(percentile(unloaded.overhead_ms, 0.99), "ms"),
        },
        ratios={
            "overhead_p50_vs_unloaded": percentile(at_target.overhead_ms, 0.5)
            / max(0.001, percentile(unloaded.overhead_ms, 0.5)),
        },
        targets={
            "overhead_p50": "<= 30",
            "overhead_p99": "<= 100",
            "max_held_rate": f">= {TARGET_RATE:g}",
        },
    )
    result.print_table()
    print(f"  written to {result.write()}")
    return result
