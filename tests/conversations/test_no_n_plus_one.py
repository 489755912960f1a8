"""The inbox costs a fixed number of SQL statements, whatever the page size."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import psycopg
import pytest

from atende.identity.sessions import queries as identity_queries
from tests import factories
from tests.factories import Factory
from tests.graphql.client import data

INBOX = """
query ($org: ID!, $first: Int!) {
  organization(id: $org) {
    name
    conversations(first: $first) {
      totalCount
      edges {
        cursor
        node {
          id status aiEnabled unreadCount windowExpiresAt
          contact { name phoneNumber }
          channel { phoneNumber }
          assignee { fullName }
          lastMessage { body author authorMember { fullName } }
          messages(first: 3) { edges { node { body authorMember { fullName } } } }
        }
      }
    }
  }
}
"""


async def statements_of(
    monkeypatch: pytest.MonkeyPatch, operation: Callable[[], Awaitable[Any]]
) -> list[str]:
    """Every statement psycopg sent while ``operation`` ran for the operation itself: not
    the check that the caller's session is still signed in, which a process makes once per
    session per ``ATENDE_SESSION_CHECK_SECONDS``, whatever the query."""
    session_check = identity_queries["session_alive"].strip().split("\n")[0][:80]
    sent: list[str] = []
    original = psycopg.AsyncCursor.execute

    async def counting(self: psycopg.AsyncCursor[Any], query: Any, *args: Any, **kw: Any) -> Any:
        statement = str(query).strip()
        first_line = statement.split("\n")[0][:80]
        # Empty: the pool's liveness check of an idle connection.
        if statement and first_line != session_check:
            sent.append(first_line)
        return await original(self, query, *args, **kw)

    with monkeypatch.context() as patch:
        patch.setattr(psycopg.AsyncCursor, "execute", counting)
        await operation()
    return sent


async def busy_organization(factory: Factory, conversations: int) -> factories.TestOrganization:
    organization = await factory.organization()
    agent = await factory.member(organization)
    channel = await factory.messaging.channel(organization)
    for index in range(conversations):
        conversation = await factory.messaging.conversation(
            organization, channel=channel, assignee=agent.id if index % 2 else None
        )
        await factory.messaging.message(conversation, body=f"pergunta {index}")
        await factory.messaging.message(
            conversation,
            body=f"resposta {index}",
            direction="outbound",
            author="member",
            author_member=agent.id,
        )
    return organization


async def test_inbox_statements_do_not_grow_with_the_page(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    organization = await busy_organization(factory, 50)
    owner = organization.owner

    async def inbox(first: int) -> None:
        result = await data(
            client, INBOX, {"org": str(organization.id), "first": first}, user=owner
        )
        assert len(result["organization"]["conversations"]["edges"]) == first

    small = await statements_of(monkeypatch, lambda: inbox(5))
    large = await statements_of(monkeypatch, lambda: inbox(50))

    assert len(large) == len(small), (small, large)
    # caller's settings, organization, page (with contacts and last messages), count,
    # unread counts, channels, teammates, message pages.
    assert len(large) <= 8, large
