"""The knowledge module's errors: refusals of a document change (``atende.errors``
refusals, mapped to GraphQL results), and what can go wrong when embedding, sorted by
what to do next."""

from __future__ import annotations

from atende.errors import AtendeError, Forbidden, InvalidInput, NotFound


class InvalidDocument(InvalidInput):
    """A document (its title, content or file) is invalid; nothing was stored."""


class DocumentNotFound(NotFound):
    """No such document (or organization) among the caller's."""

    public_message = "Documento não encontrado."


class KnowledgeChangeForbidden(Forbidden):
    """Only the organization's owners and admins may change its knowledge base."""

    public_message = "Apenas proprietários e administradores podem alterar a base de conhecimento."


class EmbeddingError(AtendeError):
    """The embedder did not produce vectors."""

    @property
    def reason(self) -> str:
        """What went wrong, in one line, without secrets."""
        return self.message


class TransientEmbeddingError(EmbeddingError):
    """The embedder is unavailable for now; try again later."""


class PermanentEmbeddingError(EmbeddingError):
    """The embedder cannot embed this; trying again will not help."""
