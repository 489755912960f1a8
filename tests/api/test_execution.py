"""The executor's fast path for plain leaf fields answers exactly what Strawberry's own
executor answers: values, nulls, enums, dates, and errors alike."""

from __future__ import annotations

import gc
import json
from typing import Any

from starlette.requests import Request
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from atende.api.execution import AtendeExecutionContext
from atende.api.schema import build_schema
from atende.db.session import Caller
from atende.graphql.context import Context
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
            database=services.database,
            dependencies=services.dependencies,
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


INBOX = """
query ($org: ID!) {
  organization(id: $org) {
    conversations(first: 20) {
      edges {
        cursor
        node {
          id status aiEnabled lastMessageAt
          contact { id name phoneNumber }
          lastMessage { id body direction author createdAt }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


async def test_an_operation_leaves_no_garbage_for_the_cycle_collector(
    services: Services, factory: Factory
) -> None:
    # The executor and all it memoized are freed by reference counting when the
    # operation ends (AtendeExecutionContext.build_response), not left for the cycle
    # collector. (An operation with errors still leaves cycles: tracebacks.)
    organization = await factory.organization()
    await factory.messaging.message(await factory.messaging.conversation(organization))
    schema = build_schema()
    context = Context(
        database=services.database,
        dependencies=services.dependencies,
        request=Request({"type": "http", "app": None, "headers": []}),
        caller=Caller.user(organization.owner.claims),
    )
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = await schema.execute(
            INBOX, variable_values={"org": str(organization.id)}, context_value=context
        )
        gc.collect()
        leftovers = {type(item).__name__ for item in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert result.errors is None
    assert result.data is not None
    assert "AtendeExecutionContext" not in leftovers
    assert "CollectedFields" not in leftovers
