"""The knowledge module's root mutations: adding, changing and removing documents, with
their input and result types.

A document comes as text (``content``: plain text or Markdown) or as a file (``file``: a
GraphQL multipart upload of a PDF, Markdown, plain text or HTML file). Its text is
extracted and checked here (``atende.knowledge.extraction``: limits, UTF-8, a PDF with
text) before anything is stored; a refusal is a ``ValidationError`` naming the field.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import strawberry
from strawberry.file_uploads import Upload

from atende.errors import Refusal
from atende.graphql.context import Info
from atende.graphql.ids import id_or_none
from atende.graphql.permissions import IsAuthenticated
from atende.graphql.results import ForbiddenResult, NotFound, ValidationError, refusal_result
from atende.knowledge import service
from atende.knowledge.errors import DocumentNotFound, InvalidDocument
from atende.knowledge.extraction import (
    MAX_PDF_BYTES,
    MAX_TEXT_BYTES,
    DocumentText,
    clean_title,
    from_file,
    from_text,
)
from atende.knowledge.types import KnowledgeDocument

#: Read one byte past the largest file accepted, to tell "too large" without reading more.
_READ_LIMIT = max(MAX_PDF_BYTES, MAX_TEXT_BYTES) + 1


@strawberry.input(description="A document for the organization's knowledge base.")
class AddKnowledgeDocumentInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    title: str = strawberry.field(description="Its title (1 to 200 characters).")
    content: str | None = strawberry.field(
        default=None,
        description="Its text, plain or Markdown (up to 2 MB). Give this or `file`.",
    )
    file: Upload | None = strawberry.field(
        default=None,
        description=(
            "A file instead of `content` (GraphQL multipart request): PDF with text (up to "
            "10 MB), Markdown, plain text or HTML in UTF-8 (up to 2 MB)."
        ),
    )


@strawberry.input(description="Changes to a document; fields left out stay as they are.")
class UpdateKnowledgeDocumentInput:
    document_id: strawberry.ID = strawberry.field(description="The document.")
    title: str | None = strawberry.field(default=None, description="A new title.")
    content: str | None = strawberry.field(
        default=None, description="New text (plain or Markdown), replacing the old."
    )
    file: Upload | None = strawberry.field(
        default=None, description="A new file, replacing the old text (as in adding)."
    )


@strawberry.input(description="The document to remove.")
class RemoveKnowledgeDocumentInput:
    document_id: strawberry.ID = strawberry.field(description="The document.")


@strawberry.type(description="The document was stored; its indexing is under way.")
class AddKnowledgeDocumentSuccess:
    document: KnowledgeDocument = strawberry.field(description="The document (status PENDING).")


@strawberry.type(description="The document changed; it is being indexed again.")
class UpdateKnowledgeDocumentSuccess:
    document: KnowledgeDocument = strawberry.field(description="The document (status PENDING).")


@strawberry.type(description="The document and its passages were removed.")
class RemoveKnowledgeDocumentSuccess:
    document_id: strawberry.ID = strawberry.field(description="The removed document's id.")


AddKnowledgeDocumentResult = Annotated[
    AddKnowledgeDocumentSuccess | ValidationError | ForbiddenResult | NotFound,
    strawberry.union("AddKnowledgeDocumentResult", description="The document, or why not."),
]
UpdateKnowledgeDocumentResult = Annotated[
    UpdateKnowledgeDocumentSuccess | ValidationError | ForbiddenResult | NotFound,
    strawberry.union("UpdateKnowledgeDocumentResult", description="The document, or why not."),
]
RemoveKnowledgeDocumentResult = Annotated[
    RemoveKnowledgeDocumentSuccess | ForbiddenResult | NotFound,
    strawberry.union("RemoveKnowledgeDocumentResult", description="Removed, or why not."),
]


async def _document_text(
    content: str | None, file: Upload | None, *, required: bool
) -> DocumentText | None:
    """The text given as ``content`` or ``file`` (exactly one when ``required``)."""
    if content is not None and file is not None:
        raise InvalidDocument("file", "Envie o conteúdo como texto ou como arquivo, não os dois.")
    if file is not None:
        # Strawberry types an upload as bytes; on Starlette it is an UploadFile.
        upload: Any = file
        data = await upload.read(_READ_LIMIT)
        return await asyncio.to_thread(
            from_file,
            data,
            file_name=getattr(upload, "filename", None),
            content_type=getattr(upload, "content_type", None),
        )
    if content is not None:
        return from_text(content)
    if required:
        raise InvalidDocument("content", "Envie o conteúdo do documento (texto ou arquivo).")
    return None


async def _close(file: Upload | None) -> None:
    """Close an upload's spooled temporary file, whatever became of the request."""
    if file is not None:
        upload: Any = file
        await upload.close()


