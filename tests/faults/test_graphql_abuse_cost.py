"""What refusing abusive GraphQL requests costs the API, against a normal inbox query.

Against ``atende serve``: deep nesting, a flood of 1,000 aliases, a huge ``first``, a
batch of 100 operations, a 2 MB body, variables nested 5,000 deep. Each is refused with a
clear error (checked here; ``tests/api/test_limits.py`` has the details); the API's
CPU time per request, for each kind and for a normal inbox page of 20 conversations, goes
to the results table and ``bench/results/faults.json``. A measurement, not an assertion.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.faults import report
from tests.faults.conftest import ProductFactory
from tests.faults.world import Delivery, Simulator, customer_number

pytestmark = pytest.mark.faults

ROUNDS = 200
INBOX = """
query Inbox($org: ID!) {
  organization(id: $org) {
    conversations(first: 20) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node {
        id status aiEnabled unreadCount lastMessageAt
        contact { name phoneNumber optedOut }
        channel { kind phoneNumber }
        lastMessage { body direction author status isError }
      } }
    }
  }
}
"""


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


def abusive_requests(organization_id: str) -> dict[str, tuple[Callable[[], dict[str, Any]], str]]:
    """name -> (keyword arguments of the POST, what the answer must say)."""
    deep_json = "[" * 5000 + "]" * 5000
    return {
        "deep nesting (depth 200)": (
            lambda: {"json": {"query": "{ " + "viewer { " * 200 + "id" + " }" * 200 + " }"}},
            "nested too deeply",
        ),
        "1,000 aliases": (
            lambda: {
                "json": {"query": "{ " + " ".join(f"a{i}: __typename" for i in range(1000)) + " }"}
            },
            "1000 aliases found",
        ),
        "first: 1,000,000": (
            lambda: {
                "json": {
                    "query": "query ($org: ID!) { organization(id: $org) {"
                    " conversations(first: 1000000) { totalCount } } }",
                    "variables": {"org": organization_id},
                }
            },
            "BAD_USER_INPUT",
        ),
        "batch of 100 operations": (
            lambda: {"json": [{"query": "{ __typename }"}] * 100},
            "Batching is not enabled",
        ),
        "2 MB body": (
            lambda: {
                "content": b'{"query": "' + b"a" * 2_000_000 + b'"}',
                "headers": {"content-type": "application/json"},
            },
            "too large",
        ),
        "variables nested 5,000 deep": (
            lambda: {
                "content": ('{"query": "{ __typename }", "variables": {"a": ' + deep_json + "}}"),
                "headers": {"content-type": "application/json"},
            },
            "JSON",
        ),
    }


async def test_refusing_abuse_costs_less_than_a_normal_query(
    launch: ProductFactory, fake_openai: FakeOpenAI, simulator: Simulator
) -> None:
    product = launch()
    business = await product.make_business(debounce_seconds=60)  # no replies meanwhile
    api = product.start_api()
    await product.wait_ready()
    # An inbox worth reading: 30 conversations.
    await product.deliver_all(
        Delivery(customer_number(index, "55210"), f"Olá, pedido {index}") for index in range(30)
    )
    organization = str(business.organization_id)

    async with httpx.AsyncClient(
        base_url=product.public_url, timeout=30, headers=business.headers
    ) as http:

        async def cost(request: Callable[[], dict[str, Any]]) -> tuple[float, httpx.Response]:
            answer = await http.post("/graphql", **request())  # warm: caches, connections
            before = _cpu_seconds(api.pid)
            for _ in range(ROUNDS):
                answer = await http.post("/graphql", **request())
            return (_cpu_seconds(api.pid) - before) * 1000 / ROUNDS, answer

        normal_ms, normal = await cost(
            lambda: {"json": {"query": INBOX, "variables": {"org": organization}}}
        )
        assert "errors" not in normal.json(), normal.text
        assert len(normal.json()["data"]["organization"]["conversations"]["edges"]) == 20
        for name, (request, expected) in abusive_requests(organization).items():
            refused_ms, answer = await cost(request)
            assert answer.status_code in (200, 400, 413), (name, answer.status_code)
            assert expected in answer.text, (name, answer.text[:300])
            report.record_cost(
                report.CostRow(
                    request=name,
                    answer=f"{answer.status_code} {_summary(answer)}",
                    refused_ms=refused_ms,
                    normal_ms=normal_ms,
                )
            )
    assert api.alive


def _summary(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:60]
    errors = body.get("errors") or [{}]
    code = (errors[0].get("extensions") or {}).get("code", "")
    return f"{code}: {errors[0].get('message', '')}"[:70]
