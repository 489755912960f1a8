"""Secrets never reach a log or an error answer, in the real processes, at DEBUG.

Every flow runs against ``atende serve`` and ``atende worker`` (and the simulator) with
``ATENDE_LOG_LEVEL=DEBUG``: register, sign in (and fail to), refresh (and replay a used
token), invite (the link read from the outbox, as the invitee would read the mail) and
accept, create a channel and change its Twilio auth token, an inbound webhook, a reply
from the model, the send, the status callbacks, a model that rejects the key and quotes
it back, a realtime subscription, and GraphQL errors that quote what
was sent. Then the processes' whole output, and every GraphQL error answer, are searched
for each secret the test used: ATENDE_JWT_SECRET, ATENDE_SECRET_KEY, OPENAI_API_KEY, the
database password, the channel's Twilio auth tokens (and their Basic-auth form), the
users' passwords, the access, refresh, invitation and verification tokens.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import psycopg
import pytest
from websockets.asyncio.client import connect

from tests.fakes.openai_server import ErrorReply, FakeOpenAI, TextReply
from tests.faults.conftest import ProductFactory
from tests.faults.world import (
    ACCOUNT_SID,
    DATABASE_PASSWORD,
    JWT_SECRET,
    OPENAI_API_KEY,
    SECRET_KEY,
    Delivery,
    SignedWebhook,
    Simulator,
    customer_number,
    deliver_like_twilio,
)
from tests.identity.graphql import ACCEPT, INVITE, REFRESH, REGISTER, SIGN_IN, SIGN_OUT
from tests.identity.mailbox import token_in

pytestmark = pytest.mark.faults

OWNER_PASSWORD = "senha-da-dona-rosa-91f3"
INVITEE_PASSWORD = "senha-do-joao-77c2"
WRONG_PASSWORD = "senha-errada-5d0e"
WEAK_PASSWORD = "curta1"
FIRST_TOKEN = "twilio-token-first-0a1b2c3d4e5f"
TWILIO_TOKEN = "twilio-token-second-9f8e7d6c5b4a"
CHANNEL_NUMBER = "+5511950000000"

CREATE_CHANNEL = """
mutation ($input: CreateChannelInput!) {
  createChannel(input: $input) {
    __typename
    ... on CreateChannelSuccess { channel { id } }
    ... on UserError { message }
  }
}
"""
UPDATE_CHANNEL = """
mutation ($input: UpdateChannelInput!) {
  updateChannel(input: $input) { __typename ... on UserError { message } }
}
"""
UPDATE_AGENT = """
mutation ($input: UpdateAgentInput!) {
  updateAgent(input: $input) { __typename ... on UserError { message } }
}
"""
SUBSCRIBE = "subscription ($org: ID!) { conversationEvents(organizationId: $org) { kind } }"


async def mailed_token(database_url: str, recipient: str, kind: str) -> str:
    """The token of the latest ``kind`` mail to ``recipient``, read from the outbox."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await (
            await conn.execute(
                "select text from private.mail_outbox where recipient = %s and kind = %s"
                " order by created_at desc limit 1",
                [recipient, kind],
            )
        ).fetchone()
    assert row is not None, f"no {kind} mail to {recipient}"
    return token_in({"text": row[0]})


