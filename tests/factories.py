"""Test data made directly in the database, as the platform (service role).

Tests of a feature build the world around it here instead of going through other
features' APIs, so a failure points at the feature under test.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import bcrypt

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
    def __init__(self, services: Services) -> None:
        self.services = services

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
        async with self.services.database.transaction(Caller.service()) as conn:
            await conn.execute(
                "insert into auth.users (id, aud, role, email, encrypted_password,"
                " raw_app_meta_data, raw_user_meta_data, created_at, updated_at)"
                " values (%s, 'authenticated', 'authenticated', %s, %s, '{}', '{}', now(), now())",
                [user_id, email, encrypted],
            )
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
    ``public.ingest_inbound_message_v1``, as the platform."""

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
                    "select * from public.ingest_inbound_message_v1("
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
