"""Ids as the API shows them: a UUID in a ``strawberry.ID``, read in one place."""

from __future__ import annotations

from typing import Protocol, TypeVar
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from atende.errors import InvalidInput

INVALID_ID = "Identificador inválido."

T = TypeVar("T")


def parse_id(value: object, field: str) -> UUID:
    """The UUID ``value`` holds, or ``InvalidInput`` naming ``field`` (``conversationId``)."""
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInput(field, INVALID_ID) from None


def id_or_none(value: object) -> UUID | None:
    """For lookups: a value that cannot be an id finds nothing, as an id the caller may
    not see finds nothing."""
    try:
        return parse_id(value, "id")
    except InvalidInput:
        return None


class Node(Protocol):
    """What a resolver of a field on another domain's type needs of its parent: its id
    (``Organization.conversations`` is the inbox's, ``Organization`` is identity's)."""

    @property
    def id(self) -> strawberry.ID: ...


async def load_visible(loader: DataLoader[UUID, T | None], value: object) -> T | None:
    """The object with id ``value`` the caller may see, through the operation's loader;
    ``None`` when there is none, or ``value`` cannot be an id."""
    key = id_or_none(value)
    return None if key is None else await loader.load(key)
