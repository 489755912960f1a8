"""The GraphQL of a message's files: ``MessageMedia`` (``Message.media``)."""

from __future__ import annotations

import json
from enum import Enum
from uuid import UUID

import strawberry

from atende.media import models
from atende.media.urls import MediaFileRef, MediaUrls


@strawberry.enum(description="Whether Atende keeps a message's file.")
class MediaStatus(Enum):
    PENDING = strawberry.enum_value(
        "pending", description="Not fetched from Twilio yet (it is on its way)."
    )
    STORED = strawberry.enum_value("stored", description="Kept by Atende: `url` opens it.")
    FAILED = strawberry.enum_value(
        "failed", description="Could not be kept: `errorMessage` says why."
    )


@strawberry.type(description="A file attached to a message (image, audio, document).")
class MessageMedia:
    content_type: str | None = strawberry.field(description="Its MIME type, e.g. image/jpeg.")
    size: int | None = strawberry.field(description="Its size in bytes, once kept.")
    file_name: str | None = strawberry.field(description="Its name, once kept.")
    url: str | None = strawberry.field(
        description="A short-lived link to Atende's copy (it expires after"
        " ATENDE_MEDIA_URL_TTL_SECONDS; ask again for a new one); null until the file is"
        " kept, or when it could not be."
    )
    status: MediaStatus = strawberry.field(description="Whether Atende keeps the file.")
    error_code: str | None = strawberry.field(
        description="Why the file could not be kept (media_not_found, media_too_large,"
        " media_type_unsupported, media_host_refused, media_unavailable...); null otherwise."
    )
    error_message: str | None = strawberry.field(description="The reason, in words.")
    transcript: str | None = strawberry.field(
        default=None,
        description="What a customer's voice note says (its transcription); null for other"
        " files, and while it is on its way or when it failed.",
    )
    transcript_error_code: str | None = strawberry.field(
        default=None,
        description="Why a voice note has no transcript (transcription_timeout,"
        " transcription_model_not_found, ...); null otherwise.",
    )
    transcript_error_message: str | None = strawberry.field(
        default=None, description="That reason, in words the team reads."
    )


def message_media(message_id: UUID | None, media_json: str, urls: MediaUrls) -> list[MessageMedia]:
    """A message's files as the API shows them: a kept file with a fresh signed link,
    never the URL Twilio holds it at."""
    found = []
    raw = json.loads(media_json or "[]")
    for position, item in enumerate(models.media_items(raw if isinstance(raw, list) else [])):
        if item is None:
            continue
        url = None
        if item.status is models.MediaStatus.STORED and item.storage_key and message_id:
            organization = UUID(item.storage_key.split("/", 1)[0])
            url = urls.url(
                MediaFileRef(organization, message_id, position), item.file_name or "arquivo"
            )
        found.append(
            MessageMedia(
                content_type=item.content_type,
                size=item.size,
                file_name=item.file_name,
                url=url,
                status=MediaStatus[item.status.name],
                error_code=item.error_code,
                error_message=item.error_message,
                transcript=item.transcript if item.transcript_status == "done" else None,
                transcript_error_code=item.transcript_error_code,
                transcript_error_message=item.transcript_error_message,
            )
        )
    return found
