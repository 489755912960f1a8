"""Errors a client may see, and the masking of every other one.

Expected failures are union results in the schema. What remains visible as a GraphQL
error carries ``extensions.code``: authentication, permission and validation problems.
Anything else is a bug or an outage: the client sees "Internal error" and a request id,
and the log has the same id beside the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

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


REDACTED = "[redacted]"
#: Shorter values are not worth hiding (and would mangle the message): ids of enums, flags.
_MIN_REDACTED_LENGTH = 4


def submitted_values(variables: Mapping[str, Any] | None) -> list[str]:
    """Every scalar a client submitted in the operation's variables, as text, longest first."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, Iterable) and not isinstance(value, str | bytes):
            for item in value:
                walk(item)
        elif value is not None and not isinstance(value, bool):
            text = str(value)
            if len(text) >= _MIN_REDACTED_LENGTH:
                found.add(text)

    walk(variables or {})
    return sorted(found, key=len, reverse=True)


def redact(message: str, values: Iterable[str]) -> str:
    """``message`` without any of ``values``.

    GraphQL's own errors quote what was submitted ("Variable '$input' has invalid value ...,
    found: {'password': ...}"): a password sent with a typo in a field name would otherwise
    travel into the response and the log.
    """
    for value in values:
        message = message.replace(value, REDACTED)
    return message


def is_graphql_own(error: GraphQLError) -> bool:
    """Raised by GraphQL itself (parsing, validation, variable coercion), not by a resolver."""
    original = error.original_error
    return original is None or (
        isinstance(original, GraphQLError) and original.original_error is None
    )


def log_errors(errors: Iterable[GraphQLError], variables: Mapping[str, Any] | None) -> None:
    """Strawberry's ``process_errors``, without echoing what the client submitted.

    GraphQL's own errors are the client's mistakes: INFO, redacted. Expected failures
    (``PublicError``) are not worth a line. Unexpected ones are logged by
    ``ErrorMaskingExtension``, with the request id the client sees.
    """
    values = submitted_values(variables)
    for error in errors:
        if is_graphql_own(error):
            logger.info("GraphQL request refused: %s", redact(error.message, values))


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
