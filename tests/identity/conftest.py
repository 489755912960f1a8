"""Identity fixtures: settings for either identity provider."""

from __future__ import annotations

import pytest

from atende.config import IdentityProviderName, Settings
from tests.conftest import with_supabase_auth
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
    return with_supabase_auth(settings, request.getfixturevalue("supabase_auth"))
