"""Sessions end when they should: a signed-out session's access tokens are refused within
``ATENDE_SESSION_CHECK_SECONDS``, and a subscription closes when its token expires (4440)
or its session ends (4441)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from atende.api.view import CLOSE_SESSION_ENDED, CLOSE_TOKEN_EXPIRED
from atende.app import create_app
from atende.config import Settings
from atende.db.session import Caller, Database
from atende.identity.sessions import SessionLiveness
from atende.services import Services
from tests.graphql.live import (
    RECEIVE_TIMEOUT,
    GraphQLSocket,
    LiveServer,
    graphql_socket,
    live_server,
)
from tests.identity.graphql import SIGN_OUT, VIEWER, execute, register

#: The check delay these tests run with (the default is 5 s).
CHECK_SECONDS = 1.0

SIGN_IN_OWNER = """
mutation ($email: String!) {
  signIn(input: {email: $email, password: "pão-de-queijo-42"}) {
    ... on SignInSuccess { session { accessToken refreshToken } }
  }
}
"""


INBOX_EVENTS = """
subscription ($org: ID!) { conversationEvents(organizationId: $org) { kind } }
"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"session_check_seconds": CHECK_SECONDS})


async def viewer_codes(client: httpx.AsyncClient, token: str) -> list[str]:
    """The error codes of a viewer query with ``token`` (none: it was answered)."""
    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"}
    )
    body: dict[str, Any] = response.json()
    if "errors" not in body:
        assert body["data"]["viewer"]["user"] is not None
        return []
    assert body["data"] is None
    return [error["extensions"]["code"] for error in body["errors"]]


async def refused_after(client: httpx.AsyncClient, token: str, within: float) -> float:
    """Seconds until ``token`` is refused (asked every 50 ms), failing past ``within``."""
    started = time.monotonic()
    while (codes := await viewer_codes(client, token)) == []:
        assert time.monotonic() - started < within, "still accepted"
        await asyncio.sleep(0.05)
    assert codes == ["UNAUTHENTICATED"]
    return time.monotonic() - started


# -- requests ------------------------------------------------------------------------------


async def test_signing_out_refuses_the_sessions_access_token_at_once_in_that_process(
    client: httpx.AsyncClient,
) -> None:
    session = (await register(client))["session"]
    assert await viewer_codes(client, session["accessToken"]) == []

    signed_out = await execute(client, SIGN_OUT, token=session["accessToken"])

    assert signed_out == {"signOut": {"revoked": True}}
    assert await viewer_codes(client, session["accessToken"]) == ["UNAUTHENTICATED"]


async def test_a_session_signed_out_elsewhere_is_refused_within_the_check_delay(
    client: httpx.AsyncClient, services: Services
) -> None:
    registered = await register(client)
    session = registered["session"]
    other = (await execute(client, SIGN_IN_OWNER, {"email": registered["user"]["email"]}))[
        "signIn"
    ]["session"]
    assert await viewer_codes(client, session["accessToken"]) == []  # known alive, cached

    # Another process signs it out: this one learns it from the database.
    assert await services.identity.sessions.revoke_by_refresh_token(session["refreshToken"])

    assert await refused_after(client, session["accessToken"], within=CHECK_SECONDS + 0.5) <= (
        CHECK_SECONDS + 0.5
    )
    assert await viewer_codes(client, other["accessToken"]) == []  # the user's other session


