"""The Strawberry schema, assembled from each module's query, mutation and subscription types."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from atende.ai.types import AgentMutation, AgentQuery
from atende.channels.mutations import ChannelsMutation
from atende.graphql.errors import ErrorMaskingExtension
from atende.graphql.extensions import AuthenticationExtension, TransactionExtension
from atende.graphql.redaction import log_errors
from atende.identity.mutations import IdentityMutation
from atende.identity.types import IdentityQuery

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000

Query = merge_types("Query", (IdentityQuery, AgentQuery))
Mutation = merge_types("Mutation", (IdentityMutation, AgentMutation, ChannelsMutation))


class Schema(strawberry.Schema):
    """Strawberry's schema, logging errors without what the client submitted."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors, execution_context.variables if execution_context else None)


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    # Factories, not instances: a fresh extension per request (the parser and validation
    # caches live at module level, shared across requests). Order matters: parsing and
    # validation are cached; limits refuse abuse before execution; the transaction wraps
    # execution; masking sees the final errors.
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        lambda: ParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        AuthenticationExtension,
        TransactionExtension,
        ErrorMaskingExtension,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return Schema(query=Query, mutation=Mutation, extensions=extensions)


def export_sdl() -> str:
    """The SDL committed as ``schema.graphql``."""
    return build_schema().as_str() + "\n"
