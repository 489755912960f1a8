"""GraphQL types of the knowledge module: documents, their pages, and passages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from atende.graphql.context import Context, Info
from atende.graphql.ids import Node
from atende.graphql.pagination import (
    After,
    First,
    PageInfo,
    decode_time_cursor,
    encode_time_cursor,
    page_size,
)
from atende.knowledge import service
from atende.knowledge.models import DocumentStatus, Passage
from atende.knowledge.models import KnowledgeDocument as DocumentModel

DOCUMENT_CURSOR = "knowledge_document"


@strawberry.enum(description="Where a document is in its indexing.")
class KnowledgeDocumentStatus(Enum):
    PENDING = strawberry.enum_value(
        "pending", description="Stored; its passages are being made (or remade after a change)."
    )
    READY = strawberry.enum_value("ready", description="Its passages are searchable.")
    FAILED = strawberry.enum_value("failed", description="Indexing gave up; `error` says why.")


@strawberry.type(
    description="A document the assistant answers from: a menu, a price list, a policy."
)
class KnowledgeDocument:
    id: strawberry.ID = strawberry.field(description="The document's id.")
    title: str = strawberry.field(description="Its title, shown with its passages.")
    status: KnowledgeDocumentStatus = strawberry.field(description="Where its indexing is.")
    error: str | None = strawberry.field(
        description="Why indexing failed, in words for the business owner; null otherwise."
    )
    chunk_count: int = strawberry.field(description="How many passages it was split into.")
    source_format: str = strawberry.field(
        description="What it came from: `text`, `markdown`, `pdf` or `html`."
    )
    file_name: str | None = strawberry.field(description="The uploaded file's name, if any.")
    created_at: datetime = strawberry.field(description="When it was added.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_model(cls, document: DocumentModel) -> KnowledgeDocument:
        return cls(
            id=strawberry.ID(str(document.id)),
            title=document.title,
            status=KnowledgeDocumentStatus(DocumentStatus(document.status).value),
            error=document.error,
            chunk_count=document.chunk_count,
            source_format=document.source_format,
            file_name=document.file_name,
            created_at=document.created_at,
            updated_at=document.updated_at,
        )


@strawberry.type(description="The document a passage comes from.")
class KnowledgePassageDocument:
    id: strawberry.ID = strawberry.field(description="The document's id.")
    title: str = strawberry.field(description="Its title (as when the passage was used).")


@strawberry.type(description="A passage of a knowledge document, as a search found it.")
class KnowledgePassage:
    text: str = strawberry.field(description="The passage, with the headings above it.")
    score: float = strawberry.field(
        description="How well it matched (reciprocal rank fusion of the full-text and "
        "vector ranks; higher is better, comparable within one search)."
    )
    document: KnowledgePassageDocument = strawberry.field(description="Where it comes from.")

    @classmethod
    def from_passage(cls, passage: Passage) -> KnowledgePassage:
        return cls(
            text=passage_text(passage.heading, passage.content),
            score=passage.score,
            document=KnowledgePassageDocument(
                id=strawberry.ID(str(passage.document_id)), title=passage.title
            ),
        )

    @classmethod
    def from_source(cls, source: dict[str, Any]) -> KnowledgePassage:
        """One of ``ai_runs.knowledge_sources``."""
        return cls(
            text=passage_text(str(source.get("heading") or ""), str(source.get("text") or "")),
            score=float(source.get("score") or 0.0),
            document=KnowledgePassageDocument(
                id=strawberry.ID(str(source.get("document_id") or "")),
                title=str(source.get("title") or ""),
            ),
        )


def passage_text(heading: str, content: str) -> str:
    return f"{heading}\n{content}" if heading else content


@strawberry.type(description="A document in a page of documents, with its cursor.")
class KnowledgeDocumentEdge:
    cursor: str = strawberry.field(description="Where this document is in the list (opaque).")
    node: KnowledgeDocument = strawberry.field(description="The document.")


@strawberry.type(description="A page of knowledge documents, newest first.")
class KnowledgeDocumentConnection:
    edges: list[KnowledgeDocumentEdge] = strawberry.field(description="The page's documents.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")
    organization_id: strawberry.Private[UUID]

    @strawberry.field(description="How many documents the organization has.")
    async def total_count(self, info: Info) -> int:
        return await service.count_documents(await info.context.db(), self.organization_id)


async def organization_knowledge_documents(
    root: strawberry.Parent[Node],
    info: Info,
    *,
    first: First = 20,
    after: After = None,
) -> KnowledgeDocumentConnection:
    limit = page_size(first)
    before = decode_time_cursor(DOCUMENT_CURSOR, after) if after is not None else None
    organization_id = UUID(str(root.id))
    documents, more = await service.documents_page(
        await info.context.db(), organization_id, limit=limit, before=before
    )
    edges = [
        KnowledgeDocumentEdge(
            cursor=encode_time_cursor(DOCUMENT_CURSOR, document.created_at, document.id),
            node=KnowledgeDocument.from_model(document),
        )
        for document in documents
    ]
    return KnowledgeDocumentConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=more,
            has_previous_page=False,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        organization_id=organization_id,
    )


def knowledge_sources(context: Context) -> DataLoader[UUID, list[KnowledgePassage]]:
    """The passages each AI message's model request carried, by message id (one statement
    per operation; ``ai_runs`` as the caller sees them)."""

    async def load(message_ids: Sequence[UUID]) -> list[list[KnowledgePassage]]:
        conn = await context.db()
        rows = await (
            await conn.execute(
                service.queries["knowledge_sources_of_messages"],
                {"message_ids": list(message_ids)},
            )
        ).fetchall()
        found: dict[UUID, list[KnowledgePassage]] = {}
        for row in rows:
            sources = row["knowledge_sources"]
            found[row["message_id"]] = [
                KnowledgePassage.from_source(source)
                for source in (sources if isinstance(sources, list) else [])
                if isinstance(source, dict)
            ]
        return [found.get(message_id, []) for message_id in message_ids]

    return context.loader("knowledge.sources", lambda: DataLoader(load_fn=load))
