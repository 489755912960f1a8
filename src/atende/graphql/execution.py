"""Execution with a fast path for plain leaf fields.

Most of a large result is leaves read straight off an object (``id``, ``status``,
``body``...): Strawberry's "basic fields". graphql-core still builds a resolve-info
object, runs the resolver chain and completes the value for each, which is most of the
CPU an inbox page costs. For such a field, with no arguments and no field middleware,
this executor reads the attribute and serializes it with the field's own type, exactly
as the general path would; anything else (a null, a value that will not serialize, any
other field) takes the general path, so errors and nullability behave as before.
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
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _has_field_middleware(self) -> bool:
        manager = self.middleware_manager
        return manager is not None and bool(manager.middlewares)
