"""A query's whole selection compiled into one SQL statement that builds its JSON.

Resolving an inbox page field by field costs the API process most of what a request
costs (a round trip per statement, a resolver and a completion per field). PostGraphile
answers the same query with one statement that builds the JSON in Postgres
(``json_build_object``); this module does the same for the selections it can.

**Declarations.** A GraphQL object type declares how each of its fields reads from SQL
(``SqlType``, by GraphQL field name), next to the domain type that owns it:

- ``Value``: a SQL expression of the row (``{row}``: the row's alias) that gives the
  field's JSON value as the general path serializes it (``sql_id``, ``sql_enum``,
  ``sql_datetime``: ids as text, enums by their upper-case names, times as Python's
  ``isoformat()``);
- ``Related``: an object read by a correlated subselect, ``source`` being its ``from ...
  as {alias} where ...`` (``{row}``: the parent's alias; a root field has none); null when
  no row is found (or row-level security hides it). On a page's rows it is a lateral
  join to the page's ``first + 1`` rows instead, which Postgres may turn into any join;
- ``Page``: a Relay connection read as a keyset page of ``first + 1`` rows: ``source``
  (``{parent}``: the parent's alias, ``{alias}``: the item's), ``order``, an item's
  ``cursor`` as a SQL expression encoding it exactly as ``atende.graphql.pagination``
  does (``sql_cursor``), and the connection's own fields (``totalCount``) as values of
  ``{parent}``. ``edges``, ``cursor``, ``node`` and ``pageInfo`` are the compiler's.

A field with arguments has a ``bind``: the field's coerced arguments and the operation's
``Context`` in, the statement's parameters out (``%(name)s`` in its SQL, renamed apart
per field), or None when the general path must run (``first`` out of range, a bad
cursor, an anonymous caller where the field requires one): that path then raises the
errors it raises today. Values are always parameters, never SQL text.

A page's optional conditions (the inbox's ``assignedTo``, ``search``...) are ``Filter``s:
each is in the statement only when its argument is given, so an operation runs one of a
few statement texts, each holding only the conditions asked for. Written as
``(%(x)s is null or ...)`` instead, the plan's cost would depend on the values: Postgres
then plans every execution afresh (a "custom plan", which cost the inbox about 40 % of
its database time) rather than reusing the prepared statement's generic plan.

**Compiling.** ``SelectionCompiler.compile`` walks a query's selection as graphql-core
collects it (fields by response name, in order; fragment spreads once each; inline
fragments and fragments on the object's own type; aliases kept) and returns a
``CompiledOperation`` (the statement, one ``json_build_object`` of the root, and the
fields whose arguments it binds), or None when anything is not declared: a field, a
directive (``@skip``, ``@include``...), a fragment on another type (an interface, a
union), an operation other than a query, more fields in an object than
``json_build_object`` takes. Plans are cached per operation node (graphql-core's parsed
document, itself cached per query text). ``CompiledOperation.parameters`` binds each
execution's variables; None again means the general path.

The statement runs as the caller (``atende.api.execution``: in one round trip with the
caller's settings, or on the operation's transaction when one is open), so row-level
security decides what it sees, as it does for the resolvers.

**Where this differs from the design it started from.** Declarations are keyed by
GraphQL type and field name, not attached to the Strawberry types, so a domain declares
its SQL beside its types without the kit reading Strawberry's internals, and the
assembly composes ``Organization``'s as it composes its fields. A connection's
``pageInfo`` is computed over the page's ``first + 1`` rows in one aggregate
(``count(*) > first`` is ``hasNextPage``); ``hasPreviousPage`` is false, as the forward
pages of the general path say.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import count
from typing import Any, TypeAlias

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_argument_values

from atende.graphql.context import Context

#: A field's coerced arguments and the operation's context, to its statement's parameters
#: (by the names its SQL uses), or None: the general path answers.
Bind: TypeAlias = Callable[[Mapping[str, Any], Context], Mapping[str, Any] | None]

#: ``json_build_object`` takes at most 100 arguments: 50 fields an object.
MAX_FIELDS = 50
_PARAMETER = re.compile(r"%\((\w+)\)s")
#: A ``Filter``'s condition in a compiled statement: the parameter it depends on, then
#: its SQL; kept or dropped per execution (``CompiledOperation.statement``). Control
#: characters: no declaration's SQL holds them, and values never are SQL text.
_FILTER_START, _FILTER_SQL, _FILTER_END = "\x02", "\x03", "\x04"
_FILTER = re.compile(f"{_FILTER_START}(\\w+){_FILTER_SQL}(.*?){_FILTER_END}", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Value:
    """A leaf: a SQL expression of ``{row}`` giving the field's JSON value."""

    sql: str


