"""Documents through the GraphQL API: adding (text and uploaded files), refusals that store
nothing, roles and tenants, listing, changing and removing; indexed by a real worker and
found by ``knowledgeSearch``."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import httpx

from atende.db.session import Caller
from atende.knowledge.extraction import MAX_PDF_BYTES, MAX_TEXT_BYTES
from atende.services import Services
from tests.factories import Factory
from tests.factories import TestUser as Person
from tests.graphql.client import data, error_codes, graphql
from tests.knowledge.conftest import settled
from tests.knowledge.documents import MENU, pdf
from tests.reply_fixtures import Worker

ADD = """
mutation Add($input: AddKnowledgeDocumentInput!) {
  addKnowledgeDocument(input: $input) {
    __typename
    ... on AddKnowledgeDocumentSuccess {
      document { id title status error chunkCount sourceFormat fileName createdAt updatedAt }
    }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""

UPDATE = """
mutation Update($input: UpdateKnowledgeDocumentInput!) {
  updateKnowledgeDocument(input: $input) {
    __typename
    ... on UpdateKnowledgeDocumentSuccess { document { id title status } }
    ... on UserError { message }
  }
}
"""

REMOVE = """
mutation Remove($input: RemoveKnowledgeDocumentInput!) {
  removeKnowledgeDocument(input: $input) {
    __typename
    ... on RemoveKnowledgeDocumentSuccess { documentId }
    ... on UserError { message }
  }
}
"""

LIST = """
query List($id: ID!, $first: Int, $after: String) {
  organization(id: $id) {
    knowledgeDocuments(first: $first, after: $after) {
      totalCount
      edges { cursor node { id title status chunkCount error } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

SEARCH = """
query Search($id: ID!, $query: String!, $first: Int) {
  knowledgeSearch(organizationId: $id, query: $query, first: $first) {
    text score document { id title }
  }
}
"""


async def add_text(
    client: httpx.AsyncClient, user: Person, organization_id: UUID, title: str, content: str
) -> dict[str, Any]:
    result = (
        await data(
            client,
            ADD,
            {"input": {"organizationId": str(organization_id), "title": title, "content": content}},
            user=user,
        )
    )["addKnowledgeDocument"]
    assert isinstance(result, dict)
    return result


async def upload(
    client: httpx.AsyncClient,
    user: Person,
    organization_id: UUID,
    *,
    title: str,
    file_name: str,
    content: bytes,
    content_type: str = "application/octet-stream",
) -> dict[str, Any]:
    """``addKnowledgeDocument`` as a GraphQL multipart request (the upload spec)."""
    operations = {
        "query": ADD,
        "variables": {
            "input": {"organizationId": str(organization_id), "title": title, "file": None}
        },
    }
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": (file_name, content, content_type)},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["addKnowledgeDocument"]
    return result


async def stored_documents(services: Services) -> int:
    row = await services.database.fetch_one(
        Caller.service(), "select count(*) as n from public.knowledge_documents"
    )
    assert row is not None
    return int(row["n"])


async def test_an_owner_adds_a_document_and_a_worker_indexes_it(
    client: httpx.AsyncClient, factory: Factory, services: Services, knowledge_worker: Worker
) -> None:
    shop = await factory.organization(name="Padaria Pão da Vila")

    added = await add_text(client, shop.owner, shop.id, "Cardápio e horários", MENU)

    assert added["__typename"] == "AddKnowledgeDocumentSuccess"
    document = added["document"]
    assert (document["title"], document["status"], document["chunkCount"]) == (
        "Cardápio e horários",
        "PENDING",
        0,
    )
    row = await settled(services, UUID(document["id"]))
    assert row["status"] == "ready", row
    assert row["chunk_count"] == 5  # the introduction and four sections
    assert str(row["embedder"]).startswith("local:")

    passages = (
        await data(
            client,
            SEARCH,
            {"id": str(shop.id), "query": "qnto custa o bolo de cenora?", "first": 2},
            user=shop.owner,
        )
    )["knowledgeSearch"]
    assert "R$ 48,00" in passages[0]["text"]
    assert "Bolos" in passages[0]["text"]  # the heading is kept as context
    assert passages[0]["document"] == {"id": document["id"], "title": "Cardápio e horários"}
    assert passages[0]["score"] > 0


async def test_files_are_uploaded_as_pdf_markdown_text_and_html(
    client: httpx.AsyncClient, factory: Factory, services: Services, knowledge_worker: Worker
) -> None:
    shop = await factory.organization()
    files = [
        ("precos.pdf", pdf("Tabela de precos", "Banho de cachorro pequeno: R$ 55,00"), "pdf"),
        ("menu.md", MENU.encode(), "markdown"),
        ("aviso.txt", b"Fechamos no feriado de Natal.", "text"),
        (
            "politica.html",
            b"<html><head><style>p{}</style></head><body><h1>Trocas</h1>"
            b"<p>Trocas em at\xc3\xa9 30 dias.</p><script>alert(1)</script></body></html>",
            "html",
        ),
    ]
    ids = []
    for name, content, kind in files:
        result = await upload(
            client, shop.owner, shop.id, title=name, file_name=name, content=content
        )
        assert result["__typename"] == "AddKnowledgeDocumentSuccess", result
        assert (result["document"]["sourceFormat"], result["document"]["fileName"]) == (kind, name)
        ids.append(UUID(result["document"]["id"]))
    for document_id in ids:
        assert (await settled(services, document_id))["status"] == "ready"

    found = (
        await data(
            client,
            SEARCH,
            {"id": str(shop.id), "query": "banho de cachorro", "first": 1},
            user=shop.owner,
        )
    )["knowledgeSearch"]
    assert "R$ 55,00" in found[0]["text"]
    html = await services.database.fetch_one(
        Caller.service(),
        "select content from public.knowledge_documents where id = %s",
        [ids[3]],
    )
    assert html is not None
    assert html["content"] == "# Trocas\n\nTrocas em até 30 dias."  # no script, no style


async def test_bad_input_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    shop = await factory.organization()
    refusals: list[tuple[dict[str, Any], str]] = []
    for title, content in (("Vazio", "   \n "), ("", "texto"), ("x" * 201, "texto")):
        result = await add_text(client, shop.owner, shop.id, title, content)
        refusals.append((result, "content" if title == "Vazio" else "title"))
    for name, file_bytes in (
        ("scan.pdf", pdf(None, None)),
        ("quebrado.pdf", b"%PDF-1.4 nothing else"),
        ("planilha.xlsx", b"PK\x03\x04"),
        ("latin1.txt", "Promoção".encode("latin-1")),
        ("grande.txt", b"a" * (MAX_TEXT_BYTES + 1)),
        ("grande.pdf", b"%PDF" + b"0" * MAX_PDF_BYTES),
    ):
        result = await upload(
            client, shop.owner, shop.id, title=name, file_name=name, content=file_bytes
        )
        refusals.append((result, "file"))

    for result, field in refusals:
        assert result["__typename"] == "ValidationError", result
        assert result["field"] == field
        assert result["message"]
    messages = [result["message"] for result, _ in refusals]
    assert "O conteúdo do documento está vazio." in messages
    assert any("não tem texto que possa ser lido" in m for m in messages)
    assert any("UTF-8" in m for m in messages)
    assert any("Tipo de arquivo não aceito" in m for m in messages)
    assert any("passa de 2 MB" in m for m in messages)
    assert any("passa de 10 MB" in m for m in messages)
    assert await stored_documents(services) == 0


async def test_text_and_a_file_together_are_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    shop = await factory.organization()
    operations = {
        "query": ADD,
        "variables": {
            "input": {"organizationId": str(shop.id), "title": "Dois", "content": "a", "file": None}
        },
    }
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": ("a.txt", b"b", "text/plain")},
        headers=shop.owner.headers,
    )
    assert response.json()["data"]["addKnowledgeDocument"]["__typename"] == "ValidationError"


async def test_agents_read_only_and_other_organizations_see_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    shop = await factory.organization()
    agent = await factory.member(shop, "agent")
    admin = await factory.member(shop, "admin")
    other = await factory.organization(name="Outra")

    refused = await add_text(client, agent, shop.id, "Preços", "Bolo: R$ 48")
    assert refused["__typename"] == "Forbidden"
    foreign = await add_text(client, other.owner, shop.id, "Intruso", "texto")
    assert foreign["__typename"] == "NotFound"
    added = await add_text(client, admin, shop.id, "Preços", "Bolo de cenoura: R$ 48")
    assert added["__typename"] == "AddKnowledgeDocumentSuccess"
    document_id = added["document"]["id"]

    listed = (await data(client, LIST, {"id": str(shop.id)}, user=agent))["organization"]
    assert listed["knowledgeDocuments"]["totalCount"] == 1
    theirs = await graphql(client, LIST, {"id": str(shop.id)}, user=other.owner)
    assert theirs["data"]["organization"] is None

    for user, expected in ((agent, "Forbidden"), (other.owner, "NotFound")):
        change = await data(
            client, UPDATE, {"input": {"documentId": document_id, "title": "X"}}, user=user
        )
        assert change["updateKnowledgeDocument"]["__typename"] == expected
        removal = await data(client, REMOVE, {"input": {"documentId": document_id}}, user=user)
        assert removal["removeKnowledgeDocument"]["__typename"] == expected

    searched = await data(client, SEARCH, {"id": str(shop.id), "query": "bolo"}, user=other.owner)
    assert searched["knowledgeSearch"] == []
    anonymous = await graphql(client, SEARCH, {"id": str(shop.id), "query": "bolo"})
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]


async def test_documents_page_newest_first(client: httpx.AsyncClient, factory: Factory) -> None:
    shop = await factory.organization()
    for number in range(3):
        await add_text(client, shop.owner, shop.id, f"Documento {number}", f"Texto {number}")

    first = (await data(client, LIST, {"id": str(shop.id), "first": 2}, user=shop.owner))[
        "organization"
    ]["knowledgeDocuments"]
    assert [edge["node"]["title"] for edge in first["edges"]] == ["Documento 2", "Documento 1"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (
        await data(
            client,
            LIST,
            {"id": str(shop.id), "first": 2, "after": first["pageInfo"]["endCursor"]},
            user=shop.owner,
        )
    )["organization"]["knowledgeDocuments"]
    assert [edge["node"]["title"] for edge in rest["edges"]] == ["Documento 0"]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_changing_a_document_reindexes_it_and_removing_it_deletes_its_passages(
    client: httpx.AsyncClient, factory: Factory, services: Services, knowledge_worker: Worker
) -> None:
    shop = await factory.organization()
    added = await add_text(client, shop.owner, shop.id, "Preços", "O bolo de cenoura custa R$ 48.")
    document_id = added["document"]["id"]
    await settled(services, UUID(document_id))

    changed = await data(
        client,
        UPDATE,
        {"input": {"documentId": document_id, "content": "O bolo de cenoura custa R$ 52."}},
        user=shop.owner,
    )
    assert changed["updateKnowledgeDocument"]["document"]["status"] == "PENDING"
    row = await settled(services, UUID(document_id))
    assert (row["status"], row["revision"]) == ("ready", 2)
    found = (await data(client, SEARCH, {"id": str(shop.id), "query": "bolo"}, user=shop.owner))[
        "knowledgeSearch"
    ]
    assert [p["text"].split("\n")[-1] for p in found] == ["O bolo de cenoura custa R$ 52."]

    removed = await data(client, REMOVE, {"input": {"documentId": document_id}}, user=shop.owner)
    assert removed["removeKnowledgeDocument"] == {
        "__typename": "RemoveKnowledgeDocumentSuccess",
        "documentId": document_id,
    }
    left = await services.database.fetch_one(
        Caller.service(), "select count(*) as n from public.knowledge_passages"
    )
    assert left is not None
    assert left["n"] == 0
    assert (await data(client, SEARCH, {"id": str(shop.id), "query": "bolo"}, user=shop.owner))[
        "knowledgeSearch"
    ] == []
