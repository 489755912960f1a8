"""A stand-in for Supabase Auth (GoTrue), served over real HTTP for the ``supabase`` client.

Not a mock of the client: the real ``supabase`` package sends real requests to it.

It answers the endpoints Atende's Supabase provider calls, with GoTrue's status codes,
error codes (``X-Supabase-Api-Version: 2024-01-01`` style bodies) and JSON shapes, and keeps
its users where Supabase Auth keeps them: in ``auth.users`` of the project's database (here,
the test's database), with bcrypt ``$2a$`` hashes. So profiles can reference the users it
creates, exactly as on Supabase.

Runs under uvicorn in a thread of its own, on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import bcrypt
import jwt
import psycopg
import uvicorn
from psycopg.rows import dict_row
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SERVICE_ROLE_KEY = "fake-service-role-key-0123456789abcdef"
_JWT_SECRET = "fake-supabase-jwt-secret-0123456789abcdef"
_API_VERSION = {"X-Supabase-Api-Version": "2024-01-01"}


@dataclass
class Faults:
    """What the next calls should suffer, by route name (``create_user``, ``token``, ...)."""

    #: Answer with this status (and an ``unexpected_failure`` body) instead of working.
    status: dict[str, int] = field(default_factory=dict)
    #: Sleep this long before answering (after doing the work).
    delay: dict[str, float] = field(default_factory=dict)


@dataclass
class Call:
    route: str
    apikey: str | None
    authorization: str | None


class FakeSupabaseAuth:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.faults = Faults()
        self.calls: list[Call] = []
        self.signed_out_sessions: list[str] = []
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[dict[str, Any]] | None = None
        self.url = ""

    # -- HTTP ---------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/auth/v1/admin/users", self.create_user, methods=["POST"]),
                Route(
                    "/auth/v1/admin/users/{user_id}",
                    self.user_by_id,
                    methods=["GET", "PUT", "DELETE"],
                ),
                Route("/auth/v1/token", self.token, methods=["POST"]),
                Route("/auth/v1/logout", self.logout, methods=["POST"]),
            ]
        )

    def _enter(self, route: str, request: Request, *, admin: bool) -> Response | None:
        self.calls.append(
            Call(route, request.headers.get("apikey"), request.headers.get("authorization"))
        )
        if request.headers.get("apikey") != SERVICE_ROLE_KEY:
            return _error(401, "no_authorization", "Invalid API key")
        if admin and request.headers.get("authorization") != f"Bearer {SERVICE_ROLE_KEY}":
            return _error(403, "not_admin", "User not allowed")
        status = self.faults.status.pop(route, None)
        if status is not None:
            return _error(status, "unexpected_failure", "Unexpected failure")
        return None

    async def _leave(self, route: str) -> None:
        delay = self.faults.delay.pop(route, 0.0)
        if delay:
            await asyncio.sleep(delay)

    async def create_user(self, request: Request) -> Response:
        refused = self._enter("create_user", request, admin=True)
        if refused is not None:
            return refused
        body = await _json(request)
        email = str(body.get("email", "")).strip().lower()
        password = body.get("password")
        if password is not None and len(password) < 6:
            return _error(
                422,
                "weak_password",
                "Password should be at least 6 characters.",
                weak_password={"reasons": ["length"]},
            )
        user_id = str(body.get("id") or uuid.uuid4())
        encrypted = (
            bcrypt.hashpw(password.encode(), bcrypt.gensalt(10, b"2a")).decode() if password else ""
        )
        with self._db() as conn:
            taken = conn.execute("select 1 from auth.users where email = %s", [email]).fetchone()
            if taken:
                return _error(
                    422,
                    "email_exists",
                    "A user with this email address has already been registered",
                )
            conn.execute(
                "insert into auth.users (instance_id, id, aud, role, email, encrypted_password,"
                " email_confirmed_at, invited_at, raw_app_meta_data, raw_user_meta_data,"
                " created_at, updated_at) values ('00000000-0000-0000-0000-000000000000', %s,"
                " 'authenticated', 'authenticated', %s, %s,"
                " case when %s then now() end, case when %s then now() end,"
                ' \'{"provider": "email", "providers": ["email"]}\', %s, now(), now())',
                [
                    user_id,
                    email,
                    encrypted,
                    bool(body.get("email_confirm")),
                    password is None,
                    json.dumps(body.get("user_metadata") or {}),
                ],
            )
            user = self._user(conn, user_id)
        await self._leave("create_user")
        return JSONResponse(user, headers=_API_VERSION)

    async def user_by_id(self, request: Request) -> Response:
        route = {"GET": "get_user", "PUT": "update_user", "DELETE": "delete_user"}[request.method]
        refused = self._enter(route, request, admin=True)
        if refused is not None:
            return refused
        user_id = request.path_params["user_id"]
        with self._db() as conn:
            user = self._user(conn, user_id)
            if user is None:
                return _error(404, "user_not_found", "User not found")
            if request.method == "DELETE":
                conn.execute("delete from auth.users where id = %s", [user_id])
                await self._leave(route)
                return JSONResponse({}, headers=_API_VERSION)
            if request.method == "PUT":
                body = await _json(request)
                if "password" in body:
                    hashed = bcrypt.hashpw(
                        body["password"].encode(), bcrypt.gensalt(10, b"2a")
                    ).decode()
                    conn.execute(
                        "update auth.users set encrypted_password = %s, updated_at = now()"
                        " where id = %s",
                        [hashed, user_id],
                    )
                if body.get("email_confirm"):
                    conn.execute(
                        "update auth.users set email_confirmed_at = coalesce(email_confirmed_at,"
                        " now()) where id = %s",
                        [user_id],
                    )
                user = self._user(conn, user_id)
        await self._leave(route)
        return JSONResponse(user, headers=_API_VERSION)

    async def token(self, request: Request) -> Response:
        refused = self._enter("token", request, admin=False)
        if refused is not None:
            return refused
        if request.query_params.get("grant_type") != "password":
            return _error(400, "validation_failed", "Unsupported grant type")
        body = await _json(request)
        email = str(body.get("email", "")).strip().lower()
        password = str(body.get("password", "")).encode()[:72]
        with self._db() as conn:
            row = conn.execute(
                "select id, encrypted_password from auth.users where email = %s", [email]
            ).fetchone()
            stored = (row or {}).get("encrypted_password") or ""
            if row is None or not stored or not bcrypt.checkpw(password, stored.encode()):
                return _error(400, "invalid_credentials", "Invalid login credentials")
            conn.execute("update auth.users set last_sign_in_at = now() where id = %s", [row["id"]])
            user = self._user(conn, str(row["id"]))
        assert user is not None  # the row just read, in the same transaction
        now = int(time.time())
        access_token = jwt.encode(
            {
                "sub": user["id"],
                "aud": "authenticated",
                "role": "authenticated",
                "email": email,
                "session_id": str(uuid.uuid4()),
                "iat": now,
                "exp": now + 3600,
            },
            _JWT_SECRET,
            algorithm="HS256",
        )
        await self._leave("token")
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "bearer",
                "expires_in": 3600,
                "expires_at": now + 3600,
                "refresh_token": secrets.token_urlsafe(16),
                "user": user,
            },
            headers=_API_VERSION,
        )

    async def logout(self, request: Request) -> Response:
        refused = self._enter("logout", request, admin=False)
        if refused is not None:
            return refused
        authorization = request.headers.get("authorization", "")
        try:
            claims = jwt.decode(
                authorization.removeprefix("Bearer "),
                _JWT_SECRET,
                algorithms=["HS256"],
                audience="authenticated",
            )
        except jwt.PyJWTError:
            return _error(401, "bad_jwt", "invalid JWT")
        self.signed_out_sessions.append(claims["session_id"])
        return Response(status_code=204, headers=_API_VERSION)

    # -- Storage ------------------------------------------------------------------------

    @contextmanager
    def _db(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(
                    self.database_url, autocommit=True, row_factory=dict_row
                )
            yield self._conn

    @staticmethod
    def _user(conn: psycopg.Connection[dict[str, Any]], user_id: str) -> dict[str, Any] | None:
        try:
            uuid.UUID(user_id)
        except ValueError:
            return None
        row = conn.execute(
            "select id, email, email_confirmed_at, invited_at, last_sign_in_at,"
            " raw_app_meta_data, raw_user_meta_data, created_at, updated_at"
            " from auth.users where id = %s",
            [user_id],
        ).fetchone()
        if row is None:
            return None
        return {
            "id": str(row["id"]),
            "aud": "authenticated",
            "role": "authenticated",
            "email": row["email"],
            "phone": "",
            "email_confirmed_at": _iso(row["email_confirmed_at"]),
            "confirmed_at": _iso(row["email_confirmed_at"]),
            "invited_at": _iso(row["invited_at"]),
            "last_sign_in_at": _iso(row["last_sign_in_at"]),
            "app_metadata": row["raw_app_meta_data"] or {},
            "user_metadata": row["raw_user_meta_data"] or {},
            "identities": [],
            "created_at": _iso(row["created_at"]),
            "updated_at": _iso(row["updated_at"]),
            "is_anonymous": False,
        }

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()


@contextmanager
def serve_fake_supabase_auth(database_url: str, port: int) -> Iterator[FakeSupabaseAuth]:
    """Serve the fake on 127.0.0.1:``port`` until the block ends."""
    fake = FakeSupabaseAuth(database_url)
    config = uvicorn.Config(
        fake.app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        loop="asyncio",
        http="h11",
        ws="none",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fake-supabase-auth", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake Supabase Auth server did not start")
        time.sleep(0.01)
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        fake.close()


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    body: dict[str, Any] = json.loads(raw) if raw else {}
    return body


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    return JSONResponse({"code": code, "message": message, **extra}, status, headers=_API_VERSION)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None
