"""Knowledge in the reply: the model request carries the passages that answer the customer
(one model call), each AI message records them (``Message.knowledgeSources``), and an
agent that answers only from knowledge hands over when nothing is found."""

from __future__ import annotations

from uuid import UUID

import httpx
import pytest

from atende.ai.client import knowledge_message
from atende.ai.models import KNOWLEDGE_HEADER, AgentPrompt, KnowledgeExcerpt
from atende.ai.replies import NOTHING_IN_KNOWLEDGE_REASON, NOTHING_IN_KNOWLEDGE_TEXT
from atende.db.session import Caller
from atende.devtools.demo_model import demo_reply_text
from atende.knowledge.embeddings import LocalEmbedder
from atende.knowledge.extraction import from_text
from atende.knowledge.service import Indexer, add_document
from atende.services import Services
from tests.factories import ReplyFactory
from tests.fakes.openai_server import FakeOpenAI, RecordedRequest, TextReply
from tests.graphql.client import data
from tests.knowledge.documents import MENU
from tests.reply_fixtures import Inspector, Shop, Worker

HISTORY = """
query History($id: ID!) {
  conversation(id: $id) {
    messages(first: 10) {
      edges { node { author body knowledgeSources { text score document { id title } } } }
    }
  }
}
"""

AGENT = """
mutation Configure($input: UpdateAgentInput!) {
  updateAgent(input: $input) {
    __typename
    ... on UpdateAgentSuccess {
      agent { knowledgeEnabled knowledgePassages answerOnlyFromKnowledge }
    }
    ... on ValidationError { field message }
  }
}
"""


async def knowledge_for(services: Services, shop: Shop) -> UUID:
    """The shop's menu, indexed with the built-in embedder."""
    owner = shop.organization.owner
    async with services.database.transaction(Caller.user(owner.claims)) as conn:
        document = await add_document(conn, shop.organization.id, "Cardápio", from_text(MENU))
    indexer = Indexer(database=services.database, embedder=LocalEmbedder())
    assert (await indexer.index_document(document.id)).outcome == "stored"
    return document.id


def knowledge_of(request: RecordedRequest) -> str | None:
    texts = [
        str(m.get("content"))
        for m in request.messages
        if m.get("role") == "system" and str(m.get("content")).startswith(KNOWLEDGE_HEADER)
    ]
    return texts[0] if texts else None


async def test_the_model_request_carries_the_passages_that_answer(
    *,
    shop: Shop,
    replies: ReplyFactory,
    services: Services,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
    client: httpx.AsyncClient,
) -> None:
    document_id = await knowledge_for(services, shop)
    await replies.configure_agent(shop.organization.id, knowledge_passages=2)
    fake_openai.script(TextReply("O bolo de cenoura inteiro custa R$ 48,00."))

    ingested = await replies.inbound(shop.channel, "oi! qnto ta o bolo de cenora inteiro?")

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["replied"]
    [request] = fake_openai.requests  # one model call answers
    knowledge = knowledge_of(request)
    assert knowledge is not None
    assert '<trecho 1: documento "Cardápio", seção Padaria Pão da Vila > Bolos>' in knowledge
    assert "R$ 48,00" in knowledge.split("</trecho 1>")[0]
    assert 1 <= knowledge.count("<trecho ") <= 2  # the agent's knowledgePassages, at most
    assert request.messages[0]["content"] == "Você é a assistente da Padaria Pão Quente."
    assert request.user_texts == ["oi! qnto ta o bolo de cenora inteiro?"]

    history = await data(
        client, HISTORY, {"id": str(ingested.conversation_id)}, user=shop.organization.owner
    )
    nodes = [edge["node"] for edge in history["conversation"]["messages"]["edges"]]
    customer = next(node for node in nodes if node["author"] == "CONTACT")
    answer = next(node for node in nodes if node["author"] == "AI")
    assert customer["knowledgeSources"] is None
    assert len(answer["knowledgeSources"]) == knowledge.count("<trecho ")
    first = answer["knowledgeSources"][0]
    assert "R$ 48,00" in first["text"]
    assert first["document"] == {"id": str(document_id), "title": "Cardápio"}
    assert first["score"] > 0


