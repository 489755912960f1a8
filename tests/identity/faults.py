"""Failures injected into the identity provider and the database, for atomicity tests."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from uuid import UUID

import psycopg

from atende.identity.models import AuthenticatedUser, NewUser
from atende.identity.provider import IdentityProvider, ProviderUnavailable


class CreateFault(StrEnum):
    #: The provider raises before creating anything.
    RAISE_BEFORE = "raise_before"
    #: The provider creates the user, then the answer is an error (connection reset).
    RAISE_AFTER = "raise_after"
    #: The provider never answers and never creates the user.
    HANG_BEFORE = "hang_before"
    #: The provider creates the user but the answer never arrives.
    HANG_AFTER = "hang_after"


class FaultyProvider:
    """Wraps a real provider (local or Supabase) and fails as told."""

    def __init__(self, inner: IdentityProvider) -> None:
        self.inner = inner
        self.create_fault: CreateFault | None = None
        #: How many of the next deletions fail.
        self.failing_deletions = 0
        self.created: list[UUID] = []

    async def create_user(self, user: NewUser) -> None:
        fault = self.create_fault
        if fault is CreateFault.RAISE_BEFORE:
            raise RuntimeError("the identity provider exploded")
        if fault is CreateFault.HANG_BEFORE:
            await asyncio.sleep(3600)
        await self.inner.create_user(user)
        self.created.append(user.id)
        if fault is CreateFault.RAISE_AFTER:
            raise ProviderUnavailable("connection reset after the user was created")
        if fault is CreateFault.HANG_AFTER:
            await asyncio.sleep(3600)

    async def delete_user(self, user_id: UUID) -> None:
        if self.failing_deletions:
            self.failing_deletions -= 1
            raise ProviderUnavailable("the identity provider is down")
        await self.inner.delete_user(user_id)

    async def set_password(self, user_id: UUID, password: str) -> None:
        await self.inner.set_password(user_id, password)

    async def verify_password(self, email: str, password: str) -> AuthenticatedUser | None:
        return await self.inner.verify_password(email, password)


def make_inserts_fail(database_url: str, table: str) -> None:
    """From now on, inserting into ``table`` fails inside the database."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "create or replace function public.tg__injected_failure() returns trigger"
            " language plpgsql as $$ begin raise exception 'injected failure'; end $$"
        )
        conn.execute(
            f"create trigger tg__injected_failure before insert on {table}"  # table: a literal
            " for each row execute function public.tg__injected_failure()"
        )


def age_pending_users(database_url: str) -> None:
    """Move reservations back in time, past every grace period of the upkeep job."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "update private.pending_users set created_at = created_at - interval '1 day',"
            " abandoned_at = abandoned_at - interval '1 day'"
        )
