"""Hybrid retrieval inside Postgres: Portuguese full-text search and pgvector similarity,
fused by reciprocal rank fusion (``sql/knowledge.sql``, ``search_passages``).

The query text is read the way customers write: accents folded, colloquial spellings
expanded ("qnto" -> "quanto", "vcs" -> "vocês"), any of its words may match (customers
ask in full sentences, and a passage need not hold every word of one). The same text is
embedded by the process's embedder and compared with the passages that embedder made.
A passage counts only if it matched some word of the query or is close enough
(``min_similarity``): with none, the reply knows the knowledge base has nothing to say.
"""

from __future__ import annotations

from typing import Any, LiteralString
from uuid import UUID

from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.knowledge.embeddings import Embedder, LocalEmbedder, words_of
from atende.knowledge.models import Passage, SearchMode

queries = load_queries("knowledge")

DEFAULT_RESULTS = 5
MAX_RESULTS = 20
MAX_QUERY_CHARS = 2000
#: Candidates each leg ranks before fusion.
CANDIDATES = 40
#: Cosine similarity below which a passage that matched no word is not relevant: the
#: built-in embedder's (on bench/knowledge_set, the passage that answers a question is at
#: 0.20-0.75, median 0.40, 9 in 10 above 0.28; off-topic questions reach 0.13-0.28), and
#: a model's.
LOCAL_MIN_SIMILARITY = 0.25
MODEL_MIN_SIMILARITY = 0.25
#: Sizes the HNSW indexes cover (20261207001200_knowledge.sql).
INDEXED_DIMENSIONS = (768, 1536)
#: Sizes whose half-precision copy the covering index holds (20261207002200): a btree
#: entry fits at most 2,704 bytes.
HALF_PRECISION_MAX_DIMENSIONS = 1024

_TEMPLATE_COLUMN = "e.embedding_half::extensions.halfvec(768)"
_TEMPLATE_CAST = "::extensions.halfvec(768)"
_TEMPLATE_FILTER = "e.dimensions = 768"


def search_query(dimensions: int) -> LiteralString:
    """``search_passages`` for vectors of ``dimensions``: their half-precision copies
    through the covering index when it holds them, else the full vectors (typed to use an
    HNSW index when one covers the size, else compared as they are)."""
    template = queries["search_passages"]
    if dimensions == 768:
        return template
    if dimensions <= HALF_PRECISION_MAX_DIMENSIONS:
        text = template.replace("(768)", f"({dimensions})")
    else:
        vector = (
            f"::extensions.vector({dimensions})"
            if dimensions in INDEXED_DIMENSIONS
            else "::extensions.vector"
        )
        text = template.replace(_TEMPLATE_COLUMN, f"e.embedding{vector}").replace(
            _TEMPLATE_CAST, vector
        )
    # Built from the file's text and an integer: as safe as a literal.
    return text.replace(_TEMPLATE_FILTER, f"e.dimensions = {int(dimensions)}")


def query_text(text: str) -> str:
    """The words the full-text leg looks for: folded, colloquialisms expanded."""
    return " ".join(words_of(text))


def min_similarity(embedder: Embedder) -> float:
    return LOCAL_MIN_SIMILARITY if isinstance(embedder, LocalEmbedder) else MODEL_MIN_SIMILARITY


class KnowledgeSearch:
    """Finds an organization's passages for a text (one statement, one round trip)."""

    def __init__(self, *, database: Database, embedder: Embedder) -> None:
        self.database = database
        self.embedder = embedder

    async def search_as_platform(
        self, organization_id: UUID, text: str, *, limit: int = DEFAULT_RESULTS
    ) -> list[Passage]:
        """For the reply job (service role): no member is asking."""
        params = await self.parameters(organization_id, text, limit=limit)
        if params is None:
            return []
        # One statement on the platform's own pool: one round trip (see ``search``).
        rows = await self.database.fetch_all(
            Caller.service(), search_query(params["dimensions"]), params, prepare=False
        )
        return [Passage.model_validate(row) for row in rows]

    async def search(
        self,
        conn: Connection,
        organization_id: UUID,
        text: str,
        *,
        limit: int = DEFAULT_RESULTS,
        mode: SearchMode = SearchMode.HYBRID,
    ) -> list[Passage]:
        """On the caller's connection: row-level security shows members their own."""
        params = await self.parameters(organization_id, text, limit=limit, mode=mode)
        if params is None:
            return []
        # Never prepared: a prepared statement may switch to a generic plan, which cannot
        # see which organization (and so how few of the passages) a search is about, and
        # chose scans of every tenant's passages at 100,000 of them.
        cursor = await conn.execute(search_query(params["dimensions"]), params, prepare=False)
        return [Passage.model_validate(row) for row in await cursor.fetchall()]

    async def parameters(
        self,
        organization_id: UUID,
        text: str,
        *,
        limit: int,
        mode: SearchMode = SearchMode.HYBRID,
    ) -> dict[str, Any] | None:
        """The statement's parameters; ``None`` when the text has nothing to look for."""
        text = text.strip()[:MAX_QUERY_CHARS]
        words = query_text(text)
        if not words or limit <= 0:
            return None
        embedding = await self.embedder.embed_one(text)
        return {
            "organization_id": organization_id,
            "text": words,
            # str.format through map: half the time of an f-string per number (768 of them).
            "embedding": "[" + ",".join(map("{:.6g}".format, embedding)) + "]",
            "embedder": self.embedder.name,
            "dimensions": len(embedding),
            "candidates": max(CANDIDATES, limit * 4),
            "limit": min(limit, MAX_RESULTS),
            "min_similarity": min_similarity(self.embedder),
            "use_full_text": mode is not SearchMode.VECTOR,
            "use_vector": mode is not SearchMode.FULL_TEXT,
        }
