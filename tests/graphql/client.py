"""Posting GraphQL operations in tests, as a user or anonymously."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import TestUser


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    user: TestUser | None = None,
) -> dict[str, Any]:
    """The response body of one operation (which must answer 200)."""
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers=user.headers if user else {},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def data(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    user: TestUser | None = None,
) -> dict[str, Any]:
    """The data of an operation that must succeed without errors."""
    body = await graphql(client, query, variables, user=user)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]
