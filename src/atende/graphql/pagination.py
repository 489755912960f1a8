"""Relay-style connections: page sizes, opaque keyset cursors, ``PageInfo``.

Every list a client can page through is keyset-paginated: a cursor carries the sort
key of the last row seen, never an offset, so pages stay stable while rows arrive and
deep pages cost what the first one does. Cursors are opaque to clients; a tampered or
foreign cursor is a ``BAD_USER_INPUT`` error, never a crash.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, TypeAlias
from uuid import UUID

import strawberry

from atende.graphql.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

#: The ``first`` and ``after`` arguments of every forward-paged list.
First: TypeAlias = Annotated[
    int | None, strawberry.argument(description="Page size, 0 to 100 (default 20).")
]
After: TypeAlias = Annotated[
    str | None, strawberry.argument(description="The `endCursor` of the previous page.")
]

#: Sorts after every real row in "newest first" order: the first page's keyset.
NEWEST = (datetime.fromisoformat("9999-12-31T23:59:59+00:00"), UUID(int=(1 << 128) - 1))


@strawberry.type(description="Where a page sits in its list (Relay's PageInfo).")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="More items follow the last one of this page (in the list's order)."
    )
    has_previous_page: bool = strawberry.field(
        description="More items precede the first one of this page (pages fetched with `before`)."
    )
    start_cursor: str | None = strawberry.field(
        description="The cursor of the first item of this page; null when the page is empty."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor of the last item: pass it as `after` for the next page."
    )


def page_size(first: int | None) -> int:
    """``first``, checked: 0 to 100 items, 20 when not given."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise InvalidArgument(f"`first` must be between 0 and {MAX_PAGE_SIZE}")
    return first


def encode_cursor(kind: str, *parts: str) -> str:
    raw = "\x1f".join((kind, *parts)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str, parts: int) -> list[str]:
    """The parts of a cursor made by ``encode_cursor(kind, ...)``; ``InvalidArgument`` else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        fields = base64.urlsafe_b64decode(padded.encode("ascii")).decode().split("\x1f")
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidCursor() from None
    if len(fields) != parts + 1 or fields[0] != kind:
        raise InvalidCursor()
    return fields[1:]


def encode_time_cursor(kind: str, at: datetime, row_id: UUID) -> str:
    return encode_cursor(kind, at.isoformat(), row_id.hex)


def decode_time_cursor(kind: str, cursor: str) -> tuple[datetime, UUID]:
    at, row_id = decode_cursor(kind, cursor, 2)
    try:
        moment = datetime.fromisoformat(at)
        identifier = UUID(hex=row_id)
    except ValueError:
        raise InvalidCursor() from None
    if moment.tzinfo is None:
        raise InvalidCursor()
    return moment, identifier


class InvalidCursor(InvalidArgument):
    """The cursor is not one this list gave out."""
