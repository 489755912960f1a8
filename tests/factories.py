"""Test data made directly in the database, as the platform (service role).

Tests of a feature build the world around it here instead of going through other
features' APIs, so a failure points at the feature under test.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import bcrypt
import psycopg
from psycopg.types.json import Jsonb

from atende.db.session import Caller
from atende.services import Services


@dataclass(frozen=True)
class TestUser:
    id: uuid.UUID
    email: str
    full_name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def claims(self) -> dict[str, object]:
        return {"sub": str(self.id), "role": "authenticated", "email": self.email}


@dataclass(frozen=True)
class TestOrganization:
    id: uuid.UUID
    name: str
    owner: TestUser


class Factory:
    """``auth_admin_url``: where users are written as the identity server writes them,
    when that is not the platform (Supabase Auth, as ``supabase_auth_admin``)."""

    def __init__(self, services: Services, *, auth_admin_url: str | None = None) -> None:
        self.services = services
        self.auth_admin_url = auth_admin_url
        self.messaging = MessagingFactory(services)

    async def user(
        self, email: str | None = None, full_name: str = "Test User", password: str | None = None
    ) -> TestUser:
        """A user with a profile and an access token; with ``password``, one that can also
        sign in (bcrypt at the lowest cost, so tests stay fast)."""
        user_id = uuid.uuid4()
        email = email or f"user-{user_id.hex[:8]}@example.com"
        encrypted = (
            bcrypt.hashpw(password.encode(), bcrypt.gensalt(4, b"2a")).decode() if password else ""
        )
        new_user = (
            "insert into auth.users (id, aud, role, email, encrypted_password,"
            " raw_app_meta_data, raw_user_meta_data, created_at, updated_at)"
            " values (%s, 'authenticated', 'authenticated', %s, %s, '{}', '{}', now(), now())"
        )
        if self.auth_admin_url is not None:
            async with await psycopg.AsyncConnection.connect(self.auth_admin_url) as auth:
                await auth.execute(new_user, [user_id, email, encrypted])
        async with self.services.database.transaction(Caller.service()) as conn:
            if self.auth_admin_url is None:
                await conn.execute(new_user, [user_id, email, encrypted])
            await conn.execute(
                "insert into public.profiles (id, email, full_name) values (%s, %s, %s)",
                [user_id, email, full_name],
            )
        token = self.services.tokens.issue(user_id=user_id, email=email, session_id=uuid.uuid4())
        return TestUser(id=user_id, email=email, full_name=full_name, token=token.token)

    async def organization(
        self, name: str = "Padaria Teste", owner: TestUser | None = None
    ) -> TestOrganization:
        owner = owner or await self.user()
        async with self.services.database.transaction(Caller.service()) as conn:
            row = await (
                await conn.execute(
                    "insert into public.organizations (name) values (%s) returning id", [name]
                )
            ).fetchone()
            assert row is not None
            await conn.execute(
                "insert into public.memberships (organization_id, user_id, role)"
                " values (%s, %s, 'owner')",
                [row["id"], owner.id],
            )
        return TestOrganization(id=row["id"], name=name, owner=owner)

    async def member(self, organization: TestOrganization, role: str = "agent") -> TestUser:
        user = await self.user()
        async with self.services.database.transaction(Caller.service()) as conn:
            await conn.execute(
                "insert into public.memberships (organization_id, user_id, role)"
                " values (%s, %s, %s)",
                [organization.id, user.id, role],
            )
        return user


# -- Channels, contacts and conversations, for the AI reply tests ----------------------
# (Named for what they serve, so they sit beside other modules' helpers without clashing.)


@dataclass(frozen=True)
class ReplyTestChannel:
    id: uuid.UUID
    organization_id: uuid.UUID
    phone_number: str
    kind: str


@dataclass(frozen=True)
class IngestedMessage:
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    contact_id: uuid.UUID
    duplicate: bool
    reply_job_id: int | None


class ReplyFactory:
    """Channels and inbound messages made the way the webhook makes them: through
    ``private.ingest_inbound_message_v1``, as the platform."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def channel(
        self,
        organization: TestOrganization,
        kind: str = "whatsapp",
        phone_number: str | None = None,
    ) -> ReplyTestChannel:
        phone_number = phone_number or f"+5511{uuid.uuid4().int % 10**9:09d}"
        async with self.services.database.transaction(Caller.service()) as conn:
            row = await (
                await conn.execute(
                    "insert into public.channels (organization_id, kind, phone_number,"
                    " twilio_account_sid, twilio_auth_token_ciphertext)"
                    " values (%s, %s, %s, %s, 'not-a-real-ciphertext') returning id",
                    [organization.id, kind, phone_number, "AC" + uuid.uuid4().hex],
                )
            ).fetchone()
        assert row is not None
        return ReplyTestChannel(row["id"], organization.id, phone_number, kind)

    async def inbound(
        self,
        channel: ReplyTestChannel,
        body: str,
        *,
        from_number: str = "+5521987654321",
        media: list[dict[str, str]] | None = None,
        profile_name: str | None = "Cliente Teste",
    ) -> IngestedMessage:
        async with self.services.database.transaction(Caller.service()) as conn:
            row = await (
                await conn.execute(
                    "select * from private.ingest_inbound_message_v1("
                    " channel_id => %s, message_sid => %s, from_number => %s, body => %s,"
                    " media => %s::jsonb, profile_name => %s)",
                    [
                        channel.id,
                        "SM" + uuid.uuid4().hex,
                        from_number,
                        body,
                        json.dumps(media or []),
                        profile_name,
                    ],
                )
            ).fetchone()
        assert row is not None
        return IngestedMessage(**row)

    async def configure_agent(self, organization_id: uuid.UUID, **settings: object) -> None:
        """Change an organization's agent settings directly (column = value)."""
        assignments = ", ".join(f"{column} = %s" for column in settings)
        async with self.services.database.transaction(Caller.service()) as conn:
            await conn.execute(
                f"update public.agents set {assignments} where organization_id = %s",
                [*settings.values(), organization_id],
            )


