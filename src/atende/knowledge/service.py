"""The knowledge base: documents the team manages, and the indexing job's work.

A document change runs in the caller's transaction, as the caller: the SQL functions
(``public.*_knowledge_document_v1``) check the caller's role and defer the indexing job in
that same transaction, so a document never waits for a job that was not queued.
Everything a refusal is about (an empty text, a file too large or unreadable) is checked
here first, before anything is stored.

Indexing (``Indexer.index_document``, run by ``knowledge:index_document``) reads the
document's newest revision, splits it (``chunking``), embeds the passages in batches, and
stores them all at once (``private.store_knowledge_passages_v1``), which marks the document
ready. A transient embedder failure raises, for the job to retry with backoff; a permanent
one (or the last retry) marks the document failed with a reason the owner can read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.graphql.pagination import NEWEST
from atende.knowledge.chunking import split_document
from atende.knowledge.embeddings import Embedder
from atende.knowledge.errors import (
    DocumentNotFound,
    KnowledgeChangeForbidden,
    PermanentEmbeddingError,
    TransientEmbeddingError,
)
from atende.knowledge.extraction import DocumentText
from atende.knowledge.models import KnowledgeDocument

logger = logging.getLogger("atende.knowledge")
queries = load_queries("knowledge")

#: Passages of one document at most (about 500,000 words at 160 a passage).
MAX_PASSAGES = 3_000
#: What a failed document says when the embedder stayed unavailable (pt-BR).
EMBEDDER_UNAVAILABLE = (
    "O serviço que processa os documentos ficou indisponível. Tente enviar o documento "
    "de novo mais tarde."
)
EMBEDDER_REFUSED = (
    "O serviço que processa os documentos recusou este documento. Confira a configuração "
    "de embeddings (ATENDE_EMBEDDINGS) ou fale com o suporte."
)
NOTHING_TO_INDEX = "O documento não tem texto para indexar."
TOO_MANY_PASSAGES = (
    f"O documento é grande demais (mais de {MAX_PASSAGES} trechos). Divida-o em documentos menores."
)


def _outcome(row: Mapping[str, Any] | None) -> UUID:
    """The document a change function answered with, or its refusal raised."""
    outcome = row["outcome"] if row else "not_found"
    if outcome == "forbidden":
        raise KnowledgeChangeForbidden()
    if outcome == "not_found" or row is None:
        raise DocumentNotFound()
    return UUID(str(row["id"]))


async def add_document(
    conn: Connection, organization_id: UUID, title: str, document: DocumentText
) -> KnowledgeDocument:
    """Store a document and queue its indexing, as the caller (owners and admins)."""
    row = await (
        await conn.execute(
            queries["add_document"],
            {
                "organization_id": organization_id,
                "title": title,
                "content": document.content,
                "source_format": document.source_format,
                "file_name": document.file_name,
            },
        )
    ).fetchone()
    return await _read(conn, _outcome(row))


async def update_document(
    conn: Connection, document_id: UUID, *, title: str | None, document: DocumentText | None
) -> KnowledgeDocument:
    """Change a document's title or text (or both) and queue its re-indexing."""
    row = await (
        await conn.execute(
            queries["update_document"],
            {
                "document_id": document_id,
                "title": title,
                "content": document.content if document else None,
                "source_format": document.source_format if document else None,
                "file_name": document.file_name if document else None,
            },
        )
    ).fetchone()
    return await _read(conn, _outcome(row))


async def remove_document(conn: Connection, document_id: UUID) -> UUID:
    """Delete a document and its passages; its id."""
    row = await (
        await conn.execute(queries["remove_document"], {"document_id": document_id})
    ).fetchone()
    return _outcome(row)


async def get_document(conn: Connection, document_id: UUID) -> KnowledgeDocument | None:
    row = await (
        await conn.execute(queries["document_by_id"], {"document_id": document_id})
    ).fetchone()
    return None if row is None else KnowledgeDocument.model_validate(row)


async def _read(conn: Connection, document_id: UUID) -> KnowledgeDocument:
    document = await get_document(conn, document_id)
    if document is None:  # changed by the caller a moment ago, so always visible
        raise DocumentNotFound()
    return document


