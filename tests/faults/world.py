"""The product as it runs in production, on loopback, for fault injection from outside.

- ``FaultCluster``: a Postgres cluster of the suite's own (the product's
  ``EmbeddedPostgres``), migrated once into a template; each test gets a database copied
  from it, and may stop and start the whole cluster.
- ``ProductProcess``: one ``atende ...`` command as a child process with its own
  environment, its output in a log file; SIGKILL or SIGTERM it at will.
- ``Simulator``: ``atende simulator`` as a child process, driven through its control
  API (faults, recorded sends).
- ``Product``: the API and its workers on a test database, a business with a WhatsApp
  channel, and what the tests need to play Twilio (signed webhooks, retried as Twilio
  retries them) and to read the outcome (the database, the simulator).

Every wait here is bounded; every process is started by the test and stopped by it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
import bcrypt
import httpx
import psycopg
from psycopg.rows import dict_row

from atende.channels.crypto import TokenCipher
from atende.db.embedded import SUPERUSER, EmbeddedPostgres
from atende.devtools.twilio_simulator import inbound_message_params, new_sid
from atende.identity.tokens import TokenService
from atende.transports.twilio.signature import signature_headers

T = TypeVar("T")

# Secrets the product is given. Distinctive, so a test can grep for them in any output.
JWT_SECRET = "faults-jwt-secret-4d1f8c2b9e7a6053-do-not-log"
SECRET_KEY = "faults-secret-key-7c3e9a1b5d2f8064-do-not-log"
OPENAI_API_KEY = "sk-faults-openai-key-9b8a7c6d5e4f3021"
#: The embedded cluster trusts local connections, so any password works; the URL has one
#: so that a test can prove it never reaches a log.
DATABASE_PASSWORD = "faults-db-password-2e6f0a9c8b7d"
ACCOUNT_SID = "AC" + "fa17" * 8
TWILIO_AUTH_TOKEN = "faults-twilio-token-5a4b3c2d1e0f9876"
OWNER_PASSWORD = "faults-owner-password-1a2b3c"
BUSINESS_NUMBER = "+5511940000000"
FALLBACK_MESSAGE = "Desculpe, estamos com dificuldades técnicas. Um atendente vai te responder."

#: Settings every product process gets unless a test says otherwise: short waits, so
#: recovery shows in seconds. ATENDE_STALLED_JOB_SECONDS is the smallest allowed.
DEFAULT_ENV: dict[str, str] = {
    "ATENDE_ENV": "test",
    "ATENDE_LOG_LEVEL": "INFO",
    "ATENDE_JWT_SECRET": JWT_SECRET,
    "ATENDE_SECRET_KEY": SECRET_KEY,
    "OPENAI_API_KEY": OPENAI_API_KEY,
    "ATENDE_STALLED_JOB_SECONDS": "15",
    "ATENDE_WORKER_POLL_INTERVAL_SECONDS": "0.2",
    "ATENDE_WORKER_CONCURRENCY": "10",
    "ATENDE_DB_POOL_MIN_SIZE": "1",
    "ATENDE_DB_POOL_MAX_SIZE": "10",
    "ATENDE_MODEL_TIMEOUT_SECONDS": "5",
    "ATENDE_REPLY_MAX_ATTEMPTS": "3",
    "ATENDE_REPLY_RETRY_BACKOFF_SECONDS": "0.2",
    "ATENDE_REPLY_RETRY_MAX_BACKOFF_SECONDS": "1",
    "ATENDE_SEND_MAX_ATTEMPTS": "10",
    "ATENDE_SEND_RETRY_BASE_SECONDS": "0.5",
    "ATENDE_SEND_RETRY_MAX_SECONDS": "2",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def eventually(
    condition: Callable[[], Awaitable[T | None]],
    *,
    timeout: float,
    interval: float = 0.1,
    what: str = "condition",
    explain: Callable[[], Awaitable[str]] | None = None,
) -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` s,
    saying what ``explain`` finds then (the state that kept the condition false)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f": {await explain()}" if explain is not None else ""
            raise AssertionError(f"{what} not met within {timeout:g}s{detail}")
        await asyncio.sleep(interval)


# -- Postgres ---------------------------------------------------------------------------


class FaultCluster:
    """A cluster of the suite's own: tests stop and start it without touching others."""

    TEMPLATE = "faults_template"

    def __init__(self, data_dir: Path) -> None:
        self.cluster = EmbeddedPostgres(
            data_dir=data_dir,
            port=free_port(),
            database=self.TEMPLATE,
            ephemeral=True,
            max_connections=200,
        )

    def start(self) -> None:
        self.cluster.start()

    def stop(self) -> None:
        """A fast shutdown, as a restart or failover does it: sessions are cut."""
        self.cluster.stop()

    def destroy(self) -> None:
        self.cluster.destroy()

    def url(self, database: str, *, password: bool = True) -> str:
        secret = f":{DATABASE_PASSWORD}" if password else ""
        return f"postgresql://{SUPERUSER}{secret}@127.0.0.1:{self.cluster.port}/{database}"

    def new_database(self) -> str:
        name = f"faults_{uuid.uuid4().hex[:12]}"
        self.cluster.create_database(name, template=self.TEMPLATE)
        return name

    def drop_database(self, name: str) -> None:
        with contextlib.suppress(psycopg.Error):
            self.cluster.drop_database(name)


