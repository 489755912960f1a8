"""Queries compiled into one SQL statement (atende.graphql.sql_selection) answer exactly
what the general path answers: the web app's inbox and contact list, the bench's inbox
and variants, each run through both paths (ATENDE_GRAPHQL_COMPILE_SELECTIONS on and off)
and compared; what is not compiled falls back; another organization's data stays hidden."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

import httpx
import pytest
from bench.graphql import ATENDE_QUERY as BENCH_INBOX
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse
from starlette.applications import Starlette

from atende.api.execution import AtendeExecutionContext, selection_compiler
from atende.api.schema import build_schema
from atende.app import create_app
from atende.config import Settings
from atende.db.session import Caller, Database
from atende.graphql.sql_selection import Filter, Page
from tests import factories
from tests.factories import Factory
from tests.graphql.client import graphql

CONVERSATION_FIELDS = """
fragment ConversationFields on Conversation {
  id status aiEnabled unreadCount windowExpiresAt lastMessageAt closedAt
  contact { id name phoneNumber optedOut }
  channel { id kind phoneNumber displayName }
  assignee { id fullName }
  lastMessage { id body direction author status isError createdAt }
}
"""

#: web/src/api/operations.ts's Inbox, verbatim.
WEB_INBOX = (
    """
query Inbox($organizationId: ID!, $first: Int!, $after: String, $status: [ConversationStatus!],
            $assignedTo: ID, $aiEnabled: Boolean, $unread: Boolean, $search: String) {
  organization(id: $organizationId) {
    id
    conversations(first: $first, after: $after, status: $status, assignedTo: $assignedTo,
                  aiEnabled: $aiEnabled, unread: $unread, search: $search) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { ...ConversationFields } }
    }
  }
}
"""
    + CONVERSATION_FIELDS
)

#: web/src/api/operations.ts's Contacts, verbatim.
WEB_CONTACTS = """
fragment ContactFields on Contact {
  id name displayName profileName phoneNumber optedOut tags attributes lastInboundAt
}
query Contacts($org: ID!, $first: Int!, $after: String, $search: String, $tag: String) {
  organization(id: $org) {
    id
    contacts(first: $first, after: $after, search: $search, tag: $tag) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { ...ContactFields } }
    }
  }
}
"""


#: Aliases, an inline fragment, __typename, every PageInfo field, a field twice.
VARIANT = """
query Variant($org: ID!, $first: Int, $after: String) {
  __typename
  org: organization(id: $org) {
    __typename
    name createdAt
    inbox: conversations(first: $first, after: $after) {
      __typename
      info: pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }
      edges {
        __typename
        position: cursor
        node {
          ... on Conversation { key: id lastInboundAt createdAt }
          id
          contact { __typename id name optedOutAt createdAt lastInboundAt }
          contact { displayName profileName }
          lastMessage { conversationId errorCode errorMessage updatedAt transcript }
        }
      }
    }
    everyone: contacts(first: 2) { edges { cursor node { id tags } } }
  }
}
"""

#: The root's lookups by id, a member's message's author among them.
BY_ID = (
    """
query ById($conversation: ID!, $contact: ID!) {
  conversation(id: $conversation) {
    ...ConversationFields
    lastMessage { authorMember { id fullName email emailVerified } }
  }
  contact(id: $contact) { id name tags attributes createdAt }
}
"""
    + CONVERSATION_FIELDS
)

#: A field with no SQL declaration (Conversation.messages): the general path answers.
NOT_COMPILED = """
query NotCompiled($org: ID!) {
  organization(id: $org) {
    conversations(first: 5) {
      edges { node { id messages(first: 2) { edges { node { id body } } } } }
    }
  }
}
"""


#: Every filter of the inbox as a variable (``unassigned`` too, which the web app does
#: not send).
FILTERED_INBOX = """
query Filtered($org: ID!, $status: [ConversationStatus!], $assignedTo: ID, $unassigned: Boolean!,
               $aiEnabled: Boolean, $unread: Boolean, $search: String) {
  organization(id: $org) {
    conversations(first: 20, status: $status, assignedTo: $assignedTo, unassigned: $unassigned,
                  aiEnabled: $aiEnabled, unread: $unread, search: $search) {
      totalCount
      edges { node { id unreadCount contact { name } } }
    }
  }
}
"""


@pytest.fixture(autouse=True)
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts of the compiled statements run: each differential comparison checks that
    one ran, so two answers from the general path cannot pass for a comparison."""
    ran: list[str] = []
    original = AtendeExecutionContext._execute_compiled

    async def spy(
        self: AtendeExecutionContext, context: Any, compiled: Any, parameters: Any
    ) -> Any:
        ran.append(compiled.statement(parameters))
        return await original(self, context, compiled, parameters)

    monkeypatch.setattr(AtendeExecutionContext, "_execute_compiled", spy)
    return ran


