"""The /graphql view's own parts: the cache of verified tokens."""

from __future__ import annotations

import time

from atende.api.view import VerifiedTokens


def test_verified_tokens_are_remembered_until_they_expire() -> None:
    cache = VerifiedTokens(max_size=2)
    now = time.time()
    cache.put("fresh", {"sub": "a", "exp": now + 60})
    cache.put("stale", {"sub": "b", "exp": now - 1})

    assert cache.get("fresh") == {"sub": "a", "exp": now + 60}
    assert cache.get("stale") is None  # expired: verify again (and be refused)
    assert cache.get("unknown") is None


def test_the_cache_keeps_only_the_most_recent_tokens() -> None:
    cache = VerifiedTokens(max_size=2)
    later = time.time() + 60
    cache.put("one", {"exp": later})
    cache.put("two", {"exp": later})
    cache.get("one")
    cache.put("three", {"exp": later})

    assert cache.get("two") is None
    assert cache.get("one") is not None
    assert cache.get("three") is not None
