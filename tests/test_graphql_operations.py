"""An operation commits what it wrote when it succeeds, rolls everything back when it
fails, and never shows a client what failed inside."""

from __future__ import annotations

import logging

import httpx
import psycopg
import pytest

from atende.services import Services
from tests.factories import Factory

CHANGE_THEN_REMOVE = """
mutation ($org: ID!, $promoted: ID!, $removed: ID!) {
  updateMemberRole(input: {organizationId: $org, userId: $promoted, role: ADMIN}) { __typename }
  removeMember(input: {organizationId: $org, userId: $removed}) { __typename }
}
"""


def make_deletes_fail(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "create function public.tg__injected_failure() returns trigger language plpgsql"
            " as $$ begin raise exception 'internal-detail-4711'; end $$"
        )
        conn.execute(
            "create trigger tg__injected_failure before delete on public.memberships"
            " for each row execute function public.tg__injected_failure()"
        )


async def roles(services: Services) -> list[str]:
    async with services.database.pool.connection() as conn:
        rows = await (
            await conn.execute("select role::text as name from public.memberships order by role")
        ).fetchall()
    return [row["name"] for row in rows]


async def test_an_operation_that_succeeds_commits(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    organization = await factory.organization()
    promoted = await factory.member(organization, "agent")
    removed = await factory.member(organization, "agent")

    response = await client.post(
        "/graphql",
        json={
            "query": CHANGE_THEN_REMOVE,
            "variables": {
                "org": str(organization.id),
                "promoted": str(promoted.id),
                "removed": str(removed.id),
            },
        },
        headers=organization.owner.headers,
    )

    assert "errors" not in response.json()
    assert await roles(services) == ["owner", "admin"]


async def test_an_unexpected_failure_rolls_back_the_whole_operation_and_is_masked(
    client: httpx.AsyncClient,
    factory: Factory,
    services: Services,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    organization = await factory.organization()
    promoted = await factory.member(organization, "agent")
    removed = await factory.member(organization, "agent")
    make_deletes_fail(database_url)

    with caplog.at_level(logging.ERROR, logger="atende.graphql"):
        response = await client.post(
            "/graphql",
            json={
                "query": CHANGE_THEN_REMOVE,
                "variables": {
                    "org": str(organization.id),
                    "promoted": str(promoted.id),
                    "removed": str(removed.id),
                },
            },
            headers=organization.owner.headers,
        )

    body = response.json()
    [error] = body["errors"]
    assert error["message"] == "Internal error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "internal-detail-4711" not in response.text
    assert error["extensions"]["requestId"] in caplog.text
    assert await roles(services) == ["owner", "agent", "agent"], "the role change rolled back"
