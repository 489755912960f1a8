"""Outgoing webhooks: endpoints managed by owners and admins, events recorded with the
change, delivered signed as Standard Webhooks says (checked here by an implementation of
the specification written from its text), retried with backoff, refused to private
addresses unless allowed, redelivered with the same webhook-id."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import procrastinate
import psycopg
import pytest
from standardwebhooks.webhooks import Webhook

from atende.channels.crypto import TokenCipher
from atende.config import Settings
from atende.db.session import Caller
from atende.queue import app as queue_app
from atende.services import Services
from atende.webhooks import delivery
from atende.webhooks.delivery import (
    LaneBusy,
    RefusedAddress,
    WebhookSender,
    checked_addresses,
    retry_delay,
    webhook_id,
)
from atende.webhooks.service import WebhookDeliveries, rotate_endpoint_secrets
from atende.webhooks.tasks import DeliveryRetryStrategy, RetryDelivery
from tests import factories
from tests.factories import Factory
from tests.graphql.client import data
from tests.webhooks.receiver import receiver

CREATE = """
mutation ($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    __typename
    ... on CreateWebhookEndpointSuccess { endpoint { id url events enabled } secret }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""

DELIVERIES = """
query ($org: ID!) {
  organization(id: $org) {
    webhookEndpoints {
      id
      deliveries(first: 10) {
        edges { node { id webhookId event status attempts lastStatusCode lastError payload } }
      }
    }
  }
}
"""

REDELIVER = """
mutation ($id: ID!) {
  redeliverWebhook(input: {deliveryId: $id}) {
    __typename
    ... on RedeliverWebhookSuccess { delivery { id webhookId status attempts } }
    ... on UserError { message }
  }
}
"""

UPDATE = """
mutation ($id: ID!, $enabled: Boolean) {
  updateWebhookEndpoint(input: {endpointId: $id, enabled: $enabled}) {
    __typename
    ... on UpdateWebhookEndpointSuccess { endpoint { enabled } }
    ... on UserError { message }
  }
}
"""


def verify_from_the_specification(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks, section "Verifying": base64 HMAC-SHA256, keyed with the secret's
    base64 part, of "<webhook-id>.<webhook-timestamp>.<body>"; any "v1," signature that
    matches (independent of the library Atende signs with)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    candidates = headers["webhook-signature"].split(" ")
    return any(
        hmac.compare_digest(candidate, f"v1,{expected}")
        for candidate in candidates
        if candidate.startswith("v1,")
    )


async def add_endpoint(
    client: httpx.AsyncClient,
    organization: factories.TestOrganization,
    url: str,
    events: list[str] | None = None,
) -> tuple[str, str]:
    result = (
        await data(
            client,
            CREATE,
            {
                "input": {
                    "organizationId": str(organization.id),
                    "url": url,
                    "events": events or ["MESSAGE_RECEIVED"],
                }
            },
            user=organization.owner,
        )
    )["createWebhookEndpoint"]
    assert result["__typename"] == "CreateWebhookEndpointSuccess", result
    return result["endpoint"]["id"], result["secret"]


async def pending_deliveries(services: Services) -> list[uuid.UUID]:
    rows = await services.database.fetch_all(
        Caller.service(),
        "select id from public.webhook_deliveries where status = 'pending' order by created_at",
    )
    return [row["id"] for row in rows]


def deliveries_with(services: Services, sender: WebhookSender) -> WebhookDeliveries:
    return WebhookDeliveries(
        services.database, TokenCipher.from_settings(services.settings), sender
    )


# -- Signing and backoff -------------------------------------------------------------------


def test_signatures_verify_with_the_specification_and_its_reference_library() -> None:
    secret = delivery.new_secret()
    body = '{"type":"message.received","data":{"message":{"body":"Olá"}}}'
    now = datetime.now(UTC)
    headers = delivery.signed_headers(secret, "msg_1", body, now)

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert verify_from_the_specification(secret, headers, body.encode())
    assert Webhook(secret).verify(body, headers) == orjson.loads(body)
    assert not verify_from_the_specification(secret, headers, body.encode() + b" ")
    other = delivery.new_secret()
    assert not verify_from_the_specification(other, headers, body.encode())


def test_retries_back_off_with_jitter_for_more_than_a_day() -> None:
    rng = random.Random(7)
    delays = [retry_delay(n, rng=rng) for n in range(1, 9)]
    assert delays[-1] is None  # then the delivery fails
    steps = [d for d in delays if d is not None]
    assert steps[0] <= timedelta(seconds=10)  # the first retry within 10 s
    for step, base in zip(steps, delivery.RETRY_SCHEDULE, strict=True):
        assert base * 0.8 <= step <= base * 1.2
    assert all(a <= b for a, b in itertools.pairwise(delivery.RETRY_SCHEDULE))
    assert sum(steps, timedelta()) > timedelta(hours=24)
    spread = {retry_delay(2) for _ in range(20)}
    assert len(spread) > 1  # jittered


def test_a_failed_delivery_job_comes_back_when_the_delivery_says() -> None:
    at = datetime.now(UTC) + timedelta(seconds=5)
    decision = DeliveryRetryStrategy().get_retry_decision(
        exception=RetryDelivery(at, "answered 500"),
        job=None,  # type: ignore[arg-type]
    )
    assert decision is not None
    assert decision.retry_at == at


# -- The SSRF guard ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.4",
        "169.254.169.254",
        "::1",
        "::ffff:127.0.0.1",
        "fe80::1",
        "fc00::1",
        "0.0.0.0",  # noqa: S104 - an address to refuse, not to bind
        "224.0.0.1",
        "localhost",
    ],
)
async def test_private_loopback_and_link_local_addresses_are_refused(host: str) -> None:
    with pytest.raises(RefusedAddress):
        await checked_addresses(host, 443, allow_private=False)
    assert await checked_addresses(host, 443, allow_private=True)


