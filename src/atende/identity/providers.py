"""Opens the identity provider that ``ATENDE_IDENTITY_PROVIDER`` names."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from atende.config import IdentityProviderName, Settings
from atende.db.session import Database
from atende.identity.local_provider import LocalIdentityProvider
from atende.identity.passwords import PasswordHasher
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

    hasher = PasswordHasher(max_workers=settings.password_hash_workers)
    local = LocalIdentityProvider(database, hasher)
    try:
        await hasher.warm_up()
        yield local
    finally:
        # The threads end after the hashes under way; no new one is waited for.
        await asyncio.to_thread(hasher.close)
