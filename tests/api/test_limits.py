"""What one request may ask for, and how refusals look over HTTP: GraphQL errors with
``extensions.code``, status codes as GraphQL-over-HTTP says for the media type
negotiated, never a 500; unexpected failures masked, with a request id in the log."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from atende.api.limits import nesting_depth
from atende.app import create_app
from atende.config import Settings
from atende.conversations import service
from tests.factories import Factory
from tests.graphql.client import error_codes, graphql

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def post(
    client: httpx.AsyncClient, body: Any, *, accept: str = "application/json", **headers: str
) -> httpx.Response:
    return await client.post("/graphql", json=body, headers={"accept": accept, **headers})


def refused_as_invalid(body: dict[str, Any]) -> bool:
    return body["data"] is None and error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_the_inbox_fits_within_the_depth_limit(client: httpx.AsyncClient) -> None:
    inbox = (
        "{ viewer { memberships { organization { conversations { edges { node {"
        " messages { edges { node { authorMember { id } } } }"
        " lastMessage { authorMember { id } } } } } } } } }"
    )
    assert "errors" not in (await post(client, {"query": inbox})).json()


async def test_limits_on_depth_aliases_and_tokens(client: httpx.AsyncClient) -> None:
    # The schema has no cycles deeper than 11 levels; the depth rule counts syntax alone.
    too_deep = "{ " + "a { " * 13 + "b" + " }" * 13 + " }"
    aliases = "{ " + " ".join(f"a{i}: viewer {{ user {{ id }} }}" for i in range(31)) + " }"
    tokens = "{ viewer { user { " + "id " * 5000 + "} } }"

    deep = (await post(client, {"query": too_deep})).json()
    many_aliases = (await post(client, {"query": aliases})).json()
    many_tokens = (await post(client, {"query": tokens})).json()

    assert any("exceeds maximum operation depth of 12" in e["message"] for e in deep["errors"])
    assert refused_as_invalid(many_aliases)
    assert error_codes(many_tokens) == ["GRAPHQL_PARSE_FAILED"]
    assert "more than 5000 tokens" in many_tokens["errors"][0]["message"]


async def test_documents_nested_too_deeply_are_refused_before_parsing(
    client: httpx.AsyncClient,
) -> None:
    # The parser would recurse to Python's limit to find out, which costs as much CPU as
    # a normal query (found by tests/faults/test_graphql_abuse_cost.py).
    nested = await post(client, {"query": "{ " + "viewer { " * 65 + "id" + " }" * 65 + " }"})
    assert error_codes(nested.json()) == ["GRAPHQL_PARSE_FAILED"]
    assert "nested too deeply" in nested.json()["errors"][0]["message"]
    # Brackets in strings (escaped quotes too) and comments are not the document's.
    text = "{" * 100 + "[" * 100
    assert nesting_depth("# " + text + "\n{ viewer { user { id } } } # " + text) == 3
    assert nesting_depth('{ a(b: "\\"' + text + '", c: """' + text + '\\""" x""") }') == 2
    assert nesting_depth("{ a(b: [[[{c: 1}]]]) }") == 6


async def test_fragments_cannot_fan_a_small_document_out(client: httpx.AsyncClient) -> None:
    # Each fragment uses the previous one twice: 2^10 selections from a few lines.
    levels = ["fragment L0 on User { id email }"]
    levels += [
        f"fragment L{level} on User {{ ...L{level - 1} ...L{level - 1} }}" for level in range(1, 11)
    ]
    query = "{ viewer { user { ...L10 } } }\n" + "\n".join(levels)

    body = (await post(client, {"query": query})).json()

    assert refused_as_invalid(body)
    assert "more than 500 fields" in body["errors"][0]["message"]