def _result(error: Refusal) -> ValidationError | ForbiddenResult | NotFound:
    result = refusal_result(error)
    assert isinstance(result, ValidationError | ForbiddenResult | NotFound)
    return result


@strawberry.type
class KnowledgeMutation:
    @strawberry.mutation(
        description=(
            "Add a document to the organization's knowledge base (owners and admins; "
            "other members get Forbidden, another organization NotFound). It is indexed "
            "in the background: `status` goes from PENDING to READY (or FAILED, with "
            "`error`)."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def add_knowledge_document(
        self,
        info: Info,
        input: Annotated[
            AddKnowledgeDocumentInput,
            strawberry.argument(description="The organization, the title and the text or file."),
        ],
    ) -> AddKnowledgeDocumentResult:
        try:
            organization = id_or_none(input.organization_id)
            if organization is None:
                raise DocumentNotFound(user_message="Organização não encontrada.")
            title = clean_title(input.title)
            text = await _document_text(input.content, input.file, required=True)
            assert text is not None
            document = await service.add_document(
                await info.context.db(), organization, title, text
            )
        except Refusal as error:
            return _result(error)
        finally:
            await _close(input.file)
        return AddKnowledgeDocumentSuccess(document=KnowledgeDocument.from_model(document))

    @strawberry.mutation(
        description=("Change a document's title or text; it is indexed again (owners and admins)."),
        permission_classes=[IsAuthenticated],
    )
    async def update_knowledge_document(
        self,
        info: Info,
        input: Annotated[
            UpdateKnowledgeDocumentInput,
            strawberry.argument(description="The document and its changes."),
        ],
    ) -> UpdateKnowledgeDocumentResult:
        try:
            document_id = id_or_none(input.document_id)
            if document_id is None:
                raise DocumentNotFound()
            title = None if input.title is None else clean_title(input.title)
            text = await _document_text(input.content, input.file, required=False)
            if title is None and text is None:
                raise InvalidDocument("title", "Informe o que mudar: título, texto ou arquivo.")
            document = await service.update_document(
                await info.context.db(), document_id, title=title, document=text
            )
        except Refusal as error:
            return _result(error)
        finally:
            await _close(input.file)
        return UpdateKnowledgeDocumentSuccess(document=KnowledgeDocument.from_model(document))

    @strawberry.mutation(
        description="Remove a document and its passages (owners and admins).",
        permission_classes=[IsAuthenticated],
    )
    async def remove_knowledge_document(
        self,
        info: Info,
        input: Annotated[
            RemoveKnowledgeDocumentInput, strawberry.argument(description="The document.")
        ],
    ) -> RemoveKnowledgeDocumentResult:
        try:
            document_id = id_or_none(input.document_id)
            if document_id is None:
                raise DocumentNotFound()
            removed = await service.remove_document(await info.context.db(), document_id)
        except Refusal as error:
            result = refusal_result(error)
            assert isinstance(result, ForbiddenResult | NotFound)
            return result
        return RemoveKnowledgeDocumentSuccess(document_id=strawberry.ID(str(removed)))
