"""The floor for bench/graphql: the inbox as a hand-written Starlette + psycopg endpoint.

The least a server of Atende's stack can do for the same answer: Atende's own building
blocks and process setup, but one hand-written SQL statement and no GraphQL.

* the same token handling: ``TokenService.verify`` and Atende's cache of verified tokens
  (``atende.api.view.VerifiedTokens``, keyed by the token, until it expires), so the
  benchmark's two token modes (a fresh token per request; one token throughout) cost
  the floor what they cost Atende;
* the same door to the database as the user: ``atende.db.session.Database.fetch_all``,
  which sends the caller's settings (role ``authenticated``, the claims, the statement
  timeout) and the statement in one pipeline, one round trip, as Atende runs a compiled
  query; so RLS applies;
* the same pool (``atende.db.pool.create_pool``, Atende's default sizes), JSON encoder
  (orjson, in and out), process tuning (``atende.gc_tuning.tune_for_service``) and
  uvicorn (uvloop, httptools, one send per response: ``atende.http``);
* the same JSON out, from one SQL statement.

Run: ``python -m bench.graphql_floor`` with DATABASE_URL, PORT and ATENDE_JWT_SECRET.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from atende.api.view import VerifiedTokens, bearer_token
from atende.db.pool import create_pool
from atende.db.session import Caller, Database
from atende.gc_tuning import tune_for_service
from atende.graphql.pagination import encode_time_cursor
from atende.http import CoalescingHttpToolsProtocol
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


def json_response(payload: dict[str, Any], status_code: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")


def create_floor_app(database_url: str, jwt_secret: str) -> Starlette:
    pool = create_pool(database_url, name="bench-floor")
    database = Database(pool)
    tokens = TokenService(jwt_secret, ttl=timedelta(hours=1))
    verified = VerifiedTokens()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pool.open(wait=True)
        yield
        await pool.close()

    async def claims_of(request: Request) -> dict[str, Any] | None:
        """As Atende's ``authenticate``: the cache first, else verify and remember."""
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            return None
        claims = verified.get(token)
        if claims is None:
            try:
                checked = await tokens.verify(token)
            except InvalidAccessToken:
                return None
            claims = checked.model_dump(mode="json", exclude_none=True)
            verified.put(token, claims)
        return claims

    async def inbox(request: Request) -> Response:
        claims = await claims_of(request)
        if claims is None:
            return json_response({"errors": [{"message": "unauthenticated"}]}, 401)
        variables = orjson.loads(await request.body())["variables"]
        first = int(variables.get("first", 20))
        rows = await database.fetch_all(
            Caller.user(claims), INBOX, {"org": variables["org"], "limit": first + 1}
        )
        page = rows[:first]
        edges = [
            {
                "cursor": encode_time_cursor("conversation", row["last_message_at"], row["id"]),
                "node": node(row),
            }
            for row in page
        ]
        return json_response(
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
    app = create_floor_app(os.environ["DATABASE_URL"], os.environ["ATENDE_JWT_SECRET"])
    tune_for_service()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        log_level="warning",
        access_log=False,
        http=CoalescingHttpToolsProtocol,  # as `atende serve`
    )
