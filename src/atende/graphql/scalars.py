"""Custom scalars, mapped in the schema's config (``StrawberryConfig.scalar_map``)."""

from __future__ import annotations

from typing import Any, NewType

import strawberry

#: A whole number that may exceed GraphQL's 32-bit ``Int`` (token counts, totals).
BigInt = NewType("BigInt", int)

SCALAR_MAP: dict[object, Any] = {
    BigInt: strawberry.scalar(
        name="BigInt",
        description="A whole number that may exceed 32 bits (a JSON number).",
        serialize=int,
        parse_value=int,
    ),
}
