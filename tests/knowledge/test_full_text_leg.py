"""The search's full-text leg runs as its owner (``private.knowledge_full_text_matches_v1``,
20261207002400) so the full-text index serves members: it must still answer members of
the organization and the platform (the reply job, on its service_role session), and
nobody else."""

from __future__ import annotations

from uuid import UUID

import httpx

from atende.db.session import Caller
from atende.knowledge.models import SearchMode
from atende.services import Services
from tests.factories import Factory
from tests.knowledge.conftest import settled
from tests.knowledge.documents import MENU
from tests.knowledge.test_documents import add_text
from tests.reply_fixtures import Worker

QUESTION = "qnto custa o bolo de cenora?"


async def test_the_full_text_leg_answers_members_and_the_platform_only(
    client: httpx.AsyncClient, factory: Factory, services: Services, knowledge_worker: Worker
) -> None:
    shop = await factory.organization()
    other = await factory.organization()
    agent = await factory.member(shop)
    added = await add_text(client, shop.owner, shop.id, "Cardápio", MENU)
    assert (await settled(services, UUID(added["document"]["id"])))["status"] == "ready"
    search = services.knowledge_search

    async def full_text_as(claims: dict[str, object]) -> list[str]:
        async with services.database.transaction(Caller.user(claims)) as conn:
            found = await search.search(conn, shop.id, QUESTION, mode=SearchMode.FULL_TEXT)
        return [passage.content for passage in found]

    members = await full_text_as(agent.claims)
    assert members, "a member's full-text search found nothing"
    assert "R$ 48,00" in members[0]
    assert await full_text_as(other.owner.claims) == []

    # The reply job's search: hybrid, on the service pool's sessions; the passage must
    # have come through the full-text leg too, not through the vectors alone.
    platform = await search.search_as_platform(shop.id, QUESTION)
    assert platform, "the platform's search found nothing"
    assert "R$ 48,00" in platform[0].content
    assert platform[0].full_text_rank == 1
