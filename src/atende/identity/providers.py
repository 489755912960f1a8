"""Opens the identity provider that ``ATENDE_IDENTITY_PROVIDER`` names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from atende.config import IdentityProviderName, Settings
from atende.db.session import Database
from atende.identity.local_provider import LocalIdentityProvider
from atende.identity.provider import IdentityProvider


@asynccontextmanager
async def open_identity_provider(
    settings: Settings, database: Database
) -> AsyncIterator[IdentityProvider]:
    """The configured provider, open for the life of a process."""
    if settings.identity_provider is IdentityProviderName.SUPABASE:
        # Imported here: the supabase package takes most of a second to import, which
        # every `atende` command would pay otherwise.
        from atende.identity.supabase_provider import SupabaseIdentityProvider  # noqa: PLC0415

        async with SupabaseIdentityProvider.open(settings) as supabase:
            yield supabase
        return

    local = LocalIdentityProvider(database)
    await local.hasher.warm_up()
    yield local
