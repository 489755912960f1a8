"""Operation lifecycle: refuse bad tokens up front, commit or roll back at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from atende.graphql.context import Context
from atende.graphql.errors import ErrorCode, Unauthenticated


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
            # (Strawberry's own when an extension set it, as AuthenticationExtension does).
            result = self.execution_context.result
            failed = not isinstance(result, ExecutionResult | GraphQLExecutionResult) or bool(
                result.errors
            )
            try:
                await scope.transaction.finish(commit=not failed)
            finally:
                context.end_operation(token)
