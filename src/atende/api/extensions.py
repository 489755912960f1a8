"""Operation lifecycle: refuse bad tokens up front, commit or roll back at the end."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import psycopg
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult, StreamExecutionResult

from atende.graphql.context import Context
from atende.graphql.errors import (
    ErrorCode,
    OperationResult,
    Unauthenticated,
    operation_succeeded,
)

logger = logging.getLogger(__name__)


class AuthenticationExtension(SchemaExtension):
    """A request whose token failed verification gets one UNAUTHENTICATED error, no data."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context) and context.authentication_failed:
            self.execution_context.result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        Unauthenticated().message,
                        extensions={"code": ErrorCode.UNAUTHENTICATED.value},
                    )
                ],
            )
        yield


class TransactionExtension(SchemaExtension):
    """Gives each operation its own transaction, committed when it raised no error.

    Expected failures are union results, not errors, so a mutation that returns
    ``ValidationError`` still commits (having written nothing, as a rule); an unexpected
    error rolls back everything the operation wrote.
    """

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if not isinstance(context, Context):
            yield
            return
        token = context.begin_operation()
        scope = context.operation
        try:
            yield
        finally:
            # While the operation runs, the result is graphql-core's ExecutionResult
            # (Strawberry's own when an extension set it, as AuthenticationExtension does):
            # operation_succeeded accepts both.
            result = self.execution_context.result
            try:
                await scope.transaction.finish(commit=operation_succeeded(result))
            finally:
                context.end_operation(token)

    async def on_stream_result(self, result: StreamExecutionResult) -> AsyncIterator[None]:
        # Subscriptions: each event's reads end before the event is sent, so a slow
        # client never holds a database connection, and the next event reads afresh.
        context = self.execution_context.context
        if isinstance(context, Context) and isinstance(result, OperationResult):
            try:
                await context.release(commit=not result.errors)
            except psycopg.Error as error:
                # The event was read; only ending its (read-only) transaction failed, as
                # when the database goes away at that moment. The event still goes out,
                # and the next one reads on a fresh connection: ending the subscription
                # here would leave the client with an internal error and no more events.
                logger.warning(
                    "subscription event's transaction did not end cleanly (%s)",
                    type(error).__name__,
                )
        yield
