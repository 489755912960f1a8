"""Signed media links: they open one file until they expire, and nothing else."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

from atende.media.urls import MediaFileRef, MediaUrls

SECRET = "a-secret-key-of-at-least-thirty-two-characters"
OLD_SECRET = "the-previous-secret-key-also-thirty-two-chars"
REF = MediaFileRef(uuid.uuid4(), uuid.uuid4(), 0)
NOW = 1_800_000_000.0


def parts(url: str) -> tuple[str, int, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path, int(query["expires"][0]), query["signature"][0]


def test_a_link_opens_its_file_until_it_expires() -> None:
    urls = MediaUrls("https://atende.example/", SECRET, ttl_seconds=600)
    url = urls.url(REF, "audio-1.ogg", now=NOW)

    path, expires, signature = parts(url)

    assert url.startswith("https://atende.example/media/")
    assert path == f"/media/{REF.organization_id}/{REF.message_id}/0/audio-1.ogg"
    assert expires == NOW + 600
    assert urls.is_valid(REF, expires, signature, now=NOW + 599)
    assert not urls.is_valid(REF, expires, signature, now=NOW + 600)


def test_a_link_opens_no_other_file_organization_or_time() -> None:
    urls = MediaUrls("https://atende.example", SECRET)
    _, expires, signature = parts(urls.url(REF, "x.jpg", now=NOW))

    other_organization = MediaFileRef(uuid.uuid4(), REF.message_id, 0)
    other_message = MediaFileRef(REF.organization_id, uuid.uuid4(), 0)
    other_position = MediaFileRef(REF.organization_id, REF.message_id, 1)
    for ref in (other_organization, other_message, other_position):
        assert not urls.is_valid(ref, expires, signature, now=NOW)
    assert not urls.is_valid(REF, expires + 3600, signature, now=NOW)
    assert not MediaUrls("https://atende.example", "another-secret-key-thirty-two-chars!").is_valid(
        REF, expires, signature, now=NOW
    )


def test_links_signed_before_a_key_rotation_work_until_they_expire() -> None:
    before = MediaUrls("https://atende.example", OLD_SECRET)
    _, expires, signature = parts(before.url(REF, "x.pdf", now=NOW))

    after = MediaUrls("https://atende.example", SECRET, [OLD_SECRET])

    assert after.is_valid(REF, expires, signature, now=NOW)
    assert parts(after.url(REF, "x.pdf", now=NOW))[2] != signature  # signs with the new key
