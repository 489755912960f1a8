"""bench/broadcast: a broadcast of 10,000 recipients (1,000 with ``--quick``) paced at a
WhatsApp sender's default rate, 80 messages a second.

Every process of the product runs as in production, on loopback, as in bench/e2e (whose
``running_product`` this reuses: a cluster of the benchmark's own or ``DATABASE_URL``, the
API, two workers, and Twilio as the product's simulator in a process of its own, tapped to
note when each send request arrived, on this machine's clock). The load process makes the
business, its template and the contacts, then calls ``create_broadcast_v1`` as the owner
(what ``createBroadcast`` runs) and waits until the simulator has a message for every
recipient and the broadcast completed.

- **achieved rate**: (recipients - 1) / (last arrival - first arrival) at the simulator:
  the pace Twilio sees, after the broadcast job (batches of a quarter second's worth) and
  the send jobs. The target: within 5 % of the configured rate either way.
- **exactly once**: the simulator received as many send requests as there are
  recipients, and one for each recipient (no one missing, no one twice).
- **queued rate**: the same at the broadcast job's end (each recipient's ``handled_at``):
  the pace the job hands messages to the send path at, to tell a slow send path from a
  slow job.
- **queued in**: how long ``create_broadcast_v1`` took to store the broadcast and its
  recipients (one statement), for the record.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from typing import Any

import aiohttp
import psycopg

from bench.e2e import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    BUSINESS_NUMBER,
    SECRET_KEY,
    bench_database,
    received,
    received_count,
    running_product,
)
from bench.harness import Metric, Result

NAME = "broadcast"
RATE = 80.0
RECIPIENTS = 10_000
QUICK_RECIPIENTS = 1_000
MAX_DEVIATION_PERCENT = 5.0
CONTENT_SID = "HX" + "b0" * 16
#: How long the sends may take beyond the paced duration before the run gives up.
DRAIN_SECONDS = 60.0


async def setup(database_url: str, recipients: int) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """An owner, an organization, its WhatsApp channel at RATE, a template, the contacts
    (with the AI off: nothing but the broadcast sends). Returns (owner, channel, template)."""
    from atende.channels.crypto import TokenCipher  # noqa: PLC0415 - the channels module

    owner = uuid.uuid4()
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute(
            "insert into auth.users (id, aud, role, email, created_at, updated_at)"
            " values (%s, 'authenticated', 'authenticated', %s, now(), now())",
            [owner, f"bench-{owner.hex[:8]}@example.com"],
        )
        await conn.execute(
            "insert into public.profiles (id, email, full_name) values (%s, %s, 'Bench')",
            [owner, f"bench-{owner.hex[:8]}@example.com"],
        )
        row = await (
            await conn.execute(
                "insert into public.organizations (name) values ('Bench broadcast') returning id"
            )
        ).fetchone()
        assert row is not None
        organization = row[0]
        await conn.execute(
            "insert into public.memberships (organization_id, user_id, role)"
            " values (%s, %s, 'owner')",
            [organization, owner],
        )
        row = await (
            await conn.execute(
                "insert into public.channels (organization_id, kind, phone_number,"
                " twilio_account_sid, twilio_auth_token_ciphertext, broadcast_rate_per_second)"
                " values (%s, 'whatsapp', %s, %s, %s, %s) returning id",
                [
                    organization,
                    BUSINESS_NUMBER,
                    ACCOUNT_SID,
                    TokenCipher(SECRET_KEY).encrypt(AUTH_TOKEN),
                    RATE,
                ],
            )
        ).fetchone()
        assert row is not None
        channel = row[0]
        row = await (
            await conn.execute(
                "insert into public.channel_templates (organization_id, channel_id, name,"
                " content_sid, variables, body) values (%s, %s, 'promo', %s,"
                ' \'[{"key": "1", "name": "loja"}]\', \'Novidades na {{1}}!\') returning id',
                [organization, channel, CONTENT_SID],
            )
        ).fetchone()
        assert row is not None
        template = row[0]
        await conn.execute(
            "update public.agents set ai_enabled = false where organization_id = %s",
            [organization],
        )
        await conn.execute(
            "insert into public.contacts (organization_id, phone_number)"
            " select %s, '+55219' || lpad(n::text, 8, '0') from generate_series(1, %s) as n",
            [organization, recipients],
        )
        await conn.commit()
    return owner, channel, template


async def create_broadcast(
    database_url: str, owner: uuid.UUID, channel: uuid.UUID, template: uuid.UUID
) -> tuple[uuid.UUID, float]:
    """``create_broadcast_v1`` as the owner, to every contact: (its id, seconds taken)."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute(
            "select set_config('request.jwt.claims', %s, true)",
            [json.dumps({"sub": str(owner), "role": "authenticated"})],
        )
        await conn.execute("set local role authenticated")
        started = time.perf_counter()
        row = await (
            await conn.execute(
                'select public.create_broadcast_v1(%s, %s, \'{"1": "Padaria"}\','
                " array(select id from public.contacts order by phone_number))",
                [channel, template],
            )
        ).fetchone()
        await conn.commit()
        took = time.perf_counter() - started
    assert row is not None
    return row[0], took


