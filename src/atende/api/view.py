"""The ``/graphql`` endpoint: HTTP queries and mutations, GraphiQL, and subscriptions."""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any
from uuid import UUID

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.types import QueryParams
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    Message,
    SubscribeMessage,
)
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from atende.api.webapp import graphiql_page
from atende.db.session import Caller, DatabaseRole
from atende.graphql.context import Context
from atende.graphql.errors import ErrorCode
from atende.identity.api_keys import (
    ApiKeyRateLimited,
    ApiKeys,
    ApiKeysUnavailable,
    api_key_id_of,
    looks_like_api_key,
)
from atende.identity.rate_limits import client_address
from atende.identity.service import IdentityService
from atende.identity.sessions import SessionLiveness
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


def too_many_requests(retry_after_seconds: int) -> Response:
    """An API key over its rate limit: ``429`` with ``Retry-After``, refused before any
    document was read, in the shape of the other request errors."""
    body = {
        "errors": [
            {
                "message": "Too many requests with this API key: retry later.",
                "extensions": {
                    "code": ErrorCode.TOO_MANY_REQUESTS.value,
                    "retryAfterSeconds": retry_after_seconds,
                },
            }
        ]
    }
    return Response(
        orjson.dumps(body),
        status_code=429,
        headers={"retry-after": str(retry_after_seconds)},
        media_type="application/json",
    )


def unavailable() -> Response:
    """The database could not say whether an API key is valid: ``503``, try again."""
    body = {"errors": [{"message": "Temporarily unavailable: retry shortly."}]}
    return Response(
        orjson.dumps(body),
        status_code=503,
        headers={"retry-after": "5"},
        media_type="application/json",
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

#: Close codes of a socket whose authentication ended (docs/api.md): its access token
#: expired, or its session was signed out. Not graphql-transport-ws's 4401, after which
#: the graphql-ws client never reconnects: it reconnects after these (as after 4403),
#: with the connectionParams it computes afresh, so with a fresh token.
CLOSE_TOKEN_EXPIRED = 4440
CLOSE_SESSION_ENDED = 4441
#: The socket's API key was revoked (docs/api.md#api-keys).
CLOSE_API_KEY_REVOKED = 4442
#: Shortest pause between two checks of a socket's session (ATENDE_SESSION_CHECK_SECONDS
#: of 0 or close to it).
MIN_SESSION_WATCH_SECONDS = 0.5


class AtendeTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws, whose socket closes when its access token expires
    (``CLOSE_TOKEN_EXPIRED``) or its session ends (``CLOSE_SESSION_ENDED``).

    One task per authenticated connection, whatever its subscriptions: it sleeps until the
    token's ``exp``, waking every half ``ATENDE_SESSION_CHECK_SECONDS`` (at least
    ``MIN_SESSION_WATCH_SECONDS``) to ask ``SessionLiveness`` about the token's session,
    with answers at most that old: a signed-out session's socket closes within the check
    delay (at least 1 s). Tokens without a session id are watched for expiry alone. An
    API key's socket has no expiry: it closes (``CLOSE_API_KEY_REVOKED``) within the check
    delay of the key's revocation; each of its ``subscribe`` messages counts as a use of
    the key, refused with an ``error`` message past the key's rate limit.
    """

    _watch: asyncio.Task[None] | None = None
    _ended = False

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        caller = self.context.caller
        if (
            self.connection_acknowledged
            and self._watch is None
            and caller.role is DatabaseRole.AUTHENTICATED
        ):
            self._watch = asyncio.create_task(self._watch_authentication(caller.claims))
            self._watch.add_done_callback(self._task_done)

    async def handle_message(self, message: Message) -> None:
        if not self._ended:  # what a client sends after its socket was closed
            await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        key_id = api_key_id_of(self.context.caller) if self.connection_acknowledged else None
        if key_id is not None and message["id"] not in self.operations:
            try:
                self.context.get(ApiKeys).use(key_id)
            except ApiKeyRateLimited as limited:
                await self.send_message(
                    {
                        "id": message["id"],
                        "type": "error",
                        "payload": [
                            {
                                "message": "Too many requests with this API key: retry later.",
                                "extensions": {
                                    "code": ErrorCode.TOO_MANY_REQUESTS.value,
                                    "retryAfterSeconds": limited.retry_after_seconds,
                                },
                            }
                        ],
                    }
                )
                return
        await super().handle_subscribe(message)

    async def shutdown(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.wait([self._watch])
        await super().shutdown()

    async def _watch_authentication(self, claims: Mapping[str, Any]) -> None:
        key_id = api_key_id_of(self.context.caller)
        if key_id is not None:
            await self._watch_api_key(key_id)
            return
        try:
            expires_at = float(claims["exp"])
            session_id, user_id = claims.get("session_id"), str(claims.get("sub"))
            liveness = self.context.get(IdentityService).sessions.liveness
            interval = max(liveness.ttl / 2, MIN_SESSION_WATCH_SECONDS)
            while (remaining := expires_at - time.time()) > 0:
                if session_id is None:
                    await asyncio.sleep(remaining)
                    continue
                await asyncio.sleep(min(remaining, interval))
                alive = await liveness.is_alive(str(session_id), user_id, max_age=interval)
                if not alive:
                    await self._close(CLOSE_SESSION_ENDED, "Session ended")
                    return
            await self._close(CLOSE_TOKEN_EXPIRED, "Token expired")
        except Exception as error:  # logged, as Strawberry logs its own tasks
            await self.handle_task_exception(error)

    async def _watch_api_key(self, key_id: UUID) -> None:
        try:
            api_keys = self.context.get(ApiKeys)
            interval = max(api_keys.ttl / 2, MIN_SESSION_WATCH_SECONDS)
            while True:
                if not await api_keys.is_active(key_id, max_age=interval):
                    await self._close(CLOSE_API_KEY_REVOKED, "API key revoked")
                    return
                await asyncio.sleep(interval)
        except Exception as error:  # logged, as Strawberry logs its own tasks
            await self.handle_task_exception(error)

    async def _close(self, code: int, reason: str) -> None:
        """Stop every operation (no event goes out after this), then close the socket."""
        self._ended = True
        tasks = [operation.task for operation in self.operations.values() if operation.task]
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        if tasks:
            await asyncio.wait(tasks)
        with suppress(RuntimeError, WebSocketDisconnect):  # the client left first
            await self.websocket.close(code=code, reason=reason)


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
    graphql_transport_ws_handler_class = AtendeTransportWS

    def __init__(self, *args: Any, services: Callable[[], Services], **kwargs: Any) -> None:
        """``services``: the process's services, once its lifespan opened them.

        Subscriptions speak graphql-transport-ws only: the legacy ``graphql-ws`` protocol
        would keep a socket open past its token's expiry (see ``AtendeTransportWS``)."""
        kwargs.setdefault("subscription_protocols", (GRAPHQL_TRANSPORT_WS_PROTOCOL,))
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
        except ApiKeyRateLimited as limited:
            response = too_many_requests(limited.retry_after_seconds)
        except ApiKeysUnavailable:
            response = unavailable()
        if wants_graphql_response(request) and response.media_type == "application/json":
            response.headers["content-type"] = GRAPHQL_RESPONSE
            status: int | None = getattr(request.state, "graphql_status", None)
            if status is not None:
                response.status_code = status
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        # GraphiQL as built with the web app (web/), not Strawberry's page, which loads
        # React and GraphiQL from a CDN and shows only "Loading..." offline.
        return graphiql_page()

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
            database=services.database,
            dependencies=services.dependencies,
            request=request,
            client_address=client_address(
                request.client.host if request.client is not None else None,
                request.headers.getlist("x-forwarded-for"),
                services.settings.trusted_proxies,
            ),
            compile_selections=services.settings.graphql_compile_selections,
        )
        if isinstance(request, Request):
            await authenticate(
                context,
                services.tokens,
                bearer_token(request.headers.get("authorization")),
                self.verified_tokens,
                services.identity.sessions.liveness,
                api_keys=services.api_keys,
            )
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        # Apollo-style clients put the header in the connection_init payload.
        params = context.connection_params or {}
        header = params.get("Authorization", params.get("authorization"))
        services = self.services()
        try:
            await authenticate(
                context,
                services.tokens,
                bearer_token(header),
                self.verified_tokens,
                services.identity.sessions.liveness,
                api_keys=services.api_keys,
            )
        except ApiKeyRateLimited as limited:
            raise ConnectionRejectionError(
                {"reason": "too many requests", "retryAfterSeconds": limited.retry_after_seconds}
            ) from limited
        except ApiKeysUnavailable as error:
            raise ConnectionRejectionError({"reason": "temporarily unavailable"}) from error
        if context.authentication_failed:
            raise ConnectionRejectionError({"reason": "invalid access token"})
        return await super().on_ws_connect(context)


