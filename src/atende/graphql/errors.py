"""Errors a client may see, and the masking of every other one.

Expected failures are union results in the schema. What remains visible as a GraphQL
error carries ``extensions.code``: authentication, permission and validation problems.
Anything else is a bug or an outage: the client sees "Internal error" and a request id,
and the log has the same id beside the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import Any

from graphql import ExecutionResult as CoreExecutionResult
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext, ExecutionResult, StreamExecutionResult

from atende.errors import AtendeError, Forbidden, InvalidInput, NotFound, Refusal
from atende.graphql.redaction import is_graphql_own, redact, submitted_values

logger = logging.getLogger("atende.graphql")


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    INTERNAL = "INTERNAL_SERVER_ERROR"
    #: The document is not GraphQL.
    PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    #: The document does not fit the schema or the limits (unknown field, too deep...).
    VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    #: The HTTP request is not a GraphQL request (a body that is not JSON, nor a JSON
    #: object; an unsupported content type or method): refused before any document.
    BAD_REQUEST = "BAD_REQUEST"
    #: The API key is over its rate limit (``ATENDE_RATE_LIMIT_API_KEY``): refused before
    #: any document, with ``retryAfterSeconds``.
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"


class PublicError(AtendeError):
    """A failure the client is meant to read."""

    code: ErrorCode = ErrorCode.BAD_USER_INPUT

    def graphql_extensions(self) -> dict[str, Any]:
        return {"code": self.code.value}


class Unauthenticated(PublicError):
    """Invalid or expired access token."""

    code = ErrorCode.UNAUTHENTICATED


class AuthenticationRequired(PublicError):
    """You must be signed in to do this."""

    code = ErrorCode.UNAUTHENTICATED


#: The codes of the refusals every domain shares (``atende.errors``) when one escapes a
#: resolver instead of being returned as a typed result (a query's argument, say).
REFUSAL_CODES: tuple[tuple[type[Refusal], ErrorCode], ...] = (
    (InvalidInput, ErrorCode.BAD_USER_INPUT),
    (NotFound, ErrorCode.NOT_FOUND),
    (Forbidden, ErrorCode.FORBIDDEN),
)


def public_error(error: GraphQLError) -> GraphQLError:
    """The error as the client sees it; ``None`` original errors are GraphQL's own."""
    original = error.original_error
    if isinstance(original, PublicError):
        return GraphQLError(
            original.message,
            nodes=error.nodes,
            path=error.path,
            extensions={**(error.extensions or {}), **original.graphql_extensions()},
        )
    for refusal, code in REFUSAL_CODES:
        if isinstance(original, refusal):
            extensions: dict[str, Any] = {"code": code.value}
            if isinstance(original, InvalidInput):
                extensions["field"] = original.field
            return GraphQLError(
                original.user_message,
                nodes=error.nodes,
                path=error.path,
                extensions={**(error.extensions or {}), **extensions},
            )
    return error


def request_error(error: GraphQLError, values: Sequence[str] = ()) -> GraphQLError:
    """GraphQL's own errors, with a code and without what the client submitted: the
    request was refused before it ran."""
    if (error.extensions or {}).get("code") or error.path is not None:
        return redacted(error, values)
    if error.message.startswith("Syntax Error"):
        code = ErrorCode.PARSE_FAILED
    elif error.message.startswith("Variable '$"):
        code = ErrorCode.BAD_USER_INPUT
    else:
        code = ErrorCode.VALIDATION_FAILED
    return GraphQLError(
        redact(error.message, values),
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        extensions={**(error.extensions or {}), "code": code.value},
    )


def redacted(error: GraphQLError, values: Sequence[str]) -> GraphQLError:
    """The error, its message without any submitted value (see ``redaction``)."""
    message = redact(error.message, values)
    if message == error.message:
        return error
    return GraphQLError(message, nodes=error.nodes, path=error.path, extensions=error.extensions)


#: What ``execution_context.result`` may hold: Strawberry's result (pre-execution
#: errors, results set by extensions) or graphql-core's (what execution returned).
OperationResult = (ExecutionResult, CoreExecutionResult)


def operation_succeeded(result: object) -> bool:
    """An operation's result came back, without errors."""
    return isinstance(result, OperationResult) and not result.errors


def present_error(
    error: GraphQLError, request_id: str | None, values: Sequence[str] = ()
) -> GraphQLError:
    """The error as the client may see it; unexpected ones are logged and masked.

    Idempotent: an error already presented comes back as it is. ``values`` are what the
    client submitted (``redaction.submitted_values``): GraphQL's own messages quote them.
    """
    original = error.original_error
    if isinstance(original, PublicError | Refusal):
        return public_error(error)
    # Errors without a path were raised before any field ran: the request itself
    # (syntax, validation, limits, variables - including a scalar that would not parse).
    if error.path is None and (
        is_graphql_own(error)
        or isinstance(original, GraphQLError)
        or error.message.startswith("Variable '$")
    ):
        return request_error(error, values)
    if is_graphql_own(error):
        return redacted(error, values)
    logger.error(
        "unexpected error in GraphQL operation (request_id=%s, path=%s)",
        request_id,
        ".".join(str(part) for part in error.path or []),
        exc_info=original,
    )
    return GraphQLError(
        "Internal error",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": ErrorCode.INTERNAL.value, "requestId": request_id},
    )


def present_errors(
    errors: list[GraphQLError], execution_context: ExecutionContext | None
) -> list[GraphQLError]:
    """``present_error`` for each error of an operation."""
    if execution_context is None:
        return [present_error(error, None) for error in errors]
    request_id = getattr(execution_context.context, "request_id", None)
    values = submitted_values(execution_context.variables)
    return [present_error(error, request_id, values) for error in errors]


class ErrorMaskingExtension(SchemaExtension):
    """Masks unexpected errors; keeps GraphQL's own (redacted) and ``PublicError`` ones
    readable.

    Errors that escape the operation's hooks (an extension failing, a parse error
    raised by the parser cache) are presented by ``Schema.process_errors``.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        # graphql-core's ExecutionResult while the operation runs; Strawberry's when an
        # extension set it.
        result = self.execution_context.result
        if not isinstance(result, OperationResult) or not result.errors:
            return
        result.errors = present_errors(result.errors, self.execution_context)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        # Each result of a subscription is masked as it is sent.
        if isinstance(result, OperationResult) and result.errors:
            result.errors = present_errors(result.errors, self.execution_context)
        yield


class InvalidArgument(PublicError):
    """An argument is not acceptable."""

    code = ErrorCode.BAD_USER_INPUT
