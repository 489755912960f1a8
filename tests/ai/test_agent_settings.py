"""The agent settings over GraphQL: members read them, owners and admins change them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from atende.services import Services
from tests import factories
from tests.factories import Factory, ReplyFactory

AGENT = """
query ($organizationId: ID!) {
  agent(organizationId: $organizationId) {
    organizationId name systemPrompt model temperature historyMessages historyTokens
    debounceSeconds fallbackMessage handoffMessage inactivityHours followUpMessage
    followUpAfterMinutes aiEnabled
  }
}
"""

UPDATE_AGENT = """
mutation ($input: UpdateAgentInput!) {
  updateAgent(input: $input) {
    __typename
    ... on UpdateAgentSuccess {
      agent { name systemPrompt model temperature historyMessages historyTokens debounceSeconds
              followUpMessage followUpAfterMinutes aiEnabled inactivityHours }
    }
    ... on ValidationError { field message }
    ... on NotFound { message }
    ... on Forbidden { message }
  }
}
"""


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any],
    user: factories.TestUser | None,
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers=user.headers if user else {},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def update(
    client: httpx.AsyncClient, user: factories.TestUser, organization_id: object, **fields: Any
) -> dict[str, Any]:
    body = await graphql(
        client,
        UPDATE_AGENT,
        {"input": {"organizationId": str(organization_id), **fields}},
        user,
    )
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["updateAgent"]
    return result


async def test_members_read_their_organizations_agent_with_the_pt_br_defaults(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    member = await factory.member(organization, role="agent")

    body = await graphql(client, AGENT, {"organizationId": str(organization.id)}, member)

    agent = body["data"]["agent"]
    assert agent["organizationId"] == str(organization.id)
    assert agent["model"] == "gpt-4o-mini"
    assert agent["temperature"] == 0.3
    assert agent["debounceSeconds"] == 3
    assert agent["fallbackMessage"].startswith("Desculpe, estamos com dificuldades técnicas")
    assert agent["followUpMessage"] is None
    assert agent["aiEnabled"] is True


async def test_the_agent_of_another_organization_or_of_nobody_is_null(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    mine = await factory.organization(name="Mine")
    theirs = await factory.organization(name="Theirs")
    variables = {"organizationId": str(theirs.id)}

    assert (await graphql(client, AGENT, variables, mine.owner))["data"] == {"agent": None}
    assert (await graphql(client, AGENT, variables, None))["data"] == {"agent": None}
    assert (await graphql(client, AGENT, {"organizationId": "not-a-uuid"}, mine.owner))["data"] == {
        "agent": None
    }


@pytest.mark.parametrize("role", ["owner", "admin"])
async def test_owners_and_admins_change_the_settings_they_send(
    client: httpx.AsyncClient, factory: Factory, role: str
) -> None:
    organization = await factory.organization()
    user = organization.owner if role == "owner" else await factory.member(organization, "admin")

    result = await update(
        client,
        user,
        organization.id,
        name="  Bia  ",
        systemPrompt="Você é a Bia, da Padaria Pão Quente.",
        model="llama3.2",
        temperature=0.755,
        historyTokens=2000,
        followUpMessage="Ainda posso ajudar?",
        followUpAfterMinutes=30,
    )

    assert result == {
        "__typename": "UpdateAgentSuccess",
        "agent": {
            "name": "Bia",
            "systemPrompt": "Você é a Bia, da Padaria Pão Quente.",
            "model": "llama3.2",
            "temperature": 0.76,
            "historyMessages": 20,
            "historyTokens": 2000,
            "debounceSeconds": 3,
            "followUpMessage": "Ainda posso ajudar?",
            "followUpAfterMinutes": 30,
            "aiEnabled": True,
            "inactivityHours": 24,
        },
    }
    # Nulls clear what may be cleared; untouched fields stay.
    cleared = await update(
        client,
        user,
        organization.id,
        historyTokens=None,
        followUpMessage=None,
        followUpAfterMinutes=None,
        aiEnabled=False,
    )
    agent = cleared["agent"]
    assert (agent["historyTokens"], agent["followUpMessage"], agent["followUpAfterMinutes"]) == (
        None,
        None,
        None,
    )
    assert agent["aiEnabled"] is False
    assert agent["name"] == "Bia"


async def test_a_plain_member_is_forbidden_and_nothing_changes(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    member = await factory.member(organization, role="agent")

    result = await update(client, member, organization.id, temperature=1.5)

    assert result["__typename"] == "Forbidden"
    assert result["message"]
    agent = (await graphql(client, AGENT, {"organizationId": str(organization.id)}, member))[
        "data"
    ]["agent"]
    assert agent["temperature"] == 0.3


async def test_another_organizations_agent_is_not_found(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    mine = await factory.organization(name="Mine")
    theirs = await factory.organization(name="Theirs")

    assert (await update(client, mine.owner, theirs.id, aiEnabled=False))["__typename"] == (
        "NotFound"
    )
    assert (await update(client, mine.owner, "nope", aiEnabled=False))["__typename"] == "NotFound"
    agent = (await graphql(client, AGENT, {"organizationId": str(theirs.id)}, theirs.owner))[
        "data"
    ]["agent"]
    assert agent["aiEnabled"] is True


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"systemPrompt": "   "}, "systemPrompt"),
        ({"systemPrompt": None}, "systemPrompt"),
        ({"model": "gpt 4o"}, "model"),
        ({"model": "-gpt"}, "model"),
        ({"name": "x" * 81}, "name"),
        ({"historyMessages": 0}, "historyMessages"),
        ({"historyMessages": 201}, "historyMessages"),
        ({"historyTokens": 50}, "historyTokens"),
        ({"debounceSeconds": -1}, "debounceSeconds"),
        ({"debounceSeconds": 121}, "debounceSeconds"),
        ({"inactivityHours": 0}, "inactivityHours"),
        ({"fallbackMessage": ""}, "fallbackMessage"),
        ({"handoffMessage": "x" * 1601}, "handoffMessage"),
        ({"followUpMessage": "Oi?"}, "followUpAfterMinutes"),
        ({"followUpAfterMinutes": 30}, "followUpMessage"),
        ({"followUpMessage": "Oi?", "followUpAfterMinutes": 4}, "followUpAfterMinutes"),
        ({"aiEnabled": None}, "aiEnabled"),
    ],
)
async def test_invalid_settings_name_the_field_and_change_nothing(
    client: httpx.AsyncClient, factory: Factory, fields: dict[str, Any], field: str
) -> None:
    organization = await factory.organization()

    result = await update(client, organization.owner, organization.id, **{"name": "Novo", **fields})

    assert result["__typename"] == "ValidationError"
    assert result["field"] == field
    assert result["message"]
    agent = (
        await graphql(client, AGENT, {"organizationId": str(organization.id)}, organization.owner)
    )["data"]["agent"]
    assert agent["name"] == "Assistente"


async def test_anonymous_callers_must_sign_in_to_change_an_agent(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()

    body = await graphql(
        client,
        UPDATE_AGENT,
        {"input": {"organizationId": str(organization.id), "aiEnabled": False}},
        None,
    )

    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == "You must be signed in to do this."


async def test_switching_the_agent_off_stops_reply_jobs_for_new_messages(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    """Ingest reads the row the mutation wrote."""
    organization = await factory.organization()
    replies = ReplyFactory(services)
    channel = await replies.channel(organization)
    assert (await replies.inbound(channel, "oi")).reply_job_id is not None

    await update(client, organization.owner, organization.id, aiEnabled=False)

    assert (await replies.inbound(channel, "alô?")).reply_job_id is None
