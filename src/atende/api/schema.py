"""The Strawberry schema, assembled from each module's query, mutation and subscription types."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
    max_aliases,
    query_depth_limiter,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from atende.ai.mutations import AgentMutation
from atende.ai.queries import AgentQuery
from atende.api.execution import AtendeExecutionContext
from atende.api.extensions import AuthenticationExtension, TransactionExtension
from atende.api.limits import (
    MAX_FIELDS,
    RejectDeepNesting,
    RejectNulCharacters,
    max_fields_rule,
)
from atende.channels.broadcasts.mutations import BroadcastsMutation
from atende.channels.mutations import ChannelsMutation
from atende.conversations.contacts.mutations import ContactsMutation
from atende.conversations.mutations import ConversationsMutation
from atende.conversations.privacy_mutations import PrivacyMutation
from atende.conversations.queries import ConversationsQuery
from atende.conversations.scheduling_mutations import SchedulingMutation
from atende.conversations.subscriptions import ConversationsSubscription
from atende.graphql.errors import ErrorMaskingExtension, present_errors
from atende.graphql.redaction import log_errors
from atende.graphql.scalars import SCALAR_MAP
from atende.identity.account_mutations import AccountMutation
from atende.identity.api_key_mutations import ApiKeyMutation
from atende.identity.mutations import IdentityMutation
from atende.identity.queries import IdentityQuery
from atende.knowledge.mutations import KnowledgeMutation
from atende.knowledge.queries import KnowledgeQuery
from atende.webhooks.mutations import WebhooksMutation

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000

#: The limits as validation rules, made once. The validation cache is keyed by the rule
#: classes: QueryDepthLimiter(...) and MaxAliasesLimiter(...) make new classes each time,
#: so as per-request factories they would make every validation a cache miss.
VALIDATION_RULES: list[type[ASTValidationRule]] = [
    query_depth_limiter.create_validator(MAX_DEPTH, None, None),
    max_aliases.create_validator(MAX_ALIASES),
    max_fields_rule(MAX_FIELDS),
]

Query = merge_types("Query", (IdentityQuery, AgentQuery, ConversationsQuery, KnowledgeQuery))
Mutation = merge_types(
    "Mutation",
    (
        IdentityMutation,
        AccountMutation,
        ApiKeyMutation,
        AgentMutation,
        ConversationsMutation,
        PrivacyMutation,
        ContactsMutation,
        SchedulingMutation,
        ChannelsMutation,
        BroadcastsMutation,
        WebhooksMutation,
        KnowledgeMutation,
    ),
)
Subscription = merge_types("Subscription", (ConversationsSubscription,))


class Schema(strawberry.Schema):
    """Strawberry's schema, logging errors without what the client submitted."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # GraphQL's own errors are logged (INFO, redacted); then every error is presented
        # here, in place (this list is the one the client gets), so unexpected ones are
        # logged once, with the request id the client sees, and masked even when they
        # escaped the operation's hooks.
        log_errors(errors, execution_context.variables if execution_context else None)
        errors[:] = present_errors(errors, execution_context)


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    # Factories, not instances: a fresh extension per request (the parser and validation
    # caches live at module level, shared across requests). Order matters: deep nesting
    # is refused before parsing; parsing and validation are cached; limits refuse abuse
    # before execution; the transaction wraps execution; masking sees the final errors.
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        RejectDeepNesting,
        lambda: ParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(VALIDATION_RULES),
        RejectNulCharacters,
        AuthenticationExtension,
        TransactionExtension,
        ErrorMaskingExtension,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=AtendeExecutionContext,
        config=StrawberryConfig(
            scalar_map=SCALAR_MAP,
            # "Did you mean ...?" would describe the schema when introspection is off.
            disable_field_suggestions=not introspection,
        ),
    )


def export_sdl() -> str:
    """The SDL committed as ``schema.graphql``."""
    return build_schema().as_str() + "\n"
