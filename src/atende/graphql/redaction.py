"""What a client submitted stays out of error messages and logs.

GraphQL's own errors (parsing, validation, variable coercion) quote the values they
refuse: "Variable '$input' has invalid value: ... found: {'email': ..., 'password': ...}".
A password sent with a misspelt field name would otherwise travel back in the response and
into the log. Every scalar of the operation's variables is replaced by ``[redacted]`` in
those messages.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from graphql import GraphQLError

logger = logging.getLogger("atende.graphql")

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
    """``message`` without any of ``values``."""
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
