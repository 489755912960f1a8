"""The channel API: owners and admins add and change channels and templates (RLS
decides), tokens go in encrypted and never come out, members send templates."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from atende.config import Settings
from atende.db.session import Caller
from atende.services import Services
from tests import factories
from tests.channels.world import fetch_all, fetch_one, make_channel, open_conversation
from tests.factories import Factory
from tests.twilio_fixtures import RunningSimulator

ACCOUNT = "AC" + "a1" * 16
TOKEN = "f" * 32
CONTENT_SID = "HX" + "b2" * 16
NUMBER = "+5511987654321"


@pytest.fixture
def settings(settings: Settings, twilio_simulator: RunningSimulator) -> Settings:
    """The API asks the simulator, where ``ACCOUNT`` has ``NUMBER`` for WhatsApp and SMS
    (channels are verified with Twilio before they are stored)."""
    twilio_simulator.simulator.add_account(ACCOUNT, numbers=[f"whatsapp:{NUMBER}", NUMBER])
    return settings.model_copy(update={"twilio_api_base_url": twilio_simulator.base_url})


CREATE = """
mutation ($input: CreateChannelInput!) {
  createChannel(input: $input) {
    __typename
    ... on CreateChannelSuccess {
      channel { id kind phoneNumber displayName twilioAccountSid enabled }
    }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""
UPDATE = """
mutation ($input: UpdateChannelInput!) {
  updateChannel(input: $input) {
    __typename
    ... on UpdateChannelSuccess { channel { id displayName enabled twilioAccountSid } }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""
DISABLE = """
mutation ($input: DisableChannelInput!) {
  disableChannel(input: $input) {
    __typename
    ... on DisableChannelSuccess { channel { id enabled } }
  }
}
"""
CHANNELS = """
query ($id: ID!) {
  organization(id: $id) {
    channels {
      id kind phoneNumber enabled
      templates { name contentSid language variables { key name } }
    }
  }
}
"""
CREATE_TEMPLATE = """
mutation ($input: CreateChannelTemplateInput!) {
  createChannelTemplate(input: $input) {
    __typename
    ... on ChannelTemplateSuccess {
      template { id name contentSid language body variables { key name } }
    }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""
UPDATE_TEMPLATE = """
mutation ($input: UpdateChannelTemplateInput!) {
  updateChannelTemplate(input: $input) {
    __typename
    ... on ChannelTemplateSuccess { template { id name body } }
  }
}
"""
DELETE_TEMPLATE = """
mutation ($input: DeleteChannelTemplateInput!) {
  deleteChannelTemplate(input: $input) {
    __typename
    ... on DeleteChannelTemplateSuccess { templateId }
  }
}
"""
SEND_TEMPLATE = """
mutation ($input: SendTemplateInput!) {
  sendTemplate(input: $input) {
    __typename
    ... on SendTemplateSuccess { templateMessage { id conversationId body status } }
    ... on SendRefused { reason message }
    ... on ValidationError { field message }
  }
}
"""


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any],
    user: factories.TestUser | None = None,
) -> dict[str, Any]:
    answer = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers=user.headers if user else {},
    )
    assert answer.status_code == 200, answer.text
    payload: dict[str, Any] = answer.json()
    assert "errors" not in payload, payload["errors"]
    data: dict[str, Any] = payload["data"]
    return data


def channel_input(organization: factories.TestOrganization, **changes: Any) -> dict[str, Any]:
    return {
        "input": {
            "organizationId": str(organization.id),
            "kind": "WHATSAPP",
            "phoneNumber": "(11) 98765-4321",
            "twilioAccountSid": ACCOUNT,
            "twilioAuthToken": TOKEN,
            **changes,
        }
    }


async def test_an_owner_adds_a_channel_normalised_with_its_token_encrypted(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    organization = await factory.organization()

    data = await graphql(client, CREATE, channel_input(organization), organization.owner)

    result = data["createChannel"]
    assert result["__typename"] == "CreateChannelSuccess"
    assert result["channel"]["kind"] == "WHATSAPP"
    assert result["channel"]["phoneNumber"] == "+5511987654321"
    assert result["channel"]["enabled"] is True
    row = await fetch_one(services, "select twilio_auth_token_ciphertext from public.channels")
    assert TOKEN not in row["twilio_auth_token_ciphertext"]
    assert services.cipher.decrypt(row["twilio_auth_token_ciphertext"]).get_secret_value() == TOKEN

    listed = await graphql(client, CHANNELS, {"id": str(organization.id)}, organization.owner)
    assert [c["phoneNumber"] for c in listed["organization"]["channels"]] == ["+5511987654321"]


async def test_the_token_is_never_readable_by_clients(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    organization = await factory.organization()
    await graphql(client, CREATE, channel_input(organization), organization.owner)
    introspection = await graphql(
        client, '{ __type(name: "Channel") { fields { name } } }', {}, organization.owner
    )
    names = {field["name"] for field in introspection["__type"]["fields"]}
    assert not {name for name in names if "token" in name.lower()}
    with pytest.raises(Exception, match="permission denied"):
        async with services.database.transaction(Caller.user(organization.owner.claims)) as conn:
            await conn.execute("select twilio_auth_token_ciphertext from public.channels")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phoneNumber": "123"}, "phoneNumber"),
        ({"twilioAccountSid": "AB123"}, "twilioAccountSid"),
        ({"twilioAuthToken": "short"}, "twilioAuthToken"),
        ({"organizationId": "not-a-uuid"}, "organizationId"),
    ],
)
async def test_invalid_input_is_a_validation_error(
    client: httpx.AsyncClient,
    services: Services,
    factory: Factory,
    changes: dict[str, Any],
    field: str,
) -> None:
    organization = await factory.organization()
    data = await graphql(client, CREATE, channel_input(organization, **changes), organization.owner)
    assert data["createChannel"]["__typename"] == "ValidationError"
    assert data["createChannel"]["field"] == field
    assert await fetch_all(services, "select id from public.channels") == []


async def test_a_number_is_one_channel_per_kind_and_twilio_account(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    first, second = await factory.organization(), await factory.organization()
    await graphql(client, CREATE, channel_input(first), first.owner)

    again = await graphql(
        client, CREATE, channel_input(second, phoneNumber="+55 11 98765-4321"), second.owner
    )
    as_sms = await graphql(client, CREATE, channel_input(second, kind="SMS"), second.owner)

    assert again["createChannel"]["__typename"] == "ChannelAlreadyExists"
    assert as_sms["createChannel"]["__typename"] == "CreateChannelSuccess"


async def test_agents_and_strangers_cannot_add_channels(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    organization = await factory.organization()
    agent = await factory.member(organization, role="agent")
    stranger = (await factory.organization()).owner

    as_agent = await graphql(client, CREATE, channel_input(organization), agent)
    as_stranger = await graphql(client, CREATE, channel_input(organization), stranger)
    anonymous = await client.post(
        "/graphql", json={"query": CREATE, "variables": channel_input(organization)}
    )

    assert as_agent["createChannel"]["__typename"] == "Forbidden"
    assert as_stranger["createChannel"]["__typename"] == "NotFound"
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await fetch_all(services, "select id from public.channels") == []


async def test_admins_update_and_disable_channels_and_the_cache_forgets(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    organization = await factory.organization()
    admin = await factory.member(organization, role="admin")
    agent = await factory.member(organization, role="agent")
    created = await graphql(client, CREATE, channel_input(organization), organization.owner)
    channel_id = created["createChannel"]["channel"]["id"]

    renamed = await graphql(
        client,
        UPDATE,
        {"input": {"channelId": channel_id, "displayName": "Loja", "twilioAuthToken": "e" * 32}},
        admin,
    )
    by_agent = await graphql(
        client, UPDATE, {"input": {"channelId": channel_id, "displayName": "X"}}, agent
    )
    disabled = await graphql(client, DISABLE, {"input": {"channelId": channel_id}}, admin)

    assert renamed["updateChannel"]["__typename"] == "UpdateChannelSuccess", renamed
    assert renamed["updateChannel"]["channel"]["displayName"] == "Loja"
    assert by_agent["updateChannel"]["__typename"] == "Forbidden"
    assert disabled["disableChannel"] == {
        "__typename": "DisableChannelSuccess",
        "channel": {"id": channel_id, "enabled": False},
    }
    row = await fetch_one(
        services, "select display_name, enabled, twilio_auth_token_ciphertext from channels"
    )
    assert (row["display_name"], row["enabled"]) == ("Loja", False)
    assert (
        services.cipher.decrypt(row["twilio_auth_token_ciphertext"]).get_secret_value() == "e" * 32
    )


async def test_templates_crud_for_managers_read_for_members(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    channel = await make_channel(services, factory)
    owner = channel.organization.owner
    agent = await factory.member(channel.organization, role="agent")
    template_input = {
        "channelId": str(channel.id),
        "name": "pedido_pronto",
        "contentSid": CONTENT_SID,
        "variables": [{"key": "1", "name": "nome"}, {"key": "2", "name": "pedido"}],
        "body": "Olá {{1}}, seu pedido {{2}} está pronto!",
    }

    created = await graphql(client, CREATE_TEMPLATE, {"input": template_input}, owner)
    duplicate = await graphql(client, CREATE_TEMPLATE, {"input": template_input}, owner)
    by_agent = await graphql(
        client, CREATE_TEMPLATE, {"input": {**template_input, "name": "outro"}}, agent
    )
    invalid = await graphql(
        client, CREATE_TEMPLATE, {"input": {**template_input, "contentSid": "XX1"}}, owner
    )

    template = created["createChannelTemplate"]["template"]
    assert template["language"] == "pt_BR"
    assert template["variables"] == [{"key": "1", "name": "nome"}, {"key": "2", "name": "pedido"}]
    assert duplicate["createChannelTemplate"]["__typename"] == "ChannelTemplateAlreadyExists"
    assert by_agent["createChannelTemplate"]["__typename"] == "Forbidden"
    assert invalid["createChannelTemplate"]["field"] == "contentSid"

    listed = await graphql(client, CHANNELS, {"id": str(channel.organization.id)}, agent)
    [listed_channel] = listed["organization"]["channels"]
    assert [t["name"] for t in listed_channel["templates"]] == ["pedido_pronto"]

    updated = await graphql(
        client, UPDATE_TEMPLATE, {"input": {"templateId": template["id"], "name": "pronto"}}, owner
    )
    assert updated["updateChannelTemplate"]["template"]["name"] == "pronto"
    assert updated["updateChannelTemplate"]["template"]["body"] == template_input["body"]
    deleted = await graphql(
        client, DELETE_TEMPLATE, {"input": {"templateId": template["id"]}}, owner
    )
    assert deleted["deleteChannelTemplate"]["templateId"] == template["id"]
    assert await fetch_all(services, "select id from channel_templates") == []


async def test_a_member_sends_a_template_outside_the_window(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    channel = await make_channel(services, factory)
    owner = channel.organization.owner
    agent = await factory.member(channel.organization, role="agent")
    created = await graphql(
        client,
        CREATE_TEMPLATE,
        {
            "input": {
                "channelId": str(channel.id),
                "name": "lembrete",
                "contentSid": CONTENT_SID,
                "variables": [{"key": "1", "name": "nome"}],
                "body": "Olá {{1}}, tudo bem?",
            }
        },
        owner,
    )
    template_id = created["createChannelTemplate"]["template"]["id"]
    conversation = await open_conversation(services, channel, inbound_hours_ago=72)

    def send(variables: list[dict[str, str]], template: str = template_id) -> dict[str, Any]:
        return {
            "input": {
                "conversationId": str(conversation),
                "templateId": template,
                "variables": variables,
            }
        }

    missing = await graphql(client, SEND_TEMPLATE, send([]), agent)
    extra = await graphql(
        client,
        SEND_TEMPLATE,
        send([{"key": "1", "value": "Ana"}, {"key": "9", "value": "x"}]),
        agent,
    )
    unknown = await graphql(client, SEND_TEMPLATE, send([], str(uuid.uuid4())), agent)
    sent = await graphql(client, SEND_TEMPLATE, send([{"key": "1", "value": "Ana"}]), agent)

    assert missing["sendTemplate"]["__typename"] == "ValidationError"
    assert "1" in missing["sendTemplate"]["message"]
    assert extra["sendTemplate"]["__typename"] == "ValidationError"
    assert unknown["sendTemplate"]["__typename"] == "NotFound"
    message = sent["sendTemplate"]["templateMessage"]
    assert (message["body"], message["status"]) == ("Olá Ana, tudo bem?", "queued")
    row = await fetch_one(
        services,
        "select author::text, author_member_id, metadata from messages where id = %s",
        [uuid.UUID(message["id"])],
    )
    assert (row["author"], row["author_member_id"]) == ("member", agent.id)
    assert row["metadata"]["content_sid"] == CONTENT_SID
    assert row["metadata"]["content_variables"] == {"1": "Ana"}
    jobs = await fetch_all(
        services,
        "select args from procrastinate.procrastinate_jobs"
        " where task_name = 'channels:send_message'",
    )
    assert jobs == [{"args": {"message_id": message["id"]}}]

    async with services.database.transaction(Caller.service()) as conn:
        await conn.execute("update public.contacts set opted_out_at = now()")
    refused = await graphql(client, SEND_TEMPLATE, send([{"key": "1", "value": "Ana"}]), agent)
    assert refused["sendTemplate"]["__typename"] == "SendRefused"
    assert refused["sendTemplate"]["reason"] == "CONTACT_OPTED_OUT"

    stranger = (await factory.organization()).owner
    hidden = await graphql(client, SEND_TEMPLATE, send([{"key": "1", "value": "Ana"}]), stranger)
    assert hidden["sendTemplate"]["__typename"] == "NotFound"