async def test_a_public_address_is_accepted() -> None:
    assert [str(a) for a in await checked_addresses("93.184.215.14", 443, allow_private=False)] == [
        "93.184.215.14"
    ]


async def test_the_guard_checks_at_connection_time_and_nothing_reaches_a_private_receiver() -> None:
    """A URL accepted earlier (its name resolving elsewhere then) is checked again when
    the POST connects: a name that now resolves to loopback reaches nothing."""
    sender = WebhookSender(allow_private=False)
    async with receiver() as hooks:
        try:
            for url in (hooks.url, f"http://localhost:{hooks.port}/hooks"):
                attempt = await sender.post(
                    url, secret=delivery.new_secret(), message_id="m", body="{}"
                )
                assert attempt.status_code is None
                assert attempt.error is not None
                assert attempt.error.startswith("refused")
        finally:
            await sender.close()
        assert hooks.received == []


async def test_private_urls_are_refused_when_saved_unless_allowed(
    settings: Settings, factory: Factory
) -> None:
    from atende.app import create_app

    guarded = settings.model_copy(update={"outgoing_webhooks_allow_private": False})
    app = create_app(guarded)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://atende.test") as client:
            organization = await factory.organization()
            for url in (
                "https://127.0.0.1/hooks",
                "https://localhost/x",
                "http://example.com/x",
                "https://user:pw@example.com/x",
                "not a url",
            ):
                result = (
                    await data(
                        client,
                        CREATE,
                        {
                            "input": {
                                "organizationId": str(organization.id),
                                "url": url,
                                "events": ["MESSAGE_RECEIVED"],
                            }
                        },
                        user=organization.owner,
                    )
                )["createWebhookEndpoint"]
                assert (result["__typename"], result.get("field")) == ("ValidationError", "url"), (
                    url
                )


# -- Managing endpoints ----------------------------------------------------------------------


