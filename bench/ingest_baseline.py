"""The ingest benchmark's baseline: the least a webhook endpoint can do with Postgres.

A Starlette app with one route that reads the form body and inserts one row into the
same database, through a psycopg pool of the same size as Atende's, answering the same
empty TwiML. Served by the same uvicorn settings as ``atende serve``::

    DATABASE_URL=... python -m uvicorn bench.ingest_baseline:app
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
TABLE = "bench_ingest_baseline"


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    pool: AsyncConnectionPool[AsyncConnection] = AsyncConnectionPool(
        os.environ["DATABASE_URL"],
        min_size=int(os.environ.get("POOL_SIZE", "10")),
        max_size=int(os.environ.get("POOL_SIZE", "10")),
        open=False,
    )
    await pool.open(wait=True)
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


async def ingest(request: Request) -> Response:
    body = await request.body()
    pool: AsyncConnectionPool[AsyncConnection] = request.app.state.pool
    async with pool.connection() as conn:
        await conn.execute(f"insert into {TABLE} (payload) values (%s)", [body.decode()])  # noqa: S608
    return Response(TWIML, media_type="text/xml")


app = Starlette(routes=[Route("/ingest", ingest, methods=["POST"])], lifespan=lifespan)
