"""The ``/graphql`` endpoint: HTTP queries and mutations, GraphiQL, and subscriptions."""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.types import QueryParams
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from atende.db.session import Caller
from atende.graphql.context import Context
from atende.graphql.errors import ErrorCode
from atende.identity.tokens import InvalidAccessToken, TokenService
from atende.services import Services


def bearer_token(authorization: object) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value, if that is what it is."""
    if not isinstance(authorization, str):
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


#: The GraphQL-over-HTTP media type: request errors answer 4xx, without ``data``.
GRAPHQL_RESPONSE = "application/graphql-response+json"


def wants_graphql_response(request: Request) -> bool:
    """The client accepts ``application/graphql-response+json`` (and so prefers it)."""
    return GRAPHQL_RESPONSE in request.headers.get("accept", "")


def error_dicts(response: GraphQLHTTPResponse) -> list[dict[str, Any]]:
    return [error for error in response.get("errors") or [] if isinstance(error, dict)]


def is_request_error(response: GraphQLHTTPResponse) -> bool:
    """Refused before execution (syntax, validation, variables, token): no ``path``."""
    errors = error_dicts(response)
    return response.get("data") is None and bool(errors) and not any("path" in e for e in errors)


#: What a request body must be: a JSON object (an array would be a batch, refused).
NOT_A_GRAPHQL_REQUEST = (
    'The request body must be a JSON object, such as {"query": "{ viewer { user { id } } }"}'
)


def refused_request(status_code: int, reason: str) -> Response:
    """An HTTP request refused before any GraphQL document was read (a body that is not
    JSON, nor a JSON object; an unsupported content type or method), answered as
    GraphQL-over-HTTP answers request errors: ``{"errors": [...]}`` without ``data``, in
    JSON, with the HTTP status."""
    code = ErrorCode.NOT_FOUND if status_code == 404 else ErrorCode.BAD_REQUEST
    body = {"errors": [{"message": reason, "extensions": {"code": code.value}}]}
    headers = {"allow": "GET, POST"} if status_code == 405 else None
    return Response(
        orjson.dumps(body), status_code=status_code, headers=headers, media_type="application/json"
    )


#: Set while Strawberry parses a GET request's ``variables`` and ``extensions`` (JSON in
#: the query string, where ``null`` is fine); unset, ``parse_json`` reads a request body.
_parsing_query_parameters: ContextVar[bool] = ContextVar("parsing_query_parameters", default=False)


@contextmanager
def _query_parameters() -> Iterator[None]:
    token = _parsing_query_parameters.set(True)
    try:
        yield
    finally:
        _parsing_query_parameters.reset(token)


#: Operations one WebSocket may have running at once (subscriptions, and queries sent
#: over it); the next is refused with a "Subscription limit reached" error message.
MAX_SUBSCRIPTIONS_PER_CONNECTION = 100


class AtendeGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view, with Atende's context and authentication.

    Responses follow the GraphQL-over-HTTP spec for the media type the client accepts:
    ``application/json`` (the default) always answers 200 with the errors in the body;
    ``application/graphql-response+json`` answers 400 (401 for a bad token) to a request
    that was refused before it ran. Batches (a JSON array) are refused with 400.
    """

    #: Tokens this process verified lately (see ``VerifiedTokens``).
    verified_tokens: VerifiedTokens
    max_subscriptions_per_connection = MAX_SUBSCRIPTIONS_PER_CONNECTION

    def __init__(self, *args: Any, services: Callable[[], Services], **kwargs: Any) -> None:
        """``services``: the process's services, once its lifespan opened them."""
        super().__init__(*args, **kwargs)
        self.services = services
        self.verified_tokens = VerifiedTokens()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as error:
            response = refused_request(error.status_code, error.reason)
        if wants_graphql_response(request) and response.media_type == "application/json":
            response.headers["content-type"] = GRAPHQL_RESPONSE
            status: int | None = getattr(request.state, "graphql_status", None)
            if status is not None:
                response.status_code = status
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        # orjson: a few times faster than the stdlib, and JSON nested past 1024 levels is
        # a JSONDecodeError (malformed input: 400 over HTTP, a rejected message over a
        # WebSocket), where the stdlib parser would recurse into a RecursionError, a 500.
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        """A request body (or a multipart request's ``operations``): a JSON object, or an
        array (a batch). Anything else is refused with 400 and a message that says why."""
        if _parsing_query_parameters.get():
            return super().parse_json(data)
        try:
            parsed = self.decode_json(data)
        except json.JSONDecodeError as error:  # orjson's is one; its message quotes no input
            raise HTTPException(400, f"The request body is not valid JSON ({error})") from error
        if not isinstance(parsed, dict | list):  # 5, "text", null: Strawberry would fail on it
            raise HTTPException(400, NOT_A_GRAPHQL_REQUEST)
        return parsed

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        with _query_parameters():
            return super().parse_query_params(params)

    def encode_json(self, data: object) -> str:
        # Strawberry's streaming responses join the encoded parts as text, so text it is.
        try:
            return orjson.dumps(data).decode()
        except TypeError:  # what orjson refuses (integers past 64 bits, non-text keys)
            return json.dumps(data, separators=(",", ":"))

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        if wants_graphql_response(request) and is_request_error(response):
            codes = {(e.get("extensions") or {}).get("code") for e in error_dicts(response)}
            request.state.graphql_status = 401 if "UNAUTHENTICATED" in codes else 400
            response.pop("data", None)
        return response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services = self.services()
        context = Context(
            database=services.database, dependencies=services.dependencies, request=request
        )
        if isinstance(request, Request):
            await authenticate(
                context,
                services.tokens,
                bearer_token(request.headers.get("authorization")),
                self.verified_tokens,
            )
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        # Apollo-style clients put the header in the connection_init payload.
        params = context.connection_params or {}
        header = params.get("Authorization", params.get("authorization"))
        await authenticate(
            context, self.services().tokens, bearer_token(header), self.verified_tokens
        )
        if context.authentication_failed:
            raise ConnectionRejectionError({"reason": "invalid access token"})
        return await super().on_ws_connect(context)


class VerifiedTokens:
    """Claims of tokens verified recently, until they expire (a client sends the same
    token with every request; verifying it again would give the same answer).

    Sound while ``TokenService.verify`` is stateless (signature, audience, expiry): if it
    ever consults revocations (signed-out sessions), this cache must go or follow them.
    """

    def __init__(self, max_size: int = 4096) -> None:
        self.max_size = max_size
        self._claims: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def get(self, token: str) -> dict[str, Any] | None:
        claims = self._claims.get(token)
        if claims is None:
            return None
        if claims.get("exp", 0) <= time.time():
            del self._claims[token]
            return None
        self._claims.move_to_end(token)
        return claims

    def put(self, token: str, claims: dict[str, Any]) -> None:
        self._claims[token] = claims
        self._claims.move_to_end(token)
        while len(self._claims) > self.max_size:
            self._claims.popitem(last=False)


async def authenticate(
    context: Context,
    tokens: TokenService,
    token: str | None,
    verified: VerifiedTokens | None = None,
) -> None:
    """Set the context's caller from a bearer token: a user, or anonymous."""
    if token is None:
        context.caller = Caller.anonymous()
        return
    claims = verified.get(token) if verified is not None else None
    if claims is None:
        try:
            verified_claims = await tokens.verify(token)
        except InvalidAccessToken:
            context.caller = Caller.anonymous()
            context.authentication_failed = True
            return
        claims = verified_claims.model_dump(mode="json", exclude_none=True)
        if verified is not None:
            verified.put(token, claims)
    context.caller = Caller.user(claims)