async def test_only_owners_and_admins_add_endpoints(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    agent = await factory.member(organization)
    admin = await factory.member(organization, role="admin")
    outsider = await factory.user()

    async def attempt(user: factories.TestUser, events: list[str]) -> dict[str, Any]:
        result: dict[str, Any] = (
            await data(
                client,
                CREATE,
                {
                    "input": {
                        "organizationId": str(organization.id),
                        "url": "https://crm.example.com/hooks",
                        "events": events,
                    }
                },
                user=user,
            )
        )["createWebhookEndpoint"]
        return result

    assert (await attempt(agent, ["MESSAGE_RECEIVED"]))["__typename"] == "Forbidden"
    assert (await attempt(outsider, ["MESSAGE_RECEIVED"]))["__typename"] == "NotFound"
    assert (await attempt(admin, []))["field"] == "events"
    added = await attempt(admin, ["CONTACT_OPTED_OUT", "MESSAGE_RECEIVED"])
    assert added["__typename"] == "CreateWebhookEndpointSuccess"
    assert added["endpoint"]["events"] == ["CONTACT_OPTED_OUT", "MESSAGE_RECEIVED"]
    assert added["secret"].startswith("whsec_")


# -- Delivering ------------------------------------------------------------------------------


async def test_an_event_is_posted_signed_and_recorded(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    organization = await factory.organization()
    async with receiver() as hooks:
        endpoint_id, secret = await add_endpoint(client, organization, hooks.url)
        conversation = await factory.messaging.conversation(organization)
        await factory.messaging.message(conversation, body="Quero um bolo")
        [delivery_id] = await pending_deliveries(services)
        sender = WebhookSender(allow_private=True)
        try:
            outcome = await deliveries_with(services, sender).deliver(delivery_id)
        finally:
            await sender.close()

    assert outcome.status == "delivered"
    [sent] = hooks.received
    assert sent.headers["webhook-id"] == webhook_id(delivery_id)
    assert sent.headers["content-type"] == "application/json"
    assert verify_from_the_specification(secret, sent.headers, sent.body)
    payload = orjson.loads(sent.body)
    assert payload["type"] == "message.received"
    assert payload["data"]["message"]["body"] == "Quero um bolo"
    assert payload["data"]["message"]["conversation_id"] == str(conversation)
    listed = await data(client, DELIVERIES, {"org": str(organization.id)}, user=organization.owner)
    [endpoint] = listed["organization"]["webhookEndpoints"]
    assert endpoint["id"] == endpoint_id
    [edge] = endpoint["deliveries"]["edges"]
    assert edge["node"]["status"] == "DELIVERED"
    assert edge["node"]["lastStatusCode"] == 200
    assert edge["node"]["webhookId"] == sent.headers["webhook-id"]
    assert orjson.loads(edge["node"]["payload"]) == payload


async def test_a_500_then_a_timeout_are_retried_with_the_same_webhook_id(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    organization = await factory.organization()
    async with receiver() as hooks:
        hooks.answers = [500, "hang", 204]
        await add_endpoint(client, organization, hooks.url)
        conversation = await factory.messaging.conversation(organization)
        await factory.messaging.message(conversation)
        [delivery_id] = await pending_deliveries(services)
        sender = WebhookSender(allow_private=True, request_timeout=0.5)
        deliveries = deliveries_with(services, sender)
        try:
            first = await deliveries.deliver(delivery_id)
            second = await deliveries.deliver(delivery_id)
            third = await deliveries.deliver(delivery_id)
        finally:
            await sender.close()

    assert first.status == "pending"
    assert first.retry_at is not None
    assert first.retry_at - datetime.now(UTC) <= timedelta(seconds=10)
    assert second.status == "pending"
    assert third.status == "delivered"
    assert third.retry_at is None
    ids = {received.headers["webhook-id"] for received in hooks.received}
    assert ids == {webhook_id(delivery_id)}
    assert len(hooks.received) == 3
    row = await services.database.fetch_one(
        Caller.service(),
        "select attempts, status, last_status_code, last_error from public.webhook_deliveries",
    )
    assert row == {
        "attempts": 3,
        "status": "delivered",
        "last_status_code": 204,
        "last_error": None,
    }


HISTORY = """
query ($org: ID!) {
  organization(id: $org) {
    webhookEndpoints {
      deliveries(first: 10) {
        edges { node { id attempts attemptHistory { attempt statusCode durationMs error } } }
      }
    }
  }
}
"""


async def test_each_attempt_is_listed_and_old_ones_are_purged(
    client: httpx.AsyncClient, factory: Factory, services: Services, database_url: str
) -> None:
    organization = await factory.organization()
    neighbour = await factory.organization()
    async with receiver() as hooks:
        hooks.answers = [500, "hang", 204]
        await add_endpoint(client, organization, hooks.url)
        await add_endpoint(client, neighbour, hooks.url)
        conversation = await factory.messaging.conversation(organization)
        await factory.messaging.message(conversation)
        [delivery_id] = await pending_deliveries(services)
        sender = WebhookSender(allow_private=True, request_timeout=0.5)
        deliveries = deliveries_with(services, sender)
        try:
            for _ in range(3):
                await deliveries.deliver(delivery_id)
        finally:
            await sender.close()

    listed = await data(client, HISTORY, {"org": str(organization.id)}, user=organization.owner)
    [endpoint] = listed["organization"]["webhookEndpoints"]
    [edge] = endpoint["deliveries"]["edges"]
    history = edge["node"]["attemptHistory"]
    assert [(a["attempt"], a["statusCode"], a["error"]) for a in history] == [
        (1, 500, "answered 500"),
        (2, None, "no answer within 0.5 s"),
        (3, 204, None),
    ]
    assert all(a["durationMs"] >= 0 for a in history)
    assert history[1]["durationMs"] >= 400  # the hang lasted until the timeout
    # Another organization's owner sees her endpoint, with none of these deliveries.
    theirs = await data(client, HISTORY, {"org": str(neighbour.id)}, user=neighbour.owner)
    assert theirs["organization"]["webhookEndpoints"][0]["deliveries"]["edges"] == []

    with psycopg.connect(database_url) as conn:  # nobody but the owner rewrites history
        conn.execute(
            "update public.webhook_delivery_attempts"
            " set attempted_at = now() - interval '31 days' where attempt < 3"
        )
    assert await services.webhooks.purge_attempts(timedelta(days=30), batch=1) == 2
    listed = await data(client, HISTORY, {"org": str(organization.id)}, user=organization.owner)
    [edge] = listed["organization"]["webhookEndpoints"][0]["deliveries"]["edges"]
    assert edge["node"]["attempts"] == 3
    assert [a["attempt"] for a in edge["node"]["attemptHistory"]] == [3]


async def test_the_last_failure_fails_the_delivery_and_redelivery_sends_it_again(
    client: httpx.AsyncClient, factory: Factory, services: Services, database_url: str
) -> None:
    organization = await factory.organization()
    async with receiver() as hooks:
        hooks.answers = [503, 200]
        await add_endpoint(client, organization, hooks.url)
        conversation = await factory.messaging.conversation(organization)
        await factory.messaging.message(conversation)
        [delivery_id] = await pending_deliveries(services)
        await services.database.fetch_one(
            Caller.service(),
            "update public.webhook_deliveries set attempts = %s returning id",
            [len(delivery.RETRY_SCHEDULE)],
        )
        sender = WebhookSender(allow_private=True)
        deliveries = deliveries_with(services, sender)
        try:
            given_up = await deliveries.deliver(delivery_id)
            redelivered = await data(
                client, REDELIVER, {"id": str(delivery_id)}, user=organization.owner
            )
            again = await deliveries.deliver(delivery_id)
        finally:
            await sender.close()

    assert given_up.status == "failed"
    assert given_up.retry_at is None
    assert redelivered["redeliverWebhook"]["delivery"] == {
        "id": str(delivery_id),
        "webhookId": webhook_id(delivery_id),
        "status": "PENDING",
        "attempts": 0,
    }
    assert again.status == "delivered"
    assert [r.headers["webhook-id"] for r in hooks.received] == [webhook_id(delivery_id)] * 2
    with psycopg.connect(database_url) as conn:  # the queue is the owner's
        jobs = conn.execute(
            "select count(*) from procrastinate.procrastinate_jobs"
            " where task_name = 'webhooks:deliver_webhook'"
        ).fetchone()
    assert jobs == (2,)  # the event's, and the redelivery's


async def test_a_disabled_endpoint_gets_nothing(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    organization = await factory.organization()
    async with receiver() as hooks:
        endpoint_id, _ = await add_endpoint(client, organization, hooks.url)
        conversation = await factory.messaging.conversation(organization)
        await factory.messaging.message(conversation)
        [delivery_id] = await pending_deliveries(services)
        disabled = await data(
            client, UPDATE, {"id": endpoint_id, "enabled": False}, user=organization.owner
        )
        await factory.messaging.message(conversation, body="de novo")
        sender = WebhookSender(allow_private=True)
        try:
            outcome = await deliveries_with(services, sender).deliver(delivery_id)
        finally:
            await sender.close()

    assert disabled["updateWebhookEndpoint"]["endpoint"] == {"enabled": False}
    assert outcome.status is None
    assert hooks.received == []
    assert await pending_deliveries(services) == []  # the later message recorded nothing


async def test_a_hanging_receiver_holds_few_of_the_processs_slots() -> None:
    sender = WebhookSender(allow_private=True, slots=3, per_endpoint=2)
    slow, other = uuid.uuid4(), uuid.uuid4()
    try:
        async with sender.lane(slow), sender.lane(slow):
            with pytest.raises(LaneBusy):
                async with sender.lane(slow):
                    pass
            async with sender.lane(other):
                with pytest.raises(LaneBusy):  # the process's slots are all taken
                    async with sender.lane(uuid.uuid4()):
                        pass
        async with sender.lane(slow):
            pass  # freed
    finally:
        await sender.close()


async def test_a_job_put_back_from_a_slow_endpoint_comes_back_around_its_timeout() -> None:
    now = [1000.0]
    sender = WebhookSender(allow_private=True, per_endpoint=2, clock=lambda: now[0])
    slow = uuid.uuid4()
    try:
        async with sender.lane(slow), sender.lane(slow):
            with pytest.raises(LaneBusy) as fresh:
                sender.check_lane(slow)
            # Answering quickly, as far as anyone knows: back in a second or two.
            assert delivery.BUSY_PAUSE[0] <= fresh.value.retry_in <= delivery.BUSY_PAUSE[1]
            now[0] += 4.0  # both requests still unanswered after 4 s: a slow receiver
            with pytest.raises(LaneBusy) as slow_lane:
                sender.check_lane(slow)
            # Back when the first may have timed out (10 s after it started), not sooner.
            assert slow_lane.value.retry_in >= sender.request_timeout + 1 - 4.0
            assert slow_lane.value.retry_in <= sender.request_timeout + 1 - 4.0 + 1.5 * 2.0
            sender.check_lane(uuid.uuid4())  # other endpoints go ahead
        sender.check_lane(slow)  # freed
    finally:
        await sender.close()


async def test_the_job_knows_its_endpoint_and_a_full_lane_costs_no_statement(
    client: httpx.AsyncClient, factory: Factory, services: Services, database_url: str
) -> None:
    organization = await factory.organization()
    endpoint_id, _ = await add_endpoint(client, organization, "http://127.0.0.1:9/hook")
    conversation = await factory.messaging.conversation(organization)
    await factory.messaging.message(conversation)
    [delivery_id] = await pending_deliveries(services)
    with psycopg.connect(database_url) as conn:
        [(args,)] = conn.execute(
            "select args from procrastinate.procrastinate_jobs"
            " where task_name = 'webhooks:deliver_webhook'"
        ).fetchall()
    assert args == {"delivery_id": str(delivery_id), "endpoint_id": endpoint_id}

    sender = WebhookSender(allow_private=True, per_endpoint=1)
    deliveries = deliveries_with(services, sender)
    endpoint = uuid.UUID(endpoint_id)
    try:
        async with sender.lane(endpoint):
            with pytest.raises(LaneBusy):
                # A delivery that does not exist: had it been claimed, nothing would be
                # raised (nothing to deliver); the lane refused it first.
                await deliveries.deliver(uuid.uuid4(), endpoint_id=endpoint)
    finally:
        await sender.close()


async def test_timing_of_a_hang_is_bounded_by_the_request_timeout() -> None:
    sender = WebhookSender(allow_private=True, request_timeout=0.3)
    async with receiver() as hooks:
        hooks.answers = ["hang"]
        started = time.monotonic()
        try:
            attempt = await sender.post(
                hooks.url, secret=delivery.new_secret(), message_id="m", body="{}"
            )
        finally:
            await sender.close()
    assert time.monotonic() - started < 2
    assert attempt.status_code is None
    assert attempt.error == "no answer within 0.3 s"


async def test_an_endpoint_failing_for_days_is_disabled_and_its_owners_mailed_once(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    organization = await factory.organization()
    await factory.member(organization, role="admin")  # not an owner: not mailed
    async with receiver() as hooks:
        hooks.answers = [500]
        endpoint_id, _ = await add_endpoint(client, organization, hooks.url)
        conversation = await factory.messaging.conversation(organization)
        await factory.messaging.message(conversation, body="um")
        await factory.messaging.message(conversation, body="dois")
        first, second = await pending_deliveries(services)
        await services.database.fetch_one(
            Caller.service(),
            "update public.webhook_endpoints set failing_since = now() - interval '4 days'"
            " returning id",
        )
        sender = WebhookSender(allow_private=True)
        deliveries = deliveries_with(services, sender)
        try:
            await deliveries.deliver(first)  # disables it
            await deliveries.deliver(second)  # finds it disabled
        finally:
            await sender.close()

    endpoint = await services.database.fetch_one(
        Caller.service(),
        "select enabled, disabled_reason from public.webhook_endpoints where id = %s",
        [endpoint_id],
    )
    assert endpoint == {"enabled": False, "disabled_reason": "failing"}
    mails = await services.database.fetch_all(
        Caller.service(),
        "select recipient, subject, text from private.mail_outbox"
        " where kind = 'webhook_endpoint_disabled'",
    )
    assert [mail["recipient"] for mail in mails] == [organization.owner.email]
    assert hooks.url in mails[0]["text"]
    assert organization.name in mails[0]["subject"]
    assert len(hooks.received) == 1  # nothing more went to the disabled endpoint
    enabled = await data(
        client, UPDATE, {"id": endpoint_id, "enabled": True}, user=organization.owner
    )
    assert enabled["updateWebhookEndpoint"]["endpoint"] == {"enabled": True}
    notified = await services.database.fetch_one(
        Caller.service(),
        "select owners_notified_at, failing_since from public.webhook_endpoints where id = %s",
        [endpoint_id],
    )
    assert notified == {"owners_notified_at": None, "failing_since": None}


# -- The job, through the queue --------------------------------------------------------------


async def run_webhook_jobs(services: Services) -> None:
    """The worker, with the real job registry, until no webhook job is due."""
    with queue_app.replace_connector(procrastinate.PsycopgConnector()) as app:
        async with app.open_async(services.database.pool):
            await app.run_worker_async(
                queues=["webhooks"],
                wait=False,
                additional_context={"dependencies": services.dependencies},
                install_signal_handlers=False,
            )


def webhook_jobs(database_url: str) -> list[tuple[str, int]]:
    with psycopg.connect(database_url) as conn:
        return [
            (str(status), int(attempts))
            for status, attempts in conn.execute(
                "select status::text, attempts from procrastinate.procrastinate_jobs"
                " where task_name = 'webhooks:deliver_webhook' order by id"
            ).fetchall()
        ]


async def test_the_job_the_change_deferred_delivers_and_comes_back_after_a_failure(
    client: httpx.AsyncClient, factory: Factory, services: Services, database_url: str
) -> None:
    organization = await factory.organization()
    async with receiver() as hooks:
        hooks.answers = [500, 200]
        _, secret = await add_endpoint(client, organization, hooks.url)
        conversation = await factory.messaging.conversation(organization)
        await factory.messaging.message(conversation, body="Tem pão?")

        await run_webhook_jobs(services)
        assert webhook_jobs(database_url) == [("todo", 1)]  # back in about 5 s
        with psycopg.connect(database_url) as conn:
            conn.execute("set search_path to procrastinate, public")  # its triggers need it
            conn.execute("update procrastinate_jobs set scheduled_at = now()")
        await run_webhook_jobs(services)

    assert webhook_jobs(database_url) == [("succeeded", 2)]  # one job, tried twice
    first, second = hooks.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    assert verify_from_the_specification(secret, second.headers, second.body)
    assert orjson.loads(second.body)["data"]["message"]["body"] == "Tem pão?"


# -- Key rotation ------------------------------------------------------------------------------

OLD_KEY = "old-secret-key-0123456789abcdefghijklmnop"
NEW_KEY = "new-secret-key-0123456789abcdefghijklmnop"
STRANGER_KEY = "nobody-configured-this-key-0123456789abc"


def add_raw_endpoints(
    database_url: str, organization: factories.TestOrganization, ciphertexts: list[str]
) -> list[uuid.UUID]:
    """Endpoints with these stored secrets, written as the database's owner."""
    with psycopg.connect(database_url) as conn:
        return [
            conn.execute(
                "insert into public.webhook_endpoints (organization_id, url, events,"
                " secret_ciphertext) values (%s, %s, '{message.received}', %s) returning id",
                [organization.id, f"https://crm.example.com/{index}", ciphertext],
            ).fetchone()[0]  # type: ignore[index]
            for index, ciphertext in enumerate(ciphertexts)
        ]


async def test_rotation_re_encrypts_signing_secrets_once(
    factory: Factory, services: Services, database_url: str
) -> None:
    organization = await factory.organization()
    old, new = TokenCipher(OLD_KEY), TokenCipher(NEW_KEY)
    add_raw_endpoints(
        database_url,
        organization,
        [old.encrypt("whsec_a"), old.encrypt("whsec_b"), new.encrypt("whsec_c")],
    )
    rotating = TokenCipher(NEW_KEY, [OLD_KEY])

    first = await rotate_endpoint_secrets(services.database, rotating)
    second = await rotate_endpoint_secrets(services.database, rotating)

    assert (first.reencrypted, first.already_current, first.unreadable) == (2, 1, ())
    assert (second.reencrypted, second.already_current) == (0, 3)
    rows = await services.database.fetch_all(
        Caller.service(), "select secret_ciphertext from public.webhook_endpoints order by url"
    )
    assert [new.decrypt(row["secret_ciphertext"]).get_secret_value() for row in rows] == [
        "whsec_a",
        "whsec_b",
        "whsec_c",
    ]


async def test_atende_rotate_secrets_names_an_endpoint_no_key_opens(
    factory: Factory, services: Services, database_url: str
) -> None:
    organization = await factory.organization()
    readable, unreadable = add_raw_endpoints(
        database_url,
        organization,
        [TokenCipher(OLD_KEY).encrypt("whsec_a"), TokenCipher(STRANGER_KEY).encrypt("whsec_x")],
    )

    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "atende", "rotate-secrets"],
        capture_output=True,
        text=True,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": database_url,
            "ATENDE_SECRET_KEY": NEW_KEY,
            "ATENDE_PREVIOUS_SECRET_KEYS": OLD_KEY,
        },
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    error = result.stderr.strip()
    assert str(unreadable) in error
    assert str(readable) not in error
    assert "webhook endpoint" in error
    assert "whsec_" not in result.stdout + result.stderr
