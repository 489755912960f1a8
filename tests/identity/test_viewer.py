"""Requests as the user: the viewer, organizations, and refused tokens."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from atende.identity.tokens import TokenService
from atende.services import Services
from tests.factories import Factory

VIEWER = "{ viewer { user { id email fullName } memberships { role organization { id name } } } }"


async def test_anonymous_viewer_is_null(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": VIEWER})
    assert response.json() == {"data": {"viewer": None}}


async def test_viewer_shows_the_user_and_their_memberships(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization(name="Padaria Pão Quente")
    await factory.organization(name="Someone Else's Shop")
    owner = organization.owner

    response = await client.post("/graphql", json={"query": VIEWER}, headers=owner.headers)

    assert response.json() == {
        "data": {
            "viewer": {
                "user": {"id": str(owner.id), "email": owner.email, "fullName": owner.full_name},
                "memberships": [
                    {
                        "role": "OWNER",
                        "organization": {"id": str(organization.id), "name": "Padaria Pão Quente"},
                    }
                ],
            }
        }
    }


async def test_organization_is_null_for_non_members(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    mine = await factory.organization(name="Mine")
    theirs = await factory.organization(name="Theirs")
    query = "query ($id: ID!) { organization(id: $id) { id name } }"

    own = await client.post(
        "/graphql",
        json={"query": query, "variables": {"id": str(mine.id)}},
        headers=mine.owner.headers,
    )
    other = await client.post(
        "/graphql",
        json={"query": query, "variables": {"id": str(theirs.id)}},
        headers=mine.owner.headers,
    )
    nonsense = await client.post(
        "/graphql",
        json={"query": query, "variables": {"id": "not-a-uuid"}},
        headers=mine.owner.headers,
    )

    assert own.json() == {"data": {"organization": {"id": str(mine.id), "name": "Mine"}}}
    assert other.json() == {"data": {"organization": None}}
    assert nonsense.json() == {"data": {"organization": None}}


async def test_tampered_and_expired_tokens_are_unauthenticated(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    user = await factory.user()
    header, payload, signature = user.token.split(".")
    tampered = f"{header}.{payload}.{signature[:-2]}xx"
    expired = TokenService(
        services.settings.jwt_secret.get_secret_value(),
        ttl=timedelta(seconds=-60),
        leeway=timedelta(0),
    ).issue(user_id=user.id, email=user.email, session_id=uuid.uuid4())

    for token in (tampered, expired.token, "not-a-jwt"):
        response = await client.post(
            "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"}
        )
        body = response.json()
        assert body["data"] is None
        assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
        assert token not in response.text
