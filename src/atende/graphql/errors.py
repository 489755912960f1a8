"""Errors a client may see, and the masking of every other one.

Expected failures are union results in the schema. What remains visible as a GraphQL
error carries ``extensions.code``: authentication, permission and validation problems.
Anything else is a bug or an outage: the client sees "Internal error" and a request id,
and the log has the same id beside the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from graphql import ExecutionResult as CoreExecutionResult
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult, StreamExecutionResult

from atende.errors import AtendeError

logger = logging.getLogger("atende.graphql")


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    INTERNAL = "INTERNAL_SERVER_ERROR"


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


class Forbidden(PublicError):
    """You are not allowed to do this."""

    code = ErrorCode.FORBIDDEN


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
    return error


#: What ``execution_context.result`` may hold: Strawberry's result (pre-execution
#: errors, results set by extensions) or graphql-core's (what execution returned).
OperationResult = (ExecutionResult, CoreExecutionResult)


def operation_succeeded(result: object) -> bool:
    """An operation's result came back, without errors."""
    return isinstance(result, OperationResult) and not result.errors


class ErrorMaskingExtension(SchemaExtension):
    """Masks unexpected errors; keeps GraphQL's own and ``PublicError`` ones readable."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if not isinstance(result, OperationResult) or not result.errors:
            return
        request_id = getattr(self.execution_context.context, "request_id", None)
        result.errors = [self._present(error, request_id) for error in result.errors]

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        # Each result of a subscription is masked as it is sent.
        if isinstance(result, OperationResult) and result.errors:
            request_id = getattr(self.execution_context.context, "request_id", None)
            result.errors = [self._present(error, request_id) for error in result.errors]
        yield

    def _present(self, error: GraphQLError, request_id: str | None) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, PublicError):
            return public_error(error)
        if isinstance(original, GraphQLError) and original.original_error is None:
            return error
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


class InvalidArgument(PublicError):
    """An argument is not acceptable."""

    code = ErrorCode.BAD_USER_INPUT


class NotFoundError(PublicError):
    """Nothing of that kind is visible to you."""

    code = ErrorCode.NOT_FOUND
