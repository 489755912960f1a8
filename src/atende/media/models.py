"""What a message's ``media`` items say, and the kinds of file WhatsApp carries.

``messages.media`` is a JSON array, one object per file, in the order the message has
them. An inbound item starts as Twilio described it (``url``, ``content_type``); the
media job (``channels:fetch_media``) then records what became of it: ``stored`` (with
``storage_key``, ``size``, ``file_name``) or ``failed`` (with ``error_code`` and an
``error_message`` the team can read). An item without ``status`` is ``pending``. A file
the team attaches is ``stored`` from the start, and has no ``url``. Other keys are kept as
they are (the reply pipeline may add its own).

The kinds below are WhatsApp's (Twilio's "Guidance on WhatsApp Media Messages" and Meta's
supported media types): what a customer can send us, and the smaller set the team may
attach (images, PDF, audio), with WhatsApp's per-kind size limits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: Twilio's total for one WhatsApp message, and WhatsApp's limit for images (bytes; the
#: decimal megabytes, the safe reading of "16 MB" and "5 MB").
WHATSAPP_MAX_BYTES = 16_000_000
WHATSAPP_IMAGE_MAX_BYTES = 5_000_000
#: Twilio's total for one MMS (an SMS channel's message with files).
MMS_MAX_BYTES = 5_000_000
#: Files on one message: WhatsApp carries one; MMS up to ten.
WHATSAPP_MAX_ATTACHMENTS = 1
MMS_MAX_ATTACHMENTS = 10


class MediaStatus(StrEnum):
    PENDING = "pending"
    STORED = "stored"
    FAILED = "failed"


class MediaFailure(StrEnum):
    """Why a file was not kept, as ``error_code`` records it."""

    #: The URL is not Twilio's media (another host, scheme or path), or a redirect led
    #: elsewhere: never fetched.
    HOST_REFUSED = "media_host_refused"
    #: Twilio answered 404 or 410: the file is gone.
    NOT_FOUND = "media_not_found"
    #: Twilio refused the channel's credentials (401, 403).
    UNAUTHORIZED = "media_unauthorized"
    #: Larger than ``ATENDE_MEDIA_MAX_BYTES``.
    TOO_LARGE = "media_too_large"
    #: A kind of file WhatsApp does not carry (and Atende does not keep).
    TYPE_UNSUPPORTED = "media_type_unsupported"
    #: Twilio did not answer well (timeouts, 5xx, 429, the connection) after every attempt.
    UNAVAILABLE = "media_unavailable"
    #: Media storage did not take the file after every attempt.
    STORAGE_FAILED = "media_storage_failed"


@dataclass(frozen=True)
class MediaKind:
    content_type: str
    #: ``image``, ``sticker``, ``audio``, ``video``, ``document`` or ``contact``.
    category: str
    #: The extension a file of this kind is named with (``.ogg`` for Opus voice notes:
    #: the name every transcription model accepts, where ``.oga`` is refused by some).
    extension: str
    #: The largest such file WhatsApp carries.
    max_bytes: int
    #: Whether the team may attach it to a message (images, PDF, audio).
    attachable: bool = False
    #: How a file of this kind starts (any of these), to check an upload is what it says.
    signatures: tuple[bytes, ...] = ()


_KINDS = (
    MediaKind("image/jpeg", "image", ".jpg", WHATSAPP_IMAGE_MAX_BYTES, True, (b"\xff\xd8\xff",)),
    MediaKind(
        "image/png", "image", ".png", WHATSAPP_IMAGE_MAX_BYTES, True, (b"\x89PNG\r\n\x1a\n",)
    ),
    # Stickers: WhatsApp sends them as WebP images (Twilio: MessageType=sticker).
    MediaKind("image/webp", "sticker", ".webp", WHATSAPP_IMAGE_MAX_BYTES),
    MediaKind("audio/ogg", "audio", ".ogg", WHATSAPP_MAX_BYTES, True, (b"OggS",)),
    MediaKind("audio/opus", "audio", ".ogg", WHATSAPP_MAX_BYTES),
    MediaKind("audio/mpeg", "audio", ".mp3", WHATSAPP_MAX_BYTES, True, (b"ID3", b"\xff")),
    MediaKind("audio/amr", "audio", ".amr", WHATSAPP_MAX_BYTES, True, (b"#!AMR",)),
    MediaKind("audio/aac", "audio", ".aac", WHATSAPP_MAX_BYTES, True, (b"\xff",)),
    MediaKind("audio/mp4", "audio", ".m4a", WHATSAPP_MAX_BYTES, True),
    MediaKind("video/mp4", "video", ".mp4", WHATSAPP_MAX_BYTES),
    MediaKind("video/3gpp", "video", ".3gp", WHATSAPP_MAX_BYTES),
    MediaKind("application/pdf", "document", ".pdf", WHATSAPP_MAX_BYTES, True, (b"%PDF-",)),
    MediaKind("application/msword", "document", ".doc", WHATSAPP_MAX_BYTES),
    MediaKind(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "document",
        ".docx",
        WHATSAPP_MAX_BYTES,
    ),
    MediaKind("application/vnd.ms-excel", "document", ".xls", WHATSAPP_MAX_BYTES),
    MediaKind(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "document",
        ".xlsx",
        WHATSAPP_MAX_BYTES,
    ),
    MediaKind("application/vnd.ms-powerpoint", "document", ".ppt", WHATSAPP_MAX_BYTES),
    MediaKind(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "document",
        ".pptx",
        WHATSAPP_MAX_BYTES,
    ),
    MediaKind("text/plain", "document", ".txt", WHATSAPP_MAX_BYTES),
    MediaKind("text/vcard", "contact", ".vcf", WHATSAPP_MAX_BYTES),
    MediaKind("text/x-vcard", "contact", ".vcf", WHATSAPP_MAX_BYTES),
)
KINDS: Mapping[str, MediaKind] = {kind.content_type: kind for kind in _KINDS}
#: What the team may attach, by content type.
ATTACHABLE: Mapping[str, MediaKind] = {
    kind.content_type: kind for kind in _KINDS if kind.attachable
}
#: Aliases some clients and servers use for the same kinds.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/mp3": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/aacp": "audio/aac",
    "audio/x-aac": "audio/aac",
    "video/3gp": "video/3gpp",
    "application/x-pdf": "application/pdf",
}


def media_type_of(content_type: str | None) -> str:
    """``content_type`` without parameters, lowercased, aliases resolved
    (``"Audio/OGG; codecs=opus"`` -> ``"audio/ogg"``)."""
    bare = (content_type or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(bare, bare)


def kind_of(content_type: str | None) -> MediaKind | None:
    """The kind WhatsApp carries for ``content_type``; None when it carries no such file."""
    return KINDS.get(media_type_of(content_type))


def looks_like(kind: MediaKind, head: bytes) -> bool:
    """Whether a file that starts with ``head`` is plausibly of ``kind`` (its magic bytes;
    MP4 audio by its ``ftyp`` box). Kinds without a known signature pass."""
    if kind.content_type == "audio/mp4":
        return head[4:8] == b"ftyp"
    if not kind.signatures:
        return True
    return any(head.startswith(signature) for signature in kind.signatures)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_name(name: str | None, kind: MediaKind | None, fallback: str = "arquivo") -> str:
    """A name for a file in a URL and a ``Content-Disposition``: ASCII letters, digits, ``.``,
    ``_`` and ``-`` only, at most 100 characters, ending with its kind's extension (so
    whatever fetches it by name, a transcription model included, reads it right)."""
    stem = (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    # Accents folded (Cardápio -> Cardapio), what remains outside ASCII dropped.
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    stem = _UNSAFE.sub("-", stem).strip(".-_")[:80] or fallback
    extension = kind.extension if kind is not None else ""
    return f"{stem}{extension}"


def megabytes(size: int) -> str:
    """``5000000`` -> ``"5 MB"``; ``16777216`` -> ``"16,8 MB"`` (pt-BR)."""
    value = size / 1_000_000
    text = f"{value:.0f}" if value == int(value) else f"{value:.1f}".replace(".", ",")
    return f"{text} MB"


class MediaItem(BaseModel):
    """One item of ``messages.media``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    #: Where Twilio keeps an inbound file (never handed to the team's app).
    url: str | None = None
    content_type: str | None = None
    #: Absent on an item the media job has not reached yet.
    status: MediaStatus = MediaStatus.PENDING
    #: The object's key in media storage, under its organization (``<org id>/...``).
    storage_key: str | None = None
    size: int | None = Field(default=None, ge=0)
    file_name: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    #: A voice note's transcription (``ai:transcribe_audio``): ``done`` or ``failed``;
    #: absent while it is still to come.
    transcript_status: str | None = None
    transcript: str | None = None
    transcript_error_code: str | None = None
    transcript_error_message: str | None = None


def media_items(value: Sequence[Mapping[str, Any]] | None) -> list[MediaItem | None]:
    """The items of a ``media`` array; None for one that is not an object or not valid."""
    items: list[MediaItem | None] = []
    for raw in value or ():
        try:
            items.append(MediaItem.model_validate(raw) if isinstance(raw, Mapping) else None)
        except ValidationError:
            items.append(None)
    return items
