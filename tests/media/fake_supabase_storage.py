"""A stand-in for Supabase Storage, served over real HTTP for the ``supabase`` client.

Not a mock of the client: the real ``supabase`` package (its ``storage3``) sends real
requests to it. It answers the part of Storage's API Atende's adapter uses, with
Storage's shapes and error bodies (``{"statusCode": "404", "error": "not_found",
"message": ...}`` with HTTP 400, as Storage answers a missing object):

- ``GET /storage/v1/bucket/{id}``, ``POST /storage/v1/bucket``;
- ``POST /storage/v1/object/{bucket}/{path}`` (a multipart ``file``; ``x-upsert``),
  ``GET /storage/v1/object/{bucket}/{path}``, ``DELETE /storage/v1/object/{bucket}``
  (``{"prefixes": [...]}``).

Every request must carry the service role key (``apikey`` and ``Authorization``). Objects
are kept in memory with their content type; ``requests`` records what was asked.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import BackgroundServer

SERVICE_ROLE_KEY = "fake-storage-service-role-key-0123456789"


@dataclass
class StoredObject:
    content: bytes
    content_type: str


@dataclass
class FakeSupabaseStorage:
    url: str = ""
    buckets: dict[str, bool] = field(default_factory=dict)  # id -> public
    objects: dict[tuple[str, str], StoredObject] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    #: Answer this status to object requests (an outage), when set.
    failing: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/storage/v1/bucket", self.create_bucket, methods=["POST"]),
                Route("/storage/v1/bucket/{id}", self.get_bucket, methods=["GET"]),
                Route("/storage/v1/object/{bucket}", self.remove, methods=["DELETE"]),
                Route(
                    "/storage/v1/object/{bucket}/{path:path}",
                    self.object,
                    methods=["GET", "POST"],
                ),
            ]
        )

    def _authorized(self, request: Request) -> bool:
        with self._lock:
            self.requests.append((request.method, request.url.path))
        return (
            request.headers.get("apikey") == SERVICE_ROLE_KEY
            and request.headers.get("authorization") == f"Bearer {SERVICE_ROLE_KEY}"
        )

    async def get_bucket(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(403, "Unauthorized", "invalid signature")
        bucket = request.path_params["id"]
        if bucket not in self.buckets:
            return _error(404, "Bucket not found", "Bucket not found", http_status=400)
        now = datetime.now(UTC).isoformat()
        return JSONResponse(
            {
                "id": bucket,
                "name": bucket,
                "owner": "",
                "public": self.buckets[bucket],
                "created_at": now,
                "updated_at": now,
                "file_size_limit": None,
                "allowed_mime_types": None,
            }
        )

    async def create_bucket(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(403, "Unauthorized", "invalid signature")
        body = await request.json()
        with self._lock:
            if body["id"] in self.buckets:
                return _error(409, "Duplicate", "The resource already exists", http_status=400)
            self.buckets[body["id"]] = bool(body.get("public", False))
        return JSONResponse({"name": body["id"]})

    async def object(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(403, "Unauthorized", "invalid signature")
        if self.failing is not None:
            return _error(
                self.failing, "InternalError", "storage is down", http_status=self.failing
            )
        bucket, path = request.path_params["bucket"], request.path_params["path"]
        if bucket not in self.buckets:
            return _error(404, "Bucket not found", "Bucket not found", http_status=400)
        if request.method == "GET":
            found = self.objects.get((bucket, path))
            if found is None:
                return _error(404, "not_found", "Object not found", http_status=400)
            return Response(found.content, media_type=found.content_type)
        return await self._upload(request, bucket, path)

    async def _upload(self, request: Request, bucket: str, path: str) -> Response:
        async with request.form() as form:
            upload = form["file"]
            assert not isinstance(upload, str)
            content = await upload.read()
            content_type = upload.content_type or "application/octet-stream"
        with self._lock:
            if (bucket, path) in self.objects and request.headers.get("x-upsert") != "true":
                return _error(409, "Duplicate", "The resource already exists", http_status=400)
            self.objects[(bucket, path)] = StoredObject(content, content_type)
        return JSONResponse({"Key": f"{bucket}/{path}", "Id": str(uuid.uuid4())})

    async def remove(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(403, "Unauthorized", "invalid signature")
        bucket = request.path_params["bucket"]
        prefixes = (await request.json())["prefixes"]
        removed = []
        with self._lock:
            for path in prefixes:
                if self.objects.pop((bucket, path), None) is not None:
                    removed.append({"name": path, "bucket_id": bucket})
        return JSONResponse(removed)


def _error(status: int, error: str, message: str, *, http_status: int | None = None) -> Response:
    return JSONResponse(
        {"statusCode": str(status), "error": error, "message": message},
        status_code=http_status or status,
    )


@contextmanager
def serve_fake_supabase_storage() -> Iterator[FakeSupabaseStorage]:
    fake = FakeSupabaseStorage()
    with BackgroundServer(fake.app(), name="fake-supabase-storage") as server:
        fake.url = server.url
        yield fake