async def wait_for_sends(simulator_url: str, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while await received_count(http, simulator_url) < expected:
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.5)
        await asyncio.sleep(1)  # anything sent twice arrives meanwhile


async def sends_by_recipient(simulator_url: str) -> dict[str, int]:
    """Every send request the simulator took (its own record, not the tap's first
    arrivals), counted by recipient."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{simulator_url}/__simulator/messages") as answer,
    ):
        messages = (await answer.json())["messages"]
    counts: dict[str, int] = {}
    for message in messages:
        counts[message["to"]] = counts.get(message["to"], 0) + 1
    return counts


async def broadcast_state(database_url: str, broadcast: uuid.UUID) -> dict[str, Any]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await (
            await conn.execute(
                "select b.status::text, count(*) filter (where r.status = 'sent'),"
                " (count(*) - 1) / nullif(extract(epoch from max(r.handled_at)"
                " - min(r.handled_at)), 0)"
                " from public.broadcasts as b"
                " join public.broadcast_recipients as r on r.broadcast_id = b.id"
                " where b.id = %s group by b.status",
                [broadcast],
            )
        ).fetchone()
    assert row is not None
    return {
        "status": row[0],
        "recipients_sent": int(row[1]),
        "queued_rate": float(row[2] or 0),
    }


async def run(quick: bool) -> Result:
    recipients = QUICK_RECIPIENTS if quick else RECIPIENTS
    started = time.monotonic()

    def progress(what: str) -> None:
        print(f"  [{time.monotonic() - started:5.1f} s] {what}", flush=True)

    with bench_database() as (database_url, _postmaster):
        owner, channel, template = await setup(database_url, recipients)
        progress(f"database ready, {recipients} contacts")
        async with running_product(database_url) as product:
            progress("product running")
            async with aiohttp.ClientSession() as http:
                before = await received_count(http, product.simulator_url)
            broadcast, queued_seconds = await create_broadcast(
                database_url, owner, channel, template
            )
            paced_seconds = recipients / RATE
            await wait_for_sends(
                product.simulator_url, before + recipients, paced_seconds + DRAIN_SECONDS
            )
            progress("every recipient's message with Twilio (or the wait gave up)")
            arrivals = await received(product.simulator_url)
            sends = await sends_by_recipient(product.simulator_url)
            state = await broadcast_state(database_url, broadcast)
        progress("product stopped")
    times = sorted(arrivals.values())
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    achieved = (len(times) - 1) / span if span > 0 else 0.0
    deviation = abs(achieved / RATE - 1) * 100
    count = sum(sends.values())
    missing = recipients - len(sends)
    duplicates = sum(n - 1 for n in sends.values())
    result = Result(
        name=NAME,
        params={
            "recipients": recipients,
            "configured_rate": RATE,
            "channel": "whatsapp",
            "workers": "two atende workers, concurrency 20 each (bench/e2e's)",
            "database": "DATABASE_URL" if "DATABASE_URL" in os.environ else "embedded",
            "broadcast_status": state["status"],
            "recipients_sent": state["recipients_sent"],
            "send_requests_received": count,
            "quick": quick,
        },
        metrics={
            "achieved_rate": Metric(achieved, "messages/s"),
            "queued_rate": Metric(state["queued_rate"], "messages/s"),
            "rate_deviation": Metric(deviation, "%"),
            "duration": Metric(span, "s"),
            "queued_in": Metric(queued_seconds * 1000, "ms"),
            "missing": Metric(missing, "recipients"),
            "duplicates": Metric(duplicates, "messages"),
        },
        quick=quick,
        targets={
            "rate_deviation": f"<= {MAX_DEVIATION_PERCENT}",
            "missing": "<= 0",
            "duplicates": "<= 0",
        },
    )
    result.print_table()
    result.write()
    return result
