"""The team's attachments: checked against WhatsApp's kinds and limits before anything is
stored or sent, then kept in media storage under the organization.

``read_attachments`` reads each upload (no further than its kind's limit) and refuses,
in words for the team, what WhatsApp (or an SMS channel's MMS) would not carry: a kind
other than JPEG or PNG images, PDF or audio; a file over its kind's limit (images 5 MB,
others 16 MB); more files than a message carries (WhatsApp one, MMS ten) or more bytes in
all (16 MB, MMS 5 MB); a file whose content is not what it says. ``AttachmentStore``
keeps them (``<organization>/uploads/<random id>``) and forgets them again when the reply
is refused. ``public.send_member_message_v2`` checks the same rules once more.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from atende.media.errors import InvalidAttachment
from atende.media.models import (
    ATTACHABLE,
    MMS_MAX_ATTACHMENTS,
    MMS_MAX_BYTES,
    WHATSAPP_MAX_ATTACHMENTS,
    WHATSAPP_MAX_BYTES,
    MediaKind,
    looks_like,
    media_type_of,
    megabytes,
    safe_file_name,
)
from atende.media.storage import MediaStorage, MediaStorageError, upload_key

logger = logging.getLogger("atende.media.service")

FIELD = "attachments"
_BY_EXTENSION = {kind.extension: kind for kind in ATTACHABLE.values()} | {
    ".jpeg": ATTACHABLE["image/jpeg"],
    ".opus": ATTACHABLE["audio/ogg"],
    ".oga": ATTACHABLE["audio/ogg"],
}
_ACCEPTED = "imagens JPEG ou PNG, PDF ou áudio (OGG, MP3, AMR, AAC, M4A)"
_CATEGORY = {"image": "imagens", "document": "documentos", "audio": "áudios"}


class Upload(Protocol):
    """What a multipart upload gives (Starlette's ``UploadFile``)."""

    filename: str | None
    content_type: str | None

    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class Attachment:
    """A file the team attached, checked."""

    content: bytes
    kind: MediaKind
    file_name: str

    @property
    def size(self) -> int:
        return len(self.content)


def _kind_for(name: str | None, content_type: str | None) -> MediaKind | None:
    declared = media_type_of(content_type)
    if declared and declared != "application/octet-stream":
        return ATTACHABLE.get(declared)
    extension = "." + (name or "").rsplit(".", 1)[-1].lower() if "." in (name or "") else ""
    return _BY_EXTENSION.get(extension)


async def read_attachments(uploads: Sequence[Any], channel_kind: str) -> list[Attachment]:
    """The uploads as checked attachments for a message on a ``channel_kind`` channel, or
    ``InvalidAttachment`` saying what is wrong."""
    whatsapp = channel_kind == "whatsapp"
    most = WHATSAPP_MAX_ATTACHMENTS if whatsapp else MMS_MAX_ATTACHMENTS
    if len(uploads) > most:
        raise InvalidAttachment(
            FIELD,
            "O WhatsApp leva um arquivo por mensagem: envie um de cada vez."
            if whatsapp
            else f"Uma mensagem leva no máximo {most} arquivos.",
        )
    attachments = []
    for upload in uploads:
        name = getattr(upload, "filename", None) or "arquivo"
        kind = _kind_for(name, getattr(upload, "content_type", None))
        if kind is None:
            shown = media_type_of(getattr(upload, "content_type", None)) or name
            raise InvalidAttachment(
                FIELD, f"Tipo de arquivo não aceito ({shown}): envie {_ACCEPTED}."
            )
        content = await upload.read(kind.max_bytes + 1)
        if not content:
            raise InvalidAttachment(FIELD, f"O arquivo {name} está vazio.")
        if len(content) > kind.max_bytes:
            raise InvalidAttachment(
                FIELD,
                f"{name} passa de {megabytes(kind.max_bytes)}, o limite do WhatsApp para "
                f"{_CATEGORY[kind.category]}.",
            )
        if not looks_like(kind, content[:16]):
            raise InvalidAttachment(
                FIELD, f"O conteúdo de {name} não é de um arquivo {kind.content_type}."
            )
        attachments.append(Attachment(content, kind, safe_file_name(name, kind)))
    total = sum(attachment.size for attachment in attachments)
    most_bytes = WHATSAPP_MAX_BYTES if whatsapp else MMS_MAX_BYTES
    if total > most_bytes:
        raise InvalidAttachment(
            FIELD,
            f"Os arquivos somam {megabytes(total)}; o limite por mensagem é "
            f"{megabytes(most_bytes)}.",
        )
    return attachments


class AttachmentStore:
    """Keeps the team's attachments in media storage."""

    def __init__(self, storage: MediaStorage) -> None:
        self.storage = storage

    async def keep(
        self, organization_id: UUID, attachments: Sequence[Attachment]
    ) -> list[dict[str, Any]]:
        """Store each file; the ``media`` items ``send_member_message_v2`` takes. Nothing
        stays stored when one fails."""
        items: list[dict[str, Any]] = []
        try:
            for attachment in attachments:
                key = upload_key(organization_id)
                await self.storage.put(key, attachment.content, attachment.kind.content_type)
                items.append(
                    {
                        "storage_key": key,
                        "content_type": attachment.kind.content_type,
                        "size": attachment.size,
                        "file_name": attachment.file_name,
                    }
                )
        except BaseException:
            await self.forget(items)
            raise
        return items

    async def forget(self, items: Sequence[dict[str, Any]]) -> None:
        """Delete stored files that will not be sent (the reply was refused)."""
        keys = [str(item["storage_key"]) for item in items]
        if not keys:
            return
        try:
            await self.storage.delete(keys)
        except MediaStorageError as error:
            logger.warning("could not delete %d unsent attachment(s): %s", len(keys), error)
