"""Whether the configured identity provider can do its job on this database.

Checked when ``atende serve`` starts, so that a provider that cannot work here is refused
in one line naming the fix, instead of every registration failing later as "temporarily
unavailable". The case it exists for: the ``local`` provider on a Supabase project's
database, where ``auth.users`` belongs to Supabase Auth (``supabase_auth_admin``) and the
service role may not write it.
"""

from __future__ import annotations

from psycopg import AsyncConnection

from atende.config import IdentityProviderName, Settings
from atende.errors import AtendeError

#: What the local provider does, as the service role, to keep users (sql/identity.sql),
#: that the service role may not do here.
_MISSING_PRIVILEGES = """
select format('%s on %s', privilege, relation)
from (
    values ('auth.users', 'SELECT'), ('auth.users', 'INSERT'), ('auth.users', 'UPDATE'),
           ('auth.users', 'DELETE'), ('auth.identities', 'INSERT'),
           ('auth.identities', 'UPDATE')
) as needed (relation, privilege)
where to_regclass(relation) is null
   or not has_table_privilege('service_role', to_regclass(relation), privilege)
"""


class IdentityProviderMisfit(AtendeError):
    """The configured identity provider cannot work on this database."""


async def check_identity_provider_fits(settings: Settings, conninfo: str) -> None:
    """Raise ``IdentityProviderMisfit`` when the configured provider cannot keep users here.

    The ``supabase`` provider keeps them in Supabase Auth, which the database cannot
    judge: there is nothing to check for it.
    """
    if settings.identity_provider is not IdentityProviderName.LOCAL:
        return
    async with await AsyncConnection.connect(conninfo) as conn:
        cursor = await conn.execute(_MISSING_PRIVILEGES)
        missing = [str(row[0]) for row in await cursor.fetchall()]
    if missing:
        raise IdentityProviderMisfit(
            "ATENDE_IDENTITY_PROVIDER=local cannot keep users on this database: the service"
            f" role lacks {', '.join(missing)} (on Supabase, Supabase Auth owns them)."
            " Set ATENDE_IDENTITY_PROVIDER=supabase with SUPABASE_URL and"
            " SUPABASE_SERVICE_ROLE_KEY."
        )
