"""The Supabase identity provider: Supabase Auth through the official ``supabase`` client.

Users are created and deleted with the admin API (``auth.admin.create_user``,
``auth.admin.delete_user``, ``auth.admin.update_user_by_id``), which needs the project's
service role key; passwords are checked with ``auth.sign_in_with_password``. Supabase Auth
writes ``auth.users`` in the project's database, the same database Atende's tables live in,
so profiles can reference the users it creates.

Atende issues its own sessions (see ``SessionService``): the session Supabase Auth opens
when it checks a password is signed out again at once, so it does not linger.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Self
from uuid import UUID

import httpx
from supabase import (
    AsyncClient,
    AsyncClientOptions,
    AuthApiError,
    AuthError,
    AuthInvalidCredentialsError,
    AuthWeakPasswordError,
)
from supabase_auth.types import AdminUserAttributes

from atende.config import Settings
from atende.identity.models import AuthenticatedUser, NewUser
from atende.identity.provider import EmailTaken, PasswordRejected, ProviderUnavailable

logger = logging.getLogger("atende.identity.supabase")

#: Supabase Auth's codes for "that e-mail is taken".
_EMAIL_TAKEN = frozenset({"email_exists", "user_already_exists"})
#: Statuses with which Supabase Auth refuses a password grant (wrong password, unknown or
#: unconfirmed user, banned user): all of them mean "no", none means "unavailable".
_REFUSED_SIGN_IN = frozenset({400, 401, 403, 422})


class SupabaseIdentityProvider:
    """``IdentityProvider`` over Supabase Auth's API."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[Self]:
        if settings.supabase_url is None or settings.supabase_service_role_key is None:
            raise ProviderUnavailable("SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are needed")
        http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.identity_provider_timeout_seconds),
            follow_redirects=True,
        )
        try:
            client = AsyncClient(
                settings.supabase_url,
                settings.supabase_service_role_key.get_secret_value(),
                AsyncClientOptions(
                    # A server-side client: no session of its own to keep or refresh.
                    auto_refresh_token=False,
                    persist_session=False,
                    httpx_client=http,
                ),
            )
            yield cls(client)
        finally:
            await http.aclose()

    async def create_user(self, user: NewUser) -> None:
        attributes = AdminUserAttributes(
            id=str(user.id),
            email=user.email,
            email_confirm=user.email_confirmed,
            user_metadata={"full_name": user.full_name},
        )
        if user.password is not None:
            attributes["password"] = user.password.get_secret_value()
        try:
            await self.client.auth.admin.create_user(attributes)
        except AuthWeakPasswordError as error:
            raise PasswordRejected() from error
        except AuthApiError as error:
            if error.code in _EMAIL_TAKEN:
                raise EmailTaken() from error
            if error.code == "weak_password":
                raise PasswordRejected() from error
            raise ProviderUnavailable(_describe(error)) from error
        except (AuthError, httpx.HTTPError) as error:
            raise ProviderUnavailable(_describe(error)) from error

    async def delete_user(self, user_id: UUID) -> None:
        try:
            await self.client.auth.admin.delete_user(str(user_id))
        except AuthApiError as error:
            if error.status == 404 or error.code == "user_not_found":
                return
            raise ProviderUnavailable(_describe(error)) from error
        except (AuthError, httpx.HTTPError) as error:
            raise ProviderUnavailable(_describe(error)) from error

    async def set_password(self, user_id: UUID, password: str) -> None:
        try:
            await self.client.auth.admin.update_user_by_id(
                str(user_id), AdminUserAttributes(password=password, email_confirm=True)
            )
        except AuthWeakPasswordError as error:
            raise PasswordRejected() from error
        except AuthApiError as error:
            if error.code == "weak_password":
                raise PasswordRejected() from error
            raise ProviderUnavailable(_describe(error)) from error
        except (AuthError, httpx.HTTPError) as error:
            raise ProviderUnavailable(_describe(error)) from error

    async def verify_password(self, email: str, password: str) -> AuthenticatedUser | None:
        try:
            response = await self.client.auth.sign_in_with_password(
                {"email": email, "password": password}
            )
        except AuthInvalidCredentialsError:  # refused by the client itself: empty fields
            return None
        except AuthApiError as error:
            if error.status in _REFUSED_SIGN_IN:
                return None
            raise ProviderUnavailable(_describe(error)) from error
        except (AuthError, httpx.HTTPError) as error:
            raise ProviderUnavailable(_describe(error)) from error
        if response.session is not None:
            await self._sign_out_quietly(response.session.access_token)
        if response.user is None or response.user.email is None:
            return None
        return AuthenticatedUser(id=UUID(response.user.id), email=response.user.email)

    async def _sign_out_quietly(self, access_token: str) -> None:
        """Close the session Supabase Auth opened: Atende keeps its own."""
        try:
            await self.client.auth.admin.sign_out(access_token, "local")
        except (AuthError, httpx.HTTPError) as error:
            # The password was right; a lingering Supabase session expires on its own.
            logger.warning("could not close the Supabase Auth session: %s", _describe(error))


def _describe(error: Exception) -> str:
    """The error's kind and status, never its text (which may quote what was sent)."""
    status = getattr(error, "status", None)
    code = getattr(error, "code", None)
    return f"{type(error).__name__} (status={status}, code={code})"
