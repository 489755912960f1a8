"""The knowledge module's root query: searching an organization's knowledge base."""

from __future__ import annotations

from typing import Annotated

import strawberry

from atende.graphql.context import Info
from atende.graphql.errors import InvalidArgument
from atende.graphql.ids import id_or_none
from atende.graphql.permissions import IsAuthenticated
from atende.knowledge.search import DEFAULT_RESULTS, MAX_QUERY_CHARS, MAX_RESULTS, KnowledgeSearch
from atende.knowledge.types import KnowledgePassage


@strawberry.type
class KnowledgeQuery:
    @strawberry.field(
        description=(
            "The passages of an organization's knowledge base that best answer `query` "
            "(hybrid: Portuguese full-text search and vector similarity, fused), best "
            "first. Members of that organization only; anyone else gets an empty list."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def knowledge_search(
        self,
        info: Info,
        organization_id: Annotated[
            strawberry.ID, strawberry.argument(description="The organization.")
        ],
        query: Annotated[
            str,
            strawberry.argument(
                description=f"What to look for (up to {MAX_QUERY_CHARS} characters)."
            ),
        ],
        first: Annotated[
            int, strawberry.argument(description=f"How many passages, 1 to {MAX_RESULTS}.")
        ] = DEFAULT_RESULTS,
    ) -> list[KnowledgePassage]:
        if not 1 <= first <= MAX_RESULTS:
            raise InvalidArgument(f"`first` must be between 1 and {MAX_RESULTS}")
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidArgument(f"`query` must be at most {MAX_QUERY_CHARS} characters")
        organization = id_or_none(organization_id)
        if organization is None:
            return []
        search = info.context.get(KnowledgeSearch)
        passages = await search.search(await info.context.db(), organization, query, limit=first)
        return [KnowledgePassage.from_passage(passage) for passage in passages]
