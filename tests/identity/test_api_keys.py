"""API keys: made and revoked by owners and admins, shown once, acting for one organization
with their role under row-level security, refused within seconds of their revocation,
rate-limited, and recording their use without a write per request."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from starlette.applications import Starlette
from websockets.exceptions import ConnectionClosed

from atende.api.view import CLOSE_API_KEY_REVOKED
from atende.app import create_app
from atende.config import Settings
from atende.db.session import Caller, Database
from atende.identity.api_keys import ApiKeys
from atende.identity.sessions import token_digest
from atende.services import Services
from tests import factories
from tests.factories import Factory
from tests.graphql.client import data, error_codes, graphql
from tests.graphql.live import GraphQLSocket, LiveServer, graphql_socket, live_server

#: The check delay these tests run with (the default is 5 s).
CHECK_SECONDS = 1.0

CREATE = """
mutation ($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    __typename
    ... on CreateApiKeySuccess {
      apiKey { id name role prefix createdAt lastUsedAt revokedAt createdBy { id } }
      secret
    }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""

REVOKE = """
mutation ($id: ID!) {
  revokeApiKey(input: {apiKeyId: $id}) {
    __typename
    ... on RevokeApiKeySuccess { apiKey { id revokedAt } }
    ... on UserError { message }
  }
}
"""

KEYS = """
query ($id: ID!) { organization(id: $id) { apiKeys { id name role prefix lastUsedAt revokedAt } } }
"""

ORGANIZATION = "query ($id: ID!) { organization(id: $id) { id name members { role } } }"

INBOX = """
query ($id: ID!) { organization(id: $id) { conversations(first: 10) { edges { node { id } } } } }
"""

SEND = """
mutation ($input: SendMessageInput!) {
  sendMessage(input: $input) {
    __typename
    ... on SendMessageSuccess { reply { body author authorMember { id } } }
    ... on UserError { message }
  }
}
"""

UPDATE_AGENT = """
mutation ($id: ID!) {
  updateAgent(input: {organizationId: $id, name: "Robô"}) {
    __typename
    ... on UpdateAgentSuccess { agent { name } }
    ... on UserError { message }
  }
}
"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"session_check_seconds": CHECK_SECONDS})


@dataclass(frozen=True)
class Key:
    id: str
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}

    def as_user(self) -> factories.TestUser:
        """The key where the shared helpers take a user (they only send its headers)."""
        return factories.TestUser(id=uuid.UUID(self.id), email="", full_name="", token=self.secret)


async def create_key(
    client: httpx.AsyncClient,
    organization: factories.TestOrganization,
    *,
    by: factories.TestUser | None = None,
    role: str = "AGENT",
    name: str = "CRM",
) -> Key:
    result = (
        await data(
            client,
            CREATE,
            {"input": {"organizationId": str(organization.id), "name": name, "role": role}},
            user=by or organization.owner,
        )
    )["createApiKey"]
    assert result["__typename"] == "CreateApiKeySuccess", result
    return Key(id=result["apiKey"]["id"], secret=result["secret"])


async def codes_with(
    client: httpx.AsyncClient, key: Key, organization: factories.TestOrganization
) -> Any:
    """The error codes of an organization query made with ``key`` ([] when answered)."""
    response = await client.post(
        "/graphql",
        json={"query": ORGANIZATION, "variables": {"id": str(organization.id)}},
        headers=key.headers,
    )
    return error_codes(response.json())


def uses_recorded(database_url: str, key_id: str) -> int:
    """The key's uses in the shared counters (read as the database's owner)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "select coalesce(sum(attempts), 0)::integer from private.rate_limit_counters"
            " where action = 'api_key' and key = %s",
            [key_id],
        ).fetchone()
    assert row is not None
    return int(row[0])


# -- Making keys ---------------------------------------------------------------------------


