"""Execution with fast paths for plain leaf fields and prefetched related rows.

Most of a large result is leaves read straight off an object (``id``, ``status``,
``body``...): Strawberry's "basic fields". graphql-core still builds a resolve-info
object, runs the resolver chain and completes the value for each, which is most of the
CPU an inbox page costs. For such a field, with no arguments and no field middleware,
this executor reads the attribute and serializes it with the field's own type, exactly
as the general path would; anything else (a null, a value that will not serialize, any
other field) takes the general path, so errors and nullability behave as before.

Objects may also carry related rows that came with them (a ``prefetched`` dict, by
field name: the inbox page joins each conversation's contact and last message). For
an argument-less field found there, the executor completes the prefetched value
directly, skipping the resolver call Strawberry would wrap; the resolvers return the
same value when the general path runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

DEFINITION_BACKREF = "strawberry-definition"

LeafReader = tuple[str, Callable[[Any], Any]]
_NOT_A_PLAIN_LEAF = None
_readers: dict[tuple[int, str, str], LeafReader | None] = {}


def plain_leaf_reader(field: GraphQLField) -> LeafReader | None:
    """(attribute, serialize) for a basic Strawberry field of scalar or enum type."""
    if field.args or not getattr(field.resolve, "_is_default", False):
        return _NOT_A_PLAIN_LEAF
    definition = (field.extensions or {}).get(DEFINITION_BACKREF)
    python_name = getattr(definition, "python_name", None)
    if not isinstance(python_name, str):
        return _NOT_A_PLAIN_LEAF
    leaf = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if not isinstance(leaf, GraphQLScalarType | GraphQLEnumType):
        return _NOT_A_PLAIN_LEAF
    return python_name, leaf.serialize


def _python_name(field: GraphQLField | None) -> str | None:
    if field is None or field.args:
        return None
    definition = (field.extensions or {}).get(DEFINITION_BACKREF)
    name = getattr(definition, "python_name", None)
    return name if isinstance(name, str) else None


class AtendeExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with the fast path for plain leaf fields."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        if not node.arguments and not self._has_field_middleware():
            key = (id(self.schema), parent_type.name, node.name.value)
            try:
                reader = _readers[key]
            except KeyError:
                field = self.schema.get_field(parent_type, node.name.value)
                reader = _readers[key] = plain_leaf_reader(field) if field else None
            if reader is not None:
                value = getattr(source, reader[0], None)
                if value is not None:
                    try:
                        serialized = reader[1](value)
                    except Exception:  # the general path reports it
                        serialized = None
                    if serialized is not None:
                        return serialized
            else:
                prefetched = getattr(source, "prefetched", None)
                if prefetched:
                    name = _python_name(self.schema.get_field(parent_type, node.name.value))
                    if name in prefetched:
                        return self._complete_prefetched(
                            parent_type,
                            field_details_list,
                            path,
                            prefetched[name],
                            position_context,
                        )
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _complete_prefetched(
        self,
        parent_type: GraphQLObjectType,
        field_details_list: Any,
        path: Any,
        value: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's ``execute_field`` after its resolver call, for a value at hand."""
        field = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
        assert field is not None
        return_type = field.type
        info = self.build_resolve_info(
            field, [details.node for details in field_details_list], parent_type, path
        )
        try:
            completed = self.complete_value(
                return_type, field_details_list, info, path, value, position_context
            )
            if self.is_awaitable(completed):
                return self._await_completed(completed, return_type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    async def _await_completed(
        self, completed: Any, return_type: Any, field_details_list: Any, path: Any
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    def _has_field_middleware(self) -> bool:
        manager = self.middleware_manager
        return manager is not None and bool(manager.middlewares)
