"""What the knowledge module passes around: documents as stored, and search results."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class DocumentStatus(StrEnum):
    """Where a document is in its indexing."""

    #: Stored; its passages are being made (or remade after a change).
    PENDING = "pending"
    #: Its passages are searchable.
    READY = "ready"
    #: Indexing gave up; ``error`` says why.
    FAILED = "failed"


class KnowledgeDocument(BaseModel):
    """A document as the team sees it."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    organization_id: UUID
    title: str
    source_format: str
    file_name: str | None
    status: DocumentStatus
    error: str | None
    chunk_count: int
    embedder: str | None
    created_at: datetime
    updated_at: datetime


class SearchMode(StrEnum):
    """Which legs of the search run (the benchmark compares them; the product uses both)."""

    HYBRID = "hybrid"
    FULL_TEXT = "full_text"
    VECTOR = "vector"


class Passage(BaseModel):
    """A passage found by a search, with what made it rank."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    document_id: UUID
    title: str
    heading: str
    content: str
    #: Reciprocal rank fusion of its full-text and vector ranks (higher is better).
    score: float
    full_text_rank: int | None = None
    vector_rank: int | None = None
    similarity: float | None = None

    def as_source(self) -> dict[str, Any]:
        """What an AI run records of it (``ai_runs.knowledge_sources``)."""
        return {
            "passage_id": str(self.id),
            "document_id": str(self.document_id),
            "title": self.title,
            "heading": self.heading,
            "text": self.content,
            "score": round(self.score, 6),
        }
