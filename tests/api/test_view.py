"""The /graphql view's own parts: the cache of verified tokens, and HTTP requests that
are not GraphQL requests, refused with a GraphQL-style JSON error."""

from __future__ import annotations

import time

import httpx
import pytest

from atende.api.view import GRAPHQL_RESPONSE, VerifiedTokens
from tests.graphql.client import error_codes


def test_verified_tokens_are_remembered_until_they_expire() -> None:
    cache = VerifiedTokens(max_size=2)
    now = time.time()
    cache.put("fresh", {"sub": "a", "exp": now + 60})
    cache.put("stale", {"sub": "b", "exp": now - 1})

    assert cache.get("fresh") == {"sub": "a", "exp": now + 60}
    assert cache.get("stale") is None  # expired: verify again (and be refused)
    assert cache.get("unknown") is None


def test_the_cache_keeps_only_the_most_recent_tokens() -> None:
    cache = VerifiedTokens(max_size=2)
    later = time.time() + 60
    cache.put("one", {"exp": later})
    cache.put("two", {"exp": later})
    cache.get("one")
    cache.put("three", {"exp": later})

    assert cache.get("two") is None
    assert cache.get("one") is not None
    assert cache.get("three") is not None


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'{"query": ', "not valid JSON (unexpected end of data"),
        (b"not json", "not valid JSON"),
        (b"5", "must be a JSON object"),
        (b'"{ viewer { user { id } } }"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"[" * 5000 + b"]" * 5000, "not valid JSON"),
    ],
    ids=["truncated", "not-json", "number", "string", "null", "nested-too-deep"],
)
async def test_a_body_that_is_not_a_graphql_request_gets_a_json_error(
    client: httpx.AsyncClient, content: bytes, says: str
) -> None:
    response = await client.post(
        "/graphql", content=content, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["errors"]  # refused before running: no data
    assert error_codes(body) == ["BAD_REQUEST"]
    assert says in body["errors"][0]["message"]


async def test_the_error_has_the_graphql_response_media_type_when_the_client_accepts_it(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql",
        content=b'{"query": ',
        headers={"content-type": "application/json", "accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert error_codes(response.json()) == ["BAD_REQUEST"]


async def test_other_refused_http_requests_are_json_errors_too(
    client: httpx.AsyncClient,
) -> None:
    unsupported = await client.post(
        "/graphql", content=b"{ viewer { user { id } } }", headers={"content-type": "text/plain"}
    )
    batch = await client.post("/graphql", json=[{"query": "{ __typename }"}] * 2)
    # HEAD passes the route (Starlette adds it to GET) and reaches the view, which refuses
    # it; a response to HEAD has no body to read.
    head = await client.head("/graphql")

    assert unsupported.status_code == 400
    assert error_codes(unsupported.json()) == ["BAD_REQUEST"]
    assert unsupported.json()["errors"][0]["message"] == "Unsupported content type"
    assert batch.status_code == 400
    assert error_codes(batch.json()) == ["BAD_REQUEST"]
    assert head.status_code == 405
    assert head.headers["allow"] == "GET, POST"
    for response in (unsupported, batch, head):
        assert response.headers["content-type"] == "application/json"


async def test_query_string_json_keeps_its_own_rules(client: httpx.AsyncClient) -> None:
    """A GET's ``variables`` are not a request body: ``null`` is fine there (and the GET is
    refused for what it is), a number is refused as Strawberry words it."""
    query = "{ __typename }"
    null_variables = await client.get("/graphql", params={"query": query, "variables": "null"})
    number_variables = await client.get("/graphql", params={"query": query, "variables": "5"})

    assert null_variables.status_code == 400
    assert null_variables.json()["errors"][0]["message"] == "queries are not allowed when using GET"
    assert number_variables.status_code == 400
    assert (
        "`variables` must be an object or null" in number_variables.json()["errors"][0]["message"]
    )