async def test_nothing_found_hands_over_when_the_agent_answers_only_from_knowledge(
    *,
    shop: Shop,
    replies: ReplyFactory,
    services: Services,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    await knowledge_for(services, shop)
    await replies.configure_agent(shop.organization.id, answer_only_from_knowledge=True)

    ingested = await replies.inbound(shop.channel, "vcs consertam pneu de caminhão?")

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["handoff"]
    assert fake_openai.requests == []  # the model was not asked to guess
    [notice] = await inspect.outbound(ingested.conversation_id)
    assert notice["body"].startswith(NOTHING_IN_KNOWLEDGE_TEXT)
    assert notice["metadata"]["handoff_reason"] == NOTHING_IN_KNOWLEDGE_REASON
    assert (await inspect.conversation(ingested.conversation_id))["status"] == "handoff"


async def test_found_passages_with_answer_only_tell_the_model_to_hand_over_otherwise(
    *,
    shop: Shop,
    replies: ReplyFactory,
    services: Services,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    await knowledge_for(services, shop)
    await replies.configure_agent(shop.organization.id, answer_only_from_knowledge=True)
    fake_openai.script(TextReply("Aceitamos Pix."))

    ingested = await replies.inbound(shop.channel, "aceitam pix?")

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["replied"]
    knowledge = knowledge_of(fake_openai.requests[0])
    assert knowledge is not None
    assert "Responda somente com o que estes trechos dizem" in knowledge
    assert "handoff_to_human" in knowledge


async def test_no_knowledge_when_the_agent_has_it_off_or_the_business_has_none(
    *,
    shop: Shop,
    replies: ReplyFactory,
    services: Services,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    first = await replies.inbound(
        shop.channel, "qual o preço do bolo?", from_number="+5521900000001"
    )
    assert await inspect.settled_outcomes(first.conversation_id, 1) == ["replied"]
    await knowledge_for(services, shop)
    await replies.configure_agent(shop.organization.id, knowledge_enabled=False)
    second = await replies.inbound(
        shop.channel, "qual o preço do bolo?", from_number="+5521900000002"
    )
    assert await inspect.settled_outcomes(second.conversation_id, 1) == ["replied"]

    assert [knowledge_of(request) for request in fake_openai.requests] == [None, None]
    runs = await inspect.rows("select knowledge_sources from public.ai_runs")
    assert [run["knowledge_sources"] for run in runs] == [None, None]


async def test_the_agent_settings_change_through_the_api(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    owner = shop.organization.owner
    changed = await data(
        client,
        AGENT,
        {
            "input": {
                "organizationId": str(shop.organization.id),
                "knowledgeEnabled": False,
                "knowledgePassages": 6,
                "answerOnlyFromKnowledge": True,
            }
        },
        user=owner,
    )
    assert changed["updateAgent"]["agent"] == {
        "knowledgeEnabled": False,
        "knowledgePassages": 6,
        "answerOnlyFromKnowledge": True,
    }
    refused = await data(
        client,
        AGENT,
        {"input": {"organizationId": str(shop.organization.id), "knowledgePassages": 11}},
        user=owner,
    )
    assert refused["updateAgent"]["__typename"] == "ValidationError"
    assert refused["updateAgent"]["field"] == "knowledgePassages"


def test_the_demo_model_answers_with_the_first_passage_it_was_given() -> None:
    prompt = AgentPrompt(
        system_prompt="x",
        knowledge=(
            KnowledgeExcerpt(title="Cardápio", heading="Cardápio > Bolos", text="Cenoura: R$ 48"),
            KnowledgeExcerpt(title="Cardápio", heading="Cardápio > Pães", text="Francês: R$ 19"),
        ),
    )

    reply = demo_reply_text("quanto é o bolo?", knowledge_message(prompt))

    assert "Na base de conhecimento (documento “Cardápio”) encontrei: “Cenoura: R$ 48”" in reply
    assert "quanto é o bolo?" in reply
    assert "R$ 19" not in reply


@pytest.mark.parametrize(
    "knowledge_settings",
    [{"embeddings": "text-embedding-3-small", "model_timeout_seconds": 0.5}],
    indirect=True,
)
async def test_an_embedder_that_fails_leaves_the_reply_without_knowledge(
    *,
    shop: Shop,
    replies: ReplyFactory,
    services: Services,
    worker: Worker,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    # The passages exist, but the configured embeddings model (at the chat-only fake
    # server, which has no /embeddings) cannot embed the question.
    await knowledge_for(services, shop)
    fake_openai.script(TextReply("Temos bolo, sim."))

    ingested = await replies.inbound(shop.channel, "tem bolo de cenoura?")

    assert await inspect.settled_outcomes(ingested.conversation_id, 1) == ["replied"]
    assert knowledge_of(fake_openai.requests[-1]) is None
