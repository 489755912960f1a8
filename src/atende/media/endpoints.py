"""``GET /media/<organization>/<message>/<position>/<file name>?expires=&signature=``: a kept
file, to whoever holds a link Atende signed (``atende.media.urls``) until it expires.

The team's app shows these links (``Message.media.url``); Twilio fetches the team's
attachments from them. The link is the whole permission: a bad or expired signature is
403, and the file must be the ``position``-th of that message, of that organization, and
kept under that organization's keys (404 otherwise). Files are served as what they are
and nothing more: ``nosniff``, a sandboxing ``Content-Security-Policy`` (a file is never a
page of Atende's origin), private caching only until the link expires.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote
from uuid import UUID

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.dependencies import Dependencies
from atende.media.models import MediaItem, MediaStatus, media_items
from atende.media.storage import MediaObjectMissing, MediaStorage, MediaStorageError
from atende.media.urls import MediaFileRef, MediaUrls

logger = logging.getLogger("atende.media.endpoints")
queries = load_queries("media")

#: The route's path (``app.create_app`` routes it).
MEDIA_ROUTE = "/media/{organization_id}/{message_id}/{position:int}/{file_name}"


def media_file_endpoint(
    dependencies: Callable[[], Dependencies],
) -> Callable[[Request], Any]:
    """The endpoint, on the process's dependencies (known once the lifespan opened them)."""

    async def media_file(request: Request) -> Response:
        ref = _ref_of(request)
        try:
            expires = int(request.query_params.get("expires", ""))
        except ValueError:
            expires = 0
        signature = request.query_params.get("signature", "")
        provided = dependencies()
        urls = provided.get(MediaUrls)
        now = time.time()
        if ref is None or not urls.is_valid(ref, expires, signature, now=now):
            return _refused(403, "This link is invalid or has expired.")
        row = await provided.get(Database).fetch_one(
            Caller.service(),
            queries["media_item"],
            {
                "organization_id": ref.organization_id,
                "message_id": ref.message_id,
                "position": ref.position,
            },
        )
        item = _stored_item(row, ref)
        if item is None or item.storage_key is None:
            return _refused(404, "No such file.")
        storage: MediaStorage = provided.get(MediaStorage)  # type: ignore[type-abstract]
        try:
            content = await storage.get(item.storage_key)
        except MediaObjectMissing:
            return _refused(404, "No such file.")
        except MediaStorageError as error:
            logger.warning("media storage failed for %s: %s", item.storage_key, error)
            return _refused(503, "Media storage is unavailable; try again.")
        name = item.file_name or "arquivo"
        headers = {
            "Cache-Control": f"private, max-age={max(0, int(expires - now))}",
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(name, safe='')}",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "X-Content-Type-Options": "nosniff",
        }
        media_type = item.content_type or "application/octet-stream"
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(content))
            return Response(status_code=200, headers=headers, media_type=media_type)
        return Response(content, headers=headers, media_type=media_type)

    return media_file


def _ref_of(request: Request) -> MediaFileRef | None:
    try:
        return MediaFileRef(
            UUID(request.path_params["organization_id"]),
            UUID(request.path_params["message_id"]),
            int(request.path_params["position"]),
        )
    except (ValueError, KeyError):
        return None


def _stored_item(row: dict[str, Any] | None, ref: MediaFileRef) -> MediaItem | None:
    if row is None:
        return None
    item = media_items([row["item"]])[0] if isinstance(row["item"], dict) else None
    if item is None or item.status is not MediaStatus.STORED or not item.storage_key:
        return None
    # Keys are checked when recorded; checked again, since this is what opens a file.
    if item.storage_key.split("/", 1)[0] != str(ref.organization_id):
        return None
    return item


def _refused(status: int, reason: str) -> Response:
    return PlainTextResponse(reason, status_code=status, headers={"Cache-Control": "no-store"})
