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

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from atende.errors import AtendeError
from atende.graphql.redaction import is_graphql_own, redact, submitted_values

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


class ErrorMaskingExtension(SchemaExtension):
    """Masks unexpected errors; keeps GraphQL's own (redacted) and ``PublicError`` ones
    readable."""

    def on_operation(self) -> Iterator[None]:
        yield
        # graphql-core's ExecutionResult while the operation runs; Strawberry's when an
        # extension set it.
        result = self.execution_context.result
        if not isinstance(result, ExecutionResult | GraphQLExecutionResult) or not result.errors:
            return
        request_id = getattr(self.execution_context.context, "request_id", None)
        values = submitted_values(self.execution_context.variables)
        result.errors = [self._present(error, request_id, values) for error in result.errors]

    def _present(
        self, error: GraphQLError, request_id: str | None, values: list[str]
    ) -> GraphQLError:
        original = error.original_error
        if isinstance(original, PublicError):
            return public_error(error)
        if is_graphql_own(error):
            message = redact(error.message, values)
            if message == error.message:
                return error
            return GraphQLError(
                message, nodes=error.nodes, path=error.path, extensions=error.extensions
            )
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