async def documents_page(
    conn: Connection,
    organization_id: UUID,
    *,
    limit: int,
    before: tuple[datetime, UUID] | None,
) -> tuple[list[KnowledgeDocument], bool]:
    """A page of the organization's documents, newest first, and whether more follow."""
    at, row_id = before or NEWEST
    cursor = await conn.execute(
        queries["documents_page"],
        {
            "organization_id": organization_id,
            "before_at": at,
            "before_id": row_id,
            "limit": limit + 1,
        },
    )
    rows = await cursor.fetchall()
    documents = [KnowledgeDocument.model_validate(row) for row in rows[:limit]]
    return documents, len(rows) > limit


async def count_documents(conn: Connection, organization_id: UUID) -> int:
    row = await (
        await conn.execute(queries["count_documents"], {"organization_id": organization_id})
    ).fetchone()
    return int(row["total"]) if row else 0


# -- indexing (the platform's) -------------------------------------------------------------


@dataclass(frozen=True)
class IndexResult:
    """What one run of the indexing job did: ``stored`` (with ``passages``), ``failed``,
    ``stale`` (the document changed meanwhile: its own job indexes it) or ``gone``."""

    outcome: str
    passages: int = 0


class Indexer:
    """Splits, embeds and stores documents' passages."""

    def __init__(self, *, database: Database, embedder: Embedder) -> None:
        self.database = database
        self.embedder = embedder

    async def index_document(  # noqa: PLR0911 - one return per outcome reads best
        self, document_id: UUID, *, last_attempt: bool = True
    ) -> IndexResult:
        """Index the document's newest revision.

        Raises :class:`TransientEmbeddingError` when the embedder is unavailable and this
        is not ``last_attempt`` (the job retries); otherwise such a failure, and any
        permanent one, marks the document failed.
        """
        row = await self.database.fetch_one(
            Caller.service(), queries["document_for_indexing"], {"document_id": document_id}
        )
        if row is None:
            return IndexResult("gone")
        revision = int(row["revision"])
        chunks = split_document(str(row["title"]), str(row["content"]))
        if not chunks:
            return await self.fail(document_id, revision, NOTHING_TO_INDEX)
        if len(chunks) > MAX_PASSAGES:
            return await self.fail(document_id, revision, TOO_MANY_PASSAGES)
        try:
            vectors = await self.embedder.embed([chunk.text_to_embed() for chunk in chunks])
        except TransientEmbeddingError as error:
            if not last_attempt:
                logger.warning("embedding document %s failed, will retry: %s", document_id, error)
                raise
            logger.warning("embedding document %s failed for good: %s", document_id, error)
            return await self.fail(document_id, revision, EMBEDDER_UNAVAILABLE)
        except PermanentEmbeddingError as error:
            logger.warning("embedding document %s refused: %s", document_id, error.reason)
            return await self.fail(document_id, revision, EMBEDDER_REFUSED)
        passages = [
            {
                "position": chunk.position,
                "heading": chunk.heading,
                "content": chunk.content,
                "embedding": [round(x, 6) for x in vector],
            }
            for chunk, vector in zip(chunks, vectors, strict=True)
        ]
        stored = await self.database.fetch_one(
            Caller.service(),
            queries["store_passages"],
            {
                "document_id": document_id,
                "revision": revision,
                "embedder": self.embedder.name,
                "passages": json.dumps(passages, separators=(",", ":")),
            },
        )
        outcome = str(stored["outcome"]) if stored else "gone"
        if outcome == "stored":
            logger.info("indexed document %s: %d passage(s)", document_id, len(passages))
            return IndexResult("stored", passages=len(passages))
        return IndexResult(outcome)

    async def fail(self, document_id: UUID, revision: int, error: str) -> IndexResult:
        row = await self.database.fetch_one(
            Caller.service(),
            queries["fail_document"],
            {"document_id": document_id, "revision": revision, "error": error},
        )
        return IndexResult(str(row["outcome"]) if row else "gone")

    async def reindex(self, *, include_current: bool = False) -> int:
        """Queue the re-indexing of documents another embedder (or a failure) left, or of
        every document; how many were queued."""
        row = await self.database.fetch_one(
            Caller.service(),
            queries["reindex"],
            {"embedder": self.embedder.name, "include_current": include_current},
        )
        return int(row["queued"]) if row else 0
