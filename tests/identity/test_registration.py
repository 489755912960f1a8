"""Registering an organization: the organization, its owner, and a signed-in session."""

from __future__ import annotations

import httpx
import pytest

from atende.services import Services
from tests.identity.graphql import MEMBERS, REGISTER, VIEWER, execute, register, registration
from tests.identity.state import NOTHING, identity_rows


async def test_registration_creates_the_organization_its_owner_and_a_session(
    client: httpx.AsyncClient,
) -> None:
    result = await register(client, email="  Dona.Maria@Example.com ")

    assert result["organization"]["name"] == "Padaria Pão Quente"
    assert result["user"]["email"] == "dona.maria@example.com"
    assert result["user"]["fullName"] == "Maria da Silva"
    token = result["session"]["accessToken"]
    viewer = (await execute(client, VIEWER, token=token))["viewer"]
    assert viewer["user"]["id"] == result["user"]["id"]
    assert viewer["memberships"] == [
        {
            "role": "OWNER",
            "organization": {
                "id": result["organization"]["id"],
                "name": "Padaria Pão Quente",
            },
        }
    ]
    members = await execute(client, MEMBERS, {"id": result["organization"]["id"]}, token=token)
    assert members["organization"]["members"] == [
        {
            "role": "OWNER",
            "user": {"email": "dona.maria@example.com", "fullName": "Maria da Silva"},
        }
    ]


async def test_the_owner_password_is_stored_as_supabase_auth_stores_it(
    client: httpx.AsyncClient, services: Services
) -> None:
    result = await register(client)

    async with services.database.pool.connection() as conn:
        row = await (
            await conn.execute(
                "select email, encrypted_password, email_confirmed_at is not null as confirmed,"
                " raw_user_meta_data from auth.users where id = %s",
                [result["user"]["id"]],
            )
        ).fetchone()
    assert row is not None
    assert row["email"] == "dona.maria@example.com"
    assert row["encrypted_password"].startswith("$2a$10$")
    assert row["confirmed"] is True
    assert row["raw_user_meta_data"] == {"full_name": "Maria da Silva"}


@pytest.mark.parametrize("email", ["dona.maria@example.com", "DONA.MARIA@EXAMPLE.COM"])
async def test_an_email_registers_once_whatever_its_case(
    client: httpx.AsyncClient, services: Services, email: str
) -> None:
    await register(client)
    before = await identity_rows(services)

    data = await execute(client, REGISTER, registration(email=email, organization_name="Outra"))

    assert data["registerOrganization"]["__typename"] == "EmailAlreadyRegistered"
    assert data["registerOrganization"]["message"]
    assert await identity_rows(services) == before


BAD_INPUT = [
    ({"password": "curta"}, "password"),
    ({"password": "x" * 73}, "password"),
    ({"email": "maria"}, "email"),
    ({"email": "maria@padaria"}, "email"),
    ({"email": "maria silva@padaria.com"}, "email"),
    ({"email": ""}, "email"),
    ({"organization_name": "   "}, "organizationName"),
    ({"organization_name": "x" * 121}, "organizationName"),
    ({"full_name": ""}, "fullName"),
]


async def test_bad_input_is_a_validation_error_naming_the_field(
    client: httpx.AsyncClient, services: Services
) -> None:
    for fields, field in BAD_INPUT:
        data = await execute(client, REGISTER, registration(**fields))

        result = data["registerOrganization"]
        assert (result["__typename"], result["field"]) == ("ValidationError", field), fields
        assert result["message"]
    assert await identity_rows(services) == NOTHING
