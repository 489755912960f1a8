"""Contacts the team manages through the API: creating one before the customer ever wrote,
changing its name, attributes and tags, the roles and tenants that may, phone numbers in
the ways people write them, and the contact list filtered by tag."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import pytest

from atende.channels.phone import InvalidPhoneNumber, normalize_phone_number
from atende.conversations.contacts.service import clean_tags
from atende.errors import InvalidInput
from tests.factories import Factory
from tests.factories import TestUser as Person
from tests.graphql.client import data
from tests.identity.test_api_keys import create_key

CREATE = """
mutation Create($input: CreateContactInput!) {
  createContact(input: $input) {
    __typename
    ... on CreateContactSuccess {
      contact { id phoneNumber displayName name attributes tags optedOut }
    }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""

UPDATE = """
mutation Update($input: UpdateContactInput!) {
  updateContact(input: $input) {
    __typename
    ... on UpdateContactSuccess { contact { id displayName name attributes tags } }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""

CONTACTS = """
query Contacts($id: ID!, $tag: String, $search: String) {
  organization(id: $id) {
    contacts(tag: $tag, search: $search, first: 50) {
      totalCount
      edges { node { phoneNumber name tags } }
    }
  }
}
"""

INBOX_CONTACTS = """
query Inbox($id: ID!) {
  organization(id: $id) {
    conversations(first: 10) { edges { node { contact { phoneNumber attributes tags } } } }
  }
}
"""


async def create(
    client: httpx.AsyncClient, user: Person, organization_id: UUID, **fields: Any
) -> dict[str, Any]:
    result = await data(
        client, CREATE, {"input": {"organizationId": str(organization_id), **fields}}, user=user
    )
    created: dict[str, Any] = result["createContact"]
    return created


async def update(
    client: httpx.AsyncClient, user: Person, contact_id: str, **fields: Any
) -> dict[str, Any]:
    result = await data(client, UPDATE, {"input": {"contactId": contact_id, **fields}}, user=user)
    updated: dict[str, Any] = result["updateContact"]
    return updated


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("+55 11 98765-4321", "+5511987654321"),
        ("(11) 98765-4321", "+5511987654321"),
        ("011 98765-4321", "+5511987654321"),
        ("0xx11 98765-4321", "+5511987654321"),
        ("11987654321", "+5511987654321"),
        ("5511987654321", "+5511987654321"),
        ("whatsapp:+5511987654321", "+5511987654321"),
        ("(81) 99876-5432", "+5581998765432"),
        ("(11) 3456-7890", "+551134567890"),  # a landline: eight digits, no 9
        ("+1 415 555 2671", "+14155552671"),
    ],
)
def test_phone_numbers_as_people_write_them_are_stored_in_e164(written: str, e164: str) -> None:
    assert normalize_phone_number(written) == e164


@pytest.mark.parametrize(
    "written",
    [
        # A mobile without its ninth digit: phonenumbers (and so Atende) refuses it, since
        # 2016 every Brazilian mobile has nine digits.
        "(11) 8765-4321",
        "+55 11 8765-4321",
        "98765-4321",  # no area code
        "+55 11 98765-43210",
        "123",
        "telefone",
    ],
)
def test_numbers_that_are_not_valid_are_refused(written: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone_number(written)


def test_tags_are_normalised_as_the_database_keeps_them() -> None:
    assert clean_tags([" VIP ", "Clientes   SP", "vip", "", "Promoção"]) == [
        "clientes sp",
        "promoção",
        "vip",
    ]
    with pytest.raises(InvalidInput):
        clean_tags(["a,b"])
    with pytest.raises(InvalidInput):
        clean_tags(["x" * 51])


async def test_a_member_creates_a_contact_who_never_wrote_and_changes_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    shop = await factory.organization()
    agent = await factory.member(shop, "agent")

    created = await create(
        client,
        agent,
        shop.id,
        phoneNumber="(11) 98765-4321",
        name="  Maria Souza ",
        attributes={"plano": "ouro", "pedidos": 3},
        tags=[" VIP ", "Clientes  SP", "vip"],
    )

    assert created["__typename"] == "CreateContactSuccess", created
    contact = created["contact"]
    assert contact["phoneNumber"] == "+5511987654321"
    assert (contact["displayName"], contact["name"]) == ("Maria Souza", "Maria Souza")
    assert contact["attributes"] == {"plano": "ouro", "pedidos": 3}
    assert contact["tags"] == ["clientes sp", "vip"]
    assert contact["optedOut"] is False

    updated = await update(
        client, shop.owner, contact["id"], attributes={"plano": "prata"}, tags=["Retorno"]
    )
    assert updated["__typename"] == "UpdateContactSuccess", updated
    assert updated["contact"]["attributes"] == {"plano": "prata"}  # replaced whole
    assert updated["contact"]["tags"] == ["retorno"]
    assert updated["contact"]["displayName"] == "Maria Souza"  # left out: unchanged

    cleared = await update(client, agent, contact["id"], name="")
    assert cleared["contact"]["displayName"] is None
    assert cleared["contact"]["name"] == "+5511987654321"
    assert cleared["contact"]["tags"] == ["retorno"]


async def test_refusals_name_their_field_and_store_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    shop = await factory.organization()
    first = await create(client, shop.owner, shop.id, phoneNumber="+55 11 98765-4321")
    assert first["__typename"] == "CreateContactSuccess"

    cases: list[tuple[dict[str, Any], str]] = [
        ({"phoneNumber": "011 98765-4321"}, "phoneNumber"),  # the same number, written otherwise
        ({"phoneNumber": "(11) 8765-4321"}, "phoneNumber"),
        ({"phoneNumber": "11 91234-5678", "tags": ["a;b"]}, "tags"),
        ({"phoneNumber": "11 91234-5678", "attributes": [1, 2]}, "attributes"),
        ({"phoneNumber": "11 91234-5678", "attributes": {"x": "y" * 9000}}, "attributes"),
        ({"phoneNumber": "11 91234-5678", "name": "n" * 201}, "name"),
    ]
    for fields, field in cases:
        refused = await create(client, shop.owner, shop.id, **fields)
        assert (refused["__typename"], refused.get("field")) == ("ValidationError", field), fields

    listed = await data(client, CONTACTS, {"id": str(shop.id)}, user=shop.owner)
    assert listed["organization"]["contacts"]["totalCount"] == 1

    changed = await update(client, shop.owner, first["contact"]["id"], tags=["x" * 51])
    assert (changed["__typename"], changed["field"]) == ("ValidationError", "tags")


async def test_another_organization_can_neither_create_nor_change_a_contact(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    shop = await factory.organization()
    other = await factory.organization(name="Outra Loja")
    mine = await create(client, shop.owner, shop.id, phoneNumber="11 98765-4321", name="Maria")

    created = await create(client, other.owner, shop.id, phoneNumber="11 91234-5678")
    assert created["__typename"] == "NotFound"
    changed = await update(client, other.owner, mine["contact"]["id"], name="Invasor")
    assert changed["__typename"] == "NotFound"
    unknown = await update(client, shop.owner, "not-an-id", name="X")
    assert unknown["__typename"] == "NotFound"

    listed = await data(client, CONTACTS, {"id": str(shop.id)}, user=shop.owner)
    assert [edge["node"]["name"] for edge in listed["organization"]["contacts"]["edges"]] == [
        "Maria"
    ]


async def test_the_contact_list_filters_by_tag(client: httpx.AsyncClient, factory: Factory) -> None:
    shop = await factory.organization()
    await create(client, shop.owner, shop.id, phoneNumber="11 98765-0001", name="Ana", tags=["vip"])
    await create(
        client, shop.owner, shop.id, phoneNumber="11 98765-0002", name="Bia", tags=["VIP", "sp"]
    )
    await create(client, shop.owner, shop.id, phoneNumber="11 98765-0003", name="Caio", tags=["sp"])

    vip = await data(client, CONTACTS, {"id": str(shop.id), "tag": " Vip "}, user=shop.owner)
    contacts = vip["organization"]["contacts"]
    assert contacts["totalCount"] == 2
    assert [edge["node"]["name"] for edge in contacts["edges"]] == ["Ana", "Bia"]

    searched = await data(
        client, CONTACTS, {"id": str(shop.id), "tag": "sp", "search": "cai"}, user=shop.owner
    )
    assert [edge["node"]["name"] for edge in searched["organization"]["contacts"]["edges"]] == [
        "Caio"
    ]
    none = await data(client, CONTACTS, {"id": str(shop.id), "tag": "nenhuma"}, user=shop.owner)
    assert none["organization"]["contacts"]["totalCount"] == 0


async def test_the_inbox_shows_a_contacts_attributes_and_tags(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    shop = await factory.organization()
    contact = await factory.messaging.contact(shop, phone_number="+5511987650000")
    await factory.messaging.conversation(shop, contact=contact)
    await update(client, shop.owner, str(contact), attributes={"pedido": "123"}, tags=["novo"])

    inbox = await data(client, INBOX_CONTACTS, {"id": str(shop.id)}, user=shop.owner)
    [edge] = inbox["organization"]["conversations"]["edges"]
    assert edge["node"]["contact"] == {
        "phoneNumber": "+5511987650000",
        "attributes": {"pedido": "123"},
        "tags": ["novo"],
    }


async def test_an_api_key_creates_and_changes_contacts_of_its_organization_alone(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    shop = await factory.organization()
    other = await factory.organization(name="Outra Loja")
    key = await create_key(client, shop, role="AGENT")

    created = await create(
        client, key.as_user(), shop.id, phoneNumber="+55 21 98765-4321", tags=["CRM"]
    )
    assert created["__typename"] == "CreateContactSuccess", created
    assert created["contact"]["phoneNumber"] == "+5521987654321"
    changed = await update(client, key.as_user(), created["contact"]["id"], name="Do CRM")
    assert changed["contact"]["name"] == "Do CRM"

    elsewhere = await create(client, key.as_user(), other.id, phoneNumber="21 98765-4321")
    assert elsewhere["__typename"] == "NotFound"