async def test_an_owner_makes_a_key_whose_secret_is_shown_once(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    organization = await factory.organization()

    result = (
        await data(
            client,
            CREATE,
            {"input": {"organizationId": str(organization.id), "name": "  Planilha  "}},
            user=organization.owner,
        )
    )["createApiKey"]

    secret = result["secret"]
    api_key = result["apiKey"]
    assert secret.startswith("atende_")
    assert len(secret) == 50
    assert api_key["name"] == "Planilha"
    assert api_key["role"] == "AGENT"  # the least, unless asked
    assert api_key["prefix"] == secret[:15]
    assert api_key["lastUsedAt"] is None
    assert api_key["revokedAt"] is None
    assert api_key["createdBy"] == {"id": str(organization.owner.id)}
    listed = await data(client, KEYS, {"id": str(organization.id)}, user=organization.owner)
    assert [k["id"] for k in listed["organization"]["apiKeys"]] == [api_key["id"]]
    assert secret not in str(listed)
    row = await services.database.fetch_one(
        Caller.service(),
        "select secret_digest, k::text as everything from public.api_keys as k",
    )
    assert row is not None
    assert row["secret_digest"] == token_digest(secret)
    assert secret not in row["everything"]


async def test_who_may_make_keys(client: httpx.AsyncClient, factory: Factory) -> None:
    organization = await factory.organization()
    admin = await factory.member(organization, role="admin")
    agent = await factory.member(organization, role="agent")
    outsider = await factory.user()

    async def attempt(user: factories.TestUser, role: str, name: str = "CRM") -> dict[str, Any]:
        result: dict[str, Any] = (
            await data(
                client,
                CREATE,
                {"input": {"organizationId": str(organization.id), "name": name, "role": role}},
                user=user,
            )
        )["createApiKey"]
        return result

    assert (await attempt(agent, "AGENT"))["__typename"] == "Forbidden"
    assert (await attempt(outsider, "AGENT"))["__typename"] == "NotFound"
    assert (await attempt(admin, "OWNER"))["__typename"] == "Forbidden"
    assert (await attempt(admin, "ADMIN"))["__typename"] == "CreateApiKeySuccess"
    assert (await attempt(organization.owner, "OWNER"))["__typename"] == "CreateApiKeySuccess"
    blank = await attempt(admin, "AGENT", name="  ")
    assert (blank["__typename"], blank["field"]) == ("ValidationError", "name")
    listed = await data(client, KEYS, {"id": str(organization.id)}, user=agent)
    assert listed["organization"]["apiKeys"] == []  # agents see no keys


# -- What a key does -----------------------------------------------------------------------


async def test_a_key_acts_for_its_organization_alone_with_its_role(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    other = await factory.organization(owner=organization.owner)  # the same owner: no matter
    mine = await factory.messaging.conversation(organization)
    await factory.messaging.conversation(other)
    agent_key = await create_key(client, organization, role="AGENT")
    admin_key = await create_key(client, organization, role="ADMIN")

    seen = await data(client, ORGANIZATION, {"id": str(organization.id)}, user=agent_key.as_user())
    assert seen["organization"]["id"] == str(organization.id)
    assert seen["organization"]["members"] == [{"role": "OWNER"}]  # the team, as a member sees it
    unseen = await data(client, ORGANIZATION, {"id": str(other.id)}, user=agent_key.as_user())
    assert unseen == {"organization": None}
    inbox = await data(client, INBOX, {"id": str(organization.id)}, user=agent_key.as_user())
    assert [e["node"]["id"] for e in inbox["organization"]["conversations"]["edges"]] == [str(mine)]
    viewer = await data(client, "{ viewer { user { id } } }", user=agent_key.as_user())
    assert viewer == {"viewer": None}  # a key is nobody

    refused = await data(
        client, UPDATE_AGENT, {"id": str(organization.id)}, user=agent_key.as_user()
    )
    assert refused["updateAgent"]["__typename"] == "Forbidden"
    updated = await data(
        client, UPDATE_AGENT, {"id": str(organization.id)}, user=admin_key.as_user()
    )
    assert updated["updateAgent"] == {"__typename": "UpdateAgentSuccess", "agent": {"name": "Robô"}}
    elsewhere = await data(client, UPDATE_AGENT, {"id": str(other.id)}, user=admin_key.as_user())
    assert elsewhere["updateAgent"]["__typename"] in {"NotFound", "Forbidden"}


async def test_a_keys_reply_is_the_teams_without_a_member(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    organization = await factory.organization()
    conversation = await factory.messaging.conversation(organization)
    key = await create_key(client, organization)

    result = await data(
        client,
        SEND,
        {"input": {"conversationId": str(conversation), "body": "Seu pedido saiu."}},
        user=key.as_user(),
    )

    assert result["sendMessage"] == {
        "__typename": "SendMessageSuccess",
        "reply": {"body": "Seu pedido saiu.", "author": "MEMBER", "authorMember": None},
    }
    row = await services.database.fetch_one(
        Caller.service(),
        "select metadata->>'api_key_id' as key from public.messages where direction = 'outbound'",
    )
    assert row == {"key": key.id}


KNOWLEDGE_ADD = """
mutation ($input: AddKnowledgeDocumentInput!) {
  addKnowledgeDocument(input: $input) {
    __typename
    ... on AddKnowledgeDocumentSuccess { document { id title } }
  }
}
"""

KNOWLEDGE_UPDATE = """
mutation ($input: UpdateKnowledgeDocumentInput!) {
  updateKnowledgeDocument(input: $input) { __typename }
}
"""

KNOWLEDGE_REMOVE = """
mutation ($input: RemoveKnowledgeDocumentInput!) {
  removeKnowledgeDocument(input: $input) { __typename }
}
"""


async def test_an_admin_key_keeps_the_knowledge_base_and_an_agent_key_does_not(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    """A catalogue synced from the business's own system: the key is nobody, so the
    document records no author."""
    organization = await factory.organization()
    other = await factory.organization()
    admin_key = await create_key(client, organization, role="ADMIN")
    agent_key = await create_key(client, organization, role="AGENT")

    async def add(key: Key, organization_id: uuid.UUID) -> dict[str, Any]:
        variables = {
            "input": {
                "organizationId": str(organization_id),
                "title": "Cardápio",
                "content": "Pão francês: R$ 1,00 a unidade.",
            }
        }
        result: dict[str, Any] = (await data(client, KNOWLEDGE_ADD, variables, user=key.as_user()))[
            "addKnowledgeDocument"
        ]
        return result

    added = await add(admin_key, organization.id)
    assert added["__typename"] == "AddKnowledgeDocumentSuccess", added
    document_id = added["document"]["id"]
    assert (await add(agent_key, organization.id))["__typename"] == "Forbidden"
    assert (await add(admin_key, other.id))["__typename"] == "NotFound"
    row = await services.database.fetch_one(
        Caller.service(),
        "select created_by from public.knowledge_documents where id = %s",
        [uuid.UUID(document_id)],
    )
    assert row == {"created_by": None}

    edit = {"input": {"documentId": document_id, "title": "Cardápio de pães"}}
    updated = await data(client, KNOWLEDGE_UPDATE, edit, user=admin_key.as_user())
    assert updated["updateKnowledgeDocument"]["__typename"] == "UpdateKnowledgeDocumentSuccess"
    gone = {"input": {"documentId": document_id}}
    refused = await data(client, KNOWLEDGE_REMOVE, gone, user=agent_key.as_user())
    assert refused["removeKnowledgeDocument"]["__typename"] == "Forbidden"
    removed = await data(client, KNOWLEDGE_REMOVE, gone, user=admin_key.as_user())
    assert removed["removeKnowledgeDocument"]["__typename"] == "RemoveKnowledgeDocumentSuccess"


async def test_a_key_manages_neither_keys_nor_people_nor_a_persons_account(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    """What only a person does is refused (a typed result or an error with its code), never
    an internal error, and changes nothing."""
    organization = await factory.organization()
    agent = await factory.member(organization)
    conversation = await factory.messaging.conversation(organization)
    key = await create_key(client, organization, role="OWNER")
    me = key.as_user()
    org, person = str(organization.id), str(agent.id)

    attempts = {
        "createApiKey": (
            'mutation ($o: ID!) { createApiKey(input: {organizationId: $o, name: "x"}) '
            "{ __typename } }"
        ),
        "revokeApiKey": (
            f'mutation {{ revokeApiKey(input: {{apiKeyId: "{key.id}"}}) {{ __typename }} }}'
        ),
        "updateMemberRole": (
            "mutation ($o: ID!, $p: ID!) { updateMemberRole(input: {organizationId: $o, "
            "userId: $p, role: ADMIN}) { __typename } }"
        ),
        "removeMember": (
            "mutation ($o: ID!, $p: ID!) { removeMember(input: {organizationId: $o, "
            "userId: $p}) { __typename } }"
        ),
        "inviteMember": (
            "mutation ($o: ID!) { inviteMember(input: {organizationId: $o, "
            'email: "novo@example.com"}) { __typename } }'
        ),
        "markConversationRead": (
            f'mutation {{ markConversationRead(input: {{conversationId: "{conversation}"}}) '
            "{ __typename } }"
        ),
        "signOut": "mutation { signOut { revoked } }",
        "resendVerificationEmail": "mutation { resendVerificationEmail { __typename } }",
        "changePassword": (
            'mutation { changePassword(input: {currentPassword: "x", newPassword: '
            '"uma-senha-nova-42"}) { __typename } }'
        ),
    }
    outcomes = {}
    for name, query in attempts.items():
        body = await graphql(client, query, {"o": org, "p": person}, user=me)
        assert "INTERNAL_SERVER_ERROR" not in error_codes(body), (name, body)
        answer = (body.get("data") or {}).get(name) or {}
        outcomes[name] = answer.get("__typename", answer.get("revoked", error_codes(body)))

    assert outcomes["createApiKey"] == "Forbidden"
    assert outcomes["revokeApiKey"] == "Forbidden"
    assert outcomes["updateMemberRole"] == "Forbidden"
    assert outcomes["removeMember"] == "Forbidden"
    assert outcomes["inviteMember"] in {"NotFound", "Forbidden"}
    assert outcomes["markConversationRead"] == "NotFound"  # a key has no read position
    assert outcomes["signOut"] is False
    assert outcomes["resendVerificationEmail"] == ["NOT_FOUND"]
    assert outcomes["changePassword"] == "InvalidCredentials"
    counts = await services.database.fetch_one(
        Caller.service(),
        "select (select count(*) from public.api_keys) as keys,"
        " (select count(*) from public.invitations) as invitations,"
        " (select count(*) from public.memberships where role = 'agent') as agents",
    )
    assert counts == {"keys": 1, "invitations": 0, "agents": 1}


# -- Revocation ----------------------------------------------------------------------------


async def test_a_revoked_key_is_refused_at_once_by_the_process_that_revoked_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    key = await create_key(client, organization)
    other = await create_key(client, organization, name="ERP")
    assert await codes_with(client, key, organization) == []

    result = await data(client, REVOKE, {"id": key.id}, user=organization.owner)

    assert result["revokeApiKey"]["apiKey"]["revokedAt"] is not None
    assert await codes_with(client, key, organization) == ["UNAUTHENTICATED"]
    assert await codes_with(client, other, organization) == []
    again = await data(client, REVOKE, {"id": key.id}, user=organization.owner)
    assert again["revokeApiKey"] == result["revokeApiKey"]  # nothing changes


async def test_a_key_revoked_elsewhere_is_refused_within_the_check_delay_and_sees_nothing_meanwhile(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    organization = await factory.organization()
    key = await create_key(client, organization)
    assert await codes_with(client, key, organization) == []  # known, and cached

    # Another API process revokes it.
    async with services.database.transaction(Caller.user(organization.owner.claims)) as conn:
        await conn.execute("select public.revoke_api_key_v1(%s)", [key.id])
    revoked_at = time.monotonic()

    # Until this process asks again, the database itself shows the key nothing.
    response = await client.post(
        "/graphql",
        json={"query": ORGANIZATION, "variables": {"id": str(organization.id)}},
        headers=key.headers,
    )
    body = response.json()
    assert body.get("data") in ({"organization": None}, None)
    refused_after = None
    while refused_after is None:
        if await codes_with(client, key, organization) == ["UNAUTHENTICATED"]:
            refused_after = time.monotonic() - revoked_at
        else:
            await asyncio.sleep(0.05)
    assert refused_after <= CHECK_SECONDS + 0.5


async def test_an_unknown_key_is_refused_as_an_invalid_token_is(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    forged = Key(id=str(uuid.uuid4()), secret="atende_" + "A" * 43)

    assert await codes_with(client, forged, organization) == ["UNAUTHENTICATED"]
    response = await client.post(
        "/graphql",
        json={"query": "{ viewer { user { id } } }"},
        headers={**forged.headers, "Accept": "application/graphql-response+json"},
    )
    assert response.status_code == 401


# -- Use: the rate limit and lastUsedAt ----------------------------------------------------


async def test_a_key_past_its_limit_gets_429_with_retry_after(
    settings: Settings, factory: Factory
) -> None:
    app = create_app(settings.model_copy(update={"rate_limit_api_key": "3/1m"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://atende.test") as client:
            organization = await factory.organization()
            key = await create_key(client, organization)
            other = await create_key(client, organization, name="ERP")

            for _ in range(3):
                assert await codes_with(client, key, organization) == []
            refused = await client.post(
                "/graphql", json={"query": "{ viewer { user { id } } }"}, headers=key.headers
            )

            assert refused.status_code == 429
            retry_after = int(refused.headers["retry-after"])
            assert 1 <= retry_after <= 60
            error = refused.json()["errors"][0]
            assert error["extensions"] == {
                "code": "TOO_MANY_REQUESTS",
                "retryAfterSeconds": retry_after,
            }
            assert await codes_with(client, other, organization) == []  # each key its own
            owner = await graphql(
                client, ORGANIZATION, {"id": str(organization.id)}, user=organization.owner
            )
            assert error_codes(owner) == []  # people are not limited by it


async def test_api_processes_share_a_keys_limit(settings: Settings, factory: Factory) -> None:
    """Two processes' counts meet in Postgres at each flush: each then counts the other's
    uses too. A process may let one flush interval's uses past the limit, no more."""
    limited = settings.model_copy(update={"rate_limit_api_key": "4/1m"})
    first, second = create_app(limited), create_app(limited)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        one = httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://a")
        two = httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://b")
        async with one, two:
            organization = await factory.organization()
            key = await create_key(one, organization)
            for _ in range(2):
                assert await codes_with(one, key, organization) == []
            await first.state.services.api_keys.flush()
            for _ in range(2):
                assert await codes_with(two, key, organization) == []
            await second.state.services.api_keys.flush()  # 4 in all: it knows

            assert await codes_with(two, key, organization) == ["TOO_MANY_REQUESTS"]
            # The first knew of its own 2 only: one more passes, and its flush tells it.
            assert await codes_with(one, key, organization) == []
            await first.state.services.api_keys.flush()
            assert await codes_with(one, key, organization) == ["TOO_MANY_REQUESTS"]


async def test_the_keys_row_is_written_once_a_minute_at_most_however_busy_the_key(
    client: httpx.AsyncClient,
    app: Starlette,
    factory: Factory,
    services: Services,
    database_url: str,
) -> None:
    organization = await factory.organization()
    key = await create_key(client, organization)
    api_keys: ApiKeys = app.state.services.api_keys

    async def row() -> dict[str, Any]:
        found = await services.database.fetch_one(
            Caller.service(),
            "select xmin::text as version, last_used_at from public.api_keys where id = %s",
            [key.id],
        )
        assert found is not None
        return dict(found)

    assert (await row())["last_used_at"] is None
    for _ in range(20):
        assert await codes_with(client, key, organization) == []
    await api_keys.flush()
    used = await row()
    for _ in range(20):
        assert await codes_with(client, key, organization) == []
    await api_keys.flush()

    assert used["last_used_at"] is not None
    assert await row() == used  # 20 more uses, not one more write
    assert uses_recorded(database_url, key.id) == 40
    listed = await data(client, KEYS, {"id": str(organization.id)}, user=organization.owner)
    assert listed["organization"]["apiKeys"][0]["lastUsedAt"] is not None


async def test_uses_counted_while_the_database_is_away_are_recorded_later(
    services: Services, database_url: str
) -> None:
    class AwayDatabase(Database):
        away = True

        async def fetch_all(self, caller: Caller, query: Any, *args: Any, **kw: Any) -> Any:
            if self.away:
                raise psycopg.OperationalError("the database is away")
            return await super().fetch_all(caller, query, *args, **kw)

    database = AwayDatabase(services.database.pool)
    api_keys = ApiKeys(database, check_seconds=1.0, limit=(100, 60))
    key_id = uuid.uuid4()
    for _ in range(3):
        api_keys.use(key_id)

    await api_keys.flush()  # fails: the counts wait for the next one
    database.away = False
    api_keys.use(key_id)
    await api_keys.flush()

    assert uses_recorded(database_url, str(key_id)) == 4


# -- Subscriptions -------------------------------------------------------------------------


INBOX_EVENTS = "subscription ($org: ID!) { conversationEvents(organizationId: $org) { kind } }"


async def follow(
    server: LiveServer, ws: GraphQLSocket, organization: factories.TestOrganization
) -> None:
    assert (await ws.receive())["type"] == "connection_ack"
    await ws.subscribe("inbox", INBOX_EVENTS, {"org": str(organization.id)})
    await server.wait_for_subscribers(1)


async def test_a_keys_subscription_closes_with_4442_when_the_key_is_revoked(
    settings: Settings, factory: Factory
) -> None:
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.http_url) as http:
        organization = await factory.organization()
        key = await create_key(http, organization)
        async with graphql_socket(server, key.headers) as ws:
            await follow(server, ws, organization)
            await data(http, REVOKE, {"id": key.id}, user=organization.owner)
            revoked_at = time.monotonic()
            with pytest.raises(ConnectionClosed) as closed:
                message = await ws.receive(timeout=CHECK_SECONDS + 2)
                raise AssertionError(f"received {message} instead of a close")
            waited = time.monotonic() - revoked_at
        rcvd = closed.value.rcvd
        assert rcvd is not None
        assert (rcvd.code, rcvd.reason) == (CLOSE_API_KEY_REVOKED, "API key revoked")
        assert waited <= CHECK_SECONDS + 0.5
        await server.wait_for_subscribers(0)


async def test_a_keys_subscriptions_count_as_uses(settings: Settings, factory: Factory) -> None:
    """The socket's connection is a use, and so is each subscription: past the limit, the
    next subscription gets an ``error`` message; the running one goes on."""
    limited = settings.model_copy(update={"rate_limit_api_key": "3/1m"})
    async with live_server(limited) as server, httpx.AsyncClient(base_url=server.http_url) as http:
        organization = await factory.organization()
        conversation = await factory.messaging.conversation(organization)
        key = await create_key(http, organization)
        async with graphql_socket(server, key.headers) as ws:
            await follow(server, ws, organization)  # 2 uses
            await ws.subscribe("again", INBOX_EVENTS, {"org": str(organization.id)})  # 3
            await server.wait_for_subscribers(2)
            await ws.subscribe("refused", INBOX_EVENTS, {"org": str(organization.id)})

            refused = await ws.receive()
            assert refused["id"] == "refused"
            assert refused["type"] == "error"
            assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"
            # The key's subscriptions still hear their organization's events.
            send = {"input": {"conversationId": str(conversation), "body": "Oi"}}
            await data(http, SEND, send, user=organization.owner)
            heard = await ws.receive()
            assert heard["type"] == "next"
            assert heard["payload"]["data"]["conversationEvents"]["kind"]
