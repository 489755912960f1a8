"""Realtime: one LISTEN per process, fanned out per organization; subscriptions over
graphql-transport-ws, authorised at start and re-checked at every event."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid

import httpx
import psycopg
import pytest
from websockets.exceptions import ConnectionClosed

from atende.api.view import MAX_SUBSCRIPTIONS_PER_CONNECTION
from atende.config import Settings
from atende.conversations.events import RESYNC, DatabaseEvent, EventHub, Subscription
from atende.db.session import Caller
from atende.graphql.context import RequestTransaction
from atende.services import Services
from tests.factories import Factory
from tests.graphql.live import RECEIVE_TIMEOUT, graphql_socket, live_server

INBOX_EVENTS = """
subscription ($org: ID!) {
  conversationEvents(organizationId: $org) {
    kind
    conversation { id status aiEnabled assignee { id } lastMessage { body } }
    message { body author }
  }
}
"""

MESSAGE_EVENTS = """
subscription ($id: ID!) {
  messageEvents(conversationId: $id) { kind message { body direction status } }
}
"""


def event(organization: uuid.UUID, kind: str = "message.created") -> DatabaseEvent:
    return DatabaseEvent(organization_id=organization, kind=kind, conversation_id=uuid.uuid4())


# -- the hub ------------------------------------------------------------------------------


async def test_events_reach_only_their_organizations_subscribers() -> None:
    hub = EventHub("postgresql://unused")
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    with hub.subscribe(mine) as subscription, hub.subscribe(theirs) as other:
        hub.dispatch(event(mine).model_dump_json())
        hub.dispatch("not json")
        hub.dispatch('{"kind": "no organization"}')

        received = await asyncio.wait_for(subscription.get(), RECEIVE_TIMEOUT)
        assert received.organization_id == mine
        assert other._queue.empty()
    assert hub.subscriber_count == 0


async def test_a_slow_subscriber_loses_its_backlog_for_one_resync_and_blocks_nobody() -> None:
    organization = uuid.uuid4()
    slow = Subscription(organization, max_queued=3)
    fast = Subscription(organization, max_queued=100)

    for _ in range(10):
        item = event(organization)
        slow.offer(item)
        fast.offer(item)

    assert fast._queue.qsize() == 10
    kinds = [slow._queue.get_nowait().kind for _ in range(slow._queue.qsize())]
    # Whatever was waiting when the queue overflowed is gone; a resync says so.
    assert RESYNC in kinds
    assert slow.dropped > 0
    assert len(kinds) <= 3


#: This database's realtime listeners (the API processes' LISTEN sessions).
LISTENER_SESSIONS = (
    " from pg_stat_activity"
    " where application_name = 'atende-events' and datname = current_database()"
)


async def next_kind(subscription: Subscription) -> str:
    """The kind of the subscription's next event; fails after ``RECEIVE_TIMEOUT``."""
    return (await asyncio.wait_for(subscription.get(), RECEIVE_TIMEOUT)).kind


async def test_every_process_listens_and_the_listener_comes_back_after_losing_its_connection(
    database_url: str, services: Services
) -> None:
    first, second = EventHub(database_url, min_backoff=0.05), EventHub(database_url)
    organization = uuid.uuid4()
    await first.start()
    await second.start()
    try:
        await asyncio.wait_for(first.listening.wait(), RECEIVE_TIMEOUT)
        await asyncio.wait_for(second.listening.wait(), RECEIVE_TIMEOUT)
        with first.subscribe(organization) as one, second.subscribe(organization) as two:
            await publish(services, organization, "message.created")
            assert await next_kind(one) == "message.created"
            assert await next_kind(two) == "message.created"

            # The database drops the listeners (a restart, a failover): they reconnect,
            # LISTEN again, and tell their subscribers that events may have been missed.
            with psycopg.connect(database_url, autocommit=True) as admin:
                admin.execute("select pg_terminate_backend(pid)" + LISTENER_SESSIONS)
            assert await next_kind(one) == RESYNC
            assert await next_kind(two) == RESYNC
            await publish(services, organization, "conversation.assigned")
            assert await next_kind(one) == "conversation.assigned"
            assert first.connections == 2
    finally:
        await first.stop()
        await second.stop()


