"""Usage in a period: conversations, messages each way, AI replies, fallbacks, tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from atende.db.session import Caller
from atende.services import Services
from tests.factories import Factory
from tests.graphql.client import data, error_codes, graphql

USAGE = """
query ($org: ID!, $from: DateTime!, $to: DateTime!) {
  organization(id: $org) {
    usage(from: $from, to: $to) {
      from to conversations messagesIn messagesOut aiReplies fallbacks tokensIn tokensOut
    }
  }
}
"""


async def test_usage_counts_the_period_only(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    organization = await factory.organization()
    other = await factory.organization()
    now = datetime.now(UTC)
    busy = await factory.messaging.conversation(organization)
    quiet = await factory.messaging.conversation(organization)
    elsewhere = await factory.messaging.conversation(other)
    await factory.messaging.message(busy, body="oi")
    await factory.messaging.message(busy, body="tudo bem?")
    reply = await factory.messaging.message(busy, body="Tudo!", direction="outbound")
    await factory.messaging.message(
        busy, body="Desculpe...", direction="outbound", is_error=True, error_code="ai_failed"
    )
    await factory.messaging.message(
        busy, direction="outbound", author="member", author_member=organization.owner.id
    )
    await factory.messaging.message(quiet, body="antigo", created_at=now - timedelta(days=40))
    await factory.messaging.message(elsewhere, body="de outra empresa")
    async with services.database.transaction(Caller.service()) as conn:
        await conn.execute(
            "insert into public.ai_runs (organization_id, conversation_id, message_id, model,"
            " prompt_tokens, completion_tokens, latency_ms, outcome)"
            " values (%s, %s, %s, 'gpt-4o-mini', 2000000000, 40, 900, 'replied'),"
            " (%s, %s, null, 'gpt-4o-mini', 1000000500, 0, 30000, 'fallback')",
            [organization.id, busy, reply, organization.id, busy],
        )
    period = {
        "org": str(organization.id),
        "from": (now - timedelta(days=30)).isoformat(),
        "to": (now + timedelta(minutes=1)).isoformat(),
    }

    usage = (await data(client, USAGE, period, user=organization.owner))["organization"]["usage"]

    assert usage["conversations"] == 1
    assert usage["messagesIn"] == 2
    assert usage["messagesOut"] == 3
    assert usage["aiReplies"] == 1
    assert usage["fallbacks"] == 1
    assert usage["tokensIn"] == 3_000_000_500  # more than GraphQL's Int holds
    assert usage["tokensOut"] == 40


async def test_usage_periods_must_make_sense(client: httpx.AsyncClient, factory: Factory) -> None:
    organization = await factory.organization()
    org = str(organization.id)
    owner = organization.owner

    backwards = await graphql(
        client,
        USAGE,
        {"org": org, "from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
        user=owner,
    )
    too_long = await graphql(
        client,
        USAGE,
        {"org": org, "from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        user=owner,
    )
    naive = await graphql(
        client,
        USAGE,
        {"org": org, "from": "2026-11-01T00:00:00", "to": "2026-11-02T00:00:00"},
        user=owner,
    )
    garbage = await graphql(
        client, USAGE, {"org": org, "from": "ontem", "to": "2026-11-02T00:00:00Z"}, user=owner
    )

    for body in (backwards, too_long, naive, garbage):
        assert error_codes(body) == ["BAD_USER_INPUT"], body
