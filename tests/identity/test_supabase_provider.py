"""The Supabase identity provider, through the real ``supabase`` client, against a server
that speaks Supabase Auth's API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from atende.config import IdentityProviderName, Settings
from atende.identity.models import NewUser
from atende.identity.provider import EmailTaken, PasswordRejected, ProviderUnavailable
from atende.identity.supabase_provider import SupabaseIdentityProvider
from atende.services import Services
from tests.identity.conftest import settings_for
from tests.identity.fake_supabase_auth import SERVICE_ROLE_KEY, FakeSupabaseAuth
from tests.identity.graphql import OWNER_PASSWORD, VIEWER, execute, register, sign_in


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    return settings_for(IdentityProviderName.SUPABASE, settings, request).model_copy(
        update={"identity_provider_timeout_seconds": 2.0}
    )


@pytest.fixture
async def provider(settings: Settings) -> AsyncIterator[SupabaseIdentityProvider]:
    async with SupabaseIdentityProvider.open(settings) as opened:
        yield opened


GOOD_PASSWORD = "senha-forte-1"


def new_user(email: str = "ana@example.com", password: str | None = GOOD_PASSWORD) -> NewUser:
    return NewUser(
        id=uuid.uuid4(),
        email=email,
        password=SecretStr(password) if password is not None else None,
        full_name="Ana",
        email_confirmed=password is not None,
    )


async def test_users_are_created_with_atende_s_id_and_checked_by_password(
    provider: SupabaseIdentityProvider, supabase_auth: FakeSupabaseAuth
) -> None:
    user = new_user()

    await provider.create_user(user)
    good = await provider.verify_password("ana@example.com", "senha-forte-1")
    wrong = await provider.verify_password("ana@example.com", "senha-errada")
    unknown = await provider.verify_password("ninguem@example.com", "senha-forte-1")

    assert good is not None
    assert (good.id, good.email) == (user.id, "ana@example.com")
    assert wrong is None
    assert unknown is None
    # Atende keeps its own sessions: the one Supabase Auth opened is closed at once.
    assert len(supabase_auth.signed_out_sessions) == 1
    admin_calls = [call for call in supabase_auth.calls if call.route == "create_user"]
    assert admin_calls[0].authorization == f"Bearer {SERVICE_ROLE_KEY}"


async def test_a_taken_email_and_a_refused_password_are_told_apart_from_outages(
    provider: SupabaseIdentityProvider, supabase_auth: FakeSupabaseAuth
) -> None:
    await provider.create_user(new_user())

    with pytest.raises(EmailTaken):
        await provider.create_user(new_user(email="ANA@example.com"))
    with pytest.raises(PasswordRejected):
        await provider.create_user(new_user(email="bia@example.com", password="12345"))
    supabase_auth.faults.status["create_user"] = 500
    with pytest.raises(ProviderUnavailable):
        await provider.create_user(new_user(email="caio@example.com"))
    supabase_auth.faults.status["token"] = 503
    with pytest.raises(ProviderUnavailable):
        await provider.verify_password("ana@example.com", "senha-forte-1")


async def test_deleting_is_idempotent_and_setting_a_password_confirms_the_email(
    provider: SupabaseIdentityProvider, services: Services
) -> None:
    invited = new_user(email="convidada@example.com", password=None)
    await provider.create_user(invited)
    assert await provider.verify_password("convidada@example.com", "") is None

    await provider.set_password(invited.id, "escolhida-123")

    signed_in = await provider.verify_password("convidada@example.com", "escolhida-123")
    assert signed_in is not None
    async with services.database.pool.connection() as conn:
        row = await (
            await conn.execute(
                "select email_confirmed_at is not null as confirmed from auth.users where id = %s",
                [invited.id],
            )
        ).fetchone()
    assert row == {"confirmed": True}
    await provider.delete_user(invited.id)
    await provider.delete_user(invited.id)
    assert await provider.verify_password("convidada@example.com", "escolhida-123") is None


async def test_a_slow_server_is_unavailable_not_stuck(
    provider: SupabaseIdentityProvider, supabase_auth: FakeSupabaseAuth
) -> None:
    supabase_auth.faults.delay["create_user"] = 3.0  # past the 2 s timeout above

    with pytest.raises(ProviderUnavailable):
        await provider.create_user(new_user())


async def test_the_whole_flow_runs_on_supabase_auth(
    client: httpx.AsyncClient, supabase_auth: FakeSupabaseAuth
) -> None:
    registered = await register(client)
    signed_in = await sign_in(client, "dona.maria@example.com", OWNER_PASSWORD)
    wrong = await sign_in(client, "dona.maria@example.com", "outra-senha-qualquer")

    assert signed_in["__typename"] == "SignInSuccess"
    assert wrong["__typename"] == "InvalidCredentials"
    viewer = await execute(client, VIEWER, token=signed_in["session"]["accessToken"])
    assert viewer["viewer"]["user"]["id"] == registered["user"]["id"]
    assert {call.route for call in supabase_auth.calls} >= {"create_user", "token", "logout"}
    # Every call carried the project's key; none reached Supabase without it.
    assert all(call.apikey == SERVICE_ROLE_KEY for call in supabase_auth.calls)
