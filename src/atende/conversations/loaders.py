"""The operation's DataLoaders: related rows in one statement per kind, whatever the page.

Each loader is made on first use in an operation (``Context.loader``) and runs on the
operation's own transaction, as the caller: RLS decides what comes back, and a row the
caller may not see loads as ``None``.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, LiteralString, TypeVar
from uuid import UUID

from strawberry.dataloader import DataLoader

from atende.channels import types as channel_types

# Module imports, not names: the types use these loaders, and identity's types use ours.
from atende.conversations import types as conversation_types
from atende.db.queries import load_queries
from atende.graphql.context import Context
from atende.graphql.errors import InvalidArgument
from atende.graphql.pagination import NEWEST, decode_time_cursor, page_size
from atende.identity import types as identity_types

if TYPE_CHECKING:
    from atende.channels.types import Channel
    from atende.conversations.types import Contact, Conversation, Message
    from atende.identity.types import User

queries = load_queries("inbox")

K = TypeVar("K")
V = TypeVar("V")


def _by_id(
    context: Context,
    name: str,
    query: LiteralString,
    build: Callable[[dict[str, Any]], V],
) -> DataLoader[UUID, V | None]:
    async def load(ids: Sequence[UUID]) -> list[V | None]:
        conn = await context.db()
        rows = await (await conn.execute(query, {"ids": list(ids)})).fetchall()
        found = {row["id"]: build(row) for row in rows}
        return [found.get(key) for key in ids]

    return context.loader(name, lambda: DataLoader(load_fn=load))


def now_or_later(loader: DataLoader[K, V], key: K) -> V | Awaitable[V]:
    """The value, when the loader already has it (primed, or loaded earlier); else the
    pending load.

    Resolvers return this from plain ``def`` functions: graphql-core awaits what needs
    awaiting, and a value already at hand costs no coroutine and no task. The inbox's
    page query primes each conversation's contact and last message, so 20 conversations
    cost 40 fewer tasks.
    """
    future = loader.cache_map.get(key)
    if future is not None and future.done() and future.exception() is None:
        return future.result()
    return loader.load(key)


def forget(loader: DataLoader[K, Any], key: K) -> None:
    """Drop ``key`` from a loader's cache, if it is there (after a write)."""
    with contextlib.suppress(KeyError):
        loader.clear(key)


def conversations(context: Context) -> DataLoader[UUID, Conversation | None]:
    """Conversations by id, each with its contact and newest message (inbox rows)."""
    return _by_id(
        context,
        "conversations.conversations",
        queries["conversations_by_id"],
        conversation_types.Conversation.with_related,
    )


def contacts(context: Context) -> DataLoader[UUID, Contact | None]:
    return _by_id(
        context,
        "conversations.contacts",
        queries["contacts_by_id"],
        conversation_types.Contact.from_row,
    )


def channels(context: Context) -> DataLoader[UUID, Channel | None]:
    return _by_id(
        context, "conversations.channels", queries["channels_by_id"], channel_types.Channel.from_row
    )


def messages(context: Context) -> DataLoader[UUID, Message | None]:
    return _by_id(
        context,
        "conversations.messages",
        queries["messages_by_id"],
        conversation_types.Message.from_row,
    )


def users(context: Context) -> DataLoader[UUID, User | None]:
    """Teammates by id: identity's loader (profiles RLS shows members of the caller's
    organizations)."""
    return identity_types.user_loader(context)


def last_messages(context: Context) -> DataLoader[UUID, Message | None]:
    """Each conversation's newest message (the first page of its history, one long)."""

    async def load(ids: Sequence[UUID]) -> list[Message | None]:
        conn = await context.db()
        at, row_id = NEWEST
        cursor = await conn.execute(
            queries["messages_older"],
            {"conversation_ids": list(ids), "at": at, "id": row_id, "limit": 1},
        )
        found = {
            row["conversation_id"]: conversation_types.Message.from_row(row)
            for row in await cursor.fetchall()
        }
        return [found.get(key) for key in ids]

    return context.loader("conversations.last_messages", lambda: DataLoader(load_fn=load))


def unread_counts(context: Context) -> DataLoader[UUID, int]:
    """Inbound messages since the caller last marked each conversation read."""

    async def load(ids: Sequence[UUID]) -> list[int]:
        conn = await context.db()
        cursor = await conn.execute(queries["unread_counts"], {"conversation_ids": list(ids)})
        found = {row["conversation_id"]: int(row["unread"]) for row in await cursor.fetchall()}
        return [found.get(key, 0) for key in ids]

    return context.loader("conversations.unread_counts", lambda: DataLoader(load_fn=load))


# -- message pages --------------------------------------------------------------------------


@dataclass(frozen=True)
class MessagePageRequest:
    """A page of a conversation's history: ``limit`` messages past a keyset, either way."""

    limit: int
    at: datetime
    row_id: UUID
    newer: bool

    @classmethod
    def from_arguments(
        cls, first: int | None, *, after: str | None, before: str | None
    ) -> MessagePageRequest:
        limit = page_size(first)
        if after is not None and before is not None:
            raise InvalidArgument("pass `after` or `before`, not both")
        if before is not None:
            at, row_id = decode_time_cursor("message", before)
            return cls(limit, at, row_id, newer=True)
        if after is not None:
            at, row_id = decode_time_cursor("message", after)
            return cls(limit, at, row_id, newer=False)
        at, row_id = NEWEST
        return cls(limit, at, row_id, newer=False)


@dataclass(frozen=True)
class MessagePage:
    items: list[Message]
    has_next_page: bool
    has_previous_page: bool


def message_pages(context: Context) -> DataLoader[tuple[UUID, MessagePageRequest], MessagePage]:
    """Pages of many conversations' histories: one statement per distinct page request."""

    async def load(keys: Sequence[tuple[UUID, MessagePageRequest]]) -> list[MessagePage]:
        conn = await context.db()
        by_request: dict[MessagePageRequest, list[UUID]] = defaultdict(list)
        for conversation_id, request in keys:
            by_request[request].append(conversation_id)
        pages: dict[tuple[UUID, MessagePageRequest], MessagePage] = {}
        for request, conversation_ids in by_request.items():
            query = queries["messages_newer" if request.newer else "messages_older"]
            cursor = await conn.execute(
                query,
                {
                    "conversation_ids": conversation_ids,
                    "at": request.at,
                    "id": request.row_id,
                    "limit": request.limit + 1,
                },
            )
            rows_of: dict[UUID, list[Message]] = defaultdict(list)
            for row in await cursor.fetchall():
                rows_of[row["conversation_id"]].append(conversation_types.Message.from_row(row))
            for conversation_id in conversation_ids:
                items = rows_of.get(conversation_id, [])
                more = len(items) > request.limit
                items = items[: request.limit]
                if request.newer:
                    # Fetched oldest first, just past the cursor; shown newest first.
                    items.reverse()
                    page = MessagePage(items, has_next_page=True, has_previous_page=more)
                else:
                    page = MessagePage(items, has_next_page=more, has_previous_page=False)
                pages[(conversation_id, request)] = page
        return [pages[key] for key in keys]

    return context.loader("conversations.message_pages", lambda: DataLoader(load_fn=load))
