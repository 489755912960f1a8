"""Contacts the team and integrations manage: created by hand or by the API before the
customer ever wrote, renamed, given the business's own attributes and tags.

Every value is checked here first, so a refusal names its field
(``InvalidInput``): phone numbers go through ``atende.channels.phone`` (phonenumbers,
Brazil by default), as inbound messages' numbers do, so a contact typed as
``(11) 98765-4321`` is the one who writes from ``whatsapp:+5511987654321``. Tags are
normalised as the database keeps them (``private.normalize_contact_tags``: trimmed,
inner spaces collapsed, lower-case, distinct, sorted). The writes are SQL functions run
as the caller, which check membership; the table's constraints are the last word.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from atende.channels.phone import InvalidPhoneNumber, normalize_phone_number
from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.errors import InvalidInput, NotFound

queries = load_queries("contacts")

MAX_NAME_LENGTH = 200
MAX_TAGS = 50
MAX_TAG_LENGTH = 50
MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_KEY_LENGTH = 100
#: The attributes as JSON text, at most: the table allows 16 kB stored (jsonb may take a
#: little more than its text), and a CRM's fields need far less.
MAX_ATTRIBUTES_BYTES = 8_000

INVALID_PHONE = (
    "Número de telefone inválido. Use o DDD e o número, por exemplo (11) 98765-4321, "
    "ou o formato internacional, +55 11 98765-4321."
)


class ContactNotFound(NotFound):
    public_message = "Contato não encontrado."


class OrganizationNotFound(NotFound):
    public_message = "Organização não encontrada."


def clean_phone_number(text: str, field: str = "phoneNumber") -> str:
    """``text`` in E.164, or ``InvalidInput`` on ``field``."""
    try:
        return normalize_phone_number(text)
    except InvalidPhoneNumber:
        raise InvalidInput(field, INVALID_PHONE) from None


def clean_name(text: str | None, field: str = "name") -> str | None:
    """The name trimmed (``""`` stays ``""``: clearing it), or ``InvalidInput``."""
    if text is None:
        return None
    name = text.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(field, f"O nome pode ter até {MAX_NAME_LENGTH} caracteres.")
    if any(ord(character) < 32 for character in name):
        raise InvalidInput(
            field, "O nome não pode ter quebras de linha nem caracteres de controle."
        )
    return name


def normalize_tag(tag: str) -> str:
    """One tag as the database keeps it (``private.normalize_contact_tags``)."""
    return " ".join(tag.split()).lower()


def clean_tags(tags: Sequence[str], field: str = "tags") -> list[str]:
    """The tags normalised, distinct and sorted, or ``InvalidInput`` on ``field``."""
    cleaned = sorted({normalize_tag(tag) for tag in tags} - {""})
    if len(cleaned) > MAX_TAGS:
        raise InvalidInput(field, f"Um contato pode ter até {MAX_TAGS} etiquetas.")
    for tag in cleaned:
        if len(tag) > MAX_TAG_LENGTH:
            raise InvalidInput(field, f"Cada etiqueta pode ter até {MAX_TAG_LENGTH} caracteres.")
        if "," in tag or ";" in tag or any(ord(character) < 32 for character in tag):
            raise InvalidInput(
                field, "Uma etiqueta não pode ter vírgula, ponto e vírgula nem quebra de linha."
            )
    return cleaned


def clean_attributes(value: object, field: str = "attributes") -> dict[str, Any]:
    """A JSON object of at most ``MAX_ATTRIBUTES`` keys and ``MAX_ATTRIBUTES_BYTES``, or
    ``InvalidInput`` on ``field``."""
    if not isinstance(value, Mapping):
        raise InvalidInput(field, 'Os atributos devem ser um objeto JSON, como {"plano": "ouro"}.')
    attributes = dict(value)
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidInput(field, f"Um contato pode ter até {MAX_ATTRIBUTES} atributos.")
    for key in attributes:
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_ATTRIBUTE_KEY_LENGTH:
            raise InvalidInput(
                field,
                f"O nome de cada atributo deve ter de 1 a {MAX_ATTRIBUTE_KEY_LENGTH} caracteres.",
            )
    text = json.dumps(attributes, ensure_ascii=False)
    if len(text.encode()) > MAX_ATTRIBUTES_BYTES:
        raise InvalidInput(
            field, f"Os atributos de um contato podem ter até {MAX_ATTRIBUTES_BYTES} bytes em JSON."
        )
    if "\\u0000" in text:
        raise InvalidInput(field, "Os atributos não podem conter o caractere nulo.")
    return attributes


async def create_contact(
    conn: Connection,
    organization_id: UUID,
    *,
    phone_number: str,
    name: str | None,
    attributes: dict[str, Any],
    tags: list[str],
) -> UUID:
    """Add a contact to the organization, as the caller (any member)."""
    row = await (
        await conn.execute(
            queries["create_contact"],
            {
                "organization_id": organization_id,
                "phone_number": phone_number,
                "display_name": name,
                "attributes": Jsonb(attributes),
                "tags": tags,
            },
        )
    ).fetchone()
    outcome = row["outcome"] if row else "not_found"
    if outcome == "exists":
        raise InvalidInput("phoneNumber", "Este número já é um contato desta organização.")
    if outcome != "created" or row is None:
        raise OrganizationNotFound()
    return UUID(str(row["id"]))


async def update_contact(
    conn: Connection,
    contact_id: UUID,
    *,
    name: str | None,
    attributes: dict[str, Any] | None,
    tags: list[str] | None,
) -> UUID:
    """Change a contact, as the caller (any member); ``None`` leaves a field as it is."""
    row = await (
        await conn.execute(
            queries["update_contact"],
            {
                "contact_id": contact_id,
                "display_name": name,
                "attributes": Jsonb(attributes) if attributes is not None else None,
                "tags": tags,
            },
        )
    ).fetchone()
    if row is None or row["outcome"] != "updated":
        raise ContactNotFound()
    return contact_id
