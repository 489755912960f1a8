"""A conversation's lookups keep their prepared statement's generic plan: planned once a
connection, not at every execution (why: the comment at the top of sql/inbox.sql)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from atende.db.queries import load_queries
from atende.db.session import Caller
from atende.graphql.pagination import NEWEST
from tests.factories import Factory

QUERIES = load_queries("inbox")


async def test_a_conversations_lookups_run_on_generic_plans(factory: Factory) -> None:
    organization = await factory.organization()
    conversation = await factory.messaging.conversation(organization, profile_name="Ana")
    for minutes in range(3):
        await factory.messaging.message(
            conversation, created_at=datetime.now(UTC) - timedelta(minutes=minutes)
        )
    ids = [conversation]
    lookups: dict[str, dict[str, Any]] = {
        "conversations_by_id": {"ids": ids},
        "messages_older": {"conversation_ids": ids, "at": NEWEST[0], "id": NEWEST[1], "limit": 51},
        "messages_newer": {
            "conversation_ids": ids,
            "at": datetime(2000, 1, 1, tzinfo=UTC),
            "id": UUID(int=0),
            "limit": 51,
        },
        "unread_counts": {"conversation_ids": ids},
    }
    # Postgres makes the first five plans custom; from the sixth it keeps the generic
    # plan unless a custom one looked cheaper.
    executions = 8
    database = factory.services.database
    async with database.transaction(Caller.user(organization.owner.claims)) as conn:
        for name, parameters in lookups.items():
            for _ in range(executions):
                rows = await (
                    await conn.execute(QUERIES[name], parameters, prepare=True)
                ).fetchall()
            assert rows, name
        cursor = await conn.execute(
            "select statement, generic_plans, custom_plans from pg_prepared_statements"
        )
        prepared = await cursor.fetchall()
    for name in lookups:
        opening = QUERIES[name].strip().split("\n")[0]
        [row] = [row for row in prepared if row["statement"].strip().startswith(opening)]
        assert row["generic_plans"] >= executions - 5, (name, row)
