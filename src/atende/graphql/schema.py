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
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from atende.conversations.mutations import ConversationsMutation
from atende.conversations.queries import ConversationsQuery
from atende.conversations.subscriptions import ConversationsSubscription
from atende.graphql.errors import ErrorMaskingExtension
from atende.graphql.extensions import AuthenticationExtension, TransactionExtension
from atende.graphql.scalars import SCALAR_MAP
from atende.identity.types import IdentityQuery

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000

Query = merge_types("Query", (IdentityQuery, ConversationsQuery))
Mutation = merge_types("Mutation", (ConversationsMutation,))
Subscription = merge_types("Subscription", (ConversationsSubscription,))


class AtendeSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry logs every error with its traceback. ErrorMaskingExtension logs the
        # unexpected ones once, with the request id the client sees; expected ones
        # (PublicError, GraphQL validation) are the client's business, not the log's.
        return


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
    return AtendeSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
    )


def export_sdl() -> str:
    """The SDL committed as ``schema.graphql``."""
    return build_schema().as_str() + "\n"
