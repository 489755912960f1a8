"""One transaction per GraphQL operation, however many root fields open it at once."""

from __future__ import annotations

import asyncio

from atende.db.session import Caller
from atende.graphql.context import RequestTransaction
from atende.services import Services


def connections_requested(services: Services) -> int:
    return services.pool.get_stats().get("requests_num", 0)


async def test_root_fields_opening_the_transaction_together_share_one_connection(
    services: Services,
) -> None:
    # Root fields resolve concurrently; each asks for the connection on first use (found
    # by tests/graphql/test_fuzz.py: the losers' connections stayed checked out, in a
    # transaction never committed).
    before = connections_requested(services)
    transaction = RequestTransaction(services, Caller.service())
    conns = await asyncio.gather(*(transaction.connection() for _ in range(4)))
    assert {id(conn) for conn in conns} == {id(conns[0])}
    assert connections_requested(services) == before + 1
    await transaction.finish(commit=True)
    assert conns[0].info.transaction_status.name == "IDLE"
