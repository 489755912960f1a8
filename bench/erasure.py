"""bench/erasure: ``eraseContact`` on a contact with 10,000 messages (1,000 with
``--quick``), in a database that is busy around it.

A cluster of the benchmark's own (or ``DATABASE_URL``), migrated. The organization has a
webhook endpoint (so each inbound message recorded a delivery, and a delivery job), and
the queue holds 10,000 finished jobs of other conversations, as a day of a busy worker
leaves behind. Each round makes a contact with one conversation of that many messages
(half inbound, half the AI's with its AI runs; one in a hundred with a stored file), then
times ``public.erase_contact_v1`` as the organization's owner, what ``eraseContact``
runs, commit included. What it deletes is checked: the messages, the deliveries and jobs
that named them, and nothing else.

- **erase**: the median of the rounds, in milliseconds (and each round's, in spreads).
  The target: under 2 s for the 10,000 messages, a team member's click.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid

import psycopg

from bench.e2e import bench_database
from bench.harness import Metric, Result

NAME = "erasure"
MESSAGES = 10_000
QUICK_MESSAGES = 1_000
OTHER_JOBS = 10_000
ROUNDS = 5
QUICK_ROUNDS = 2
TARGET_MS = 2_000


def setup(database_url: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """An owner, an organization with a channel and a webhook endpoint, other jobs.
    Returns (owner, organization, channel)."""
    owner = uuid.uuid4()
    email = f"bench-{owner.hex[:8]}@example.com"
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "insert into auth.users (id, email, created_at) values (%s, %s, now())",
            [owner, email],
        )
        conn.execute(
            "insert into public.profiles (id, email, full_name) values (%s, %s, 'Bench')",
            [owner, email],
        )
        row = conn.execute(
            "insert into public.organizations (name) values ('Bench erasure') returning id"
        ).fetchone()
        assert row is not None
        organization = uuid.UUID(str(row[0]))
        conn.execute(
            "insert into public.memberships (organization_id, user_id, role)"
            " values (%s, %s, 'owner')",
            [organization, owner],
        )
        row = conn.execute(
            "insert into public.channels (organization_id, kind, phone_number,"
            " twilio_account_sid, twilio_auth_token_ciphertext)"
            " values (%s, 'whatsapp', '+5511900000001', %s, 'ciphertext') returning id",
            [organization, "AC" + "0" * 32],
        ).fetchone()
        assert row is not None
        channel = uuid.UUID(str(row[0]))
        conn.execute(
            "insert into public.webhook_endpoints (organization_id, url, events,"
            " secret_ciphertext) values (%s, 'https://hooks.example.com/bench',"
            " array['message.received'], 'ciphertext')",
            [organization],
        )
        conn.execute(
            "insert into procrastinate.procrastinate_jobs (queue_name, task_name, args, status)"
            " select 'replies', 'conversations:generate_reply',"
            " jsonb_build_object('conversation_id', gen_random_uuid()::text), 'succeeded'"
            " from generate_series(1, %s)",
            [OTHER_JOBS],
        )
    return owner, organization, channel


def customer(database_url: str, organization: uuid.UUID, channel: uuid.UUID, n: int) -> uuid.UUID:
    """A contact with one conversation of ``n`` messages, their runs, deliveries, jobs."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "insert into public.contacts (organization_id, phone_number, profile_name)"
            " values (%s, '+55219' || lpad((random() * 1e8)::bigint::text, 8, '0'), 'Bench')"
            " returning id",
            [organization],
        ).fetchone()
        assert row is not None
        contact = uuid.UUID(str(row[0]))
        row = conn.execute(
            "insert into public.conversations (organization_id, channel_id, contact_id)"
            " values (%s, %s, %s) returning id",
            [organization, channel, contact],
        ).fetchone()
        assert row is not None
        conversation = uuid.UUID(str(row[0]))
        conn.execute(
            "insert into public.messages (organization_id, conversation_id, direction, author,"
            " body, status, created_at, media, metadata)"
            " select %(org)s, %(conversation)s,"
            " (case when i %% 2 = 0 then 'inbound' else 'outbound' end)::public.message_direction,"
            " (case when i %% 2 = 0 then 'contact' else 'ai' end)::public.message_author,"
            " 'mensagem ' || i,"
            " (case when i %% 2 = 0 then 'received' else 'sent' end)::public.message_status,"
            " now() - make_interval(secs => %(n)s - i),"
            " case when i %% 100 = 1 then jsonb_build_array(jsonb_build_object("
            "   'status', 'stored', 'storage_key',"
            "   %(org)s::text || '/messages/' || gen_random_uuid() || '/0'))"
            " else '[]' end,"
            " jsonb_build_object('message_sid', 'SM' || md5(random()::text))"
            " from generate_series(1, %(n)s) as i",
            {"org": organization, "conversation": conversation, "n": n},
        )
        conn.execute(
            "insert into public.ai_runs (organization_id, conversation_id, message_id, model,"
            " prompt_tokens, completion_tokens, outcome)"
            " select organization_id, conversation_id, id, 'gpt-4o-mini', 900, 40, 'replied'"
            " from public.messages where conversation_id = %s and direction = 'outbound'",
            [conversation],
        )
        conn.execute("analyze")
    return contact


