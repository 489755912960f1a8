"""schema.graphql is the exported SDL of the live schema."""

from __future__ import annotations

from pathlib import Path

from atende.api.schema import export_sdl

SCHEMA_FILE = Path(__file__).parents[1] / "schema.graphql"


def test_schema_graphql_is_current() -> None:
    assert SCHEMA_FILE.read_text() == export_sdl(), (
        "schema.graphql is stale: run `atende export-schema --output schema.graphql`"
    )