@pytest.fixture
def general_app(settings: Settings) -> Starlette:
    return create_app(settings.model_copy(update={"graphql_compile_selections": False}))


@pytest.fixture
async def general(general_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The same API, every query resolved field by field."""
    async with general_app.router.lifespan_context(general_app):
        transport = httpx.ASGITransport(app=general_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://atende.test") as http:
            yield http


async def inbox_with_everything(
    factory: Factory,
) -> tuple[factories.TestOrganization, factories.TestUser]:
    """An organization with 7 conversations: assigned and not, read and unread, closed,
    an SMS one, a contact with tags, attributes, an opt-out, times with and without
    microseconds, a conversation without messages."""
    organization = await factory.organization()
    owner = organization.owner
    agent = await factory.member(organization)
    now = datetime.now(UTC).replace(microsecond=0)
    messaging = factory.messaging
    sms = await messaging.channel(organization, kind="sms")
    ana = await messaging.contact(organization, profile_name="Ana", display_name="Ana Paula")
    conversations = []
    for index in range(6):
        conversations.append(
            await messaging.conversation(
                organization,
                contact=ana if index == 0 else None,
                channel=sms if index == 1 else None,
                profile_name=f"Cliente {index}",
                status=("closed" if index == 2 else "handoff" if index == 3 else "open"),
                last_message_at=now - timedelta(minutes=index, microseconds=index * 120),
                assignee=agent.id if index % 2 else None,
                ai_enabled=index != 4,
            )
        )
    await messaging.conversation(organization, profile_name="Sem mensagens", inbound_hours_ago=None)
    for index, conversation in enumerate(conversations):
        await messaging.message(
            conversation,
            body=f"Olá {index}",
            created_at=now - timedelta(hours=1, microseconds=index * 10),
        )
        await messaging.message(
            conversation,
            body=f"Resposta {index}",
            direction="outbound",
            author="member" if index == 3 else None,
            author_member=owner.id if index == 3 else None,
            status="failed" if index == 5 else None,
            is_error=index == 5,
            error_code="30008" if index == 5 else None,
            created_at=now - timedelta(minutes=30),
        )
    async with factory.services.database.transaction(Caller.service()) as conn:
        await conn.execute(
            "update public.contacts set tags = array['atacado', 'vip'],"
            ' attributes = \'{"plano": "ouro", "limite": 1.50, "n": [1, 2]}\'::jsonb'
            " where id = %s",
            [ana],
        )
        await conn.execute(
            "update public.contacts set opted_out_at = now() - interval '1 day'"
            " where organization_id = %s and profile_name = 'Cliente 2'",
            [organization.id],
        )
        await conn.execute(
            "insert into public.conversation_reads (conversation_id, user_id, last_read_at)"
            " values (%s, %s, now() - interval '45 minutes')",
            [conversations[0], owner.id],
        )
    return organization, owner


Compare: TypeAlias = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def both(client: httpx.AsyncClient, general: httpx.AsyncClient, statements: list[str]) -> Compare:
    """Runs an operation through each path and asserts the responses identical (the
    compiled one returned), and that the compiled statement ran (``compiled=False``:
    that it did not, the operation falling back)."""

    async def compare(
        query: str,
        variables: dict[str, Any],
        user: factories.TestUser | None,
        *,
        compiled: bool = True,
    ) -> dict[str, Any]:
        before = len(statements)
        fast = await graphql(client, query, variables, user=user)
        assert len(statements) == before + (1 if compiled else 0)
        slow = await graphql(general, query, variables, user=user)
        assert len(statements) == before + (1 if compiled else 0)
        assert fast == slow
        return fast

    return compare


async def test_the_web_apps_inbox_and_contacts_answer_as_the_general_path(
    both: Compare, factory: Factory
) -> None:
    organization, owner = await inbox_with_everything(factory)
    org = str(organization.id)
    inbox = await both(WEB_INBOX, {"organizationId": org, "first": 3}, owner)
    page = inbox["data"]["organization"]["conversations"]
    assert page["totalCount"] == 7
    assert len(page["edges"]) == 3
    assert page["pageInfo"]["hasNextPage"] is True
    second = await both(
        WEB_INBOX,
        {"organizationId": org, "first": 3, "after": page["pageInfo"]["endCursor"]},
        owner,
    )
    third = await both(
        WEB_INBOX,
        {
            "organizationId": org,
            "first": 3,
            "after": second["data"]["organization"]["conversations"]["pageInfo"]["endCursor"],
        },
        owner,
    )
    assert third["data"]["organization"]["conversations"]["pageInfo"]["hasNextPage"] is False
    for filters in (
        {"status": ["OPEN", "HANDOFF"]},
        {"aiEnabled": False},
        {"unread": True},
        {"search": "Cliente 3"},
        {"search": "Resposta"},
        {"assignedTo": str(owner.id)},
        {"first": 0},
        {"first": 100},
    ):
        await both(WEB_INBOX, {"organizationId": org, "first": 20, **filters}, owner)

    contacts = await both(WEB_CONTACTS, {"org": org, "first": 4}, owner)
    listed = contacts["data"]["organization"]["contacts"]
    assert listed["totalCount"] == 7
    ana = next(edge["node"] for edge in listed["edges"] if edge["node"]["name"] == "Ana Paula")
    assert ana["attributes"] == {"plano": "ouro", "limite": 1.5, "n": [1, 2]}
    assert ana["tags"] == ["atacado", "vip"]
    await both(
        WEB_CONTACTS,
        {"org": org, "first": 4, "after": listed["pageInfo"]["endCursor"]},
        owner,
    )
    for filters in ({"tag": " VIP "}, {"search": "Ana"}, {"search": "Cliente", "tag": "vip"}):
        await both(WEB_CONTACTS, {"org": org, "first": 20, **filters}, owner)


async def test_every_combination_of_the_inbox_filters_answers_as_the_general_path(
    both: Compare, factory: Factory, statements: list[str]
) -> None:
    organization, owner = await inbox_with_everything(factory)
    agent = await factory.member(organization)
    await factory.messaging.conversation(organization, profile_name="Do agente", assignee=agent.id)
    base = {"org": str(organization.id), "unassigned": False}
    combinations: list[dict[str, Any]] = [
        {},
        {"unassigned": True},
        {"aiEnabled": True},
        {"aiEnabled": False, "unassigned": True},
        {"unread": False},
        {"unread": True, "status": ["OPEN"]},
        {"assignedTo": str(agent.id), "aiEnabled": True},
        {"assignedTo": str(agent.id), "unassigned": True},
        {"search": "Cliente", "unread": True},
        {"search": "Olá", "aiEnabled": True, "status": ["OPEN", "HANDOFF"]},
        {"search": "Cliente", "assignedTo": str(owner.id), "unassigned": False},
    ]
    totals = []
    for filters in combinations:
        answer = await both(FILTERED_INBOX, {**base, **filters}, owner)
        totals.append(answer["data"]["organization"]["conversations"]["totalCount"])
    assert totals[0] == 8
    assert len(set(totals)) > 3  # the filters filter
    # Each statement holds the conditions asked for and no other: the first, none.
    unfiltered, searched = statements[0], statements[-3]
    for condition in ("assignee_id", "ai_enabled", "ilike", "exists ("):
        assert condition not in unfiltered
    assert "ilike" in searched
    assert "exists (" in searched
    assert "ai_enabled" not in searched


async def test_the_bench_inbox_and_variants_answer_as_the_general_path(
    both: Compare, factory: Factory
) -> None:
    organization, owner = await inbox_with_everything(factory)
    org = str(organization.id)
    bench = await both(BENCH_INBOX, {"org": org, "first": 20}, owner)
    assert len(bench["data"]["organization"]["conversations"]["edges"]) == 7
    variant = await both(VARIANT, {"org": org, "first": 2}, owner)
    info = variant["data"]["org"]["inbox"]["info"]
    await both(VARIANT, {"org": org, "first": 2, "after": info["endCursor"]}, owner)
    # An empty page: no cursors, no next page.
    await both(VARIANT, {"org": org, "first": 0}, owner)


async def test_lookups_by_id_answer_as_the_general_path(both: Compare, factory: Factory) -> None:
    organization, owner = await inbox_with_everything(factory)
    other = await factory.organization(name="Outra")
    hidden_conversation = await factory.messaging.conversation(other, profile_name="Segredo")
    inbox = await both(BENCH_INBOX, {"org": str(organization.id), "first": 20}, owner)
    edges = inbox["data"]["organization"]["conversations"]["edges"]
    authors = []
    for edge in edges:
        node = edge["node"]
        found = await both(
            BY_ID, {"conversation": node["id"], "contact": node["contact"]["id"]}, owner
        )
        assert found["data"]["conversation"]["id"] == node["id"]
        last = found["data"]["conversation"]["lastMessage"]
        authors.append(last and last["authorMember"])
    assert {"id": str(owner.id), "fullName": owner.full_name, "email": owner.email} in [
        {key: author[key] for key in ("id", "fullName", "email")} for author in authors if author
    ]
    # Another organization's conversation, a malformed id: null, as before.
    for wrong in (str(hidden_conversation), "not-an-id"):
        missing = await both(BY_ID, {"conversation": wrong, "contact": wrong}, owner)
        assert missing == {"data": {"conversation": None, "contact": None}}


async def test_refusals_and_misses_are_the_general_paths(both: Compare, factory: Factory) -> None:
    organization, owner = await inbox_with_everything(factory)
    other = await factory.organization(name="Outra")
    await factory.messaging.conversation(other, profile_name="Segredo")
    org = str(organization.id)
    # Another organization's id, a malformed id: null, as for a non-member.
    for wrong in (str(other.id), "not-an-id"):
        hidden = await both(BENCH_INBOX, {"org": wrong, "first": 20}, owner)
        assert hidden == {"data": {"organization": None}}
    # Out of range, a bad cursor, a short search: the general path's errors.
    for variables in (
        {"org": org, "first": 101},
        {"org": org, "first": -1},
    ):
        refused = await both(BENCH_INBOX, variables, owner, compiled=False)
        assert refused["errors"]
    bad_cursor = await both(
        WEB_INBOX, {"organizationId": org, "first": 5, "after": "nope"}, owner, compiled=False
    )
    assert bad_cursor["errors"]
    short = await both(WEB_CONTACTS, {"org": org, "first": 5, "search": "a"}, owner, compiled=False)
    assert short["errors"]
    # Anonymous: UNAUTHENTICATED, as before.
    anonymous = await both(BENCH_INBOX, {"org": org, "first": 20}, None, compiled=False)
    assert anonymous["errors"]
    # @include, and a field with no declaration: the general path, the same answer.
    included = BENCH_INBOX.replace("cursor\n", "cursor @include(if: true)\n")
    await both(included, {"org": org, "first": 20}, owner, compiled=False)
    await both(NOT_COMPILED, {"org": org}, owner, compiled=False)


def test_what_compiles_and_what_falls_back() -> None:
    schema = build_schema()._schema
    compiler = selection_compiler(schema)

    def compiled(query: str) -> bool:
        document = parse(query)
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        return compiler.compile(operation, fragments) is not None

    assert compiled(BENCH_INBOX)
    assert compiled(WEB_INBOX)
    assert compiled(WEB_CONTACTS)
    assert compiled(VARIANT)
    assert not compiled(NOT_COMPILED)
    assert not compiled(BENCH_INBOX.replace("cursor\n", "cursor @skip(if: false)\n"))
    assert not compiled("query { viewer { user { id } } }")
    assert not compiled(
        'mutation { markConversationRead(input: {conversationId: "x"}) { __typename } }'
    )
    # A page's filters with nowhere to go would be dropped: refused when declared.
    with pytest.raises(ValueError, match="filters"):
        Page(
            source="from public.contacts as {alias}",
            order="{alias}.id",
            cursor="{alias}.id::text",
            bind=lambda arguments, context: {"limit": 1},
            filters=(Filter("tag", "and {alias}.tags @> array[%(tag)s]"),),
        )


async def test_the_compiled_inbox_shows_no_other_organizations_rows(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    ours = await factory.organization()
    theirs = await factory.organization(name="Concorrente")
    await factory.messaging.conversation(ours, profile_name="Nosso")
    await factory.messaging.conversation(theirs, profile_name="Deles")
    mine = await graphql(
        client, WEB_INBOX, {"organizationId": str(ours.id), "first": 20}, user=ours.owner
    )
    names = [
        edge["node"]["contact"]["name"]
        for edge in mine["data"]["organization"]["conversations"]["edges"]
    ]
    assert names == ["Nosso"]
    peeked = await graphql(
        client, WEB_INBOX, {"organizationId": str(theirs.id), "first": 20}, user=ours.owner
    )
    assert peeked == {"data": {"organization": None}}
    peeked_contacts = await graphql(
        client, WEB_CONTACTS, {"org": str(theirs.id), "first": 20}, user=ours.owner
    )
    assert peeked_contacts == {"data": {"organization": None}}


async def test_an_outage_in_the_compiled_statement_is_masked_and_logged(
    client: httpx.AsyncClient,
    factory: Factory,
    statements: list[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    organization = await factory.organization()
    fetch_one = Database.fetch_one

    async def broken(database: Database, caller: Caller, query: Any, *args: Any, **kw: Any) -> Any:
        if query in statements:  # the compiled statement; the session check goes through
            raise RuntimeError("database password is hunter2")
        return await fetch_one(database, caller, query, *args, **kw)

    monkeypatch.setattr(Database, "fetch_one", broken)
    with caplog.at_level(logging.ERROR, logger="atende.graphql"):
        body = await graphql(
            client, BENCH_INBOX, {"org": str(organization.id), "first": 5}, user=organization.owner
        )
    assert len(statements) == 1
    [error] = body["errors"]
    assert error["message"] == "Internal error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert body["data"] is None
    assert "hunter2" not in str(body)
    request_id = error["extensions"]["requestId"]
    [record] = [r for r in caplog.records if request_id in r.getMessage()]
    assert record.exc_info is not None
    assert "hunter2" in str(record.exc_info[1])