async def test_text_with_nul_characters_is_refused_as_bad_input(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    query = "query ($org: ID!, $s: String) { organization(id: $org) { contacts(search: $s) {"
    query += " totalCount } } }"
    in_variable = await graphql(
        client, query, {"org": str(organization.id), "s": "abc\x00def"}, user=organization.owner
    )
    in_document = await graphql(
        client,
        'query ($org: ID!) { organization(id: $org) { contacts(search: "ab\\u0000c") {'
        " totalCount } } }",
        {"org": str(organization.id)},
        user=organization.owner,
    )

    for body in (in_variable, in_document):
        assert error_codes(body) == ["BAD_USER_INPUT"], body


async def test_batches_are_refused_clearly(client: httpx.AsyncClient) -> None:
    response = await post(client, [{"query": "{ viewer { user { id } } }"}] * 2)
    assert response.status_code == 400
    assert "Batching is not enabled" in response.text


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ viewer { "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {"query": "query ($id: ID!) { organization(id: $id) { id } }", "variables": {"id": []}},
            "BAD_USER_INPUT",
        ),
        ({"query": "query ($id: ID!) { organization(id: $id) { id } }"}, "BAD_USER_INPUT"),
    ],
    ids=["syntax", "unknown-field", "wrong-variable-type", "missing-variable"],
)
async def test_bad_documents_are_graphql_errors_with_the_right_status(
    client: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    as_json = await post(client, body)
    as_graphql_response = await post(client, body, accept=GRAPHQL_RESPONSE)

    assert as_json.status_code == 200
    assert as_json.headers["content-type"].startswith("application/json")
    assert error_codes(as_json.json()) == [code]
    assert as_graphql_response.status_code == 400
    assert as_graphql_response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in as_graphql_response.json()
    assert error_codes(as_graphql_response.json()) == [code]


async def test_graphql_response_media_type_keeps_200_for_executed_operations(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    ok = await post(client, {"query": "{ viewer { user { id } } }"}, accept=GRAPHQL_RESPONSE)
    bad_token = await post(
        client,
        {"query": "{ viewer { user { id } } }"},
        accept=GRAPHQL_RESPONSE,
        authorization=f"Bearer {user.token}x",
    )
    input_error = await post(
        client,
        {"query": "{ organization(id: 1) { conversations(first: 500) { totalCount } } }"},
        accept=GRAPHQL_RESPONSE,
        authorization=f"Bearer {user.token}",
    )
    assert ok.status_code == 200
    assert ok.json() == {"data": {"viewer": None}}
    assert bad_token.status_code == 401
    assert error_codes(bad_token.json()) == ["UNAUTHENTICATED"]
    assert input_error.status_code == 200  # ran; its field failed (organization 1 is null)


async def test_malformed_http_requests_are_400_not_500(client: httpx.AsyncClient) -> None:
    for content, content_type in (
        (b"{not json", "application/json"),
        (b'{"query": 5}', "application/json"),
        (b'{"query": "{ viewer { user { id } } }", "variables": [1]}', "application/json"),
        (b"{}", "text/plain"),
        (b"{}", "application/json"),
        # Nested past the JSON parser's recursion limit (found by tests/faults).
        (
            b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
            "application/json",
        ),
        (b"[" * 100_000, "application/json"),
    ):
        response = await client.post(
            "/graphql", content=content, headers={"content-type": content_type}
        )
        assert response.status_code in (400, 415), (content, response.status_code)


async def introspect(settings: Settings) -> dict[str, Any]:
    app: Starlette = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.post(
                "/graphql", json={"query": "{ __schema { types { name } } }"}
            )
    body: dict[str, Any] = response.json()
    return body


async def test_introspection_can_be_switched_off(settings: Settings) -> None:
    on = await introspect(settings)
    off = await introspect(settings.model_copy(update={"introspection": False}))

    assert "errors" not in on
    assert off["data"] is None
    assert set(error_codes(off)) == {"GRAPHQL_VALIDATION_FAILED"}


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    client: httpx.AsyncClient,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    organization = await factory.organization()

    async def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(service, "inbox_page", broken)
    with caplog.at_level(logging.ERROR, logger="atende.graphql"):
        body = await graphql(
            client,
            # The directive keeps the query on the general path (a compiled query reads no
            # page through inbox_page: tests/graphql/test_compiled_selections.py).
            "query ($org: ID!) { organization(id: $org) {"
            " conversations @include(if: true) { totalCount } } }",
            {"org": str(organization.id)},
            user=organization.owner,
        )

    [error] = body["errors"]
    assert error["message"] == "Internal error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    request_id = error["extensions"]["requestId"]
    assert request_id
    assert "hunter2" not in str(body)
    [record] = [r for r in caplog.records if request_id in r.getMessage()]
    assert record.exc_info is not None
    assert "hunter2" in str(record.exc_info[1])
