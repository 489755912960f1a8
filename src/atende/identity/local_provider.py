"""The local identity provider: users in ``auth.users`` of Atende's own database.

It writes the rows Supabase Auth would write (lowercased e-mail, ``$2a$`` bcrypt at cost
10 in ``encrypted_password``, metadata), so a database that started local can move to a
Supabase project with its users. Each call is a transaction of its own, as a call to an
external provider would be: the registration saga treats both providers alike.
"""

from __future__ import annotations

import json
from uuid import UUID

import psycopg
from psycopg import errors as pg_errors

from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.identity.models import AuthenticatedUser, NewUser
from atende.identity.passwords import PasswordHasher
from atende.identity.provider import EmailTaken, ProviderUnavailable

queries = load_queries("identity")


class LocalIdentityProvider:
    """``IdentityProvider`` over ``auth.users``, as the service role."""

    def __init__(self, database: Database, hasher: PasswordHasher | None = None) -> None:
        self.database = database
        self.hasher = hasher or PasswordHasher()

    async def create_user(self, user: NewUser) -> None:
        password = user.password.get_secret_value() if user.password is not None else None
        # Supabase Auth stores an empty string for users without a password.
        encrypted = await self.hasher.hash(password) if password is not None else ""
        params = {
            "id": user.id,
            "email": user.email,
            "encrypted_password": encrypted,
            "email_confirmed": user.email_confirmed,
            "invited": password is None,
            "user_metadata": json.dumps({"full_name": user.full_name}),
        }
        try:
            async with self.database.transaction(Caller.service()) as conn:
                await conn.execute(queries["local_create_user"], params)
        except pg_errors.UniqueViolation as error:
            if error.diag.constraint_name == "users_email_partial_key":
                raise EmailTaken() from error
            raise ProviderUnavailable("could not create the user") from error
        except psycopg.Error as error:
            raise ProviderUnavailable("could not create the user") from error

    async def delete_user(self, user_id: UUID) -> None:
        try:
            async with self.database.transaction(Caller.service()) as conn:
                await conn.execute(queries["local_delete_user"], {"id": user_id})
        except psycopg.Error as error:
            raise ProviderUnavailable("could not delete the user") from error

    async def set_password(self, user_id: UUID, password: str) -> None:
        encrypted = await self.hasher.hash(password)
        try:
            async with self.database.transaction(Caller.service()) as conn:
                row = await (
                    await conn.execute(
                        queries["local_set_password"],
                        {"id": user_id, "encrypted_password": encrypted},
                    )
                ).fetchone()
        except psycopg.Error as error:
            raise ProviderUnavailable("could not set the password") from error
        if row is None:
            raise ProviderUnavailable("no such user")

    async def verify_password(self, email: str, password: str) -> AuthenticatedUser | None:
        try:
            async with self.database.transaction(Caller.service()) as conn:
                row = await (
                    await conn.execute(queries["local_user_for_sign_in"], {"email": email})
                ).fetchone()
        except psycopg.Error as error:
            raise ProviderUnavailable("could not read the user") from error
        # Unknown users and users without a password are checked against a dummy hash:
        # every refusal costs one bcrypt comparison.
        stored = row["encrypted_password"] if row is not None else None
        if not await self.hasher.verify(password, stored or None) or row is None:
            return None
        try:
            async with self.database.transaction(Caller.service()) as conn:
                await conn.execute(queries["local_record_sign_in"], {"id": row["id"]})
        except psycopg.Error as error:
            raise ProviderUnavailable("could not record the sign-in") from error
        return AuthenticatedUser(id=row["id"], email=row["email"])
