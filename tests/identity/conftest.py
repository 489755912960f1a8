"""Identity fixtures: the fake Supabase Auth server, and settings for either provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from atende.config import IdentityProviderName, Settings
from tests.conftest import free_port
from tests.identity.fake_supabase_auth import (
    SERVICE_ROLE_KEY,
    FakeSupabaseAuth,
    serve_fake_supabase_auth,
)

PROVIDERS = [IdentityProviderName.LOCAL, IdentityProviderName.SUPABASE]


@pytest.fixture
def supabase_auth(database_url: str) -> Iterator[FakeSupabaseAuth]:
    """Supabase Auth's API on a local port, keeping users in the test database."""
    with serve_fake_supabase_auth(database_url, free_port()) as fake:
        yield fake


def settings_for(
    provider: IdentityProviderName, settings: Settings, request: pytest.FixtureRequest
) -> Settings:
    """``settings`` with ``provider`` as the identity provider (and the fake's address)."""
    if provider is IdentityProviderName.LOCAL:
        return settings
    fake: FakeSupabaseAuth = request.getfixturevalue("supabase_auth")
    return settings.model_copy(
        update={
            "identity_provider": IdentityProviderName.SUPABASE,
            "supabase_url": fake.url,
            "supabase_service_role_key": SecretStr(SERVICE_ROLE_KEY),
        }
    )