# -- processes ----------------------------------------------------------------------------


class ProductProcess:
    """One ``atende`` command in a child process, its output in ``log_path``."""

    def __init__(self, name: str, arguments: list[str], env: Mapping[str, str], log_dir: Path):
        self.name = name
        self.arguments = arguments
        self.env = dict(env)
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> ProductProcess:
        log = self.log_path.open("ab")
        try:
            self.popen = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "atende", *self.arguments],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).resolve().parents[2],
            )
        finally:
            log.close()
        self.started_at = time.monotonic()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, as when a machine dies."""
        if self.popen is not None and self.alive:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen is None or not self.alive:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def process_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """A clean environment: nothing from the developer's shell reaches the product."""
    base = {
        name: os.environ[name]
        for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")
        if name in os.environ
    }
    return {**base, **extra}


# -- the Twilio simulator -----------------------------------------------------------------


class Simulator:
    """``atende simulator`` in a child process, and its control API."""

    def __init__(self, log_dir: Path, *, log_level: str = "INFO") -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process = ProductProcess(
            "simulator",
            ["simulator", "--port", str(self.port), "--callback-delay", "0.05"],
            process_environment({"ATENDE_LOG_LEVEL": log_level}),
            log_dir,
        )

    def start(self) -> None:
        self.process.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.base_url}/__simulator", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if not self.process.alive or time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not start:\n{self.process.log()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.stop()

    async def reset(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as http:
            (await http.post("/__simulator/reset")).raise_for_status()

    async def add_fault(self, **spec: Any) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as http:
            (await http.post("/__simulator/faults", json=spec)).raise_for_status()

    async def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        params = {"to": to} if to else {}
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as http:
            response = await http.get("/__simulator/messages", params=params)
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    async def wait_for_customers(
        self, customers: Iterable[str], *, timeout: float, what: str = "every customer answered"
    ) -> dict[str, float]:
        """Wait until Twilio took a message to each customer: when each was first seen
        (monotonic seconds, polled every 0.1 s)."""
        waiting = set(customers)
        seen: dict[str, float] = {}

        async def all_seen() -> bool:
            sent = await self.sent_by_customer()
            now = time.monotonic()
            for customer in list(waiting):
                if sent.get(customer):
                    seen[customer] = now
                    waiting.discard(customer)
            return not waiting

        await eventually(all_seen, timeout=timeout, what=what)
        return seen

    async def sent_by_customer(self) -> dict[str, list[dict[str, Any]]]:
        """Accepted sends, grouped by the customer's number (E.164, no prefix)."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for message in await self.messages():
            grouped.setdefault(message["to"].removeprefix("whatsapp:"), []).append(message)
        return grouped


# -- playing Twilio: signed webhooks, retried ---------------------------------------------


@dataclass
class Delivery:
    """One inbound message, as Twilio would deliver it, and what each attempt got."""

    customer: str
    body: str
    sid: str = field(default_factory=new_sid)
    #: HTTP status of each attempt (None: no answer: connection refused or timed out).
    attempts: list[int | None] = field(default_factory=list)
    posted_at: float = 0.0
    accepted_at: float | None = None

    @property
    def accepted(self) -> bool:
        return bool(self.attempts) and self.attempts[-1] == 200


@dataclass(frozen=True)
class SignedWebhook:
    """A webhook ready to post: built and signed once, before any load is timed."""

    url: str
    content: bytes
    headers: dict[str, str]

    @classmethod
    def inbound(
        cls,
        url: str,
        delivery: Delivery,
        *,
        auth_token: str = TWILIO_AUTH_TOKEN,
        account_sid: str = ACCOUNT_SID,
        to: str = BUSINESS_NUMBER,
    ) -> SignedWebhook:
        params = inbound_message_params(
            account_sid=account_sid,
            from_=f"whatsapp:{delivery.customer}",
            to=f"whatsapp:{to}",
            body=delivery.body,
            message_sid=delivery.sid,
            profile_name="Cliente",
        )
        headers = {
            **signature_headers(url, params, auth_token),
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            # Twilio keeps it across the retries of one delivery.
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        }
        return cls(url, urlencode(params).encode(), headers)


async def deliver_like_twilio(
    http: aiohttp.ClientSession,
    webhook: SignedWebhook,
    delivery: Delivery,
    *,
    max_attempts: int = 12,
    give_up_after: float = 60.0,
    gate: asyncio.Semaphore | None = None,
) -> Delivery:
    """Post the webhook; on a 5xx or no answer, post it again (same MessageSid, same
    idempotency token), waiting 0.5 s, 1 s, 2 s, then 3 s between tries, as Twilio does with
    its connection overrides (``#rc=...``). A 4xx is final."""
    delivery.posted_at = time.monotonic()
    deadline = delivery.posted_at + give_up_after
    while True:
        status: int | None
        try:
            async with (
                gate or contextlib.nullcontext(),
                http.post(webhook.url, data=webhook.content, headers=webhook.headers) as answer,
            ):
                await answer.read()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError):
            status = None
        delivery.attempts.append(status)
        if status == 200:
            delivery.accepted_at = time.monotonic()
            return delivery
        if status is not None and status < 500:
            return delivery
        if len(delivery.attempts) >= max_attempts or time.monotonic() > deadline:
            return delivery
        await asyncio.sleep(min(3.0, 0.5 * 2 ** (len(delivery.attempts) - 1)))


def customer_number(index: int, prefix: str = "55219") -> str:
    return f"+{prefix.removeprefix('+')}{index:08d}"


# -- the product ----------------------------------------------------------------------------


@dataclass
class Business:
    organization_id: uuid.UUID
    owner_id: uuid.UUID
    owner_email: str
    channel_id: uuid.UUID
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class Product:
    """The API and workers on a database of their own, with a business to serve."""

    def __init__(
        self,
        cluster: FaultCluster,
        simulator: Simulator,
        model_base_url: str,
        log_dir: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.cluster = cluster
        self.simulator = simulator
        self.log_dir = log_dir
        self.database = cluster.new_database()
        self.database_url = cluster.url(self.database)
        self.api_port = free_port()
        self.public_url = f"http://127.0.0.1:{self.api_port}"
        self.webhook_url = f"{self.public_url}/webhooks/twilio/messages"
        self.env = {
            **DEFAULT_ENV,
            "DATABASE_URL": self.database_url,
            "ATENDE_PUBLIC_URL": self.public_url,
            "OPENAI_BASE_URL": model_base_url,
            "TWILIO_API_BASE_URL": simulator.base_url,
            **(env or {}),
        }
        self.processes: dict[str, ProductProcess] = {}
        self._workers = 0
        self.business: Business | None = None

    # -- processes -------------------------------------------------------------------

    def start_api(self, name: str = "api", port: int | None = None, **env: str) -> ProductProcess:
        """An API process; another one (``name``, ``port``) serves the same public URL, as
        processes behind one load balancer do."""
        process = ProductProcess(
            name,
            ["serve", "--host", "127.0.0.1", "--port", str(port or self.api_port)],
            process_environment({**self.env, **env}),
            self.log_dir,
        ).start()
        self.processes[name] = process
        return process

    def start_worker(self, **env: str) -> ProductProcess:
        self._workers += 1
        process = ProductProcess(
            f"worker-{self._workers}",
            ["worker"],
            process_environment({**self.env, **env}),
            self.log_dir,
        ).start()
        self.processes[process.name] = process
        return process

    @property
    def api(self) -> ProductProcess:
        return self.processes["api"]

    def workers(self) -> list[ProductProcess]:
        return [p for name, p in self.processes.items() if name.startswith("worker-")]

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """The API answers /readyz 200 and every live worker is registered."""

        async def ready() -> bool:
            for process in self.processes.values():
                if process.popen is not None and not process.alive and process.name != "killed":
                    raise AssertionError(
                        f"{process.name} exited ({process.popen.returncode}):\n"
                        + process.log()[-3000:]
                    )
            if "api" in self.processes and await self.readyz() != 200:
                return False
            live_workers = sum(1 for worker in self.workers() if worker.alive)
            return await self.live_worker_count() >= live_workers

        await eventually(ready, timeout=timeout, interval=0.2, what="the product ready")

    async def readyz(self, port: int | None = None) -> int | None:
        try:
            async with httpx.AsyncClient(timeout=3) as http:
                url = f"http://127.0.0.1:{port}" if port else self.public_url
                return (await http.get(f"{url}/readyz")).status_code
        except httpx.HTTPError:
            return None

    async def live_worker_count(self, within_seconds: float = 30) -> int:
        try:
            row = await self.fetch_one(
                "select count(*) as n from procrastinate.procrastinate_workers"
                " where last_heartbeat > now() - make_interval(secs => %s)",
                [within_seconds],
            )
        except psycopg.OperationalError:
            return 0
        return int(row["n"]) if row else 0

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()
        self.cluster.drop_database(self.database)

    def logs(self, tail: int | None = None) -> str:
        """Every process's output (each one's last ``tail`` characters, if given)."""
        return "\n".join(
            f"===== {process.name} =====\n{process.log()[-tail if tail else 0 :]}"
            for process in self.processes.values()
        )

    # -- the database ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[psycopg.AsyncConnection[dict[str, Any]]]:
        conn = await psycopg.AsyncConnection.connect(
            self.database_url, autocommit=True, row_factory=dict_row, connect_timeout=5
        )
        async with conn:
            yield conn

    async def fetch_all(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        async with self.connect() as conn:
            await conn.execute("set search_path to public, extensions, procrastinate")
            return list(await (await conn.execute(query, params)).fetchall())

    async def fetch_one(self, query: str, params: Any = None) -> dict[str, Any] | None:
        rows = await self.fetch_all(query, params)
        return rows[0] if rows else None

    # -- the business ------------------------------------------------------------------

    async def make_business(self, *, debounce_seconds: int = 0) -> Business:
        """An organization, its owner, a WhatsApp channel on BUSINESS_NUMBER and its
        agent (debounce as given, the fallback message FALLBACK_MESSAGE)."""
        user_id = uuid.uuid4()
        email = f"dona-{user_id.hex[:8]}@example.com"
        hashed = bcrypt.hashpw(OWNER_PASSWORD.encode(), bcrypt.gensalt(4, b"2a")).decode()
        cipher = TokenCipher(SECRET_KEY)
        async with self.connect() as conn, conn.transaction():
            await conn.execute(
                "insert into auth.users (id, aud, role, email, encrypted_password,"
                " raw_app_meta_data, raw_user_meta_data, created_at, updated_at)"
                " values (%s, 'authenticated', 'authenticated', %s, %s, '{}', '{}', now(), now())",
                [user_id, email, hashed],
            )
            await conn.execute(
                "insert into public.profiles (id, email, full_name) values (%s, %s, 'Dona')",
                [user_id, email],
            )
            organization = await (
                await conn.execute(
                    "insert into public.organizations (name) values ('Padaria Falhas') returning id"
                )
            ).fetchone()
            assert organization is not None
            await conn.execute(
                "insert into public.memberships (organization_id, user_id, role)"
                " values (%s, %s, 'owner')",
                [organization["id"], user_id],
            )
            channel = await (
                await conn.execute(
                    "insert into public.channels (organization_id, kind, phone_number,"
                    " twilio_account_sid, twilio_auth_token_ciphertext)"
                    " values (%s, 'whatsapp', %s, %s, %s) returning id",
                    [
                        organization["id"],
                        BUSINESS_NUMBER,
                        ACCOUNT_SID,
                        cipher.encrypt(TWILIO_AUTH_TOKEN),
                    ],
                )
            ).fetchone()
            assert channel is not None
            await conn.execute(
                "update public.agents set debounce_seconds = %s, fallback_message = %s,"
                " model = 'fake-model' where organization_id = %s",
                [debounce_seconds, FALLBACK_MESSAGE, organization["id"]],
            )
        token = TokenService(JWT_SECRET).issue(
            user_id=user_id, email=email, session_id=uuid.uuid4()
        )
        self.business = Business(
            organization_id=organization["id"],
            owner_id=user_id,
            owner_email=email,
            channel_id=channel["id"],
            access_token=token.token,
        )
        return self.business

    # -- playing the customers ----------------------------------------------------------

    async def deliver_all(
        self,
        deliveries: Iterable[Delivery],
        *,
        rate: float | None = None,
        concurrency: int = 64,
        ports: Sequence[int] | None = None,
        **options: Any,
    ) -> list[Delivery]:
        """Deliver each message (with Twilio's retries), at ``rate`` a second or all at
        once, at most ``concurrency`` requests at a time; returns when every delivery is
        accepted or given up.

        The requests are built and signed first, and posted with aiohttp: the load
        generator shares the machine with the product, and should cost it little."""
        deliveries = list(deliveries)
        webhooks = [SignedWebhook.inbound(self.webhook_url, d) for d in deliveries]
        if ports:  # signed for the public URL, posted to the processes in turn
            webhooks = [
                dataclasses.replace(
                    webhook,
                    url=webhook.url.replace(
                        f":{self.api_port}/", f":{ports[index % len(ports)]}/", 1
                    ),
                )
                for index, webhook in enumerate(webhooks)
            ]
        gate = asyncio.Semaphore(concurrency)
        connector = aiohttp.TCPConnector(limit=concurrency)
        timeout = aiohttp.ClientTimeout(total=15)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            started = time.monotonic()
            tasks = []
            for index, (delivery, webhook) in enumerate(zip(deliveries, webhooks, strict=True)):
                if rate is not None:
                    delay = started + index / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                tasks.append(
                    asyncio.create_task(
                        deliver_like_twilio(http, webhook, delivery, gate=gate, **options)
                    )
                )
            await asyncio.gather(*tasks)
        return deliveries

    # -- reading the outcome ------------------------------------------------------------

    async def stored_sids(self) -> dict[str, int]:
        rows = await self.fetch_all(
            "select metadata->>'message_sid' as sid, count(*) as n from public.messages"
            " where direction = 'inbound' group by 1"
        )
        return {row["sid"]: int(row["n"]) for row in rows}

    async def outbound_by_customer(self) -> dict[str, list[dict[str, Any]]]:
        """Outbound messages in the database, by customer, oldest first."""
        rows = await self.fetch_all(
            "select ct.phone_number, m.id, m.author::text as author, m.body,"
            " m.status::text as status, m.is_error, m.error_code, m.metadata, m.created_at"
            " from public.messages as m"
            " join public.conversations as c on c.id = m.conversation_id"
            " join public.contacts as ct on ct.id = c.contact_id"
            " where m.direction = 'outbound' order by m.created_at, m.id"
        )
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            grouped.setdefault(row["phone_number"], []).append(row)
        return grouped

    async def unfinished_jobs(self, task_name: str | None = None) -> list[dict[str, Any]]:
        return await self.fetch_all(
            "select id, task_name, status::text as status, attempts"
            " from procrastinate.procrastinate_jobs"
            " where status in ('todo', 'doing')"
            " and task_name in ('conversations:generate_reply', 'channels:send_message')"
            " and (%s::text is null or task_name = %s)",
            [task_name, task_name],
        )

    # -- secrets -------------------------------------------------------------------------

    def secrets(self) -> dict[str, str]:
        """What must never appear in a log or an error answer, by name."""
        basic = base64.b64encode(f"{ACCOUNT_SID}:{TWILIO_AUTH_TOKEN}".encode()).decode()
        found = {
            "ATENDE_JWT_SECRET": JWT_SECRET,
            "ATENDE_SECRET_KEY": SECRET_KEY,
            "OPENAI_API_KEY": OPENAI_API_KEY,
            "database password": DATABASE_PASSWORD,
            "Twilio auth token": TWILIO_AUTH_TOKEN,
            "Twilio basic auth": basic,
            "owner password": OWNER_PASSWORD,
        }
        if self.business is not None:
            found["owner access token"] = self.business.access_token
        return found

    def leaked_secrets(self, extra: Mapping[str, str] | None = None) -> list[str]:
        """Names of the secrets found in any process's output."""
        text = self.logs() + self.simulator.process.log()
        return [
            name for name, value in {**self.secrets(), **(extra or {})}.items() if value in text
        ]


# -- watching from outside: readiness and the realtime feed --------------------------------


@dataclass
class ReadinessLog:
    """``/readyz`` answers over time (monotonic seconds when each came, status or None)."""

    samples: list[tuple[float, int | None]] = field(default_factory=list)

    def statuses_between(self, start: float, end: float) -> set[int | None]:
        return {status for at, status in self.samples if start <= at <= end}

    def first_ready_after(self, moment: float) -> float | None:
        return next((at for at, status in self.samples if at >= moment and status == 200), None)


async def watch_readiness(product: Product, log: ReadinessLog, interval: float = 0.25) -> None:
    """Poll ``/readyz`` until cancelled."""
    while True:
        # Timed when the answer comes: a check may wait (for a connection) across the
        # moment the database comes back, and its answer tells about that moment.
        status = await product.readyz()
        log.samples.append((time.monotonic(), status))
        await asyncio.sleep(interval)


@dataclass
class EventLog:
    """What a team member's ``conversationEvents`` subscription received."""

    events: list[tuple[float, str]] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)

    def kinds_after(self, moment: float) -> list[str]:
        return [kind for at, kind in self.events if at >= moment]


async def watch_events(product: Product, log: EventLog, port: int | None = None) -> None:
    """Subscribe as the owner (to the API on ``port``, the first one's by default) and
    record every event until cancelled."""
    from websockets.asyncio.client import connect

    from tests.graphql.live import GraphQLSocket

    assert product.business is not None
    url = f"ws://127.0.0.1:{port or product.api_port}/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as connection:  # type: ignore[list-item]
        socket_ = GraphQLSocket(connection)
        await socket_.send(
            {
                "type": "connection_init",
                "payload": {"Authorization": f"Bearer {product.business.access_token}"},
            }
        )
        assert (await socket_.receive())["type"] == "connection_ack"
        await socket_.subscribe(
            "events",
            "subscription ($org: ID!) { conversationEvents(organizationId: $org) { kind } }",
            {"org": str(product.business.organization_id)},
        )
        log.subscribed.set()
        while True:
            message = await socket_.receive(timeout=3600)
            if message["type"] == "ping":
                await socket_.send({"type": "pong"})
            elif message["type"] == "next":
                payload = message["payload"]
                if payload.get("errors"):
                    log.errors.append(payload["errors"])
                else:
                    log.events.append(
                        (time.monotonic(), payload["data"]["conversationEvents"]["kind"])
                    )
            else:
                log.errors.append(message)
                if message["type"] in ("error", "complete"):
                    return