@dataclass(frozen=True, slots=True)
class Related:
    """An object by a correlated subselect: ``source`` is ``from ... as {alias} where ...``
    (``{row}``: the parent's alias), with ``bind`` for a field with arguments."""

    source: str
    bind: Bind | None = None


@dataclass(frozen=True, slots=True)
class Filter:
    """A condition of a page (``and ...``, of ``{alias}`` and ``{parent}``) that is in the
    statement only when ``bind`` gives its parameter a value (not None)."""

    parameter: str
    sql: str


@dataclass(frozen=True, slots=True)
class Page:
    """A Relay connection read as a keyset page (see the module's docstring).

    ``bind`` must give ``limit``: the page size, checked as ``page_size`` checks it.
    ``{filters}``, in ``source`` and in ``fields``, stands for the ``filters`` given.
    The page is ``{alias}``'s rows (``select {alias}.* <source>``): ``order``, ``cursor``
    and the items' fields read ``{alias}``'s columns only.
    """

    source: str
    order: str
    cursor: str
    bind: Bind
    #: The connection's own fields (``totalCount``): values of ``{parent}`` and the
    #: parameters ``bind`` gives.
    fields: Mapping[str, Value] = field(default_factory=dict)
    filters: tuple[Filter, ...] = ()

    def __post_init__(self) -> None:
        if self.filters and "{filters}" not in self.source:
            raise ValueError("a page with filters needs {filters} in its source")


SqlField: TypeAlias = Value | Related | Page


@dataclass(frozen=True, slots=True)
class SqlType:
    """How an object type's fields read from SQL, by GraphQL field name."""

    fields: Mapping[str, SqlField]


def sql_id(expression: str) -> str:
    """An ``ID`` from a uuid column: its text, as ``str(UUID)`` writes it."""
    return f"({expression})::text"


def sql_enum(expression: str) -> str:
    """An enum from a column holding its value: the GraphQL name (the value upper-cased)."""
    return f"upper(({expression})::text)"


def sql_datetime(expression: str) -> str:
    """A ``DateTime`` as Strawberry serializes one: ``datetime.isoformat()`` of the value
    psycopg reads in the session's time zone. Python writes microseconds only when they
    are not zero (Postgres's own text drops a fraction's trailing zeros, Python does
    not): one ``to_char`` with them, a zero fraction cut before the offset (the
    expression evaluated once)."""
    return (
        f"replace(replace(to_char({expression}, 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM'),"
        " '.000000+', '+'), '.000000-', '-')"
    )


