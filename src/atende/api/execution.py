"""Execution with fast paths for plain fields and prefetched related rows.

Most of a large result is leaves read straight off an object (``id``, ``status``,
``body``...): Strawberry's "basic fields" (no resolver, no field extensions). For each
field graphql-core builds a path entry and a resolve-info object, runs the resolver
chain and completes the value, which is most of the CPU an inbox page costs. This
executor plans each selection set once per operation and, for a basic field of scalar
or enum type without arguments, reads the attribute and serializes it with the field's
own type, exactly as the general path would; anything else (a null, a value that will
not serialize, any other field) takes the general path, so errors and nullability
behave as before. A basic field of object or list type (an edge's ``node``, a
connection's ``edges``) skips only the resolver call: its value is read and completed
as graphql-core completes any resolved value.

Objects may also carry related rows that came with them (a ``prefetched`` dict, by
field name: the inbox page joins each conversation's contact and last message). For
an argument-less field found there, the executor completes the prefetched value
directly, skipping the resolver call Strawberry would wrap; the resolvers return the
same value when the general path runs.

A query whose whole selection the SQL declarations cover runs as one statement that
builds its JSON in Postgres (``atende.graphql.sql_selection``; the declarations are
composed in ``atende.api.organization``): ``execute_operation`` runs it as the caller,
in one round trip (``_execute_compiled``), and anything it does not compile, or whose
arguments it does not accept, takes graphql-core's path below unchanged.

``execute_fields`` copies graphql-core 3.3's. ``make graphql-conformance`` runs the
installed graphql-core's own execution tests against this executor (and against
Strawberry's, the reference), so an upgrade that breaks the copy fails ``make test``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson
from graphql import (
    ExecutionResult,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
)
from graphql.language import OperationType
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from typing_extensions import override

from atende.api.organization import SQL_TYPES
from atende.graphql.context import Context
from atende.graphql.sql_selection import CompiledOperation, SelectionCompiler

DEFINITION_BACKREF = "strawberry-definition"
GRAPHQL_SERIALIZERS = {
    scalar.name: scalar.serialize for scalar in (GraphQLString, GraphQLID, GraphQLBoolean)
}


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """How one field of a selection set is executed (the same for every operation)."""

    response_name: str
    #: The attribute a basic field reads, or None: the field runs its resolver.
    attribute: str | None = None
    #: For a basic scalar or enum field, its type's serializer.
    serialize: Callable[[Any], Any] | None = None
    #: The Python type whose values that serializer returns unchanged (str for String
    #: and ID, bool for Boolean): such a value is used as it is.
    as_is: type | None = None
    #: For an argument-less field, the name its value may be prefetched under.
    prefetch_name: str | None = None
    #: The field's definition, for values completed at hand.
    field: GraphQLField | None = None
    #: Its object type, when a value of it completes straight into its subfields.
    object_type: GraphQLObjectType | None = None


def _definition_name(field: GraphQLField) -> str | None:
    definition = (field.extensions or {}).get(DEFINITION_BACKREF)
    name = getattr(definition, "python_name", None)
    return name if isinstance(name, str) else None


def _is_basic(field: GraphQLField) -> bool:
    """A Strawberry field without resolver or extensions: its value is an attribute."""
    definition = (field.extensions or {}).get(DEFINITION_BACKREF)
    return bool(
        getattr(field.resolve, "_is_default", False)
        and getattr(definition, "is_basic_field", False)
    )


def plain_object_type(return_type: Any) -> GraphQLObjectType | None:
    """The object type of a value that completes straight into its subfields: an object
    type (nullable or not) that needs no ``is_type_of`` check (union members do)."""
    named = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    if isinstance(named, GraphQLObjectType) and named.is_type_of is None:
        return named
    return None


#: Built-in scalars whose serializers return a value of this exact type unchanged.
_RETURNED_AS_IS: dict[str, type] = {"String": str, "ID": str, "Boolean": bool}


def leaf_serializer(
    named: GraphQLScalarType | GraphQLEnumType,
) -> tuple[Callable[[Any], Any], type | None]:
    """The serializer of a leaf type, and the type of values it returns unchanged.

    A Strawberry enum serializes a member by looking for its value among the type's
    values, one by one: a dict from member to name answers the same in one step (a
    value it does not know gives None, and None sends the field down the general path).
    """
    wrapped = getattr(named, "wrapped_cls", None)
    if (
        isinstance(named, GraphQLEnumType)
        and isinstance(wrapped, type)
        and issubclass(wrapped, Enum)
    ):
        names: dict[Any, str] = {}
        for name, value in named.values.items():
            for member in wrapped:
                if member.value == value.value:
                    names.setdefault(member, name)
        return names.get, None
    if named.name in _RETURNED_AS_IS and named.serialize is GRAPHQL_SERIALIZERS.get(named.name):
        return named.serialize, _RETURNED_AS_IS[named.name]
    return named.serialize, None


def plan_field(response_name: str, field: GraphQLField | None, *, arguments: bool) -> FieldPlan:
    if field is None or arguments or field.args:
        return FieldPlan(response_name)
    name = _definition_name(field)
    if name is None:
        return FieldPlan(response_name)
    object_type = plain_object_type(field.type)
    if not _is_basic(field):
        return FieldPlan(response_name, prefetch_name=name, field=field, object_type=object_type)
    named = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return FieldPlan(response_name, name, *leaf_serializer(named))
    return FieldPlan(response_name, name, field=field, object_type=object_type)


#: Field plans by (parent type, response name, field name, arguments given); each entry
#: holds its type, so the id in the key stays that type's.
_field_plans: dict[tuple[int, str, str, bool], tuple[GraphQLObjectType, FieldPlan]] = {}


#: The selection compiler of each schema built (by id; the entry holds the schema).
_compilers: dict[int, SelectionCompiler] = {}


def selection_compiler(schema: GraphQLSchema) -> SelectionCompiler:
    compiler = _compilers.get(id(schema))
    if compiler is None or compiler.schema is not schema:
        compiler = _compilers[id(schema)] = SelectionCompiler(schema, SQL_TYPES)
    return compiler


class AtendeExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with the fast paths for plain and prefetched fields."""

    _plans: dict[int, tuple[Any, list[tuple[FieldPlan, Any]]]]

    @override
    def execute_operation(self, serially: bool | None = None) -> Any:
        context = self.context_value
        if (
            isinstance(context, Context)
            and context.compile_selections
            and self.operation.operation is OperationType.QUERY
            and not (self.middleware_manager and self.middleware_manager.middlewares)
        ):
            compiled = selection_compiler(self.schema).compile(
                self.operation, self.fragment_definitions
            )
            if compiled is not None:
                parameters = compiled.parameters(self.variable_values, context)
                if parameters is not None:
                    return self._execute_compiled(context, compiled, parameters)
        return super().execute_operation(serially)

    async def _execute_compiled(
        self, context: Context, compiled: CompiledOperation, parameters: dict[str, Any]
    ) -> Any:
        """The operation's data from its one statement, run as the caller (RLS decides
        what it reads, as for the resolvers).

        On the operation's transaction when one is open; else (as a rule: nothing else
        ran) as ``Database.fetch_one`` runs a statement, the caller's settings with it in
        one round trip and one implicit transaction, instead of BEGIN with the settings,
        the statement and COMMIT: one statement reads one snapshot either way, and writes
        nothing, and the operation's transaction, never opened, has nothing to finish.
        """
        statement = compiled.statement(parameters)
        try:
            transaction = context.operation.transaction
            if transaction.opened:
                conn = await transaction.connection()
                row = await (await conn.execute(statement, parameters)).fetchone()
            else:
                row = await context.database.fetch_one(context.caller, statement, parameters)
        except Exception as error:  # an outage: reported (and masked) as any other
            self.collected_errors.add(
                GraphQLError(str(error), [self.operation], original_error=error), None
            )
            return self.finish(self.build_response(None))
        assert row is not None  # a select without FROM: one row
        text: str = row["data"]
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:  # numbers past 64 bits (a contact's attributes)
            data = json.loads(text)
        return self.finish(self.build_response(data))

    def _plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: Any
    ) -> list[tuple[FieldPlan, Any]]:
        # graphql-core memoizes each grouped field set for the whole operation, so its
        # identity names the selection; the entry holds the set, so the id stays its own.
        try:
            plans = self._plans
        except AttributeError:
            plans = self._plans = {}
        key = id(grouped_field_set)
        entry = plans.get(key)
        if entry is not None and entry[0] is grouped_field_set:
            return entry[1]
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            plan = [(FieldPlan(name), details) for name, details in grouped_field_set.items()]
        else:
            plan = [
                (self._plan_field(parent_type, name, details[0].node), details)
                for name, details in grouped_field_set.items()
            ]
        plans[key] = (grouped_field_set, plan)
        return plan

    def _plan_field(self, parent_type: GraphQLObjectType, name: str, node: Any) -> FieldPlan:
        key = (id(parent_type), name, node.name.value, bool(node.arguments))
        entry = _field_plans.get(key)
        if entry is None or entry[0] is not parent_type:
            field = self.schema.get_field(parent_type, node.name.value)
            entry = _field_plans[key] = (
                parent_type,
                plan_field(name, field, arguments=bool(node.arguments)),
            )
        return entry[1]

    @override
    def build_response(self, data: dict[str, Any] | None) -> Any:
        response = super().build_response(data)
        if isinstance(response, ExecutionResult):
            # The operation is over. graphql-core's executor refers to itself through
            # the helpers it hands resolvers (its own bound methods), so it and all it
            # memoized (selection sets, plans, variables: ~200 objects an operation)
            # would wait for the cycle collector, whose collections cost the inbox load
            # ~8% of its throughput and pauses of 20-50 ms. Without the cycle,
            # reference counting frees them at once.
            del self.async_helpers
        return response

    @override
    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        # graphql-core 3.3's execute_fields, with each field executed per its plan.
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for plan, details in self._plan(parent_type, grouped_field_set):
                result = self._execute_planned(
                    plan, details, parent_type, source_value, path, position_context
                )
                if result is not Undefined:
                    results[plan.response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(plan.response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _execute_planned(  # noqa: PLR0917 - execute_field's arguments, and the plan
        self,
        plan: FieldPlan,
        field_details_list: Any,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path | None,
        position_context: Any,
    ) -> Any:
        if plan.attribute is not None:
            value = getattr(source, plan.attribute, None)
            if plan.serialize is None:
                return self._complete_at_hand(
                    plan,
                    field_details_list,
                    parent_type,
                    Path(path, plan.response_name, parent_type.name),
                    value,
                    position_context,
                )
            if value is not None:
                if type(value) is plan.as_is:
                    return value
                try:
                    serialized = plan.serialize(value)
                except Exception:  # the general path reports it
                    serialized = None
                if serialized is not None:
                    return serialized
        elif plan.prefetch_name is not None:
            prefetched = getattr(source, "prefetched", None)
            if prefetched and plan.prefetch_name in prefetched:
                return self._complete_at_hand(
                    plan,
                    field_details_list,
                    parent_type,
                    Path(path, plan.response_name, parent_type.name),
                    prefetched[plan.prefetch_name],
                    position_context,
                )
        return self.execute_field(
            parent_type,
            source,
            field_details_list,
            Path(path, plan.response_name, parent_type.name),
            position_context,
        )

    def _complete_at_hand(  # noqa: PLR0917 - as _execute_planned
        self,
        plan: FieldPlan,
        field_details_list: Any,
        parent_type: GraphQLObjectType,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's ``execute_field`` after its resolver call, for a value at hand."""
        field = plan.field
        assert field is not None
        return_type = field.type
        try:
            if plan.object_type is not None and value is not None:
                completed = self.collect_and_execute_subfields(
                    plan.object_type, field_details_list, path, value, position_context
                )
            else:
                info = self.build_resolve_info(
                    field, [details.node for details in field_details_list], parent_type, path
                )
                completed = self.complete_value(
                    return_type, field_details_list, info, path, value, position_context
                )
            if self.is_awaitable(completed):
                return self._await_completed(completed, return_type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    @override
    def complete_value(
        self,
        return_type: Any,
        field_details_list: Any,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        # An object (a list's item, as a connection's edges) goes straight to its
        # subfields: graphql-core would reach the same call after checking each kind
        # of type in turn.
        if result is not None and not isinstance(result, Exception):
            object_type = plain_object_type(return_type)
            if object_type is not None:
                return self.collect_and_execute_subfields(
                    object_type, field_details_list, path, result, position_context
                )
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )

    async def _await_completed(
        self, completed: Any, return_type: Any, field_details_list: Any, path: Any
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
