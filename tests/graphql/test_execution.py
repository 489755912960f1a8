"""The executor's fast path for plain leaf fields answers exactly what Strawberry's own
executor answers: values, nulls, enums, dates, and errors alike."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from atende.db.session import Caller
from atende.graphql.context import Context
from atende.graphql.execution import AtendeExecutionContext
from atende.graphql.schema import build_schema
from atende.services import Services
from tests.factories import Factory

QUERY = """
query ($org: ID!) {
  organization(id: $org) {
    id name createdAt
    conversations(first: 10) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges {
        cursor
        node {
          id status aiEnabled lastMessageAt lastInboundAt windowExpiresAt closedAt
          contact { id name phoneNumber displayName profileName optedOut optedOutAt }
          assignee { id fullName }
          lastMessage { id body direction author status isError errorCode createdAt }
          messages(first: 3) { edges { node { body media { url contentType } } } }
        }
      }
    }
  }
  broken: organization(id: $org) { conversations(first: 1000) { totalCount } }
}
"""


async def test_fast_and_general_executors_agree(services: Services, factory: Factory) -> None:
    organization = await factory.organization()
    closed = await factory.messaging.conversation(organization, status="closed")
    await factory.messaging.message(
        closed, direction="outbound", is_error=True, error_code="63016", status="failed"
    )
    handed_off = await factory.messaging.conversation(
        organization, status="handoff", assignee=organization.owner.id, inbound_hours_ago=None
    )
    await factory.messaging.message(
        handed_off, body="", media=[{"url": "https://x.test/a.jpg", "content_type": "image/jpeg"}]
    )
    schema = build_schema()
    request = Request({"type": "http", "app": None, "headers": []})

    async def run(executor: type[Any]) -> tuple[Any, list[Any]]:
        schema.execution_context_class = executor
        context = Context(
            services=services,
            request=request,
            caller=Caller.user(organization.owner.claims),
        )
        result = await schema.execute(
            QUERY, variable_values={"org": str(organization.id)}, context_value=context
        )
        return result.data, [error.formatted for error in result.errors or []]

    general = await run(StrawberryGraphQLCoreExecutionContext)
    fast = await run(AtendeExecutionContext)

    assert fast == general
    # The same fields in the same order, as clients see them.
    assert json.dumps(fast) == json.dumps(general)
    data, errors = fast
    edges = data["organization"]["conversations"]["edges"]
    assert {edge["node"]["status"] for edge in edges} == {"CLOSED", "HANDOFF"}
    assert data["broken"] is None
    assert [error["extensions"]["code"] for error in errors] == ["BAD_USER_INPUT"]
