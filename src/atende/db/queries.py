"""Named SQL queries, kept in ``sql/<module>.sql`` files rather than in Python strings.

A file holds blocks introduced by ``-- name: <query_name>``; everything up to the next
such line is the query. Comments above a block's first statement stay part of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import LiteralString

from atende.errors import AtendeError
from atende.resources import sql_dir

_NAME_LINE = re.compile(r"^--\s*name:\s*(?P<name>[a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


class UnknownQuery(AtendeError):
    """No query of that name."""


class QueryFile(Mapping[str, LiteralString]):
    """The queries of one ``.sql`` file, by name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queries = parse_named_queries(path.read_text())

    def __getitem__(self, name: str) -> LiteralString:
        try:
            return self._queries[name]
        except KeyError:
            raise UnknownQuery(f"no query named {name!r} in {self.path.name}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._queries)

    def __len__(self) -> int:
        return len(self._queries)


def parse_named_queries(text: str) -> dict[str, LiteralString]:
    queries: dict[str, LiteralString] = {}
    matches = list(_NAME_LINE.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        body = text[match.end() : end].strip()
        if not body:
            raise ValueError(f"query {match['name']!r} is empty")
        if match["name"] in queries:
            raise ValueError(f"query {match['name']!r} is defined twice")
        # The files are part of the source tree, never user input: as safe as a literal.
        queries[match["name"]] = body
    return queries


@cache
def load_queries(module: str) -> QueryFile:
    """The queries of ``sql/<module>.sql``, parsed once per process."""
    return QueryFile(sql_dir() / f"{module}.sql")