async def test_a_listener_whose_session_stops_answering_reconnects(
    database_url: str, services: Services
) -> None:
    # The listener's server process is stopped (SIGSTOP): the connection stays open and
    # silent, as when a session's answers stop reaching the listener. The quiet-time
    # check times out, and the listener reconnects and LISTENs again.
    hub = EventHub(
        database_url, min_backoff=0.05, health_check_interval=0.2, health_check_timeout=0.5
    )
    organization = uuid.uuid4()
    await hub.start()
    stopped: list[int] = []
    try:
        await asyncio.wait_for(hub.listening.wait(), RECEIVE_TIMEOUT)
        with hub.subscribe(organization) as subscription:
            with psycopg.connect(database_url, autocommit=True) as admin:
                row = admin.execute("select pid" + LISTENER_SESSIONS).fetchone()
            assert row is not None
            os.kill(row[0], signal.SIGSTOP)
            stopped.append(row[0])
            assert await next_kind(subscription) == RESYNC
            await publish(services, organization, "message.created")
            assert await next_kind(subscription) == "message.created"
            assert hub.connections == 2
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
        await hub.stop()


async def publish(
    services: Services,
    organization: uuid.UUID,
    kind: str,
    conversation: uuid.UUID | None = None,
) -> None:
    """An event as the database publishes it (about a made-up conversation by default)."""
    async with services.database.transaction(Caller.service()) as conn:
        await conn.execute(
            "select private.publish_event(%s, %s, jsonb_build_object('conversation_id', %s))",
            [organization, kind, conversation or uuid.uuid4()],
        )


# -- subscriptions over a real WebSocket ----------------------------------------------------


async def test_a_bad_token_closes_the_socket_with_4403(settings: Settings) -> None:
    async with (
        live_server(settings) as server,
        graphql_socket(server, {"Authorization": "Bearer not-a-token"}) as ws,
    ):
        with pytest.raises(ConnectionClosed) as closed:
            await ws.receive()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403


async def test_the_inbox_follows_replies_handoffs_and_assignments_live(
    settings: Settings, factory: Factory, services: Services
) -> None:
    organization = await factory.organization()
    watcher = await factory.member(organization)
    replier = organization.owner
    conversation = await factory.messaging.conversation(organization)

    async with (
        live_server(settings) as server,
        graphql_socket(server, {"Authorization": f"Bearer {watcher.token}"}) as ws,
    ):
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.subscribe("inbox", INBOX_EVENTS, {"org": str(organization.id)})
        await server.wait_for_subscribers(1)
        # Waiting subscriptions hold no database connection.
        await server.wait_until_no_connection_is_held()

        async with httpx.AsyncClient(base_url=server.http_url) as http:
            sent = await http.post(
                "/graphql",
                json={
                    "query": "mutation ($input: SendMessageInput!) {"
                    " sendMessage(input: $input) { __typename } }",
                    "variables": {"input": {"conversationId": str(conversation), "body": "Oi!"}},
                },
                headers=replier.headers,
            )
            assert sent.json() == {"data": {"sendMessage": {"__typename": "SendMessageSuccess"}}}

        created = (await ws.next_payload("inbox"))["data"]["conversationEvents"]
        paused = (await ws.next_payload("inbox"))["data"]["conversationEvents"]
        assert created["kind"] == "MESSAGE_CREATED"
        assert created["message"] == {"body": "Oi!", "author": "MEMBER"}
        assert created["conversation"]["id"] == str(conversation)
        assert paused["kind"] == "AI_CHANGED"
        assert paused["conversation"]["aiEnabled"] is False

        async with services.database.transaction(Caller.service()) as conn:
            await conn.execute(
                "update public.conversations set status = 'handoff', assignee_id = %s"
                " where id = %s",
                [watcher.id, conversation],
            )
        kinds = {(await ws.next_payload("inbox"))["data"]["conversationEvents"]["kind"]}
        kinds.add((await ws.next_payload("inbox"))["data"]["conversationEvents"]["kind"])
        assert kinds == {"HANDED_OFF", "ASSIGNED"}


