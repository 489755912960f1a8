"""bench/scale: the same workloads on a small database and on a large one, side by side.

One cluster of the benchmark's own (``DATABASE_URL`` is not used: the benchmark needs two
databases and a superuser), two databases, both migrated and both holding the same
measured businesses, as the other benchmarks make them:

- the inbox's organization (``bench.graphql.seed``: 200 conversations of 50 messages);
- the reply path's (``bench.e2e.setup_business``: a WhatsApp channel, the agent answering
  at once, the knowledge set's documents);
- ingest's (a WhatsApp channel taking ``bench.ingest``'s signed webhooks; its agent off,
  so the workers running beside it have no replies to make for it).

**small** holds only those: 10,000 messages. **large** holds, besides, a generated
history: 10M messages (1M with ``--quick``) over 10,000 organizations (each with a channel,
contacts and conversations of 20 messages), spread over the last 6 months (so over 7
monthly partitions once ``messages`` is partitioned), and the inbox's organization gets
1 % of that as older messages in its own conversations. The history is bulk SQL as
superuser (``insert ... select from generate_series``) with ``session_replication_role =
replica`` (no triggers: no foreign-key checks, usage counters or events for generated
history), the big tables' secondary indexes dropped during the load and built again after
it (``pg_get_indexdef``: whatever the migrations define), then ``VACUUM (ANALYZE)`` so the
statistics and the visibility map are those of a database that has lived.

Each database gets the product running as bench/e2e runs it (the API, two workers, the
offline demo model, the tapped Twilio simulator), both at once, and each workload runs
in rounds alternating small and large in an order drawn anew each round:

- **ingest**: bench/ingest's webhook load (pre-signed, one in ten a repeat), closed loop
  at 64 clients: throughput (webhooks answered a second);
- **inbox**: bench/graphql's inbox query through ``atende serve``, one request at a time
  (bench/graphql_load): p99 (and p50);
- **reply path**: bench/e2e's overhead (the inbound message stored to the send request at
  the simulator) at a modest fixed 20 conversations a second: p50 (and p99).

Each ratio is large over small (median of rounds over median of rounds), with each round's
ratio as its spread. Targets: throughput ratio >= 0.8, latency ratios <= 1.25; no failed
or unanswered request. Then, on the large database: ``erase_contact_v1`` on a contact
with 10,000 messages (bench/erasure's code; reported), and, when ``messages`` is
partitioned, the oldest month's partition detached and dropped (``alter table ... detach
partition``, ``drop table``): timed, target under a second (the detach locks
``messages``). Not partitioned: that target is *not measured*, and the run's ``met`` false.
"""

# The history generator's SQL is built from this module's constants and psycopg's
# placeholders, never from input.
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from bench import e2e, erasure, ingest
from bench.graphql import configure_cluster, free_port, issue_token, request_body, seed
from bench.harness import (
    Metric,
    Result,
    RoundOrder,
    percentile,
    recycle_wal_segments,
)

NAME = "scale"
SIZES = ("small", "large")
LARGE_MESSAGES = 10_000_000
QUICK_LARGE_MESSAGES = 1_000_000
ORGANIZATIONS = 10_000
MESSAGES_PER_CONVERSATION = 20
#: The history's span: about six months, so seven calendar months (partitions) hold it.
HISTORY_DAYS = 182
#: The inbox's organization's own older messages, as a share of the generated history.
INBOX_HISTORY_SHARE = 0.01
#: Rows per INSERT of the generated history (one commit each, progress printed).
CHUNK = 1_000_000
#: Tables whose secondary indexes are built after the load rather than row by row.
BULK_TABLES = ("public.messages", "public.conversations", "public.contacts")
INGEST_CLIENTS = 64
PRODUCT_READY_SECONDS = 180.0
#: Modest: the two products share two cores (and the machine is shared).
REPLY_RATE = 10.0
THROUGHPUT_TARGET = 0.80
LATENCY_TARGET = 1.25
#: The detach locks ``messages`` (ingest waits meanwhile): a second at most.
DETACH_TARGET_MS = 1_000.0
ERASE_MESSAGES = 10_000
#: Postgres settings of the benchmark's cluster: a database of 10M messages on a server
#: with the default 128 MB of shared buffers would measure the buffers; the WAL size
#: spares the bulk load a checkpoint every gigabyte.
SERVER_SETTINGS = {
    "shared_buffers": "1GB",
    "max_wal_size": "8GB",
    "maintenance_work_mem": "512MB",
    "max_connections": "300",
}


@dataclass(frozen=True)
class Timing:
    rounds: int
    ingest_seconds: float
    inbox_seconds: float
    reply_seconds: float
    erase_rounds: int


