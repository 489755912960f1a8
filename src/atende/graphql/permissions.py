"""Who may resolve a field: the one "must be signed in" rule of the API."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from atende.graphql.context import Info
from atende.graphql.errors import AuthenticationRequired


class IsAuthenticated(BasePermission):
    """The caller is a signed-in user. Anonymous callers get an ``UNAUTHENTICATED`` error
    (``AuthenticationRequired``), never a silent null."""

    message = AuthenticationRequired.__doc__

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.caller.user_id is not None

    def on_unauthorized(self) -> None:
        raise AuthenticationRequired()
