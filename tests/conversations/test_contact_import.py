"""Importing contacts from CSV through the API and a real worker: created and updated
contacts, every refused row with its line number (and then nothing written), files
refused at upload, roles and tenants, and a 5,000-row file through the job."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from atende.conversations.contacts import importer
from atende.db.session import Caller
from atende.services import Services
from tests.factories import Factory
from tests.factories import TestOrganization as Shop
from tests.factories import TestUser as Person
from tests.graphql.client import data
from tests.reply_fixtures import Worker, eventually, open_queue_app

IMPORT = """
mutation Import($input: ImportContactsInput!) {
  importContacts(input: $input) {
    __typename
    ... on ImportContactsSuccess { contactImport { id status totalRows fileName } }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""

FOLLOW = """
query Follow($org: ID!, $id: ID!) {
  organization(id: $org) {
    contactImport(id: $id) {
      id status totalRows checkedRows writtenRows created updated refusedCount error
      finishedAt
      refusals(first: 100) { line reason }
    }
  }
}
"""


@pytest.fixture
async def contacts_worker(services: Services) -> AsyncIterator[Worker]:
    """A real worker on the contacts queue for the whole test."""
    async with open_queue_app(services):
        running = Worker(services, ["contacts"])
        await running.start()
        try:
            yield running
        finally:
            await running.stop()


async def upload(
    client: httpx.AsyncClient,
    user: Person,
    organization_id: UUID,
    content: bytes,
    file_name: str = "contatos.csv",
) -> dict[str, Any]:
    """``importContacts`` as a GraphQL multipart request."""
    operations = {
        "query": IMPORT,
        "variables": {"input": {"organizationId": str(organization_id), "file": None}},
    }
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": (file_name, content, "text/csv")},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["importContacts"]
    return result


async def follow(
    client: httpx.AsyncClient, user: Person, organization_id: UUID, import_id: str
) -> dict[str, Any] | None:
    result = await data(client, FOLLOW, {"org": str(organization_id), "id": import_id}, user=user)
    found: dict[str, Any] | None = result["organization"]["contactImport"]
    return found


async def finished(
    client: httpx.AsyncClient, shop: Shop, import_id: str, timeout: float = 30.0
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        return await follow(client, shop.owner, shop.id, import_id)

    report = await eventually(
        probe, lambda found: found is not None and found["finishedAt"] is not None, timeout=timeout
    )
    assert report is not None
    return report


async def contacts_of(services: Services, organization_id: UUID) -> dict[str, dict[str, Any]]:
    rows = await services.database.fetch_all(
        Caller.service(),
        "select phone_number, display_name, attributes, tags from public.contacts"
        " where organization_id = %s",
        [organization_id],
    )
    return {row["phone_number"]: dict(row) for row in rows}


async def test_a_file_creates_new_contacts_and_updates_known_ones(
    client: httpx.AsyncClient, factory: Factory, services: Services, contacts_worker: Worker
) -> None:
    shop = await factory.organization()
    await factory.messaging.contact(shop, phone_number="+5511987650001", display_name="Ana")
    # Excel in Portuguese: UTF-8 with a BOM, semicolons, a header in its own words.
    content = (
        "\ufeffTelefone;Nome;Cidade;Etiquetas;Plano\n"
        "(11) 98765-0001;;Recife;VIP;\n"
        "+55 11 98765-0002;Bia Lima;São Paulo;vip, Promoção;ouro\n"
        "\n"
        "011 98765-0003;Caio;;;\n"
    ).encode()

    accepted = await upload(client, shop.owner, shop.id, content)

    assert accepted["__typename"] == "ImportContactsSuccess", accepted
    assert accepted["contactImport"]["status"] in {"PENDING", "CHECKING", "WRITING", "SUCCEEDED"}
    assert accepted["contactImport"]["totalRows"] == 3
    assert accepted["contactImport"]["fileName"] == "contatos.csv"
    report = await finished(client, shop, accepted["contactImport"]["id"])
    assert report["status"] == "SUCCEEDED", report
    assert (report["created"], report["updated"], report["refusedCount"]) == (2, 1, 0)
    assert (report["checkedRows"], report["writtenRows"]) == (3, 3)
    assert report["refusals"] == []

    contacts = await contacts_of(services, shop.id)
    assert contacts["+5511987650001"]["display_name"] == "Ana"  # an empty cell keeps it
    assert contacts["+5511987650001"]["attributes"] == {"Cidade": "Recife"}
    assert contacts["+5511987650001"]["tags"] == ["vip"]
    assert contacts["+5511987650002"]["display_name"] == "Bia Lima"
    assert contacts["+5511987650002"]["attributes"] == {"Cidade": "São Paulo", "Plano": "ouro"}
    assert contacts["+5511987650002"]["tags"] == ["promoção", "vip"]
    assert contacts["+5511987650003"]["attributes"] == {}

    # The file's text is not kept once the import finished.
    row = await services.database.fetch_one(
        Caller.service(),
        "select source from public.contact_imports where id = %s",
        [UUID(accepted["contactImport"]["id"])],
    )
    assert row is not None
    assert row["source"] is None


async def test_any_refused_row_refuses_the_file_and_every_one_is_reported_by_line(
    client: httpx.AsyncClient, factory: Factory, services: Services, contacts_worker: Worker
) -> None:
    shop = await factory.organization()
    content = (
        "phone,name,notes\n"  # line 1
        "11 98765-0001,Ana,ok\n"  # line 2
        "11 8765-0002,Bia,sem o nove\n"  # line 3: refused
        '11 98765-0003,Caio,"duas\nlinhas"\n'  # lines 4-5: a quoted cell spans them
        "11 98765-0001,Ana de novo,\n"  # line 6: the number of line 2
        ",Sem telefone,\n"  # line 7: refused
        "11 98765-0004,Dani,x,sobra\n"  # line 8: more cells than the header
        "11 98765-0005," + "n" * 201 + ",\n"  # line 9: name too long
    ).encode()

    accepted = await upload(client, shop.owner, shop.id, content)
    report = await finished(client, shop, accepted["contactImport"]["id"])

    assert report["status"] == "REFUSED", report
    assert [refusal["line"] for refusal in report["refusals"]] == [3, 6, 7, 8, 9]
    assert report["refusedCount"] == 5
    reasons = {refusal["line"]: refusal["reason"] for refusal in report["refusals"]}
    assert "inválido" in reasons[3]
    assert "linha 2" in reasons[6]
    assert "telefone" in reasons[7]
    assert "colunas" in reasons[8]
    assert "200" in reasons[9]
    assert (report["created"], report["updated"], report["writtenRows"]) == (0, 0, 0)
    assert await contacts_of(services, shop.id) == {}  # all or nothing: nothing


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("telefone;nome\n11 98765-0001;João\n".encode("latin-1"), "UTF-8"),
        (b"nome,cidade\nAna,Recife\n", "telefone"),
        (b"telefone,nome\n", "nenhum contato"),
        (b"", "vazio"),
        (b'telefone,nome\n"11 98765-0001,Ana\n', "CSV"),
        (b"telefone,cidade,cidade\n11 98765-0001,a,b\n", "duas vezes"),
    ],
)
async def test_a_file_that_cannot_be_read_is_refused_at_upload(
    client: httpx.AsyncClient, factory: Factory, services: Services, content: bytes, words: str
) -> None:
    shop = await factory.organization()

    refused = await upload(client, shop.owner, shop.id, content)

    assert (refused["__typename"], refused["field"]) == ("ValidationError", "file"), refused
    assert words in refused["message"]
    row = await services.database.fetch_one(
        Caller.service(), "select count(*) as n from public.contact_imports"
    )
    assert row is not None
    assert row["n"] == 0


async def test_an_import_without_a_file_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    shop = await factory.organization()

    result = await data(
        client, IMPORT, {"input": {"organizationId": str(shop.id)}}, user=shop.owner
    )

    refused = result["importContacts"]
    assert (refused["__typename"], refused["field"]) == ("ValidationError", "file")


async def test_a_file_over_the_size_limit_is_refused(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "MAX_FILE_BYTES", 1024)
    shop = await factory.organization()
    content = ("telefone\n" + "11 98765-0001\n" * 100).encode()

    refused = await upload(client, shop.owner, shop.id, content)

    assert (refused["__typename"], refused["field"]) == ("ValidationError", "file")
    assert "MB" in refused["message"]


async def test_agents_and_other_organizations_cannot_import_or_read_an_import(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    shop = await factory.organization()
    agent = await factory.member(shop, "agent")
    other = await factory.organization(name="Outra Loja")
    content = b"telefone\n11 98765-0001\n"

    assert (await upload(client, agent, shop.id, content))["__typename"] == "Forbidden"
    assert (await upload(client, other.owner, shop.id, content))["__typename"] == "NotFound"

    accepted = await upload(client, shop.owner, shop.id, content)
    import_id = accepted["contactImport"]["id"]
    assert await follow(client, shop.owner, shop.id, import_id) is not None
    assert await follow(client, agent, shop.id, import_id) is None
    assert await follow(client, other.owner, other.id, import_id) is None  # not theirs
    assert await follow(client, shop.owner, shop.id, "not-an-id") is None


async def test_a_large_file_is_imported_by_the_job_with_its_progress(
    client: httpx.AsyncClient, factory: Factory, services: Services, contacts_worker: Worker
) -> None:
    shop = await factory.organization()
    rows = 5_000
    lines = ["telefone,nome,cliente_desde,tags"]
    lines += [f"(11) 9{8_000_0000 + i:08d},Cliente {i},2024,lote" for i in range(rows)]
    content = ("\n".join(lines) + "\n").encode()

    accepted = await upload(client, shop.owner, shop.id, content)
    assert accepted["__typename"] == "ImportContactsSuccess", accepted
    report = await finished(client, shop, accepted["contactImport"]["id"], timeout=120.0)

    assert report["status"] == "SUCCEEDED", report
    assert (report["totalRows"], report["checkedRows"], report["writtenRows"]) == (
        rows,
        rows,
        rows,
    )
    assert (report["created"], report["updated"]) == (rows, 0)
    row = await services.database.fetch_one(
        Caller.service(),
        "select count(*) as n from public.contacts where organization_id = %s"
        " and tags @> array['lote'] and attributes ->> 'cliente_desde' = '2024'",
        [shop.id],
    )
    assert row is not None
    assert row["n"] == rows


async def test_a_rule_only_the_database_knows_fails_the_import_and_writes_nothing(
    client: httpx.AsyncClient, factory: Factory, services: Services, contacts_worker: Worker
) -> None:
    shop = await factory.organization()
    full = await factory.messaging.contact(shop, phone_number="+5511987650001")
    await services.database.fetch_one(
        Caller.service(),
        "update public.contacts set tags = array(select 'tag ' || lpad(n::text, 2, '0')"
        " from generate_series(1, 50) as n) where id = %s returning id",
        [full],
    )
    # Each row passes alone; the first row's contact would end with 51 tags.
    content = b"telefone,tags\n11 98765-0002,nova\n11 98765-0001,nova\n"

    accepted = await upload(client, shop.owner, shop.id, content)
    report = await finished(client, shop, accepted["contactImport"]["id"])

    assert report["status"] == "FAILED", report
    assert "Nada foi gravado" in report["error"]
    assert (report["created"], report["updated"], report["writtenRows"]) == (0, 0, 0)
    assert set(await contacts_of(services, shop.id)) == {"+5511987650001"}  # not +...0002


async def test_a_job_that_fails_for_good_marks_its_import_failed(
    client: httpx.AsyncClient,
    factory: Factory,
    contacts_worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> importer.Checked:
        raise RuntimeError("a bug")

    monkeypatch.setattr(importer, "check_rows", broken)
    shop = await factory.organization()

    accepted = await upload(client, shop.owner, shop.id, b"telefone\n11 98765-0001\n")
    report = await finished(client, shop, accepted["contactImport"]["id"])

    assert report["status"] == "FAILED", report
    assert "erro interno" in report["error"]