async def test_with_a_delay_of_0_the_next_request_is_refused(
    settings: Settings, services: Services
) -> None:
    app = create_app(settings.model_copy(update={"session_check_seconds": 0.0}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://atende.test") as client:
            session = (await register(client))["session"]
            assert await viewer_codes(client, session["accessToken"]) == []

            await services.identity.sessions.revoke_by_refresh_token(session["refreshToken"])

            assert await viewer_codes(client, session["accessToken"]) == ["UNAUTHENTICATED"]


async def test_tokens_of_sessions_atende_did_not_start_are_judged_by_signature_and_expiry(
    client: httpx.AsyncClient, services: Services
) -> None:
    """Without a session id, or with one Atende does not know (Supabase Auth's tokens
    name its own sessions): signature, audience and expiry decide."""
    registered = await register(client)
    claims = jwt.decode(registered["session"]["accessToken"], options={"verify_signature": False})
    secret = services.settings.jwt_secret.get_secret_value()
    without_session = {k: v for k, v in claims.items() if k != "session_id"}
    foreign_session = {**claims, "session_id": str(uuid.uuid4())}

    for forged in (without_session, foreign_session):
        token = jwt.encode(forged, secret, algorithm="HS256")
        assert await viewer_codes(client, token) == [], forged


async def test_a_cached_answer_costs_no_query_and_concurrent_questions_share_one(
    services: Services,
) -> None:
    database = services.database
    queries: list[str] = []

    class CountingDatabase(Database):
        async def fetch_all(self, caller: Caller, query: Any, *args: Any, **kw: Any) -> Any:
            queries.append(query)
            await asyncio.sleep(0.05)  # a slow answer: the others wait for it
            return await database.fetch_all(caller, query, *args, **kw)

    liveness = SessionLiveness(CountingDatabase(database.pool), ttl=5.0)
    session, user = str(uuid.uuid4()), str(uuid.uuid4())

    answers = await asyncio.gather(*(liveness.is_alive(session, user) for _ in range(50)))
    answers.append(await liveness.is_alive(session, user))

    assert answers == [True] * 51
    assert len(queries) == 1
    liveness.ended(session, user)
    assert await liveness.is_alive(session, user) is False
    assert len(queries) == 1


# -- subscriptions -------------------------------------------------------------------------


async def follow_inbox(server: LiveServer, ws: GraphQLSocket, organization: str) -> None:
    assert (await ws.receive())["type"] == "connection_ack"
    await ws.subscribe("inbox", INBOX_EVENTS, {"org": organization})
    await server.wait_for_subscribers(1)


async def close_of(ws: GraphQLSocket, timeout: float) -> tuple[int, str]:
    """The code and reason the server closes ``ws`` with; nothing else arrives first."""
    with pytest.raises(ConnectionClosed) as closed:
        message = await ws.receive(timeout=timeout)
        raise AssertionError(f"received {message} instead of a close")
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_a_subscription_closes_with_4440_when_its_token_expires(
    settings: Settings,
) -> None:
    # Settings are validated when read from the environment (30 s at least); a copy is not.
    async with live_server(settings.model_copy(update={"access_token_ttl_seconds": 2})) as server:
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            registered = await register(http)
        token = registered["session"]["accessToken"]
        expires = jwt.decode(token, options={"verify_signature": False})["exp"]
        async with graphql_socket(server, {"Authorization": f"Bearer {token}"}) as ws:
            await follow_inbox(server, ws, registered["organization"]["id"])
            closed = await close_of(ws, timeout=5.0)
            closed_at = time.time()
        assert closed == (CLOSE_TOKEN_EXPIRED, "Token expired")
        assert expires <= closed_at < expires + 1.0
        await server.wait_for_subscribers(0)


async def test_a_subscription_closes_with_4441_when_its_session_is_signed_out_elsewhere(
    settings: Settings,
) -> None:
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.http_url) as http:
        registered = await register(http)
        session = registered["session"]
        async with graphql_socket(
            server, {"Authorization": f"Bearer {session['accessToken']}"}
        ) as ws:
            await follow_inbox(server, ws, registered["organization"]["id"])

            # Another device signs this session out with its refresh token.
            signed_out = await execute(http, SIGN_OUT, {"refreshToken": session["refreshToken"]})
            signed_out_at = time.monotonic()
            closed = await close_of(ws, timeout=CHECK_SECONDS + 2)
            waited = time.monotonic() - signed_out_at
        assert signed_out == {"signOut": {"revoked": True}}
        assert closed == (CLOSE_SESSION_ENDED, "Session ended")
        assert waited <= CHECK_SECONDS + 0.5
        await server.wait_for_subscribers(0)


async def test_the_legacy_graphql_ws_protocol_is_refused(settings: Settings) -> None:
    """It would keep a socket open past its token (only graphql-transport-ws is watched)."""
    async with (
        live_server(settings) as server,
        connect(server.ws_url, subprotocols=["graphql-ws"]) as connection,  # type: ignore[list-item]
    ):
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(connection.recv(), RECEIVE_TIMEOUT)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4406
