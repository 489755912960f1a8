"""A business with a Twilio channel, made in the database as the platform would: the
channel's auth token encrypted as the API stores it. For tests of webhooks and sends."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from psycopg.types.json import Jsonb
from pydantic import SecretStr

from atende.channels.sending import MessageSender
from atende.db.session import Caller
from atende.devtools.twilio_simulator import InboundDelivery, new_sid, post_inbound_message
from atende.services import Services
from atende.transports.twilio.models import TwilioCredentials
from atende.transports.twilio.webhooks import INBOUND_PATH
from tests.factories import Factory, TestOrganization

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "simulator-auth-token-0123456789"
PUBLIC_URL = "https://atende.test"


def random_phone() -> str:
    return "+55119" + str(uuid.uuid4().int % 10**8).zfill(8)


@dataclass
class TestChannel:
    __test__ = False  # not a test class, whatever its name says

    id: uuid.UUID
    organization: TestOrganization
    kind: str
    phone_number: str
    account_sid: str
    auth_token: str

    @property
    def address(self) -> str:
        return f"whatsapp:{self.phone_number}" if self.kind == "whatsapp" else self.phone_number

    def address_of(self, phone_number: str) -> str:
        return f"whatsapp:{phone_number}" if self.kind == "whatsapp" else phone_number

    @property
    def credentials(self) -> TwilioCredentials:
        return TwilioCredentials(
            account_sid=self.account_sid, auth_token=SecretStr(self.auth_token)
        )


async def make_channel(
    services: Services,
    factory: Factory,
    *,
    organization: TestOrganization | None = None,
    kind: str = "whatsapp",
    phone_number: str | None = None,
    account_sid: str = ACCOUNT_SID,
    auth_token: str = AUTH_TOKEN,
    enabled: bool = True,
) -> TestChannel:
    organization = organization or await factory.organization()
    phone_number = phone_number or random_phone()
    async with services.database.transaction(Caller.service()) as conn:
        row = await (
            await conn.execute(
                "insert into public.channels (organization_id, kind, phone_number,"
                " twilio_account_sid, twilio_auth_token_ciphertext, enabled)"
                " values (%s, %s, %s, %s, %s, %s) returning id",
                [
                    organization.id,
                    kind,
                    phone_number,
                    account_sid,
                    services.cipher.encrypt(auth_token),
                    enabled,
                ],
            )
        ).fetchone()
    assert row is not None
    return TestChannel(row["id"], organization, kind, phone_number, account_sid, auth_token)


async def deliver(
    client: httpx.AsyncClient,
    channel: TestChannel,
    *,
    from_: str | None = None,
    body: str = "Olá",
    auth_token: str | None = None,
    message_sid: str | None = None,
    **fields: Any,
) -> InboundDelivery:
    """Post a signed inbound webhook for ``channel`` to the app behind ``client``."""
    return await post_inbound_message(
        f"{client.base_url}{INBOUND_PATH}",
        signed_url=f"{PUBLIC_URL}{INBOUND_PATH}",
        http_client=client,
        auth_token=auth_token or channel.auth_token,
        account_sid=channel.account_sid,
        from_=channel.address_of(from_ or random_phone()),
        to=channel.address,
        body=body,
        message_sid=message_sid or new_sid(),
        **fields,
    )


async def fetch_all(services: Services, sql: str, params: Any = None) -> list[dict[str, Any]]:
    """Rows as the platform sees them (procrastinate tables included)."""
    async with services.database.pool.connection() as conn:
        return list(await (await conn.execute(sql, params)).fetchall())


async def fetch_one(services: Services, sql: str, params: Any = None) -> dict[str, Any]:
    rows = await fetch_all(services, sql, params)
    assert len(rows) == 1, rows
    return rows[0]


async def open_conversation(
    services: Services,
    channel: TestChannel,
    *,
    phone_number: str | None = None,
    inbound_hours_ago: float | None = 0.0,
    opted_out: bool = False,
) -> uuid.UUID:
    """A contact and an open conversation on ``channel``; the customer last wrote
    ``inbound_hours_ago`` hours ago (None: never)."""
    async with services.database.transaction(Caller.service()) as conn:
        contact = await (
            await conn.execute(
                "insert into public.contacts (organization_id, phone_number, opted_out_at)"
                " values (%s, %s, case when %s then now() end) returning id",
                [channel.organization.id, phone_number or random_phone(), opted_out],
            )
        ).fetchone()
        assert contact is not None
        row = await (
            await conn.execute(
                "insert into public.conversations (organization_id, channel_id, contact_id,"
                " last_inbound_at) values (%s, %s, %s,"
                " now() - make_interval(secs => %s * 3600)) returning id",
                [channel.organization.id, channel.id, contact["id"], inbound_hours_ago],
            )
        ).fetchone()
    assert row is not None
    return uuid.UUID(str(row["id"]))


async def queue_message(
    services: Services,
    conversation_id: uuid.UUID,
    body: str = "Olá! Como posso ajudar?",
    *,
    metadata: dict[str, Any] | None = None,
    author: str = "ai",
) -> uuid.UUID:
    """An outbound message and its send job, as the AI reply job queues them."""
    async with services.database.transaction(Caller.service()) as conn:
        row = await (
            await conn.execute(
                "select private.queue_outbound_message(%s, %s, %s, metadata => %s) as id",
                [conversation_id, author, body, Jsonb(metadata or {})],
            )
        ).fetchone()
    assert row is not None
    return uuid.UUID(str(row["id"]))


def sender_of(services: Services) -> MessageSender:
    """The sender a worker's send job makes, from the test's services."""
    return MessageSender(services.database, services.transport, services.settings)
