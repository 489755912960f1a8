"""The search statement per embedding size: half-precision copies through the covering
index up to 1,024 dimensions, the full vectors above (20261207002200)."""

from __future__ import annotations

from atende.knowledge.search import HALF_PRECISION_MAX_DIMENSIONS, search_query


def test_the_built_in_size_compares_half_precision_copies() -> None:
    text = search_query(768)
    assert "e.embedding_half::extensions.halfvec(768) operator(extensions.<=>)" in text
    assert "%(embedding)s::extensions.halfvec(768)" in text
    assert "e.dimensions = 768" in text


def test_a_smaller_size_keeps_the_covering_index_with_its_own_type() -> None:
    text = search_query(384)
    assert "e.embedding_half::extensions.halfvec(384)" in text
    assert "%(embedding)s::extensions.halfvec(384)" in text
    assert "e.dimensions = 384" in text
    assert "(768)" not in text


def test_a_size_the_index_cannot_hold_compares_the_full_vectors() -> None:
    assert HALF_PRECISION_MAX_DIMENSIONS < 1536
    text = search_query(1536)
    assert "e.embedding::extensions.vector(1536) operator(extensions.<=>)" in text
    assert "%(embedding)s::extensions.vector(1536)" in text
    assert "e.dimensions = 1536" in text
    assert "halfvec" not in text.split("nearest as (")[1].split("nearest_ranked")[0]


def test_a_size_no_index_covers_is_compared_untyped() -> None:
    text = search_query(3072)
    assert "e.embedding::extensions.vector operator(extensions.<=>)" in text
    assert "e.dimensions = 3072" in text
