"""Media storage: the port files are kept behind, and its two adapters.

``ATENDE_MEDIA_STORAGE`` chooses one:

- ``local`` (the default, and the embedded deployment's): a folder under the data dir,
  ``ATENDE_DATA_DIR/media/<key>``, written atomically (a temporary file renamed), readable
  by the process's user alone.
- ``supabase``: a private bucket of Supabase Storage (``ATENDE_MEDIA_BUCKET``), through the
  official ``supabase`` client with the service role key (``SUPABASE_URL``,
  ``SUPABASE_SERVICE_ROLE_KEY``). The bucket is made private when missing; a public one
  stops the process from starting, since every file would then be readable by anyone who
  guesses a key.

Keys are paths under the organization: ``<organization id>/messages/<message id>/<position>``
for a customer's file, ``<organization id>/uploads/<random id>`` for one the team attached,
so one organization's files can be listed, moved or erased together. No adapter hands out
its own links: Atende serves every file itself, under a signed link (``atende.media.urls``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from atende.errors import AtendeError

if TYPE_CHECKING:
    from supabase import AsyncClient

    from atende.config import Settings

logger = logging.getLogger("atende.media.storage")

T = TypeVar("T")

_KEY = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}){1,4}$"
)


class MediaStorageError(AtendeError):
    """Media storage did not do what was asked (it may, later)."""


class MediaObjectMissing(MediaStorageError):
    """No file is kept under that key."""


class InvalidMediaKey(MediaStorageError):
    """Not a media key: ``<organization id>/...``, without dot segments."""


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or ".." in key.split("/"):
        raise InvalidMediaKey()
    return key


def inbound_key(organization_id: uuid.UUID, message_id: uuid.UUID, position: int) -> str:
    """Where a customer's file is kept: one key per item, so a retried job overwrites."""
    return f"{organization_id}/messages/{message_id}/{position}"


def upload_key(organization_id: uuid.UUID) -> str:
    """Where a file the team attaches is kept (a new key each time)."""
    return f"{organization_id}/uploads/{uuid.uuid4()}"


def organization_of_key(key: str) -> str:
    return key.split("/", 1)[0]


class MediaStorage(Protocol):
    """Where files are kept. Every method raises ``MediaStorageError`` when storage fails
    (``MediaObjectMissing`` when there is nothing under the key)."""

    #: ``local`` or ``supabase``, for logs.
    name: str

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Keep ``data`` under ``key`` (replacing what was there)."""
        ...

    async def get(self, key: str) -> bytes:
        """The file kept under ``key``."""
        ...

    async def delete(self, keys: Sequence[str]) -> None:
        """Forget the files under ``keys`` (a key with nothing under it is no error)."""
        ...


class LocalMediaStorage:
    """Files in a folder of this machine (``ATENDE_DATA_DIR/media``)."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self.path_of(key)
        try:
            await asyncio.to_thread(_write_atomically, path, data)
        except OSError as error:
            raise MediaStorageError(f"could not write {key}: {error.strerror}") from None

    async def get(self, key: str) -> bytes:
        path = self.path_of(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise MediaObjectMissing(f"no file under {key}") from None
        except OSError as error:
            raise MediaStorageError(f"could not read {key}: {error.strerror}") from None

    async def delete(self, keys: Sequence[str]) -> None:
        paths = [self.path_of(key) for key in keys]
        try:
            await asyncio.to_thread(_unlink_all, paths)
        except OSError as error:
            raise MediaStorageError(f"could not delete: {error.strerror}") from None


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _unlink_all(paths: Sequence[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


class SupabaseMediaStorage:
    """Files in a private bucket of Supabase Storage."""

    name = "supabase"

    def __init__(self, client: AsyncClient, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    async def ensure_private_bucket(self) -> None:
        """Make the bucket (private) when it is missing; refuse a public one."""
        from storage3.exceptions import StorageApiError  # noqa: PLC0415 - slow import

        storage = self.client.storage
        try:
            try:
                found = await storage.get_bucket(self.bucket)
            except StorageApiError as error:
                if str(error.status) not in {"400", "404"}:
                    raise
                await storage.create_bucket(self.bucket, options={"public": False})
                logger.info("made the private media bucket %s", self.bucket)
                return
        except StorageApiError as error:
            raise MediaStorageError(f"Supabase Storage: {error.message}") from None
        except OSError as error:
            raise MediaStorageError(f"Supabase Storage unreachable: {error}") from None
        if found.public:
            raise MediaStorageError(
                f"the media bucket {self.bucket} is public: make it private "
                "(every customer's file would be readable by anyone with its path)"
            )

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        bucket = self.client.storage.from_(self.bucket)
        await self._call(
            key,
            bucket.upload(
                check_key(key),
                data,
                {"content-type": content_type, "upsert": "true", "cache-control": "no-store"},
            ),
        )

    async def get(self, key: str) -> bytes:
        bucket = self.client.storage.from_(self.bucket)
        data: bytes = await self._call(key, bucket.download(check_key(key)))
        return data

    async def delete(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        bucket = self.client.storage.from_(self.bucket)
        await self._call(", ".join(keys), bucket.remove([check_key(key) for key in keys]))

    async def _call(self, key: str, request: Awaitable[T]) -> T:
        import httpx  # noqa: PLC0415 - the supabase client's transport
        from storage3.exceptions import StorageApiError  # noqa: PLC0415

        try:
            return await request
        except StorageApiError as error:
            if str(error.status) in {"404", "400"} and _is_not_found(error):
                raise MediaObjectMissing(f"no file under {key}") from None
            raise MediaStorageError(f"Supabase Storage refused {key}: {error.message}") from None
        except httpx.HTTPError as error:
            raise MediaStorageError(
                f"Supabase Storage unreachable for {key}: {type(error).__name__}"
            ) from None


def _is_not_found(error: object) -> bool:
    code = str(getattr(error, "code", "") or "").lower()
    message = str(getattr(error, "message", "") or "").lower()
    return code in {"not_found", "nosuchkey", "objectnotfound"} or "not found" in message


@asynccontextmanager
async def open_media_storage(settings: Settings) -> AsyncIterator[MediaStorage]:
    """The process's media storage (``ATENDE_MEDIA_STORAGE``), open for the block."""
    if settings.media_storage == "local":
        yield LocalMediaStorage(settings.data_dir / "media")
        return
    import httpx  # noqa: PLC0415 - only this adapter uses them
    from supabase import AsyncClient, AsyncClientOptions  # noqa: PLC0415

    if settings.supabase_url is None or settings.supabase_service_role_key is None:
        raise MediaStorageError("ATENDE_MEDIA_STORAGE=supabase needs SUPABASE_URL and its key")
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.media_fetch_timeout_seconds), follow_redirects=False
    )
    try:
        client = AsyncClient(
            settings.supabase_url,
            settings.supabase_service_role_key.get_secret_value(),
            AsyncClientOptions(auto_refresh_token=False, persist_session=False, httpx_client=http),
        )
        storage = SupabaseMediaStorage(client, settings.media_bucket)
        await storage.ensure_private_bucket()
        yield storage
    finally:
        await http.aclose()