async def test_a_removed_member_stops_receiving_at_the_next_event(
    settings: Settings, factory: Factory, services: Services
) -> None:
    organization = await factory.organization()
    leaver = await factory.member(organization)
    conversation = await factory.messaging.conversation(organization)

    async with (
        live_server(settings) as server,
        graphql_socket(server, {"Authorization": f"Bearer {leaver.token}"}) as ws,
    ):
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.subscribe("inbox", INBOX_EVENTS, {"org": str(organization.id)})
        await server.wait_for_subscribers(1)
        async with services.database.transaction(Caller.service()) as conn:
            await conn.execute("delete from public.memberships where user_id = %s", [leaver.id])
            await conn.execute(
                "update public.conversations set ai_enabled = false where id = %s",
                [conversation],
            )

        final = await ws.next_payload("inbox")
        assert final["data"] is None
        assert [error["extensions"]["code"] for error in final["errors"]] == ["FORBIDDEN"]
        assert (await ws.receive())["type"] == "complete"
        await server.wait_for_subscribers(0)


async def test_a_subscription_outlives_a_database_blip_with_a_resync(
    settings: Settings, factory: Factory, services: Services, database_url: str
) -> None:
    organization = await factory.organization()
    watcher = organization.owner
    conversation = await factory.messaging.conversation(organization)
    # Reading an event's rows fails while another session holds the conversations table
    # exclusively: the read waits past the (short) statement timeout, as it would on a
    # database that is restarting or unreachable.
    impatient = settings.model_copy(update={"statement_timeout_ms": 300})

    async with (
        live_server(impatient) as server,
        graphql_socket(server, {"Authorization": f"Bearer {watcher.token}"}) as ws,
    ):
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.subscribe("inbox", INBOX_EVENTS, {"org": str(organization.id)})
        await server.wait_for_subscribers(1)
        with psycopg.connect(database_url) as blocker:
            blocker.execute("lock table public.conversations in access exclusive mode")
            await publish(services, organization.id, "conversation.assigned", conversation)
            resync = await ws.next_payload("inbox")
            blocker.rollback()
        assert resync["data"]["conversationEvents"]["kind"] == "RESYNC"
        assert "errors" not in resync

        # The subscription goes on, and reads the next event as usual.
        await publish(services, organization.id, "conversation.ai_changed", conversation)
        after = await ws.next_payload("inbox")
        assert after["data"]["conversationEvents"]["kind"] == "AI_CHANGED"
        assert after["data"]["conversationEvents"]["conversation"]["id"] == str(conversation)
        await server.wait_until_no_connection_is_held()


