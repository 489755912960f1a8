"""Limits on what one request may ask for, checked before anything runs.

Depth, aliases and tokens use Strawberry's extensions (``schema.py``). This module adds
the one they leave out: the number of fields an operation selects once its fragments
are expanded, so a small document cannot fan out into a huge one.
"""

from __future__ import annotations

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

MAX_FIELDS = 500


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
