"""Media storage: the local folder and Supabase Storage (through the real ``supabase``
client, against a local server speaking Storage's API) keep, give back and forget files
under keys of one organization, and say so when they cannot."""

from __future__ import annotations

import stat
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from atende.config import MediaStorageName, Settings
from atende.media.storage import (
    InvalidMediaKey,
    LocalMediaStorage,
    MediaObjectMissing,
    MediaStorage,
    MediaStorageError,
    SupabaseMediaStorage,
    inbound_key,
    open_media_storage,
    upload_key,
)
from tests.media.fake_supabase_storage import (
    SERVICE_ROLE_KEY,
    FakeSupabaseStorage,
    serve_fake_supabase_storage,
)

ORGANIZATION = uuid.UUID("6f1c1d3e-2a40-4c37-9a2e-0b6a2b0e1f10")


@pytest.fixture
def fake_storage() -> Iterator[FakeSupabaseStorage]:
    with serve_fake_supabase_storage() as fake:
        yield fake


def supabase_settings(tmp_path: Path, fake: FakeSupabaseStorage) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        media_storage=MediaStorageName.SUPABASE,
        supabase_url=fake.url,
        supabase_service_role_key=SecretStr(SERVICE_ROLE_KEY),
        media_bucket="atende-media-test",
    )


@pytest.fixture(params=["local", "supabase"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MediaStorage]:
    if request.param == "local":
        async with open_media_storage(Settings(data_dir=tmp_path / "data")) as local:
            yield local
        return
    with serve_fake_supabase_storage() as fake:
        async with open_media_storage(supabase_settings(tmp_path, fake)) as remote:
            yield remote


async def test_a_file_is_kept_given_back_replaced_and_forgotten(storage: MediaStorage) -> None:
    key = inbound_key(ORGANIZATION, uuid.uuid4(), 0)

    await storage.put(key, b"OggS first", "audio/ogg")
    await storage.put(key, b"OggS second", "audio/ogg")  # a retried job overwrites
    kept = await storage.get(key)
    await storage.delete([key, upload_key(ORGANIZATION)])  # a missing key is no error

    assert kept == b"OggS second"
    with pytest.raises(MediaObjectMissing):
        await storage.get(key)


@pytest.mark.parametrize(
    "key",
    ["../etc/passwd", f"{ORGANIZATION}/../other/x", "not-an-organization/x", f"{ORGANIZATION}"],
)
async def test_keys_outside_an_organization_are_refused(storage: MediaStorage, key: str) -> None:
    with pytest.raises(InvalidMediaKey):
        await storage.put(key, b"x", "image/jpeg")
    with pytest.raises(InvalidMediaKey):
        await storage.get(key)


async def test_the_local_folder_is_under_the_data_dir_and_private(tmp_path: Path) -> None:
    async with open_media_storage(Settings(data_dir=tmp_path / "data")) as storage:
        assert isinstance(storage, LocalMediaStorage)
        key = upload_key(ORGANIZATION)
        await storage.put(key, b"%PDF-1.4", "application/pdf")

    path = tmp_path / "data" / "media" / key
    assert path.read_bytes() == b"%PDF-1.4"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [entry.name for entry in path.parent.iterdir()] == [path.name]  # no temp files


async def test_supabase_keeps_files_in_a_private_bucket_it_makes(
    tmp_path: Path, fake_storage: FakeSupabaseStorage
) -> None:
    async with open_media_storage(supabase_settings(tmp_path, fake_storage)) as storage:
        assert isinstance(storage, SupabaseMediaStorage)
        key = inbound_key(ORGANIZATION, uuid.uuid4(), 1)
        await storage.put(key, b"\xff\xd8\xff", "image/jpeg")

    assert fake_storage.buckets == {"atende-media-test": False}
    stored = fake_storage.objects[("atende-media-test", key)]
    assert (stored.content, stored.content_type) == (b"\xff\xd8\xff", "image/jpeg")


async def test_a_public_bucket_stops_the_start(
    tmp_path: Path, fake_storage: FakeSupabaseStorage
) -> None:
    fake_storage.buckets["atende-media-test"] = True

    with pytest.raises(MediaStorageError, match="is public"):
        async with open_media_storage(supabase_settings(tmp_path, fake_storage)):
            pass


async def test_a_storage_outage_is_a_storage_error(
    tmp_path: Path, fake_storage: FakeSupabaseStorage
) -> None:
    async with open_media_storage(supabase_settings(tmp_path, fake_storage)) as storage:
        fake_storage.failing = 503
        with pytest.raises(MediaStorageError) as failure:
            await storage.put(upload_key(ORGANIZATION), b"x", "image/png")

    assert not isinstance(failure.value, MediaObjectMissing)
    assert SERVICE_ROLE_KEY not in str(failure.value)


def test_supabase_storage_needs_the_project_and_its_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ATENDE_MEDIA_STORAGE=supabase needs SUPABASE_URL"):
        Settings(data_dir=tmp_path, media_storage=MediaStorageName.SUPABASE)