def sql_cursor(kind: str, *parts: str) -> str:
    """``pagination.encode_cursor(kind, *parts)`` in SQL, ``parts`` being text
    expressions: URL-safe base64 without padding, and without the line breaks Postgres's
    base64 puts every 76 characters."""
    joined = " || chr(31) || ".join((_literal(kind), *(f"({part})" for part in parts)))
    return (
        f"rtrim(translate(encode(convert_to({joined}, 'UTF8'), 'base64'),"
        " '+/' || chr(10), '-_'), '=')"
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class _Binding:
    prefix: str
    field: GraphQLField
    node: FieldNode
    bind: Bind


@dataclass(frozen=True, slots=True)
class CompiledOperation:
    """A query's statement (one row, its ``data`` as JSON text) and what binds it.

    ``sql`` holds every ``Filter``'s condition, marked; ``statement`` gives the text an
    execution runs.
    """

    sql: str
    bindings: tuple[_Binding, ...]
    #: The statement texts made so far, by which filters they keep.
    _statements: dict[tuple[bool, ...], str] = field(default_factory=dict, compare=False)
    #: The parameters the filters depend on, in order of appearance.
    _filters: tuple[str, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        names = dict.fromkeys(name for name, _ in _FILTER.findall(self.sql))
        object.__setattr__(self, "_filters", tuple(names))

    def statement(self, parameters: Mapping[str, Any]) -> str:
        """The text to run with ``parameters`` (as ``parameters()`` bound them): the
        conditions of the filters whose parameter has a value, and no others."""
        kept = tuple(parameters.get(name) is not None for name in self._filters)
        text = self._statements.get(kept)
        if text is None:
            text = self._statements[kept] = _FILTER.sub(
                lambda match: match.group(2) if parameters.get(match.group(1)) is not None else "",
                self.sql,
            )
        return text

    def parameters(self, variables: VariableValues, context: Context) -> dict[str, Any] | None:
        """The statement's parameters for one execution; None: the general path runs."""
        parameters: dict[str, Any] = {}
        for binding in self.bindings:
            try:
                arguments = get_argument_values(binding.field, binding.node, variables)
            except Exception:
                return None
            bound = binding.bind(arguments, context)
            if bound is None:
                return None
            for name, value in bound.items():
                parameters[binding.prefix + name] = value
        return parameters


class _NotCompilable(Exception):
    """Something in the selection has no SQL declaration: the general path runs."""


class SelectionCompiler:
    """Compiles queries over one schema with the given declarations (by type name)."""

    def __init__(self, schema: GraphQLSchema, types: Mapping[str, SqlType]) -> None:
        self.schema = schema
        self.types = types
        #: By operation node id; the entry holds the node, so the id stays its own.
        self._plans: dict[int, tuple[OperationDefinitionNode, CompiledOperation | None]] = {}

    def compile(
        self,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
    ) -> CompiledOperation | None:
        entry = self._plans.get(id(operation))
        if entry is not None and entry[0] is operation:
            return entry[1]
        plan = _Compilation(self, fragments).operation(operation)
        if len(self._plans) >= 1024:
            self._plans.clear()
        self._plans[id(operation)] = (operation, plan)
        return plan


class _Compilation:
    """One operation's compilation: aliases and parameter prefixes numbered apart."""

    def __init__(
        self, compiler: SelectionCompiler, fragments: Mapping[str, FragmentDefinitionNode]
    ) -> None:
        self.compiler = compiler
        self.fragments = fragments
        self.numbers: Iterator[int] = count(1)
        self.bindings: list[_Binding] = []

    def operation(self, operation: OperationDefinitionNode) -> CompiledOperation | None:
        if operation.operation is not OperationType.QUERY or operation.directives:
            return None
        root = self.compiler.schema.query_type
        if root is None:
            return None
        try:
            data = self.object(root, [operation.selection_set], None)
        except _NotCompilable:
            return None
        return CompiledOperation(f"select ({data})::text as data", tuple(self.bindings))

    def collect(
        self, type_: GraphQLObjectType, selection_sets: list[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        """The fields by response name, as graphql-core's ``collect_fields`` groups them
        (each fragment once), for selections without directives or other types."""
        fields: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()

        def walk(selection_set: SelectionSetNode) -> None:
            for selection in selection_set.selections:
                if selection.directives:
                    raise _NotCompilable
                if isinstance(selection, FieldNode):
                    name = (selection.alias or selection.name).value
                    fields.setdefault(name, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    if condition is not None and condition.name.value != type_.name:
                        raise _NotCompilable
                    walk(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    if name in visited:
                        continue
                    visited.add(name)
                    fragment = self.fragments.get(name)
                    if (
                        fragment is None
                        or fragment.type_condition.name.value != type_.name
                        or fragment.variable_definitions  # graphql-core's experimental ones
                    ):
                        raise _NotCompilable
                    walk(fragment.selection_set)
                else:
                    raise _NotCompilable

        for selection_set in selection_sets:
            walk(selection_set)
        if len(fields) > MAX_FIELDS:
            raise _NotCompilable
        return fields

    def object(
        self,
        type_: GraphQLObjectType,
        selection_sets: list[SelectionSetNode],
        row: str | None,
        joins: list[str] | None = None,
    ) -> str:
        """``json_build_object`` of ``type_``'s selected fields, for the row ``row``; its
        related objects joined by ``joins`` when given (see ``field``)."""
        parts = []
        for name, nodes in self.collect(type_, selection_sets).items():
            parts.append(f"{_literal(name)}, {self.field(type_, nodes, row, joins)}")
        return f"json_build_object({', '.join(parts)})"

    def field(
        self,
        parent: GraphQLObjectType,
        nodes: list[FieldNode],
        row: str | None,
        joins: list[str] | None = None,
    ) -> str:
        """A field's SQL value. A related object is a correlated subselect; for a page's
        rows (``joins`` given), a lateral join instead: Postgres may then join a lookup
        by key as it judges best (a hash join over a small table, an index per row over
        a large one), where a subselect runs once per row, with row-level security's
        check on every row it reads."""
        name = nodes[0].name.value
        if name == "__typename":
            return f"{_literal(parent.name)}::text"
        definition = parent.fields.get(name)
        declared = self.compiler.types.get(parent.name)
        sql_field = declared.fields.get(name) if declared is not None else None
        if definition is None or sql_field is None:
            raise _NotCompilable
        if isinstance(sql_field, Value):
            if definition.args or row is None:
                raise _NotCompilable
            return sql_field.sql.replace("{row}", row)
        if isinstance(sql_field, Related):
            target = _object_type(definition)
            alias = f"t{next(self.numbers)}"
            source = self.bound(sql_field.source, sql_field.bind, definition, nodes[0])
            if row is not None:
                source = source.replace("{row}", row)
            elif "{row}" in source:
                raise _NotCompilable
            inner = self.object(target, _selection_sets(nodes), alias)
            if joins is not None:
                joined = f"{alias}j"
                joins.append(
                    f"left join lateral (select {inner} as j {source.replace('{alias}', alias)})"
                    f" as {joined} on true"
                )
                return f"{joined}.j"
            return f"(select {inner} {source.replace('{alias}', alias)})"
        return self.page(sql_field, definition, nodes, row)

    def bound(self, sql: str, bind: Bind | None, definition: GraphQLField, node: FieldNode) -> str:
        """``sql`` with its parameters renamed for this field, its binding recorded."""
        if bind is None:
            if definition.args:
                raise _NotCompilable
            return sql
        return _prefixed(sql, self.binding(bind, definition, node))

    def binding(self, bind: Bind, definition: GraphQLField, node: FieldNode) -> str:
        """Records the field's binding; the prefix its parameters take."""
        prefix = f"p{next(self.numbers)}_"
        self.bindings.append(_Binding(prefix, definition, node, bind))
        return prefix

    def page(
        self, page: Page, definition: GraphQLField, nodes: list[FieldNode], row: str | None
    ) -> str:
        if row is None:
            raise _NotCompilable
        connection = _object_type(definition)
        alias, items = f"t{next(self.numbers)}", f"t{next(self.numbers)}"
        prefix = self.binding(page.bind, definition, nodes[0])

        def renamed(sql: str) -> str:
            return _prefixed(sql, prefix).replace("{parent}", row).replace("{alias}", alias)

        filters = "".join(
            f"{_FILTER_START}{prefix}{condition.parameter}{_FILTER_SQL}"
            f" {renamed(condition.sql)}{_FILTER_END}"
            for condition in page.filters
        )

        def renamed_with_filters(sql: str) -> str:
            return renamed(sql).replace("{filters}", filters)

        limit = f"%({prefix}limit)s::integer"
        cursor = renamed(page.cursor)
        order = renamed(page.order)
        columns = [f"row_number() over (order by {order}) as i", f"{cursor} as c"]
        joins: list[str] = []
        kept = f"filter (where {items}.i <= {limit})"
        parts = []
        for name, field_nodes in self.collect(connection, _selection_sets(nodes)).items():
            field_name = field_nodes[0].name.value
            if field_name == "__typename":
                value = f"{_literal(connection.name)}::text"
            elif field_name == "edges":
                edge = _object_type(connection.fields[field_name], listed=True)
                built = self.edge(edge, field_nodes, alias, items, columns, joins)
                value = f"coalesce(json_agg({built} order by {items}.i) {kept}, '[]'::json)"
            elif field_name == "pageInfo":
                info = _object_type(connection.fields[field_name])
                value = self.page_info(info, field_nodes, items, kept, limit)
            elif field_name in page.fields and not connection.fields[field_name].args:
                value = renamed_with_filters(page.fields[field_name].sql)
            else:
                raise _NotCompilable
            parts.append(f"{_literal(name)}, {value}")
        # The page's rows first (``first + 1`` of them, by the order's index), then what
        # is joined to them. Declarations' SQL and names of the compiler's making: every
        # value is a parameter.
        rows = (
            f"(select {alias}.* {renamed_with_filters(page.source)}"
            f" order by {order} limit {limit} + 1) as {alias}"
        )
        return (
            f"(select json_build_object({', '.join(parts)})"  # noqa: S608
            f" from (select {', '.join(columns)} from {rows} {' '.join(joins)}) as {items})"
        )

    def edge(  # noqa: PLR0917 - the page's parts it adds to
        self,
        edge: GraphQLObjectType,
        nodes: list[FieldNode],
        alias: str,
        items: str,
        columns: list[str],
        joins: list[str],
    ) -> str:
        """An edge's object, built from the page's row ``items``: its cursor is the
        column ``c`` (computed once a row), its node a column added to ``columns``, and
        the node's related objects joins added to ``joins``."""
        parts = []
        for name, field_nodes in self.collect(edge, _selection_sets(nodes)).items():
            field_name = field_nodes[0].name.value
            if field_name == "__typename":
                value = f"{_literal(edge.name)}::text"
            elif field_name == "cursor":
                value = f"{items}.c"
            elif field_name == "node":
                column = f"n{len(columns)}"
                node = _object_type(edge.fields[field_name])
                built = self.object(node, _selection_sets(field_nodes), alias, joins)
                columns.append(f"{built} as {column}")
                value = f"{items}.{column}"
            else:
                raise _NotCompilable
            parts.append(f"{_literal(name)}, {value}")
        return f"json_build_object({', '.join(parts)})"

    def page_info(
        self, info: GraphQLObjectType, nodes: list[FieldNode], items: str, kept: str, limit: str
    ) -> str:
        values = {
            "__typename": f"{_literal(info.name)}::text",
            "hasNextPage": f"count(*) > {limit}",
            "hasPreviousPage": "false",
            "startCursor": f"(array_agg({items}.c order by {items}.i) {kept})[1]",
            "endCursor": f"(array_agg({items}.c order by {items}.i desc) {kept})[1]",
        }
        parts = []
        for name, field_nodes in self.collect(info, _selection_sets(nodes)).items():
            value = values.get(field_nodes[0].name.value)
            if value is None:
                raise _NotCompilable
            parts.append(f"{_literal(name)}, {value}")
        return f"json_build_object({', '.join(parts)})"


def _prefixed(sql: str, prefix: str) -> str:
    """``sql``'s ``%(name)s`` parameters renamed ``%(<prefix>name)s``."""
    return _PARAMETER.sub(lambda match: f"%({prefix}{match.group(1)})s", sql)


def _selection_sets(nodes: list[FieldNode]) -> list[SelectionSetNode]:
    sets = [node.selection_set for node in nodes if node.selection_set is not None]
    if not sets:
        raise _NotCompilable
    return sets


def _object_type(definition: GraphQLField, *, listed: bool = False) -> GraphQLObjectType:
    """The field's object type (nullable or not), or its items' when ``listed`` (edges);
    unions and interfaces are not compiled."""
    type_ = definition.type
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        if not listed:
            raise _NotCompilable
        item = type_.of_type
        item = item.of_type if isinstance(item, GraphQLNonNull) else item
        if isinstance(item, GraphQLObjectType):
            return item
        raise _NotCompilable
    if isinstance(type_, GraphQLObjectType):
        return type_
    raise _NotCompilable
