"""The inbox: conversations by last activity, with their contact, last message and unread
count; keyset pages; filters and search; one organization never sees another's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from tests.factories import Factory
from tests.graphql.client import data, error_codes, graphql

INBOX = """
query Inbox($org: ID!, $first: Int, $after: String, $status: [ConversationStatus!],
            $assignedTo: ID, $unassigned: Boolean! = false, $search: String) {
  organization(id: $org) {
    conversations(first: $first, after: $after, status: $status, assignedTo: $assignedTo,
                  unassigned: $unassigned, search: $search) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        cursor
        node {
          id status aiEnabled unreadCount windowExpiresAt lastMessageAt
          contact { id name phoneNumber optedOut }
          channel { kind phoneNumber }
          assignee { id fullName }
          lastMessage { body direction author isError }
        }
      }
    }
  }
}
"""


def ids(result: dict[str, Any]) -> list[str]:
    connection = result["organization"]["conversations"]
    return [edge["node"]["id"] for edge in connection["edges"]]


async def test_inbox_lists_conversations_by_last_activity_with_what_the_team_sees(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    owner = organization.owner
    now = datetime.now(UTC)
    older = await factory.messaging.conversation(
        organization, profile_name="Ana", last_message_at=now - timedelta(hours=2)
    )
    newer = await factory.messaging.conversation(
        organization,
        profile_name="Bruno",
        last_message_at=now - timedelta(minutes=5),
        assignee=owner.id,
    )
    await factory.messaging.message(older, body="Vocês abrem domingo?")
    await factory.messaging.message(newer, body="Quero um bolo")
    await factory.messaging.message(newer, body="de chocolate")
    await factory.messaging.message(newer, body="Temos sim!", direction="outbound")

    result = await data(client, INBOX, {"org": str(organization.id)}, user=owner)

    connection = result["organization"]["conversations"]
    assert connection["totalCount"] == 2
    assert connection["pageInfo"]["hasNextPage"] is False
    assert ids(result) == [str(newer), str(older)]
    first = connection["edges"][0]["node"]
    assert first["contact"]["name"] == "Bruno"
    assert first["assignee"] == {"id": str(owner.id), "fullName": owner.full_name}
    assert first["lastMessage"] == {
        "body": "Temos sim!",
        "direction": "OUTBOUND",
        "author": "AI",
        "isError": False,
    }
    assert first["unreadCount"] == 2
    assert first["status"] == "OPEN"
    assert first["aiEnabled"] is True
    assert first["channel"]["kind"] == "WHATSAPP"
    assert first["windowExpiresAt"] is not None
    assert connection["edges"][1]["node"]["assignee"] is None


async def test_pages_follow_each_other_without_gaps_or_repeats_while_new_ones_arrive(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    channel = await factory.messaging.channel(organization)
    now = datetime.now(UTC)
    created = [
        await factory.messaging.conversation(
            organization, channel=channel, last_message_at=now - timedelta(minutes=minute)
        )
        for minute in range(7)
    ]
    # Two conversations with the very same activity time are still ordered (by id).
    tied = now - timedelta(minutes=3)
    created.append(
        await factory.messaging.conversation(organization, channel=channel, last_message_at=tied)
    )
    owner = organization.owner

    seen: list[str] = []
    after = None
    pages = 0
    while True:
        result = await data(
            client, INBOX, {"org": str(organization.id), "first": 3, "after": after}, user=owner
        )
        seen += ids(result)
        pages += 1
        if pages == 1:
            # Activity after the first page moves a conversation to the top: the next
            # pages continue from where the client was, unshaken.
            await factory.messaging.conversation(organization, channel=channel)
        info = result["organization"]["conversations"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]

    assert pages == 3
    assert sorted(seen) == sorted(str(item) for item in created)
    assert len(seen) == len(set(seen))


async def test_filters_by_status_and_assignee(client: httpx.AsyncClient, factory: Factory) -> None:
    organization = await factory.organization()
    agent = await factory.member(organization)
    open_mine = await factory.messaging.conversation(organization, assignee=agent.id)
    handoff = await factory.messaging.conversation(organization, status="handoff")
    closed = await factory.messaging.conversation(organization, status="closed")
    org = str(organization.id)

    by_status = await data(client, INBOX, {"org": org, "status": ["OPEN", "HANDOFF"]}, user=agent)
    mine = await data(client, INBOX, {"org": org, "assignedTo": str(agent.id)}, user=agent)
    nobody = await data(client, INBOX, {"org": org, "unassigned": True}, user=agent)

    assert set(ids(by_status)) == {str(open_mine), str(handoff)}
    assert ids(mine) == [str(open_mine)]
    assert set(ids(nobody)) == {str(handoff), str(closed)}
    assert nobody["organization"]["conversations"]["totalCount"] == 2


FILTERED = """
query ($org: ID!, $aiEnabled: Boolean, $unread: Boolean! = false, $search: String,
       $status: [ConversationStatus!]) {
  organization(id: $org) {
    conversations(aiEnabled: $aiEnabled, unread: $unread, search: $search, status: $status) {
      totalCount
      edges { node { id unreadCount aiEnabled } }
    }
  }
}
"""


async def test_filters_with_the_team_and_unread_as_the_web_app_shows_them(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    owner = organization.owner
    agent = await factory.member(organization)
    bot = await factory.messaging.conversation(organization, profile_name="Bia")
    handed_off = await factory.messaging.conversation(
        organization, status="handoff", ai_enabled=False, profile_name="Caio"
    )
    taken_over = await factory.messaging.conversation(
        organization, ai_enabled=False, profile_name="Duda"
    )
    await factory.messaging.message(bot, body="Bom dia")
    await factory.messaging.message(handed_off, body="Quero falar com alguém")
    await factory.messaging.message(taken_over, body="Obrigado", direction="outbound")
    mark = (
        "mutation ($id: ID!) { markConversationRead(input: {conversationId: $id}) { __typename } }"
    )
    await data(client, mark, {"id": str(bot)}, user=owner)
    org = str(organization.id)

    async def found(user: Any = owner, **variables: Any) -> tuple[set[str], int]:
        result = await data(client, FILTERED, {"org": org, **variables}, user=user)
        connection = result["organization"]["conversations"]
        return {edge["node"]["id"] for edge in connection["edges"]}, connection["totalCount"]

    team = {str(handed_off), str(taken_over)}
    assert await found(aiEnabled=False) == (team, 2)
    assert await found(aiEnabled=True) == ({str(bot)}, 1)
    # Unread is each member's own: the owner read Bia's conversation, the agent did not.
    assert await found(unread=True) == ({str(handed_off)}, 1)
    assert await found(user=agent, unread=True) == ({str(bot), str(handed_off)}, 2)
    assert await found(unread=True, aiEnabled=False, search="alguém") == ({str(handed_off)}, 1)
    assert await found(unread=True, status=["CLOSED"]) == (set(), 0)
    await factory.messaging.message(bot, body="Ainda estão aí?")
    assert await found(unread=True) == ({str(bot), str(handed_off)}, 2)


async def test_search_finds_names_numbers_and_message_text(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    maria_contact = await factory.messaging.contact(
        organization, phone_number="+5521987654321", profile_name="Maria Souza"
    )
    maria = await factory.messaging.conversation(organization, contact=maria_contact)
    cake = await factory.messaging.conversation(organization, profile_name="João")
    await factory.messaging.message(cake, body="Quero encomendar um BOLO de 50% chocolate")
    org = str(organization.id)
    owner = organization.owner

    async def search(term: str) -> list[str]:
        return ids(await data(client, INBOX, {"org": org, "search": term}, user=owner))

    assert await search("souz") == [str(maria)]
    assert await search("(21) 98765-4321") == [str(maria)]
    assert await search("bolo") == [str(cake)]
    assert await search("50% choc") == [str(cake)]
    assert await search("50%%") == []
    assert await search("nada disso") == []
    too_short = await graphql(client, INBOX, {"org": org, "search": "ab"}, user=owner)
    assert error_codes(too_short) == ["BAD_USER_INPUT"]


async def test_page_size_is_capped_and_cursors_cannot_be_forged(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    org = str(organization.id)
    owner = organization.owner

    too_many = await graphql(client, INBOX, {"org": org, "first": 101}, user=owner)
    negative = await graphql(client, INBOX, {"org": org, "first": -1}, user=owner)
    garbage = await graphql(client, INBOX, {"org": org, "after": "not-a-cursor"}, user=owner)
    forged = await graphql(
        client, INBOX, {"org": org, "after": "Y29udmVyc2F0aW9uH3gfeQ"}, user=owner
    )
    wrong_list = await graphql(
        client,
        INBOX,
        {"org": org, "after": "bWVzc2FnZR8yMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwHzAw"},
        user=owner,
    )

    for body in (too_many, negative, garbage, forged, wrong_list):
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert body["data"] is None or body["data"]["organization"] is None


async def test_another_organizations_inbox_is_invisible(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    mine = await factory.organization(name="Minha")
    theirs = await factory.organization(name="Deles")
    their_conversation = await factory.messaging.conversation(theirs)
    await factory.messaging.message(their_conversation, body="segredo")

    other_inbox = await data(client, INBOX, {"org": str(theirs.id)}, user=mine.owner)
    other_conversation = await data(
        client,
        "query ($id: ID!) { conversation(id: $id) { id } }",
        {"id": str(their_conversation)},
        user=mine.owner,
    )
    anonymous = await graphql(client, INBOX, {"org": str(theirs.id)})

    assert other_inbox == {"organization": None}
    assert other_conversation == {"conversation": None}
    # Not a silent null: the client is told to sign in.
    assert anonymous["data"] == {"organization": None}
    assert [error["extensions"]["code"] for error in anonymous["errors"]] == ["UNAUTHENTICATED"]


MESSAGES = """
query History($id: ID!, $first: Int, $after: String, $before: String) {
  conversation(id: $id) {
    messages(first: $first, after: $after, before: $before) {
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges {
        node {
          body direction author status isError errorCode
          media { url contentType }
          authorMember { fullName }
        }
      }
    }
  }
}
"""


def bodies(result: dict[str, Any]) -> list[str]:
    messages = result["conversation"]["messages"]
    return [edge["node"]["body"] for edge in messages["edges"]]


async def test_history_pages_newest_first_both_ways(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    owner = organization.owner
    conversation = await factory.messaging.conversation(organization)
    start = datetime.now(UTC) - timedelta(hours=1)
    for index in range(5):
        await factory.messaging.message(
            conversation, body=f"m{index}", created_at=start + timedelta(minutes=index)
        )
    variables = {"id": str(conversation), "first": 2}

    first = await data(client, MESSAGES, variables, user=owner)
    info = first["conversation"]["messages"]["pageInfo"]
    second = await data(client, MESSAGES, {**variables, "after": info["endCursor"]}, user=owner)
    third_info = second["conversation"]["messages"]["pageInfo"]
    third = await data(
        client, MESSAGES, {**variables, "after": third_info["endCursor"]}, user=owner
    )
    newer = await data(
        client,
        MESSAGES,
        {**variables, "before": third["conversation"]["messages"]["pageInfo"]["startCursor"]},
        user=owner,
    )

    assert bodies(first) == ["m4", "m3"]
    assert info["hasNextPage"] is True
    assert bodies(second) == ["m2", "m1"]
    assert bodies(third) == ["m0"]
    assert third["conversation"]["messages"]["pageInfo"]["hasNextPage"] is False
    assert bodies(newer) == ["m2", "m1"]
    assert newer["conversation"]["messages"]["pageInfo"]["hasPreviousPage"] is True
    both = await graphql(
        client,
        MESSAGES,
        {**variables, "after": info["endCursor"], "before": info["endCursor"]},
        user=owner,
    )
    assert error_codes(both) == ["BAD_USER_INPUT"]


async def test_messages_show_media_authors_and_failures(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    owner = organization.owner
    conversation = await factory.messaging.conversation(organization)
    start = datetime.now(UTC) - timedelta(minutes=10)
    await factory.messaging.message(
        conversation,
        body="",
        media=[{"url": "https://api.twilio.com/m/1", "content_type": "image/jpeg"}],
        created_at=start,
    )
    await factory.messaging.message(
        conversation,
        body="Desculpe, estamos com dificuldades técnicas.",
        direction="outbound",
        is_error=True,
        error_code="ai_unavailable",
        created_at=start + timedelta(minutes=1),
    )
    await factory.messaging.message(
        conversation,
        body="Oi, aqui é a dona!",
        direction="outbound",
        author="member",
        author_member=owner.id,
        status="delivered",
        created_at=start + timedelta(minutes=2),
    )

    result = await data(client, MESSAGES, {"id": str(conversation)}, user=owner)

    nodes = [edge["node"] for edge in result["conversation"]["messages"]["edges"]]
    assert nodes[0]["author"] == "MEMBER"
    assert nodes[0]["authorMember"] == {"fullName": owner.full_name}
    assert nodes[0]["status"] == "DELIVERED"
    assert nodes[1]["isError"] is True
    assert nodes[1]["errorCode"] == "ai_unavailable"
    assert nodes[1]["author"] == "AI"
    # Not fetched yet: no link, and never Twilio's URL (tests/channels/test_inbound_media.py).
    assert nodes[2]["media"] == [{"url": None, "contentType": "image/jpeg"}]
    assert nodes[2]["direction"] == "INBOUND"


async def test_unread_counts_are_per_member(client: httpx.AsyncClient, factory: Factory) -> None:
    organization = await factory.organization()
    owner = organization.owner
    agent = await factory.member(organization)
    conversation = await factory.messaging.conversation(organization)
    await factory.messaging.message(conversation, body="um")
    await factory.messaging.message(conversation, body="dois")
    unread = "query ($id: ID!) { conversation(id: $id) { unreadCount } }"
    mark = """
    mutation ($id: ID!) {
      markConversationRead(input: {conversationId: $id}) {
        __typename
        ... on MarkConversationReadSuccess { conversation { unreadCount } }
      }
    }
    """
    variables = {"id": str(conversation)}

    marked = await data(client, mark, variables, user=owner)
    await factory.messaging.message(conversation, body="três")
    await factory.messaging.message(conversation, body="obrigado", direction="outbound")

    assert marked["markConversationRead"] == {
        "__typename": "MarkConversationReadSuccess",
        "conversation": {"unreadCount": 0},
    }
    assert (await data(client, unread, variables, user=owner))["conversation"] == {"unreadCount": 1}
    assert (await data(client, unread, variables, user=agent))["conversation"] == {"unreadCount": 3}


CONTACTS = """
query ($org: ID!, $search: String, $first: Int, $after: String) {
  organization(id: $org) {
    contacts(search: $search, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id name phoneNumber displayName profileName optedOut } }
    }
  }
}
"""


async def test_contacts_by_name_with_search_and_pages(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    organization = await factory.organization()
    owner = organization.owner
    carla = await factory.messaging.contact(organization, profile_name="carla", opted_out=True)
    await factory.messaging.contact(organization, display_name="Beatriz (VIP)")
    await factory.messaging.contact(organization, phone_number="+5511912345678")
    org = str(organization.id)

    first = await data(client, CONTACTS, {"org": org, "first": 2}, user=owner)
    cursor = first["organization"]["contacts"]["pageInfo"]["endCursor"]
    rest = await data(client, CONTACTS, {"org": org, "first": 2, "after": cursor}, user=owner)
    found = await data(client, CONTACTS, {"org": org, "search": "CARL"}, user=owner)
    one = await data(
        client, "query ($id: ID!) { contact(id: $id) { name } }", {"id": str(carla)}, user=owner
    )

    names = [edge["node"]["name"] for edge in first["organization"]["contacts"]["edges"]]
    names += [edge["node"]["name"] for edge in rest["organization"]["contacts"]["edges"]]
    assert names == ["+5511912345678", "Beatriz (VIP)", "carla"]
    assert first["organization"]["contacts"]["totalCount"] == 3
    assert rest["organization"]["contacts"]["pageInfo"]["hasNextPage"] is False
    assert found["organization"]["contacts"]["edges"] == [
        {
            "node": {
                "id": str(carla),
                "name": "carla",
                "phoneNumber": found["organization"]["contacts"]["edges"][0]["node"]["phoneNumber"],
                "displayName": None,
                "profileName": "carla",
                "optedOut": True,
            }
        }
    ]
    assert one == {"contact": {"name": "carla"}}


async def test_the_window_is_24_hours_after_the_contact_wrote_on_whatsapp_only(
    client: httpx.AsyncClient, factory: Factory, database_url: str
) -> None:
    organization = await factory.organization()
    sms = await factory.messaging.channel(organization, kind="sms")
    on_sms = await factory.messaging.conversation(organization, channel=sms)
    on_whatsapp = await factory.messaging.conversation(organization, inbound_hours_ago=2)
    query = "query ($id: ID!) { conversation(id: $id) { windowExpiresAt lastInboundAt } }"

    sms_window = await data(client, query, {"id": str(on_sms)}, user=organization.owner)
    whatsapp = await data(client, query, {"id": str(on_whatsapp)}, user=organization.owner)
    inbox = await data(client, INBOX, {"org": str(organization.id)}, user=organization.owner)

    assert sms_window["conversation"]["windowExpiresAt"] is None
    expires = datetime.fromisoformat(whatsapp["conversation"]["windowExpiresAt"])
    last_inbound = datetime.fromisoformat(whatsapp["conversation"]["lastInboundAt"])
    assert expires - last_inbound == timedelta(hours=24)
    windows = {
        edge["node"]["id"]: edge["node"]["windowExpiresAt"]
        for edge in inbox["organization"]["conversations"]["edges"]
    }
    assert windows == {
        str(on_sms): None,
        str(on_whatsapp): whatsapp["conversation"]["windowExpiresAt"],
    }
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "select public.window_expires_at(c) from public.conversations as c where id = %s",
            [on_whatsapp],
        ).fetchone()
    assert row is not None
    assert row[0] == expires