# -- messaging (channels, contacts, conversations, messages) -----------------------------


def _phone() -> str:
    return "+55119" + str(uuid.uuid4().int % 10**8).zfill(8)


class MessagingFactory:
    """Channels, contacts, conversations and messages, inserted as the platform."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def _insert(self, sql: str, params: dict[str, object]) -> uuid.UUID:
        async with self.services.database.transaction(Caller.service()) as conn:
            row = await (await conn.execute(sql, params)).fetchone()
        assert row is not None
        return uuid.UUID(str(row["id"]))

    async def channel(
        self, organization: TestOrganization, *, kind: str = "whatsapp", phone_number: str = ""
    ) -> uuid.UUID:
        return await self._insert(
            "insert into public.channels (organization_id, kind, phone_number,"
            " twilio_account_sid, twilio_auth_token_ciphertext)"
            " values (%(org)s, %(kind)s, %(phone)s, %(sid)s, 'ciphertext') returning id",
            {
                "org": organization.id,
                "kind": kind,
                "phone": phone_number or _phone(),
                "sid": "AC" + uuid.uuid4().hex,
            },
        )

    async def contact(
        self,
        organization: TestOrganization,
        *,
        phone_number: str = "",
        profile_name: str | None = None,
        display_name: str | None = None,
        opted_out: bool = False,
    ) -> uuid.UUID:
        return await self._insert(
            "insert into public.contacts (organization_id, phone_number, profile_name,"
            " display_name, opted_out_at)"
            " values (%(org)s, %(phone)s, %(profile)s, %(display)s,"
            " case when %(opted_out)s then now() end) returning id",
            {
                "org": organization.id,
                "phone": phone_number or _phone(),
                "profile": profile_name,
                "display": display_name,
                "opted_out": opted_out,
            },
        )

    async def conversation(
        self,
        organization: TestOrganization,
        *,
        channel: uuid.UUID | None = None,
        contact: uuid.UUID | None = None,
        profile_name: str | None = None,
        status: str = "open",
        inbound_hours_ago: float | None = 0.0,
        last_message_at: datetime | None = None,
        assignee: uuid.UUID | None = None,
        ai_enabled: bool = True,
    ) -> uuid.UUID:
        channel = channel or await self.channel(organization)
        contact = contact or await self.contact(organization, profile_name=profile_name)
        return await self._insert(
            "insert into public.conversations (organization_id, channel_id, contact_id, status,"
            " last_inbound_at, last_message_at, assignee_id, ai_enabled, closed_at)"
            " values (%(org)s, %(channel)s, %(contact)s, %(status)s::public.conversation_status,"
            " now() - make_interval(secs => %(ago)s * 3600),"
            " coalesce(%(last)s, now()), %(assignee)s, %(ai)s,"
            " case when %(status)s::text = 'closed' then now() end) returning id",
            {
                "org": organization.id,
                "channel": channel,
                "contact": contact,
                "status": status,
                "ago": inbound_hours_ago,
                "last": last_message_at,
                "assignee": assignee,
                "ai": ai_enabled,
            },
        )

    async def message(
        self,
        conversation: uuid.UUID,
        *,
        body: str = "Olá",
        direction: str = "inbound",
        author: str | None = None,
        author_member: uuid.UUID | None = None,
        status: str | None = None,
        created_at: datetime | None = None,
        media: list[dict[str, str]] | None = None,
        is_error: bool = False,
        error_code: str | None = None,
    ) -> uuid.UUID:
        author = author or ("contact" if direction == "inbound" else "ai")
        status = status or ("received" if direction == "inbound" else "sent")
        return await self._insert(
            "insert into public.messages (organization_id, conversation_id, direction, author,"
            " author_member_id, body, media, status, created_at, is_error, error_code, metadata)"
            " select c.organization_id, c.id, %(direction)s, %(author)s, %(member)s, %(body)s,"
            " %(media)s, %(status)s, coalesce(%(at)s, now()), %(is_error)s, %(error_code)s,"
            " jsonb_build_object('message_sid', 'SM' || md5(random()::text))"
            " from public.conversations as c where c.id = %(conversation)s returning id",
            {
                "conversation": conversation,
                "direction": direction,
                "author": author,
                "member": author_member,
                "body": body,
                "media": Jsonb(media or []),
                "status": status,
                "at": created_at,
                "is_error": is_error,
                "error_code": error_code,
            },
        )