def erase(database_url: str, owner: uuid.UUID, contact: uuid.UUID) -> tuple[float, dict[str, int]]:
    """``erase_contact_v1`` as the owner, committed: (seconds, what it counted)."""
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "select set_config('request.jwt.claims', %s, true)",
            [json.dumps({"sub": str(owner), "role": "authenticated"})],
        )
        conn.execute("set local role authenticated")
        started = time.perf_counter()
        row = conn.execute(
            "select conversations, messages, files from public.erase_contact_v1(%s)", [contact]
        ).fetchone()
        conn.commit()
        seconds = time.perf_counter() - started
    assert row is not None
    return seconds, {"conversations": row[0], "messages": row[1], "files": row[2]}


def leftovers(database_url: str, organization: uuid.UUID) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "select (select count(*) from public.messages where organization_id = %(org)s),"
            " (select count(*) from public.webhook_deliveries where organization_id = %(org)s),"
            " (select count(*) from procrastinate.procrastinate_jobs"
            "  where task_name = 'webhooks:deliver_webhook'),"
            " (select count(*) from procrastinate.procrastinate_jobs"
            "  where task_name = 'conversations:generate_reply')",
            {"org": organization},
        ).fetchone()
    assert row is not None
    return {"messages": row[0], "deliveries": row[1], "delivery_jobs": row[2], "jobs": row[3]}


async def run(quick: bool) -> Result:
    messages = QUICK_MESSAGES if quick else MESSAGES
    rounds = QUICK_ROUNDS if quick else ROUNDS
    timings: list[float] = []
    counted: list[dict[str, int]] = []
    with bench_database() as (database_url, _postmaster):
        owner, organization, channel = setup(database_url)
        for _ in range(rounds):
            contact = customer(database_url, organization, channel, messages)
            seconds, what = erase(database_url, owner, contact)
            timings.append(seconds * 1000)
            counted.append(what)
        left = leftovers(database_url, organization)
    assert all(what["messages"] == messages for what in counted), counted
    assert left == {"messages": 0, "deliveries": 0, "delivery_jobs": 0, "jobs": OTHER_JOBS}, left
    result = Result(
        name=NAME,
        params={
            "messages_per_contact": messages,
            "rounds": rounds,
            "other_finished_jobs": OTHER_JOBS,
            "deliveries_per_contact": messages // 2,
            "files_per_contact": counted[0]["files"],
            "database": "DATABASE_URL" if "DATABASE_URL" in os.environ else "embedded",
        },
        metrics={
            "erase_ms": Metric(statistics.median(timings), "ms"),
            "erase_max_ms": Metric(max(timings), "ms"),
        },
        spreads={"erase_ms": timings},
        targets={"erase_ms": f"< {TARGET_MS}"},
        quick=quick,
    )
    result.write()
    result.print_table()
    return result