FULL = Timing(rounds=5, ingest_seconds=10.0, inbox_seconds=5.0, reply_seconds=10.0, erase_rounds=3)
QUICK = Timing(rounds=2, ingest_seconds=2.0, inbox_seconds=1.0, reply_seconds=3.0, erase_rounds=1)


# -- the cluster and its two databases -------------------------------------------------------


@contextlib.contextmanager
def bench_cluster() -> Iterator[Any]:
    """A durable cluster of the benchmark's own, with ``SERVER_SETTINGS``."""
    from atende.db.embedded import EmbeddedPostgres  # noqa: PLC0415 - a heavy import

    data_dir = Path(tempfile.mkdtemp(prefix="atende-bench-scale-"))
    cluster = EmbeddedPostgres(
        data_dir=data_dir,
        port=free_port(),
        database="atende_bench",
        max_connections=int(SERVER_SETTINGS["max_connections"]),
    )
    configure_cluster(cluster, SERVER_SETTINGS)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()
        shutil.rmtree(data_dir, ignore_errors=True)


@dataclass
class World:
    """One database and what the workloads need of it."""

    size: str
    url: str
    inbox_organization: uuid.UUID = field(default_factory=uuid.uuid4)
    token: str = ""


def setup_ingest_business(url: str) -> None:
    """bench/ingest's channel, its token encrypted with the product's key (bench/e2e's),
    in an organization whose agent is off (the workers beside it make no replies)."""
    from atende.channels.crypto import TokenCipher  # noqa: PLC0415 - the channels module

    owner = uuid.uuid4()
    email = f"bench-{owner.hex[:8]}@example.com"
    with psycopg.connect(url) as conn:
        conn.execute("insert into auth.users (id, email) values (%s, %s)", [owner, email])
        conn.execute(
            "insert into public.profiles (id, email, full_name) values (%s, %s, 'Bench')",
            [owner, email],
        )
        row = conn.execute(
            "insert into public.organizations (name) values ('Bench ingest') returning id"
        ).fetchone()
        assert row is not None
        conn.execute(
            "insert into public.memberships (organization_id, user_id, role)"
            " values (%s, %s, 'owner')",
            [row[0], owner],
        )
        conn.execute(
            "insert into public.channels (organization_id, kind, phone_number,"
            " twilio_account_sid, twilio_auth_token_ciphertext)"
            " values (%s, 'whatsapp', %s, %s, %s)",
            [
                row[0],
                ingest.BUSINESS_NUMBER,
                ingest.ACCOUNT_SID,
                TokenCipher(e2e.SECRET_KEY).encrypt(ingest.AUTH_TOKEN),
            ],
        )
        conn.execute(
            "update public.agents set ai_enabled = false where organization_id = %s", [row[0]]
        )


async def setup_worlds(cluster: Any) -> dict[str, World]:
    """The small database: migrated, the history's monthly partitions made (when
    ``messages`` is partitioned: both databases then have the same partitions), the three
    measured businesses; the large one a copy of it (``create database ... template``),
    its history generated afterwards."""
    from atende.db.migrations import apply_migrations  # noqa: PLC0415 - a heavy import

    small = "atende_bench_small"
    cluster.create_database(small)
    url = str(cluster.url(small))
    apply_migrations(url)
    with psycopg.connect(url, autocommit=True) as conn:
        made = ensure_history_partitions(conn, HISTORY_DAYS + 1)
    if made:
        print(f"  made partitions for the history: {', '.join(made)}")
    organization, owner, email = seed(url)
    await e2e.setup_business(url)
    setup_ingest_business(url)
    token = issue_token(owner, email)
    cluster.create_database("atende_bench_large", template=small)
    return {
        "small": World("small", url, organization, token),
        "large": World("large", str(cluster.url("atende_bench_large")), organization, token),
    }


# -- the generated history --------------------------------------------------------------------


def generated_id(table: int, number: str) -> str:
    """SQL for a generated row's uuid: a fixed prefix per table, then ``number`` in hex,
    so that the keys ascend as rows are added (each primary key grows at its right edge,
    as time-ordered keys do) and a row's key is computed, not looked up."""
    return f"('5ca1e{table:03d}' || lpad(to_hex({number}), 24, '0'))::uuid"


ORGANIZATION, CHANNEL, CONTACT, CONVERSATION, MESSAGE, INBOX_MESSAGE = 1, 2, 3, 4, 5, 6