class VerifiedTokens:
    """Claims of tokens verified recently, until they expire (a client sends the same
    token with every request; verifying it again would give the same answer).

    Sound because ``TokenService.verify`` is stateless (signature, audience, expiry):
    revocations (signed-out sessions) are not its business but ``SessionLiveness``'s,
    which ``authenticate`` asks after this cache, on every request.
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
    sessions: SessionLiveness | None = None,
    *,
    api_keys: ApiKeys | None = None,
) -> None:
    """Set the context's caller from a bearer token: a user, an API key, or anonymous.

    A token whose session was signed out is refused as an invalid one is, once
    ``sessions`` knows (within ``ATENDE_SESSION_CHECK_SECONDS``; a cached answer costs no
    round trip). A token without a session id is judged by its signature and expiry.

    An API key (``atende_...``, when ``api_keys`` is given) acts as its principal while
    it is not revoked (as ``api_keys`` knew at most the check delay ago), and counts one
    use: ``ApiKeyRateLimited`` past its limit (or its address past the limit of failed
    keys), ``ApiKeysUnavailable`` when the database cannot say whether it is valid.
    """
    if token is None:
        context.caller = Caller.anonymous()
        return
    if api_keys is not None and looks_like_api_key(token):
        principal = await api_keys.authenticate(token, address=context.client_address)
        if principal is None:
            context.caller = Caller.anonymous()
            context.authentication_failed = True
            return
        api_keys.use(principal.id)
        context.caller = principal.caller()
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
    session_id = claims.get("session_id")
    if (
        session_id is not None
        and sessions is not None
        and not await sessions.is_alive(str(session_id), str(claims["sub"]))
    ):
        context.caller = Caller.anonymous()
        context.authentication_failed = True
        return
    context.caller = Caller.user(claims)
