"""The identity provider fits the database: refused at start where it cannot work, and the
users the local provider keeps are shaped as Supabase Auth (GoTrue) keeps them.

Runs on the embedded Postgres and on the Supabase shape (make test-supabase): there,
``auth.users`` is GoTrue's own table, so the column comparison below proves the stand-in
and the real thing alike.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from pydantic import SecretStr

from atende.config import IdentityProviderName, Settings
from atende.identity.local_provider import LocalIdentityProvider
from atende.identity.models import NewUser
from atende.identity.provider_fit import IdentityProviderMisfit, check_identity_provider_fits
from atende.services import Services
from tests.supabase_shape import ADMIN_ROLE, SHAPE_URL, as_role_on_shape
from tests.test_cli import atende

#: GoTrue's auth.users: every column, its type and whether it may be NULL, as a new
#: Supabase project has it (read off the Supabase shape's catalogue).
GOTRUE_USERS_COLUMNS = [
    ("aud", "character varying(255)", True),
    ("banned_until", "timestamp with time zone", True),
    ("confirmation_sent_at", "timestamp with time zone", True),
    ("confirmation_token", "character varying(255)", True),
    ("confirmed_at", "timestamp with time zone", True),
    ("created_at", "timestamp with time zone", True),
    ("deleted_at", "timestamp with time zone", True),
    ("email", "character varying(255)", True),
    ("email_change", "character varying(255)", True),
    ("email_change_confirm_status", "smallint", True),
    ("email_change_sent_at", "timestamp with time zone", True),
    ("email_change_token_current", "character varying(255)", True),
    ("email_change_token_new", "character varying(255)", True),
    ("email_confirmed_at", "timestamp with time zone", True),
    ("encrypted_password", "character varying(255)", True),
    ("id", "uuid", False),
    ("instance_id", "uuid", True),
    ("invited_at", "timestamp with time zone", True),
    ("is_anonymous", "boolean", False),
    ("is_sso_user", "boolean", False),
    ("is_super_admin", "boolean", True),
    ("last_sign_in_at", "timestamp with time zone", True),
    ("phone", "text", True),
    ("phone_change", "text", True),
    ("phone_change_sent_at", "timestamp with time zone", True),
    ("phone_change_token", "character varying(255)", True),
    ("phone_confirmed_at", "timestamp with time zone", True),
    ("raw_app_meta_data", "jsonb", True),
    ("raw_user_meta_data", "jsonb", True),
    ("reauthentication_sent_at", "timestamp with time zone", True),
    ("reauthentication_token", "character varying(255)", True),
    ("recovery_sent_at", "timestamp with time zone", True),
    ("recovery_token", "character varying(255)", True),
    ("role", "character varying(255)", True),
    ("updated_at", "timestamp with time zone", True),
]

GOTRUE_IDENTITIES_COLUMNS = [
    ("created_at", "timestamp with time zone", True),
    ("email", "text", True),
    ("id", "uuid", False),
    ("identity_data", "jsonb", False),
    ("last_sign_in_at", "timestamp with time zone", True),
    ("provider", "text", False),
    ("provider_id", "text", False),
    ("updated_at", "timestamp with time zone", True),
    ("user_id", "uuid", False),
]

_COLUMNS = """
select a.attname::text, format_type(a.atttypid, a.atttypmod), not a.attnotnull
from pg_attribute as a
where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped
order by 1
"""


@pytest.mark.parametrize(
    ("table", "columns"),
    [("auth.users", GOTRUE_USERS_COLUMNS), ("auth.identities", GOTRUE_IDENTITIES_COLUMNS)],
)
def test_auth_tables_have_gotrue_s_columns(
    database_url: str, table: str, columns: list[tuple[str, str, bool]]
) -> None:
    with psycopg.connect(as_role_on_shape(database_url, ADMIN_ROLE)) as conn:
        assert conn.execute(_COLUMNS, [table]).fetchall() == columns


def make_supabase_own_the_users(database_url: str) -> None:
    """What a Supabase project's database is like for the service role: Supabase Auth
    owns its tables and grants the service role nothing on them."""
    if SHAPE_URL:
        return  # already so
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("revoke all on auth.users, auth.identities from service_role")


@pytest.mark.local_identity
async def test_the_local_provider_fits_the_embedded_database(
    settings: Settings, database_url: str
) -> None:
    local = settings.model_copy(update={"identity_provider": IdentityProviderName.LOCAL})
    await check_identity_provider_fits(local, database_url)


async def test_the_local_provider_is_refused_where_supabase_auth_owns_the_users(
    settings: Settings, database_url: str
) -> None:
    make_supabase_own_the_users(database_url)
    local = settings.model_copy(update={"identity_provider": IdentityProviderName.LOCAL})

    with pytest.raises(IdentityProviderMisfit) as refused:
        await check_identity_provider_fits(local, database_url)

    assert "ATENDE_IDENTITY_PROVIDER=supabase" in refused.value.message
    assert "INSERT on auth.users" in refused.value.message


async def test_the_supabase_provider_is_not_refused_there(
    settings: Settings, database_url: str
) -> None:
    make_supabase_own_the_users(database_url)
    supabase = settings.model_copy(
        update={
            "identity_provider": IdentityProviderName.SUPABASE,
            "supabase_url": "http://127.0.0.1:9",
            "supabase_service_role_key": SecretStr("k" * 40),
        }
    )
    await check_identity_provider_fits(supabase, database_url)


def test_atende_serve_refuses_the_local_provider_in_one_line(database_url: str) -> None:
    make_supabase_own_the_users(database_url)

    result = atende(
        "serve",
        env={"DATABASE_URL": database_url, "ATENDE_IDENTITY_PROVIDER": "local"},
        timeout=30,
    )

    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "ATENDE_IDENTITY_PROVIDER=supabase" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.local_identity
async def test_the_local_provider_writes_users_as_gotrue_does(
    services: Services, database_url: str
) -> None:
    local = LocalIdentityProvider(services.database)
    user_id = uuid.uuid4()
    await local.create_user(
        NewUser(
            id=user_id,
            email="ana@example.com",
            password=SecretStr("uma senha longa"),
            full_name="Ana",
            email_confirmed=True,
        )
    )
    invited = uuid.uuid4()
    await local.create_user(
        NewUser(
            id=invited,
            email="bia@example.com",
            password=None,
            full_name="Bia",
            email_confirmed=False,
        )
    )
    await local.set_password(invited, "outra senha longa")

    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        users = await (
            await conn.execute(
                "select id, confirmation_token, recovery_token, email_change_token_new,"
                " email_change, reauthentication_token, phone_change, confirmed_at is not null"
                " from auth.users order by email"
            )
        ).fetchall()
        identities = await (
            await conn.execute(
                "select user_id, provider, provider_id, identity_data, email"
                " from auth.identities order by email"
            )
        ).fetchall()

    assert users == [
        (user_id, "", "", "", "", "", "", True),
        (invited, "", "", "", "", "", "", True),
    ]
    assert identities == [
        (
            user_id,
            "email",
            str(user_id),
            {
                "sub": str(user_id),
                "email": "ana@example.com",
                "email_verified": True,
                "phone_verified": False,
            },
            "ana@example.com",
        ),
        (
            invited,
            "email",
            str(invited),
            {
                "sub": str(invited),
                "email": "bia@example.com",
                "email_verified": True,
                "phone_verified": False,
            },
            "bia@example.com",
        ),
    ]

    await local.delete_user(user_id)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        left = await (await conn.execute("select count(*) from auth.identities")).fetchone()
    assert left == (1,), "a user's identities go with the user"
