"""What identity rows exist: for tests that prove nothing was left behind."""

from __future__ import annotations

from dataclasses import dataclass

from atende.services import Services


@dataclass(frozen=True)
class IdentityRows:
    """Row counts of everything a registration or an invitation creates."""

    organizations: int
    memberships: int
    profiles: int
    users: int
    invitations: int
    pending_users: int
    sessions: int


async def identity_rows(services: Services) -> IdentityRows:
    async with services.database.pool.connection() as conn:
        row = await (
            await conn.execute(
                "select (select count(*) from public.organizations) as organizations,"
                " (select count(*) from public.memberships) as memberships,"
                " (select count(*) from public.profiles) as profiles,"
                " (select count(*) from auth.users) as users,"
                " (select count(*) from public.invitations) as invitations,"
                " (select count(*) from private.pending_users) as pending_users,"
                " (select count(*) from private.sessions) as sessions"
            )
        ).fetchone()
    assert row is not None
    return IdentityRows(**row)


#: A database where no one has registered.
NOTHING = IdentityRows(0, 0, 0, 0, 0, 0, 0)
