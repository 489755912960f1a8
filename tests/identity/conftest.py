"""Identity fixtures: the fake Supabase Auth server, and settings for either provider."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from atende.config import IdentityProviderName, Settings
from tests.identity.fake_supabase_auth import (
    SERVICE_ROLE_KEY,
    FakeSupabaseAuth,
)
from tests.supabase_shape import SHAPE_URL

#: On the Supabase shape, only Supabase Auth may write its users (``atende serve`` refuses
#: the local provider there: tests/identity/test_provider_fits_database.py).
PROVIDERS = (
    [IdentityProviderName.SUPABASE]
    if SHAPE_URL
    else [IdentityProviderName.LOCAL, IdentityProviderName.SUPABASE]
)


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
