"""The floor for bench/graphql: the inbox as a hand-written Starlette + psycopg endpoint.

Same stack as Atende (uvicorn, Starlette, psycopg pool, the same token verification,
a transaction as the user with role ``authenticated`` and their claims, so RLS
applies) and the same JSON out, but one hand-written SQL statement and no GraphQL.
Run: ``python -m bench.graphql_floor`` with DATABASE_URL, PORT and ATENDE_JWT_SECRET.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from atende.db.pool import create_pool
from atende.graphql.pagination import encode_time_cursor
from atende.identity.tokens import InvalidAccessToken, TokenService

INBOX = """
select c.id, c.status, c.ai_enabled, c.last_message_at,
       ct.id as contact_id, coalesce(ct.display_name, ct.profile_name, ct.phone_number) as name,
       ct.phone_number, lm.id as message_id, lm.body, lm.direction, lm.author,
       lm.created_at as message_created_at
from public.conversations as c
join public.contacts as ct on ct.id = c.contact_id
left join lateral (
    select m.id, m.body, m.direction, m.author, m.created_at
    from public.messages as m
    where m.conversation_id = c.id
    order by m.created_at desc, m.id desc
    limit 1
) as lm on true
where c.organization_id = %(org)s
order by c.last_message_at desc, c.id desc
limit %(limit)s
"""


def node(row: dict[str, Any]) -> dict[str, Any]:
    message = None
    if row["message_id"] is not None:
        message = {
            "id": str(row["message_id"]),
            "body": row["body"],
            "direction": row["direction"].upper(),
            "author": row["author"].upper(),
            "createdAt": row["message_created_at"].isoformat(),
        }
    return {
        "id": str(row["id"]),
        "status": row["status"].upper(),
        "aiEnabled": row["ai_enabled"],
        "lastMessageAt": row["last_message_at"].isoformat(),
        "contact": {
            "id": str(row["contact_id"]),
            "name": row["name"],
            "phoneNumber": row["phone_number"],
        },
        "lastMessage": message,
    }


def create_floor_app(database_url: str, jwt_secret: str) -> Starlette:
    pool = create_pool(database_url, min_size=2, max_size=10, name="bench-floor")
    tokens = TokenService(jwt_secret, ttl=timedelta(hours=1))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pool.open(wait=True)
        yield
        await pool.close()

    async def inbox(request: Request) -> Response:
        _, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            claims = await tokens.verify(token)
        except InvalidAccessToken:
            return JSONResponse({"errors": [{"message": "unauthenticated"}]}, status_code=401)
        body = await request.json()
        first = int(body["variables"].get("first", 20))
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(
                "select set_config('role', 'authenticated', true),"
                " set_config('request.jwt.claims', %s, true)",
                [json.dumps(claims.model_dump(mode="json", exclude_none=True))],
            )
            rows = await (
                await conn.execute(INBOX, {"org": body["variables"]["org"], "limit": first + 1})
            ).fetchall()
        page = rows[:first]
        edges = [
            {
                "cursor": encode_time_cursor("conversation", row["last_message_at"], row["id"]),
                "node": node(row),
            }
            for row in page
        ]
        return JSONResponse(
            {
                "data": {
                    "organization": {
                        "conversations": {
                            "edges": edges,
                            "pageInfo": {
                                "hasNextPage": len(rows) > first,
                                "endCursor": edges[-1]["cursor"] if edges else None,
                            },
                        }
                    }
                }
            }
        )

    return Starlette(routes=[Route("/graphql", inbox, methods=["POST"])], lifespan=lifespan)


if __name__ == "__main__":
    uvicorn.run(
        create_floor_app(os.environ["DATABASE_URL"], os.environ["ATENDE_JWT_SECRET"]),
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        log_level="warning",
        access_log=False,
    )