class Client:
    """GraphQL over HTTP against the running API; keeps every error answer."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.error_answers: list[str] = []

    async def post(self, body: Any, token: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = await self.http.post("/graphql", json=body, headers=headers)
        if answer.status_code != 200 or "errors" in answer.text:
            self.error_answers.append(answer.text)
        parsed: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
        return parsed

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        body = await self.post({"query": query, "variables": variables or {}}, token)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data


async def test_no_secret_reaches_a_log_or_an_error_at_debug(
    launch: ProductFactory, fake_openai: FakeOpenAI, simulator: Simulator
) -> None:
    product = launch(ATENDE_LOG_LEVEL="DEBUG")
    api = product.start_api()
    product.start_worker()
    await product.wait_ready()
    secrets: dict[str, str] = {
        "ATENDE_JWT_SECRET": JWT_SECRET,
        "ATENDE_SECRET_KEY": SECRET_KEY,
        "OPENAI_API_KEY": OPENAI_API_KEY,
        "database password": DATABASE_PASSWORD,
        "first Twilio auth token": FIRST_TOKEN,
        "Twilio auth token": TWILIO_TOKEN,
        "Twilio basic auth": base64.b64encode(f"{ACCOUNT_SID}:{TWILIO_TOKEN}".encode()).decode(),
        "owner password": OWNER_PASSWORD,
        "invitee password": INVITEE_PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "weak password": WEAK_PASSWORD,
    }

    async with httpx.AsyncClient(base_url=product.public_url, timeout=20) as http:
        client = Client(http)
        # Identity: register, sign in (right and wrong), refresh and replay, invite, accept.
        registered = (
            await client.data(
                REGISTER,
                {
                    "input": {
                        "organizationName": "Floricultura Segredo",
                        "fullName": "Rosa",
                        "email": "rosa@example.com",
                        "password": OWNER_PASSWORD,
                    }
                },
            )
        )["registerOrganization"]
        assert registered["__typename"] == "RegisterOrganizationSuccess", registered
        organization_id = registered["organization"]["id"]
        first = registered["session"]
        signed_in = (
            await client.data(
                SIGN_IN, {"input": {"email": "rosa@example.com", "password": OWNER_PASSWORD}}
            )
        )["signIn"]["session"]
        for email in ("rosa@example.com", "ninguem@example.com"):
            await client.data(SIGN_IN, {"input": {"email": email, "password": WRONG_PASSWORD}})
        refreshed = (await client.data(REFRESH, {"refreshToken": signed_in["refreshToken"]}))[
            "refreshSession"
        ]["session"]
        await client.data(REFRESH, {"refreshToken": signed_in["refreshToken"]})  # a replay
        # The replay signed that session out everywhere, the refreshed token with it.
        assert "errors" in await client.post(
            {"query": "{ viewer { user { id } } }"}, refreshed["accessToken"]
        )
        owner = (
            await client.data(
                SIGN_IN, {"input": {"email": "rosa@example.com", "password": OWNER_PASSWORD}}
            )
        )["signIn"]["session"]["accessToken"]
        await client.data(
            INVITE,
            {"organizationId": organization_id, "email": "joao@example.com", "role": "ADMIN"},
            owner,
        )
        invitation = await mailed_token(product.database_url, "joao@example.com", "invitation")
        secrets["verification token"] = await mailed_token(
            product.database_url, "rosa@example.com", "verify_email"
        )
        await client.data(
            ACCEPT, {"token": invitation, "fullName": "João", "password": WEAK_PASSWORD}
        )
        accepted = (
            await client.data(
                ACCEPT, {"token": invitation, "fullName": "João", "password": INVITEE_PASSWORD}
            )
        )["acceptInvitation"]["session"]
        await client.data(SIGN_OUT, {"refreshToken": accepted["refreshToken"]})
        for name, session in (
            ("registration", first),
            ("sign-in", signed_in),
            ("refresh", refreshed),
            ("invitee", accepted),
        ):
            secrets[f"{name} access token"] = session["accessToken"]
            secrets[f"{name} refresh token"] = session["refreshToken"]
        secrets["invitation token"] = invitation

        # A channel, its token changed, the agent answering at once. The simulator's
        # account has the number (createChannel asks Twilio whether it does).
        async with httpx.AsyncClient(base_url=simulator.base_url, timeout=5) as control:
            (
                await control.post(
                    "/__simulator/accounts",
                    json={"account_sid": ACCOUNT_SID, "numbers": [f"whatsapp:{CHANNEL_NUMBER}"]},
                )
            ).raise_for_status()
        created = (
            await client.data(
                CREATE_CHANNEL,
                {
                    "input": {
                        "organizationId": organization_id,
                        "kind": "WHATSAPP",
                        "phoneNumber": CHANNEL_NUMBER,
                        "twilioAccountSid": ACCOUNT_SID,
                        "twilioAuthToken": FIRST_TOKEN,
                    }
                },
                owner,
            )
        )["createChannel"]
        assert created["__typename"] == "CreateChannelSuccess", created
        await client.data(
            UPDATE_CHANNEL,
            {"input": {"channelId": created["channel"]["id"], "twilioAuthToken": TWILIO_TOKEN}},
            owner,
        )
        await client.data(
            UPDATE_AGENT,
            {"input": {"organizationId": organization_id, "debounceSeconds": 0}},
            owner,
        )

        # Realtime, with the token in connection_init.
        events: list[str] = []
        listener = asyncio.create_task(_listen(product.api_port, owner, organization_id, events))

        # A customer writes; the model answers; Twilio takes it and reports back.
        fake_openai.script(TextReply("Olá! Temos rosas vermelhas."))
        customer = customer_number(1, "55219")
        await _deliver(product.webhook_url, Delivery(customer, "Vocês têm rosas?"))
        await simulator.wait_for_customers([customer], timeout=30)
        # The model then rejects the key and quotes it back in its error.
        fake_openai.script(ErrorReply.invalid_api_key(OPENAI_API_KEY))
        other = customer_number(2, "55219")
        await _deliver(product.webhook_url, Delivery(other, "E orquídeas?"))
        await simulator.wait_for_customers([other], timeout=30)
        for request in fake_openai.requests:
            assert request.authorization == f"Bearer {OPENAI_API_KEY}"  # the key was used

        # GraphQL errors that quote what the client sent.
        await client.post(
            {
                "query": SIGN_IN,
                "variables": {
                    "input": {"email": "rosa@example.com", "password": OWNER_PASSWORD, "pasword": 1}
                },
            }
        )
        await client.post(
            {"query": REFRESH, "variables": {"refreshToken": ["x", refreshed["refreshToken"]]}}
        )
        await client.post(
            {
                "query": "query ($id: ID!) { conversation(id: $id) { id } }",
                "variables": {"id": refreshed["refreshToken"]},
            },
            owner,
        )
        await client.post(
            {"query": f'{{ conversation(id: "{owner}") {{ id }} }}'},
            owner,
        )
        await client.post({"query": "{ viewer { user { id } } }"}, owner + "x")
        await client.post({"query": "{ viewer { user { id } } }"}, JWT_SECRET)
        await client.post(
            {
                "query": UPDATE_CHANNEL,
                "variables": {
                    "input": {"channelId": created["channel"]["id"], "twilioAuthToken": 12345}
                },
            },
            owner,
        )
        await asyncio.sleep(1)  # the last status callbacks and log lines
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)

    logs = product.logs() + simulator.process.log()
    assert "DEBUG" in api.log(), "the API logged at DEBUG"
    assert "MESSAGE_CREATED" in events
    leaked_to_logs = sorted(name for name, value in secrets.items() if value in logs)
    answers = "\n".join(client.error_answers)
    leaked_to_answers = sorted(name for name, value in secrets.items() if value in answers)
    assert len(client.error_answers) >= 5
    assert leaked_to_logs == []
    assert leaked_to_answers == []


async def _deliver(url: str, delivery: Delivery) -> None:
    import aiohttp

    webhook = SignedWebhook.inbound(url, delivery, auth_token=TWILIO_TOKEN, to=CHANNEL_NUMBER)
    async with aiohttp.ClientSession() as http:
        await deliver_like_twilio(http, webhook, delivery)
    assert delivery.accepted, delivery.attempts


async def _listen(port: int, token: str, organization_id: str, events: list[str]) -> None:
    url = f"ws://127.0.0.1:{port}/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as socket_:  # type: ignore[list-item]
        await socket_.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        await socket_.recv()
        await socket_.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"org": organization_id}},
                }
            )
        )
        while True:
            message = json.loads(await socket_.recv())
            if message.get("type") == "next":
                events.append(message["payload"]["data"]["conversationEvents"]["kind"])