def history_statements(
    messages: int, organizations: int, inbox_organization: uuid.UUID
) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, SQL, parameters) that generate the large database's history: organizations,
    a channel each, conversations of ``MESSAGES_PER_CONVERSATION`` messages (a contact
    each), message ``i`` at ``start + i * step`` in conversation ``i % conversations``, of
    organization ``conversation % organizations``; then the inbox organization's older
    messages. (SQL with psycopg's placeholders: a modulo is written ``%%``.)"""
    conversations = max(organizations, messages // MESSAGES_PER_CONVERSATION)
    common = {
        # One "now" for every statement: a conversation's last_message_at is its last
        # message's created_at, computed apart.
        "now": datetime.now(UTC),
        "orgs": organizations,
        "convs": conversations,
        "messages": messages,
        "days": HISTORY_DAYS,
    }
    org_of_conv = generated_id(ORGANIZATION, "k %% %(orgs)s")
    statements: list[tuple[str, str, dict[str, Any]]] = [
        (
            "organizations",
            f"insert into public.organizations (id, name, created_at, updated_at)"
            f" select {generated_id(ORGANIZATION, 'o')}, 'Empresa ' || o,"
            f" %(now)s::timestamptz - make_interval(days => %(days)s + 1), %(now)s::timestamptz"
            f" from generate_series(0, %(orgs)s - 1) as o",
            common,
        ),
        (
            "channels",
            f"insert into public.channels (id, organization_id, kind, phone_number,"
            f" twilio_account_sid, twilio_auth_token_ciphertext)"
            f" select {generated_id(CHANNEL, 'o')}, {generated_id(ORGANIZATION, 'o')},"
            f" 'whatsapp', '+56' || lpad(o::text, 11, '0'), 'AC' || md5('account' || o),"
            f" 'ciphertext' from generate_series(0, %(orgs)s - 1) as o",
            common,
        ),
        (
            "contacts",
            f"insert into public.contacts (id, organization_id, phone_number, profile_name,"
            f" created_at) select {generated_id(CONTACT, 'k')}, {org_of_conv},"
            f" '+55' || lpad(k::text, 11, '0'), 'Cliente ' || k,"
            f" %(now)s::timestamptz - make_interval(days => %(days)s)"
            f" from generate_series(0, %(convs)s - 1) as k",
            common,
        ),
        (
            "conversations",
            # The last message of conversation k is number k + convs * floor((messages - 1
            # - k) / convs): its time is the conversation's last_message_at.
            f"insert into public.conversations (id, organization_id, channel_id, contact_id,"
            f" status, last_inbound_at, last_message_at, created_at)"
            f" select {generated_id(CONVERSATION, 'k')}, {org_of_conv},"
            f" {generated_id(CHANNEL, 'k %% %(orgs)s')}, {generated_id(CONTACT, 'k')},"
            f" (case when k %% 3 = 0 then 'closed' else 'open' end)::public.conversation_status,"
            f" last_at, last_at, %(now)s::timestamptz - make_interval(days => %(days)s)"
            f" from generate_series(0, %(convs)s - 1) as k,"
            f" lateral (select %(now)s::timestamptz - make_interval(days => %(days)s)"
            f"  + make_interval(days => %(days)s) * ((k + %(convs)s"
            f"  * ((%(messages)s - 1 - k) / %(convs)s))::float8 / %(messages)s) as last_at) as l",
            common,
        ),
    ]
    statements += [
        (
            f"messages {start:,}-{min(messages, start + CHUNK):,}",
            message_insert(
                id_table=MESSAGE,
                conversation=generated_id(CONVERSATION, "i %% %(convs)s"),
                organization=generated_id(ORGANIZATION, "(i %% %(convs)s) %% %(orgs)s"),
            ),
            {**common, "first": start, "last": min(messages, start + CHUNK) - 1, "tag": "gen"},
        )
        for start in range(0, messages, CHUNK)
    ]
    inbox_messages = int(messages * INBOX_HISTORY_SHARE)
    statements.append(
        (
            f"the inbox organization's {inbox_messages:,} older messages",
            "with c as (select array_agg(id order by id) as ids from public.conversations"
            " where organization_id = %(inbox)s) "
            + message_insert(
                id_table=INBOX_MESSAGE,
                conversation="c.ids[1 + i %% array_length(c.ids, 1)]",
                organization="%(inbox)s",
                source=", c",
                # Older than the seed's own messages (8 days back and after).
                days="%(days)s - 9",
            ),
            {
                **common,
                "messages": inbox_messages,
                "first": 0,
                "last": inbox_messages - 1,
                "inbox": inbox_organization,
                "tag": "inbox",
            },
        )
    )
    return statements


def message_insert(
    *, id_table: int, conversation: str, organization: str, source: str = "", days: str = "%(days)s"
) -> str:
    """Messages ``first``..``last`` of ``messages``, evenly over ``days`` days from
    ``HISTORY_DAYS`` ago, alternating the customer's and the AI's; ids ascending, sids
    unique (``tag``)."""
    return (
        "insert into public.messages (id, organization_id, conversation_id, direction,"
        " author, body, status, metadata, created_at, updated_at)"
        f" select {generated_id(id_table, 'i')}, {organization}, {conversation},"
        " (case when i %% 2 = 0 then 'inbound' else 'outbound' end)::public.message_direction,"
        " (case when i %% 2 = 0 then 'contact' else 'ai' end)::public.message_author,"
        " 'Mensagem ' || i || ': quero saber do meu pedido',"
        " (case when i %% 2 = 0 then 'received' else 'delivered' end)::public.message_status,"
        " jsonb_build_object('message_sid', 'SM' || %(tag)s || i),"
        f" at, at from generate_series(%(first)s::int, %(last)s::int) as i{source},"
        f" lateral (select %(now)s::timestamptz - make_interval(days => %(days)s)"
        f"  + make_interval(days => {days}) * (i::float8 / %(messages)s)) as t(at)"
    )


def ensure_history_partitions(conn: psycopg.Connection[Any], days: int) -> list[str]:
    """When ``messages`` is partitioned: a partition for each calendar month (UTC) the
    history spans that none covers yet, named and placed as the existing monthly ones
    (``<their schema>.messages_YYYY_MM``). A catch-all partition for everything older
    (``FROM (MINVALUE)``) that covers those months, while still empty, is detached first
    and attached again for the range before the history. Returns the partitions made."""
    if not is_partitioned(conn):
        return []
    conn.execute("set timezone = 'UTC'")  # the bounds' text, compared below, in UTC
    months = [
        row[0]
        for row in conn.execute(
            "select generate_series(date_trunc('month', (now() - make_interval(days => %s))"
            " at time zone 'UTC'), date_trunc('month', now() at time zone 'UTC'),"
            " interval '1 month')",
            [days],
        ).fetchall()
    ]
    partitions = partition_bounds(conn)
    schema = next((schema for schema, _, _ in partitions), "public")
    first = utc_literal(months[0])
    reattach: sql.Composable | None = None
    for part_schema, name, bound in partitions:
        before = _BEFORE.search(bound)
        if before is None or before.group(1) <= first:
            continue
        relation = sql.Identifier(part_schema, name)
        row = conn.execute(sql.SQL("select exists (select from {})").format(relation)).fetchone()
        if row is None or row[0]:
            continue  # it holds rows: left as it is (the history's older months go in it)
        conn.execute(sql.SQL("alter table public.messages detach partition {}").format(relation))
        reattach = relation
    made: list[str] = []
    for month in months:
        name = f"messages_{month:%Y_%m}"
        try:
            with conn.transaction():
                conn.execute(
                    sql.SQL(
                        "create table {} partition of public.messages for values from ({}) to ({})"
                    ).format(
                        sql.Identifier(schema, name),
                        sql.Literal(utc_literal(month)),
                        sql.Literal(utc_literal(next_month(month))),
                    )
                )
            made.append(f"{schema}.{name}")
        except psycopg.Error:
            pass  # a partition covers that month (or part of it) already
    if reattach is not None:
        conn.execute(
            sql.SQL(
                "alter table public.messages attach partition {} for values from (minvalue) to ({})"
            ).format(reattach, sql.Literal(first))
        )
    return made


def utc_literal(month: datetime) -> str:
    return f"{month:%Y-%m-%d} 00:00:00+00"


def next_month(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


_BEFORE = re.compile(r"FROM \(MINVALUE\) TO \('([^']+)'\)")


def partition_bounds(conn: psycopg.Connection[Any]) -> list[tuple[str, str, str]]:
    """(schema, name, bound as ``pg_get_expr`` gives it) of each partition of messages."""
    rows = conn.execute(
        "select n.nspname::text, c.relname::text, coalesce(pg_get_expr(c.relpartbound, c.oid), '')"
        " from pg_inherits as i join pg_class as c on c.oid = i.inhrelid"
        " join pg_namespace as n on n.oid = c.relnamespace"
        " where i.inhparent = 'public.messages'::regclass"
    ).fetchall()
    return [(str(schema), str(name), str(bound)) for schema, name, bound in rows]


def claim_generated_sids(conn: psycopg.Connection[Any]) -> int | None:
    """When sids are judged in a table of their own (``private.message_sids``, beside a
    partitioned ``messages``), the generated messages' sids put in it, as the trigger the
    bulk load skipped would have: ingest then checks its sids against a table of the
    history's size. None when there is no such table."""
    row = conn.execute(
        "select coalesce(array_agg(column_name::text), '{}') from information_schema.columns"
        " where table_schema = 'private' and table_name = 'message_sids'"
    ).fetchone()
    columns = set(row[0]) if row else set()
    if not columns:
        return None
    needed = {"message_sid", "organization_id", "message_id", "message_created_at"}
    if not needed <= columns:
        raise RuntimeError(f"private.message_sids has {sorted(columns)}, not {sorted(needed)}")
    claimed = conn.execute(
        "insert into private.message_sids (message_sid, organization_id, message_id,"
        " message_created_at) select metadata ->> 'message_sid', organization_id, id, created_at"
        " from public.messages where metadata ->> 'message_sid' like 'SMgen%%'"
        " or metadata ->> 'message_sid' like 'SMinbox%%'"
    )
    return claimed.rowcount


def is_partitioned(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "select exists (select 1 from pg_partitioned_table"
        " where partrelid = 'public.messages'::regclass)"
    ).fetchone()
    return bool(row and row[0])


def secondary_indexes(conn: psycopg.Connection[Any], table: str) -> list[tuple[str, str]]:
    """(name, definition) of ``table``'s indexes that back no constraint."""
    rows = conn.execute(
        "select i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)"
        " from pg_index as i where i.indrelid = %s::regclass"
        " and not exists (select 1 from pg_constraint as c where c.conindid = i.indexrelid)",
        [table],
    ).fetchall()
    return [(str(name), str(definition)) for name, definition in rows]


def generate_history(
    url: str, messages: int, inbox_organization: uuid.UUID, organizations: int = ORGANIZATIONS
) -> dict[str, float]:
    """The large database's history; the seconds each step took."""
    took: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set session_replication_role = replica")
        conn.execute("set maintenance_work_mem = '512MB'")
        conn.execute("set max_parallel_maintenance_workers = 2")
        started = time.perf_counter()
        dropped = {table: secondary_indexes(conn, table) for table in BULK_TABLES}
        for indexes in dropped.values():
            for name, _ in indexes:
                conn.execute(sql.SQL("drop index {}").format(sql.SQL(name)))
        for label, statement, params in history_statements(
            messages, organizations, inbox_organization
        ):
            step = time.perf_counter()
            conn.execute(statement, params)
            print(f"  generated {label} in {time.perf_counter() - step:.1f} s")
        step = time.perf_counter()
        claimed = claim_generated_sids(conn)
        if claimed is not None:
            print(f"  claimed {claimed:,} sids in {time.perf_counter() - step:.1f} s")
        took["insert_seconds"] = time.perf_counter() - started
        step = time.perf_counter()
        for indexes in dropped.values():
            for _, definition in indexes:
                # A partitioned table's index reads "ON ONLY": built here on every partition.
                conn.execute(definition.replace(" ON ONLY ", " ON "))
        took["index_seconds"] = time.perf_counter() - step
        print(f"  built {sum(map(len, dropped.values()))} indexes in {took['index_seconds']:.1f} s")
    return took


def catch_up_migrations(url: str) -> list[str]:
    from atende.db.migrations import apply_migrations  # noqa: PLC0415 - a heavy import

    return [migration.file_name for migration in apply_migrations(url)]


def vacuum_analyze(url: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum (analyze)")
    return time.perf_counter() - started


def message_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("select count(*) from public.messages").fetchone()
    assert row is not None
    return int(row[0])


# -- the workloads ----------------------------------------------------------------------------


def api_url(product: e2e.Product) -> str:
    return product.webhook_url.removesuffix(e2e.INBOUND_PATH)


async def ingest_round(
    product: e2e.Product, work: list[ingest.Delivery], seconds: float
) -> ingest.Run:
    return await ingest.closed_loop(
        product.webhook_url, work, concurrency=INGEST_CLIENTS, seconds=seconds
    )


def inbox_burst(product: e2e.Product, world: World, seconds: float) -> dict[str, Any]:
    """bench/graphql's load process, one request at a time, against this product's API."""
    job = {
        "host": "127.0.0.1",
        "port": urlsplit(api_url(product)).port,
        "path": "/graphql",
        "headers": {},
        "auth": {"token": world.token},
        "body": request_body("atende", world.inbox_organization),
        "concurrency": 1,
        "duration": seconds,
        "warmup": min(1.0, seconds / 3),
        "expect": '"edges"',
    }
    completed = subprocess.run(  # noqa: S603 - our interpreter, our module
        [sys.executable, "-m", "bench.graphql_load", json.dumps(job)],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 120,
    )
    answer: dict[str, Any] = json.loads(completed.stdout)
    if answer["errors"]:
        raise RuntimeError(f"inbox on {world.size}: {answer['errors']} bad answers")
    return answer


@dataclass
class Rounds:
    """Each workload's figure per round, by database."""

    ingest_throughput: dict[str, list[float]] = field(
        default_factory=lambda: {size: [] for size in SIZES}
    )
    inbox_p50: dict[str, list[float]] = field(default_factory=lambda: {size: [] for size in SIZES})
    inbox_p99: dict[str, list[float]] = field(default_factory=lambda: {size: [] for size in SIZES})
    reply_p50: dict[str, list[float]] = field(default_factory=lambda: {size: [] for size in SIZES})
    reply_p99: dict[str, list[float]] = field(default_factory=lambda: {size: [] for size in SIZES})
    #: Whether each reply round held its rate (bench/e2e's definition), by database.
    reply_held: dict[str, list[bool]] = field(default_factory=lambda: {size: [] for size in SIZES})
    #: Ingest's failed requests, the reply path's refused webhooks and unanswered
    #: conversations, both databases.
    failures: int = 0


async def measure(
    products: dict[str, e2e.Product], worlds: dict[str, World], timing: Timing, order: RoundOrder
) -> Rounds:
    rounds = Rounds()
    per_round = int(3000 * timing.ingest_seconds)
    work = {
        size: ingest.deliveries(200 + per_round * timing.rounds, api_url(products[size]))
        for size in SIZES
    }
    for size in SIZES:  # warm up: connections, caches, the channel lookup
        await ingest.closed_loop(
            products[size].webhook_url, work[size][:200], concurrency=8, seconds=2
        )
        inbox_burst(products[size], worlds[size], 0.5)
        await e2e.drive(products[size], e2e.Step(REPLY_RATE, 1))
    cursor = 200
    for number in range(timing.rounds):
        for size in order.shuffled(SIZES):
            run = await ingest_round(
                products[size], work[size][cursor : cursor + per_round], timing.ingest_seconds
            )
            rounds.ingest_throughput[size].append(run.throughput)
            rounds.failures += run.failures
            print(f"round {number + 1} ingest {size:<5} {ingest.summary(run)}")
        cursor += per_round
    for number in range(timing.rounds):
        for size in order.shuffled(SIZES):
            burst = inbox_burst(products[size], worlds[size], timing.inbox_seconds)
            latencies = burst["latencies_ms"]
            rounds.inbox_p50[size].append(percentile(latencies, 0.5))
            rounds.inbox_p99[size].append(percentile(latencies, 0.99))
            print(
                f"round {number + 1} inbox  {size:<5} {len(latencies)} requests,"
                f" p50 {rounds.inbox_p50[size][-1]:.1f} ms p99 {rounds.inbox_p99[size][-1]:.1f} ms"
            )
    meters = {size: e2e.CpuMeter(dict(products[size].pids), None) for size in SIZES}
    for number in range(timing.rounds):
        for size in order.shuffled(SIZES):
            print(f"round {number + 1} reply  {size:<5}")
            step = await e2e.offer(
                products[size],
                worlds[size].url,
                meters[size],
                rate=REPLY_RATE,
                seconds=timing.reply_seconds,
            )
            rounds.reply_p50[size].append(percentile(step.overhead_ms, 0.5))
            rounds.reply_p99[size].append(percentile(step.overhead_ms, 0.99))
            rounds.failures += step.refused + len(step.sent) - step.replied
            rounds.reply_held[size].append(step.held)
    return rounds


# -- on the large database: erasure, and a month's partition ---------------------------------


def erase_rounds(url: str, rounds: int) -> list[float]:
    """bench/erasure's case on this database: milliseconds of each round's erase."""
    owner, organization, channel = erasure.setup(url)
    timings: list[float] = []
    for _ in range(rounds):
        contact = erasure.customer(url, organization, channel, ERASE_MESSAGES)
        seconds, counted = erasure.erase(url, owner, contact)
        assert counted["messages"] == ERASE_MESSAGES, counted
        timings.append(seconds * 1000)
        print(f"  erase_contact_v1, {ERASE_MESSAGES:,} messages: {seconds * 1000:.0f} ms")
    return timings


_FROM = re.compile(r"FROM \('([^']+)'\)")


def oldest_partition(partitions: list[tuple[str, str]]) -> str | None:
    """The partition (name, bound as ``pg_get_expr`` gives it) with the lowest lower
    bound; the default partition (no bounds) never."""
    bounded = [
        (match.group(1), name) for name, bound in partitions if (match := _FROM.search(bound))
    ]
    return min(bounded)[1] if bounded else None


@dataclass(frozen=True)
class Detached:
    partition: str
    rows: int
    detach_ms: float
    drop_ms: float
    #: Extending the catch-all partition for older rows over the dropped month's range
    #: (as ``private.maintain_message_partitions`` does after a drop), when there is one.
    rerange_ms: float = 0.0

    @property
    def total_ms(self) -> float:
        return self.detach_ms + self.drop_ms + self.rerange_ms


_TO = re.compile(r"\) TO \('([^']+)'\)")


def detach_oldest_partition(url: str) -> Detached | None:
    """The oldest month's partition of ``messages`` detached, then dropped, each timed
    (``alter table ... detach partition``, ``drop table``: the product's maintenance
    only drops months retention emptied, this one holds its rows); then, when a
    catch-all partition for older rows (``FROM (MINVALUE)``) ended where the month
    began, it is attached again over the month's range, so the ranges stay contiguous
    as the maintenance keeps them (timed too). None when not partitioned."""
    with psycopg.connect(url, autocommit=True) as conn:
        if not is_partitioned(conn):
            return None
        conn.execute("set timezone = 'UTC'")
        bounds = partition_bounds(conn)
        partitions = [(f"{schema}.{name}", bound) for schema, name, bound in bounds]
        name = oldest_partition(partitions)
        if name is None:
            return None
        bound = dict(partitions)[name]
        start, end = _FROM.search(bound), _TO.search(bound)
        assert start is not None
        assert end is not None
        before = next(
            (
                sql.Identifier(schema, other)
                for schema, other, other_bound in bounds
                if (match := _BEFORE.search(other_bound)) and match.group(1) == start.group(1)
            ),
            None,
        )
        partition = sql.Identifier(*name.split(".", 1))
        row = conn.execute(sql.SQL("select count(*) from {}").format(partition)).fetchone()
        assert row is not None
        started = time.perf_counter()
        conn.execute(sql.SQL("alter table public.messages detach partition {}").format(partition))
        detached = time.perf_counter()
        conn.execute(sql.SQL("drop table {}").format(partition))
        dropped = time.perf_counter()
        if before is not None:
            with conn.transaction():
                conn.execute(
                    sql.SQL("alter table public.messages detach partition {}").format(before)
                )
                conn.execute(
                    sql.SQL(
                        "alter table public.messages attach partition {}"
                        " for values from (minvalue) to ({})"
                    ).format(before, sql.Literal(end.group(1)))
                )
        reranged = time.perf_counter()
    return Detached(
        name,
        int(row[0]),
        (detached - started) * 1000,
        (dropped - detached) * 1000,
        (reranged - dropped) * 1000,
    )


# -- the run ----------------------------------------------------------------------------------


async def run(quick: bool) -> Result:
    timing = QUICK if quick else FULL
    large_messages = QUICK_LARGE_MESSAGES if quick else LARGE_MESSAGES
    order = RoundOrder()
    params: dict[str, Any] = {
        "quick": quick,
        "database": "embedded (DATABASE_URL is not used: two databases, a superuser)",
        "server_settings": SERVER_SETTINGS,
        "generated_messages": large_messages,
        "organizations": ORGANIZATIONS,
        "messages_per_conversation": MESSAGES_PER_CONVERSATION,
        "history_days": HISTORY_DAYS,
        "inbox_history_messages": int(large_messages * INBOX_HISTORY_SHARE),
        "rounds": timing.rounds,
        "ingest": {"clients": INGEST_CLIENTS, "seconds_per_round": timing.ingest_seconds},
        "inbox": {"concurrency": 1, "seconds_per_round": timing.inbox_seconds},
        "reply": {"rate": REPLY_RATE, "seconds_per_round": timing.reply_seconds},
        "erase": {"messages": ERASE_MESSAGES, "rounds": timing.erase_rounds},
    }
    begun = time.perf_counter()
    with bench_cluster() as cluster:
        worlds = await setup_worlds(cluster)
        print(f"[{time.perf_counter() - begun:.0f} s] set up")
        print(f"generating {large_messages:,} messages over {ORGANIZATIONS:,} organizations ...")
        started = time.perf_counter()
        took = generate_history(
            worlds["large"].url, large_messages, worlds["large"].inbox_organization
        )
        took["vacuum_analyze_seconds"] = vacuum_analyze(worlds["large"].url)
        generation_seconds = time.perf_counter() - started
        vacuum_analyze(worlds["small"].url)
        recycle_wal_segments(worlds["small"].url)
        print(f"[{time.perf_counter() - begun:.0f} s] generated in {generation_seconds:.1f} s")
        params["generation"] = {key: round(value, 1) for key, value in took.items()}
        params["messages"] = {size: message_count(worlds[size].url) for size in SIZES}
        with psycopg.connect(worlds["large"].url) as conn:
            params["messages_partitioned"] = is_partitioned(conn)
        # The API is ready only when every migration it finds is applied: one added to the
        # tree during a long generation goes in now (in a shared checkout, that happens).
        late = {size: catch_up_migrations(worlds[size].url) for size in SIZES}
        if any(late.values()):
            print(f"  migrations added since the setup, applied: {late}")
            params["migrations_applied_after_generation"] = late
        async with contextlib.AsyncExitStack() as stack:
            # One after the other (ten processes starting at once on two busy cores kept
            # the second from answering within a minute), each given three.
            products = {
                size: await stack.enter_async_context(
                    e2e.running_product(worlds[size].url, ready_timeout=PRODUCT_READY_SECONDS)
                )
                for size in SIZES
            }
            print(f"[{time.perf_counter() - begun:.0f} s] products running")
            rounds = await measure(products, worlds, timing, order)
            print(f"[{time.perf_counter() - begun:.0f} s] measured")
            erase_ms = erase_rounds(worlds["large"].url, timing.erase_rounds)
            detached = detach_oldest_partition(worlds["large"].url)
    params["round_order"] = order.as_params()
    if detached is not None:
        params["detached_partition"] = {"name": detached.partition, "rows": detached.rows}
        print(
            f"  detached {detached.partition} ({detached.rows:,} rows) in"
            f" {detached.detach_ms:.1f} ms, dropped in {detached.drop_ms:.1f} ms, the older"
            f" rows' partition over its range in {detached.rerange_ms:.1f} ms"
        )
    result = summarize(rounds, erase_ms, detached, generation_seconds, params, quick=quick)
    result.print_table()
    print(f"wrote {result.write()}")
    return result


#: Each workload's ratio: its figure, the direction that is good, the target.
RATIOS = {
    "ingest_throughput_large_vs_small": ("ingest_throughput", f">= {THROUGHPUT_TARGET:.2f}"),
    "inbox_p99_large_vs_small": ("inbox_p99", f"<= {LATENCY_TARGET:.2f}"),
    "reply_p50_large_vs_small": ("reply_p50", f"<= {LATENCY_TARGET:.2f}"),
}
UNITS = {
    "ingest_throughput": "req/s",
    "inbox_p50": "ms",
    "inbox_p99": "ms",
    "reply_p50": "ms",
    "reply_p99": "ms",
}
NOT_PARTITIONED = (
    "public.messages is not partitioned (no row in pg_partitioned_table): no month's"
    " partition to detach"
)


def summarize(
    rounds: Rounds,
    erase_ms: list[float],
    detached: Detached | None,
    generation_seconds: float,
    params: dict[str, Any],
    *,
    quick: bool,
) -> Result:
    """Large's figures as the metrics, small's as the baseline, each ratio the medians'
    (its spread: each round's)."""
    metrics: dict[str, Metric] = {}
    baseline: dict[str, Metric] = {}
    spreads: dict[str, list[float]] = {}
    params["rounds_by_size"] = {}
    for figure, unit in UNITS.items():
        per_size: dict[str, list[float]] = getattr(rounds, figure)
        metrics[figure] = Metric(statistics.median(per_size["large"]), unit)
        baseline[figure] = Metric(statistics.median(per_size["small"]), unit)
        params["rounds_by_size"][figure] = {
            size: [round(value, 3) for value in per_size[size]] for size in SIZES
        }
    ratios: dict[str, float] = {}
    targets: dict[str, str] = {}
    for key, (figure, target) in RATIOS.items():
        per_size = getattr(rounds, figure)
        ratios[key] = metrics[figure].value / baseline[figure].value
        spreads[key] = [
            large / small for large, small in zip(per_size["large"], per_size["small"], strict=True)
        ]
        targets[key] = target
    params["reply_rounds_held"] = rounds.reply_held
    metrics["failures"] = Metric(rounds.failures, "requests")
    targets["failures"] = "<= 0"
    metrics["generation_seconds"] = Metric(generation_seconds, "s")
    metrics["erase_ms"] = Metric(statistics.median(erase_ms), "ms")
    spreads["erase_ms"] = erase_ms
    unmeasured: dict[str, str] = {}
    if detached is None:
        metrics["partition_detach_drop_ms"] = Metric(float("nan"), "ms")
        unmeasured["partition_detach_drop_ms"] = NOT_PARTITIONED
    else:
        metrics["partition_detach_ms"] = Metric(detached.detach_ms, "ms")
        metrics["partition_drop_ms"] = Metric(detached.drop_ms, "ms")
        metrics["partition_rerange_ms"] = Metric(detached.rerange_ms, "ms")
        metrics["partition_detach_drop_ms"] = Metric(detached.total_ms, "ms")
    targets["partition_detach_drop_ms"] = f"< {DETACH_TARGET_MS:.0f}"
    return Result(
        name=NAME,
        params=params,
        metrics=metrics,
        baseline=baseline,
        ratios=ratios,
        targets=targets,
        spreads=spreads,
        unmeasured=unmeasured,
        quick=quick,
    )


if __name__ == "__main__":
    asyncio.run(run(quick="--quick" in sys.argv))
