"""Limits on what one request may ask for, checked before anything runs.

Depth, aliases and tokens use Strawberry's extensions (``schema.py``). This module adds
what they leave out: documents nested too deeply to parse cheaply; the number of fields
an operation selects once its fragments are expanded, so a small document cannot fan out
into a huge one; and text the database cannot store (NUL characters), refused as the
client's mistake it is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from graphql.error import GraphQLSyntaxError
from graphql.language import Source
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

MAX_FIELDS = 500

# -- nesting --------------------------------------------------------------------------------

#: Brackets (``{``, ``(``, ``[``) open at once, at most. The depth rule allows 12 levels
#: of fields; arguments and input values add a few more.
MAX_NESTING = 64

#: What may hold brackets that are not the document's: strings, block strings, comments.
_NOT_SYNTAX = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|#[^\n\r]*')
_BRACKET = re.compile(r"[{}()\[\]]")


@functools.lru_cache(maxsize=1024)
def nesting_depth(source: str) -> int:
    """How many brackets the document has open at most (outside strings and comments)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_NOT_SYNTAX.sub("", source)):
        if bracket in "{([":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class RejectDeepNesting(SchemaExtension):
    """Refuses a document nested past ``MAX_NESTING`` before it is parsed.

    The parser recurses once per level and finds out only at Python's recursion limit
    (``Document is nested too deeply``): about as much CPU as answering a normal query
    (tests/faults/test_graphql_abuse_cost.py). Counting brackets first costs a fraction.
    """

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query and nesting_depth(query) > MAX_NESTING:
            raise GraphQLSyntaxError(
                Source(query[:200]), 0, "Document is nested too deeply. Parsing aborted."
            )
        yield


def max_fields_rule(limit: int = MAX_FIELDS) -> type[ValidationRule]:
    """A validation rule refusing operations that select more than ``limit`` fields."""

    class MaxFieldsRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._fragments: dict[str, FragmentDefinitionNode] = {}
            self._fragment_sizes: dict[str, int] = {}

        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            self._fragments = {
                definition.name.value: definition
                for definition in node.definitions
                if isinstance(definition, FragmentDefinitionNode)
            }
            for definition in node.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                size = self._size(definition.selection_set, frozenset())
                if size > limit:
                    name = definition.name.value if definition.name else "the operation"
                    self.report_error(
                        GraphQLError(
                            f"{name} selects more than {limit} fields (fragments expanded).",
                            definition,
                        )
                    )

        def _size(self, selection_set: SelectionSetNode | None, expanding: frozenset[str]) -> int:
            if selection_set is None:
                return 0
            total = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    total += 1 + self._size(selection.selection_set, expanding)
                elif isinstance(selection, InlineFragmentNode):
                    total += self._size(selection.selection_set, expanding)
                elif isinstance(selection, FragmentSpreadNode):
                    total += self._fragment_size(selection.name.value, expanding)
                if total > limit:
                    break  # enough to refuse; no need to count a blow-up to the end
            return total

        def _fragment_size(self, name: str, expanding: frozenset[str]) -> int:
            # Cycles and unknown fragments are other rules' errors: count them as empty.
            if name in expanding or name not in self._fragments:
                return 0
            if name not in self._fragment_sizes:
                self._fragment_sizes[name] = self._size(
                    self._fragments[name].selection_set, expanding | {name}
                )
            return self._fragment_sizes[name]

    return MaxFieldsRule


# -- NUL characters -------------------------------------------------------------------------

#: How a GraphQL document writes NUL in a string: \u0000, or \u{0} and its padded forms.
_NUL_ESCAPE = re.compile(r"\\u(?:0000|\{0+\})")


def contains_nul(value: object) -> bool:
    """Whether a variable value holds a NUL character anywhere."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False


class RejectNulCharacters(SchemaExtension):
    """Refuses text with a NUL character before anything runs.

    GraphQL strings may hold U+0000; Postgres text may not, and the database would turn
    the request into an internal error. Refused as BAD_USER_INPUT instead, in arguments
    written in the document and in variables alike.
    """

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if _NUL_ESCAPE.search(context.query or "") or contains_nul(context.variables):
            context.result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        "Text cannot contain the NUL character (\\u0000).",
                        extensions={"code": "BAD_USER_INPUT"},
                    )
                ],
            )
        yield
