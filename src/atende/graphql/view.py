"""The ``/graphql`` endpoint: HTTP queries and mutations, GraphiQL, and subscriptions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType

from atende.db.session import Caller
from atende.graphql.context import Context
from atende.identity.tokens import InvalidAccessToken
from atende.services import Services


def bearer_token(authorization: object) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value, if that is what it is."""
    if not isinstance(authorization, str):
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class AtendeGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view, with Atende's context and authentication."""

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        # The lifespan put the process's services on the app state.
        services: Services = request.app.state.services
        context = Context(services=services, request=request)
        if isinstance(request, Request):
            await authenticate(context, bearer_token(request.headers.get("authorization")))
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        # Apollo-style clients put the header in the connection_init payload.
        params = context.connection_params or {}
        header = params.get("Authorization", params.get("authorization"))
        await authenticate(context, bearer_token(header))
        if context.authentication_failed:
            raise ConnectionRejectionError({"reason": "invalid access token"})
        return await super().on_ws_connect(context)


async def authenticate(context: Context, token: str | None) -> None:
    """Set the context's caller from a bearer token: a user, or anonymous."""
    if token is None:
        context.caller = Caller.anonymous()
        return
    try:
        claims = await context.services.tokens.verify(token)
    except InvalidAccessToken:
        context.caller = Caller.anonymous()
        context.authentication_failed = True
        return
    context.caller = Caller.user(claims.model_dump(mode="json", exclude_none=True))