async def test_a_subscription_outlives_its_connection_dying_before_the_commit(
    settings: Settings,
    factory: Factory,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found by tests/faults/test_postgres_restart.py: the database went away between an
    # event's read and its transaction's commit, and the subscription ended with an
    # internal error. Here the event's own session is terminated just before its commit.
    organization = await factory.organization()
    watcher = organization.owner
    conversation = await factory.messaging.conversation(organization)
    finish = RequestTransaction.finish
    terminated: list[int] = []

    async def terminate_then_finish(self: RequestTransaction, *, commit: bool) -> None:
        conn = self._conn
        if conn is not None and commit and not terminated:
            terminated.append(conn.info.backend_pid)
            with contextlib.suppress(psycopg.OperationalError):
                await conn.execute("select pg_terminate_backend(pg_backend_pid())")
        await finish(self, commit=commit)

    async with (
        live_server(settings) as server,
        graphql_socket(server, {"Authorization": f"Bearer {watcher.token}"}) as ws,
    ):
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.subscribe("inbox", INBOX_EVENTS, {"org": str(organization.id)})
        await server.wait_for_subscribers(1)
        monkeypatch.setattr(RequestTransaction, "finish", terminate_then_finish)
        await publish(services, organization.id, "conversation.assigned", conversation)
        first = await ws.next_payload("inbox")
        assert terminated, "the event's transaction was not ended"
        assert first["data"]["conversationEvents"]["kind"] == "ASSIGNED"

        # The subscription goes on, and reads the next event on a live connection.
        await publish(services, organization.id, "conversation.ai_changed", conversation)
        after = await ws.next_payload("inbox")
        assert after["data"]["conversationEvents"]["kind"] == "AI_CHANGED"
        assert after["data"]["conversationEvents"]["conversation"]["id"] == str(conversation)
        await server.wait_until_no_connection_is_held()


async def test_one_conversations_messages_arrive_as_they_are_stored(
    settings: Settings, factory: Factory, services: Services
) -> None:
    organization = await factory.organization()
    member = organization.owner
    channel = await factory.messaging.channel(organization)
    contact_phone = "+5521988887777"
    contact = await factory.messaging.contact(organization, phone_number=contact_phone)
    conversation = await factory.messaging.conversation(
        organization, channel=channel, contact=contact
    )
    elsewhere = await factory.messaging.conversation(organization, channel=channel)
    outsider = await factory.organization()

    async with (
        live_server(settings) as server,
        graphql_socket(server, {"Authorization": f"Bearer {member.token}"}) as ws,
        graphql_socket(server, {"Authorization": f"Bearer {outsider.owner.token}"}) as stranger,
    ):
        assert (await ws.receive())["type"] == "connection_ack"
        assert (await stranger.receive())["type"] == "connection_ack"
        await stranger.subscribe("peek", MESSAGE_EVENTS, {"id": str(conversation)})
        refused = await stranger.next_payload("peek")
        assert [error["extensions"]["code"] for error in refused["errors"]] == ["NOT_FOUND"]

        await ws.subscribe("chat", MESSAGE_EVENTS, {"id": str(conversation)})
        await server.wait_for_subscribers(1)
        await factory.messaging.message(elsewhere, body="outra conversa")
        async with services.database.transaction(Caller.service()) as conn:
            await conn.execute(
                "select private.publish_event(organization_id, 'message.created',"
                " jsonb_build_object('conversation_id', conversation_id, 'message_id', id))"
                " from public.messages where conversation_id = %s",
                [elsewhere],
            )
            await conn.execute(
                "select * from private.ingest_inbound_message_v1(%s, %s, %s, %s)",
                [channel, "SM" + uuid.uuid4().hex, contact_phone, "Chegou meu pedido?"],
            )

        arrived = (await ws.next_payload("chat"))["data"]["messageEvents"]
        assert arrived == {
            "kind": "CREATED",
            "message": {
                "body": "Chegou meu pedido?",
                "direction": "INBOUND",
                "status": "RECEIVED",
            },
        }
        async with services.database.transaction(Caller.service()) as conn:
            await conn.execute(
                "update public.messages set status = 'read' where conversation_id = %s",
                [conversation],
            )
        updated = (await ws.next_payload("chat"))["data"]["messageEvents"]
        assert updated["kind"] == "UPDATED"
        assert updated["message"]["status"] == "READ"


async def test_events_about_changes_come_from_the_database(database_url: str) -> None:
    """Whoever changes a conversation (API, AI, job), the change is announced."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        trigger = conn.execute(
            "select tgname from pg_trigger where tgrelid = 'public.conversations'::regclass"
            " and tgname = 'tg_conversations__publish_changes'"
        ).fetchone()
    assert trigger is not None


async def test_a_websocket_runs_at_most_100_subscriptions(
    settings: Settings, factory: Factory
) -> None:
    organization = await factory.organization()

    async with (
        live_server(settings) as server,
        graphql_socket(server, {"Authorization": f"Bearer {organization.owner.token}"}) as ws,
    ):
        assert (await ws.receive())["type"] == "connection_ack"
        for number in range(MAX_SUBSCRIPTIONS_PER_CONNECTION):
            await ws.subscribe(f"s{number}", INBOX_EVENTS, {"org": str(organization.id)})
        await server.wait_for_subscribers(MAX_SUBSCRIPTIONS_PER_CONNECTION)

        await ws.subscribe("one-too-many", INBOX_EVENTS, {"org": str(organization.id)})
        refused = await ws.receive()
        assert refused["id"] == "one-too-many"
        assert refused["type"] == "error"
        assert [error["message"] for error in refused["payload"]] == ["Subscription limit reached"]

        # Ending one makes room for another.
        await ws.send({"id": "s0", "type": "complete"})
        await server.wait_for_subscribers(MAX_SUBSCRIPTIONS_PER_CONNECTION - 1)
        await ws.subscribe("room-again", INBOX_EVENTS, {"org": str(organization.id)})
        await server.wait_for_subscribers(MAX_SUBSCRIPTIONS_PER_CONNECTION)
