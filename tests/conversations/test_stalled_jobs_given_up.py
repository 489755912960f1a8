"""Nothing left unfinished when the stalled-job sweep gives a job up: after its workers
died ``MAX_STALLED_ATTEMPTS`` times, a scheduled message fails, a broadcast fails (what
was sent stays sent, the rest fails) and a contact import fails, each saying why.

A job "stalled the max number of times": taken (``doing``) by a worker whose heartbeat
stopped, with the attempts of the earlier stalls, as ``retry_stalled_jobs`` finds it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from atende.conversations.tasks import MAX_STALLED_ATTEMPTS, ConversationTasks
from atende.services import Services
from tests.channels.test_broadcasts import (
    BROADCASTS,
    CREATE,
    create_input,
    make_contacts,
    make_template,
    set_rate,
)
from tests.channels.test_channel_api import graphql
from tests.channels.world import fetch_all, fetch_one, make_channel, open_conversation
from tests.conversations.test_contact_import import follow, upload
from tests.conversations.test_scheduled_messages import SCHEDULED, schedule
from tests.factories import Factory
from tests.graphql.client import data
from tests.reply_fixtures import open_queue_app


@pytest.fixture
async def jobs_tasks(services: Services) -> AsyncIterator[ConversationTasks]:
    """The handlers with the queue's job manager (for the job upkeep)."""
    async with open_queue_app(services) as app:
        yield ConversationTasks(
            database=services.database,
            model=services.model,
            settings=services.settings,
            job_manager=app.job_manager,
        )


async def stall_for_the_last_time(services: Services, task_name: str, key: str, value: str) -> int:
    """The job of ``task_name`` whose argument ``key`` is ``value``, taken by a dead worker
    after stalling every time but the last; returns its id."""
    [worker] = await fetch_all(
        services,
        "insert into procrastinate.procrastinate_workers (last_heartbeat)"
        " values (now() - interval '10 minutes') returning id",
    )
    [job] = await fetch_all(
        services,
        "update procrastinate.procrastinate_jobs set status = 'doing', worker_id = %s,"
        " attempts = %s where task_name = %s and args ->> %s = %s returning id",
        [worker["id"], MAX_STALLED_ATTEMPTS - 1, task_name, key, value],
    )
    return int(job["id"])


async def job_status(services: Services, job_id: int) -> str:
    row = await fetch_one(
        services,
        "select status::text from procrastinate.procrastinate_jobs where id = %s",
        [job_id],
    )
    return str(row["status"])


async def test_a_scheduled_message_whose_job_is_given_up_fails_with_the_reason(
    client: httpx.AsyncClient, services: Services, factory: Factory, jobs_tasks: ConversationTasks
) -> None:
    channel = await make_channel(services, factory)
    conversation = await open_conversation(services, channel)
    scheduled = await schedule(client, channel.organization.owner, conversation, body="Lembrete")
    message_id = scheduled["scheduledMessage"]["id"]
    job = await stall_for_the_last_time(
        services, "conversations:send_scheduled_message", "scheduled_message_id", message_id
    )

    assert await jobs_tasks.retry_stalled_jobs() == 0

    assert await job_status(services, job) == "failed"
    row = await fetch_one(
        services,
        "select status::text, reason, processed_at, message_id from public.scheduled_messages"
        " where id = %s",
        [message_id],
    )
    assert (row["status"], row["reason"], row["message_id"]) == (
        "failed",
        f"its send job stopped with its worker {MAX_STALLED_ATTEMPTS} times",
        None,
    )
    assert row["processed_at"] is not None
    assert await fetch_all(services, "select id from public.messages") == []
    # The API says it with its code.
    seen = await data(client, SCHEDULED, {"id": str(conversation)}, user=channel.organization.owner)
    [shown] = seen["conversation"]["scheduledMessages"]
    assert (shown["status"], shown["reason"]) == ("FAILED", "STALLED_JOB")


async def test_a_broadcast_whose_job_is_given_up_fails_and_keeps_what_was_sent(
    client: httpx.AsyncClient, services: Services, factory: Factory, jobs_tasks: ConversationTasks
) -> None:
    channel = await make_channel(services, factory)
    await set_rate(services, channel, 8)  # batches of 2
    owner = channel.organization.owner
    template = await make_template(services, channel)
    contacts = await make_contacts(services, channel, 5)
    created = await graphql(client, CREATE, create_input(channel, template, contacts), owner)
    broadcast = created["createBroadcast"]["broadcast"]["id"]
    # The dead workers' job got one batch out before it died the last time.
    await fetch_one(
        services, "select * from private.claim_broadcast_batch_v1(%s, 2)", [uuid.UUID(broadcast)]
    )
    job = await stall_for_the_last_time(
        services, "channels:send_broadcast", "broadcast_id", broadcast
    )

    assert await jobs_tasks.retry_stalled_jobs() == 0

    assert await job_status(services, job) == "failed"
    seen = await graphql(client, BROADCASTS, {"id": str(channel.organization.id)}, owner)
    [edge] = seen["organization"]["broadcasts"]["edges"]
    summary = edge["node"]
    assert (summary["status"], summary["total"], summary["sent"], summary["failed"]) == (
        "FAILED",
        5,
        2,
        3,
    )
    recipients = [item["node"] for item in summary["recipients"]["edges"]]
    reason = f"its broadcast job stopped with its worker {MAX_STALLED_ATTEMPTS} times"
    assert [(r["status"], r["reason"]) for r in recipients] == [
        ("SENDING", None),
        ("SENDING", None),
        ("FAILED", reason),
        ("FAILED", reason),
        ("FAILED", reason),
    ]
    [finished] = await fetch_all(
        services, "select finished_at from public.broadcasts where id = %s", [broadcast]
    )
    assert finished["finished_at"] is not None
    # No job is left to send more, and the two messages sent stay queued for Twilio.
    assert (
        await fetch_all(
            services,
            "select id from procrastinate.procrastinate_jobs"
            " where task_name = 'channels:send_broadcast' and status = 'todo'",
        )
        == []
    )
    assert len(await fetch_all(services, "select id from public.messages")) == 2


async def test_a_contact_import_whose_job_is_given_up_fails_with_a_message(
    client: httpx.AsyncClient, services: Services, factory: Factory, jobs_tasks: ConversationTasks
) -> None:
    shop = await factory.organization()
    accepted = await upload(client, shop.owner, shop.id, b"telefone\n11 98765-0001\n")
    import_id = accepted["contactImport"]["id"]
    job = await stall_for_the_last_time(
        services, "contacts:import_contacts", "import_id", import_id
    )

    assert await jobs_tasks.retry_stalled_jobs() == 0

    assert await job_status(services, job) == "failed"
    report = await follow(client, shop.owner, shop.id, import_id)
    assert report is not None
    assert report["status"] == "FAILED", report
    assert f"caiu {MAX_STALLED_ATTEMPTS} vezes e nada foi gravado" in report["error"]
    assert report["finishedAt"] is not None
    assert (report["created"], report["updated"], report["writtenRows"]) == (0, 0, 0)
    assert await fetch_all(services, "select id from public.contacts") == []
