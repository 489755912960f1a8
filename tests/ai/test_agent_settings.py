"""The agent settings over GraphQL: members read them, owners and admins change them."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from atende.ai.errors import InvalidAgentSetting
from atende.ai.service import AgentSettings, validate_changes
from atende.api.schema import build_schema
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
        ({"followUpMessage": "Oi?"}, "followUpAfterMinutes"),
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


CURRENT = AgentSettings(
    id=uuid.uuid4(),
    organization_id=uuid.uuid4(),
    name="Assistente",
    system_prompt="Você é o assistente.",
    model="gpt-4o-mini",
    temperature=0.3,
    history_messages=20,
    history_tokens=None,
    debounce_seconds=3,
    fallback_message="Desculpe.",
    handoff_message="Já chamo alguém.",
    inactivity_hours=24,
    follow_up_message=None,
    follow_up_after_minutes=None,
    ai_enabled=True,
    created_at=datetime.now(UTC),
    updated_at=datetime.now(UTC),
)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"temperature": 2.01}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": math.nan}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"system_prompt": "   "}, "system_prompt"),
        ({"system_prompt": None}, "system_prompt"),
        ({"system_prompt": "x" * 20001}, "system_prompt"),
        ({"model": "gpt 4o"}, "model"),
        ({"model": "-gpt"}, "model"),
        ({"model": "m" * 129}, "model"),
        ({"name": "x" * 81}, "name"),
        ({"name": ""}, "name"),
        ({"history_messages": 0}, "history_messages"),
        ({"history_messages": 201}, "history_messages"),
        ({"history_tokens": 50}, "history_tokens"),
        ({"debounce_seconds": -1}, "debounce_seconds"),
        ({"debounce_seconds": 121}, "debounce_seconds"),
        ({"inactivity_hours": 0}, "inactivity_hours"),
        ({"inactivity_hours": 721}, "inactivity_hours"),
        ({"fallback_message": ""}, "fallback_message"),
        ({"handoff_message": "x" * 1601}, "handoff_message"),
        ({"follow_up_message": "Oi?"}, "follow_up_after_minutes"),
        ({"follow_up_after_minutes": 30}, "follow_up_message"),
        ({"follow_up_message": "Oi?", "follow_up_after_minutes": 4}, "follow_up_after_minutes"),
        ({"follow_up_message": "Oi?", "follow_up_after_minutes": 1381}, "follow_up_after_minutes"),
        ({"ai_enabled": None}, "ai_enabled"),
    ],
)
def test_each_rule_of_the_database_is_checked_first_with_a_message(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidAgentSetting) as raised:
        validate_changes(CURRENT, changes)
    assert raised.value.setting == field
    assert raised.value.user_message


def test_valid_changes_are_normalised() -> None:
    assert validate_changes(
        CURRENT,
        {
            "name": "  Bia ",
            "temperature": 1,
            "model": " qwen2.5:7b ",
            "history_tokens": None,
            "follow_up_message": "  Ainda aí? ",
            "follow_up_after_minutes": 5,
        },
    ) == {
        "name": "Bia",
        "temperature": 1.0,
        "model": "qwen2.5:7b",
        "history_tokens": None,
        "follow_up_message": "Ainda aí?",
        "follow_up_after_minutes": 5,
    }
    # Clearing one half of a configured pair needs the other half too.
    configured = CURRENT.model_copy(
        update={"follow_up_message": "Oi?", "follow_up_after_minutes": 10}
    )
    with pytest.raises(InvalidAgentSetting):
        validate_changes(configured, {"follow_up_message": None})
    assert validate_changes(
        configured, {"follow_up_message": "", "follow_up_after_minutes": None}
    ) == {"follow_up_message": None, "follow_up_after_minutes": None}


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
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


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


def test_the_agent_types_fields_and_arguments_say_what_they_are() -> None:
    schema = build_schema()._schema
    undescribed = []
    for name in ("Agent", "UpdateAgentInput", "UpdateAgentSuccess", "UpdateAgentResult"):
        graphql_type = schema.type_map[name]
        if not graphql_type.description:
            undescribed.append(name)
        for field_name, field in getattr(graphql_type, "fields", {}).items():
            if not field.description:
                undescribed.append(f"{name}.{field_name}")
    assert schema.query_type is not None
    assert schema.mutation_type is not None
    for root, field_name in ((schema.query_type, "agent"), (schema.mutation_type, "updateAgent")):
        field = root.fields[field_name]
        if not field.description:
            undescribed.append(field_name)
        undescribed += [
            f"{field_name}({argument})"
            for argument, definition in field.args.items()
            if not definition.description
        ]
    assert undescribed == []
