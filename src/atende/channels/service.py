"""Adding and changing channels and templates, and sending a template, as the caller.

Everything runs in the caller's transaction (role ``authenticated``): row-level
security decides who may add or change what; the membership check up front only
chooses the clearer refusal (not a member: ``NotFound``; an agent: ``Forbidden``).
Each write runs in a savepoint, so a refusal leaves the operation's transaction usable.
Auth tokens are encrypted here, before anything reaches the database. A new channel, and
new credentials of one, are verified first with the transport (``verify_channel``: the
credentials work and the number is the account's), after the role check, so that only a
manager of the organization can make Atende ask Twilio anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import errors as pg_errors
from pydantic import SecretStr

from atende.channels.crypto import TokenCipher
from atende.channels.errors import ChannelAlreadyExists, SendRefused, TemplateAlreadyExists
from atende.channels.phone import InvalidPhoneNumber, normalize_phone_number
from atende.channels.transport import ChannelCandidate, MessagingTransport
from atende.db.pool import Connection
from atende.db.queries import load_queries
from atende.errors import Forbidden, InvalidInput, NotFound, Refusal

queries = load_queries("channels")

ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
TEMPLATE_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")
LANGUAGE = re.compile(r"[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?")
MANAGERS = frozenset({"owner", "admin"})
MANAGERS_ONLY = "Só proprietários e administradores podem fazer isso."


# -- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewChannel:
    organization_id: UUID
    kind: str
    phone_number: str
    twilio_account_sid: str
    twilio_auth_token: str
    display_name: str | None = None


@dataclass(frozen=True)
class ChannelChanges:
    channel_id: UUID
    display_name: str | None = None
    set_display_name: bool = False
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    enabled: bool | None = None


@dataclass(frozen=True)
class TemplateFields:
    name: str | None = None
    content_sid: str | None = None
    language: str | None = None
    variables: Sequence[tuple[str, str]] | None = None
    body: str | None = None
    set_body: bool = False


def phone_number(value: str) -> str:
    try:
        return normalize_phone_number(value)
    except InvalidPhoneNumber:
        raise InvalidInput(
            "phoneNumber", "Número de telefone inválido (use o formato +55 11 98765-4321)."
        ) from None


def account_sid(value: str) -> str:
    value = value.strip()
    if not ACCOUNT_SID.fullmatch(value):
        raise InvalidInput(
            "twilioAccountSid", "O Account SID do Twilio começa com AC e tem 34 caracteres."
        )
    return value


def auth_token(value: str) -> str:
    value = value.strip()
    if not 16 <= len(value) <= 256 or any(char.isspace() for char in value):
        raise InvalidInput("twilioAuthToken", "Auth token do Twilio inválido.")
    return value


def display_name(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value.strip()) > 120:
        raise InvalidInput("displayName", "O nome pode ter até 120 caracteres.")
    return value.strip()


def template_fields(fields: TemplateFields, *, creating: bool) -> dict[str, Any]:
    """The columns of a template's fields, checked (None: unchanged)."""
    name = fields.name.strip() if fields.name is not None else None
    if (creating or name is not None) and not (name and len(name) <= 100):
        raise InvalidInput("name", "O nome do modelo deve ter de 1 a 100 caracteres.")
    content_sid = fields.content_sid.strip() if fields.content_sid is not None else None
    if (creating or content_sid is not None) and not CONTENT_SID.fullmatch(content_sid or ""):
        raise InvalidInput("contentSid", "O ContentSid começa com HX e tem 34 caracteres.")
    language = fields.language.strip() if fields.language is not None else None
    if language is not None and not LANGUAGE.fullmatch(language):
        raise InvalidInput("language", "Idioma inválido (por exemplo pt_BR).")
    variables = None
    if fields.variables is not None:
        keys = [key.strip() for key, _ in fields.variables]
        if len(keys) > 50 or len(set(keys)) != len(keys):
            raise InvalidInput("variables", "Até 50 variáveis, cada chave uma vez só.")
        for key, name_ in fields.variables:
            if not TEMPLATE_KEY.fullmatch(key.strip()) or not 1 <= len(name_.strip()) <= 100:
                raise InvalidInput("variables", f"Variável inválida: {key[:20]!r}.")
        variables = json.dumps(
            [{"key": key.strip(), "name": name_.strip()} for key, name_ in fields.variables]
        )
    body = fields.body
    if body is not None and len(body) > 1600:
        raise InvalidInput("body", "O texto do modelo pode ter até 1.600 caracteres.")
    return {
        "name": name,
        "content_sid": content_sid,
        "language": language if language is not None else ("pt_BR" if creating else None),
        "variables": variables if variables is not None else ("[]" if creating else None),
        "body": body,
        "set_body": fields.set_body,
    }


# -- operations ---------------------------------------------------------------------------


async def caller_role(conn: Connection, organization_id: UUID) -> str | None:
    row = await (
        await conn.execute(
            queries["caller_role_in_organization"], {"organization_id": organization_id}
        )
    ).fetchone()
    return None if row is None else str(row["role"])


def require_manager(role: str | None) -> None:
    if role is None:
        raise NotFound()
    if role not in MANAGERS:
        raise Forbidden(user_message=MANAGERS_ONLY)


async def create_channel(
    conn: Connection,
    cipher: TokenCipher,
    channel: NewChannel,
    *,
    verifier: MessagingTransport | None,
) -> dict[str, Any]:
    """Add a channel as the caller. ``verifier`` (the process's transport) confirms the
    credentials and the number before anything is written; ``None`` skips that, for the
    development demo alone (made before the local Twilio simulator runs)."""
    require_manager(await caller_role(conn, channel.organization_id))
    number = phone_number(channel.phone_number)
    account = account_sid(channel.twilio_account_sid)
    params = {
        "organization_id": channel.organization_id,
        "kind": channel.kind,
        "phone_number": number,
        "display_name": display_name(channel.display_name),
        "twilio_account_sid": account,
    }
    token = auth_token(channel.twilio_auth_token)
    if verifier is not None:
        await verifier.verify_channel(
            ChannelCandidate(
                kind=channel.kind, phone_number=number, account_id=account, secret=SecretStr(token)
            )
        )
    params["twilio_auth_token_ciphertext"] = cipher.encrypt(token)
    try:
        async with conn.transaction():
            row = await (await conn.execute(queries["create_channel"], params)).fetchone()
    except pg_errors.UniqueViolation:
        raise ChannelAlreadyExists() from None
    except pg_errors.InsufficientPrivilege:
        raise Forbidden(user_message=MANAGERS_ONLY) from None
    assert row is not None
    return dict(row)


async def update_channel(
    conn: Connection,
    cipher: TokenCipher,
    changes: ChannelChanges,
    *,
    verifier: MessagingTransport | None,
) -> dict[str, Any]:
    """Change a channel as the caller. New credentials (a token, with or without another
    account SID) are verified with ``verifier`` first; another account SID alone is
    refused, since it cannot be verified without that account's token."""
    current = await (
        await conn.execute(queries["channel_by_id"], {"channel_id": changes.channel_id})
    ).fetchone()
    if current is None:
        raise NotFound()
    require_manager(current["caller_role"])
    new_account = (
        account_sid(changes.twilio_account_sid) if changes.twilio_account_sid is not None else None
    )
    params = {
        "channel_id": changes.channel_id,
        "set_display_name": changes.set_display_name,
        "display_name": display_name(changes.display_name),
        "twilio_account_sid": new_account,
        "enabled": changes.enabled,
    }
    token = auth_token(changes.twilio_auth_token) if changes.twilio_auth_token is not None else None
    if token is None and new_account is not None and new_account != current["twilio_account_sid"]:
        raise InvalidInput(
            "twilioAuthToken", "Informe o auth token da nova conta junto com o Account SID."
        )
    if token is not None and verifier is not None:
        await verifier.verify_channel(
            ChannelCandidate(
                kind=current["kind"],
                phone_number=current["phone_number"],
                account_id=new_account or current["twilio_account_sid"],
                secret=SecretStr(token),
            )
        )
    ciphertext = cipher.encrypt(token) if token is not None else None
    try:
        async with conn.transaction():
            row = await (await conn.execute(queries["update_channel"], params)).fetchone()
            if row is not None and ciphertext is not None:
                await conn.execute(
                    queries["set_channel_token"],
                    {"channel_id": changes.channel_id, "twilio_auth_token_ciphertext": ciphertext},
                )
    except pg_errors.UniqueViolation:
        raise ChannelAlreadyExists() from None
    except pg_errors.InsufficientPrivilege:
        raise Forbidden(user_message=MANAGERS_ONLY) from None
    if row is None:
        raise Forbidden(user_message=MANAGERS_ONLY)
    return dict(row)


async def _require_manager_of(conn: Connection, query: str, params: Mapping[str, Any]) -> None:
    """The row ``query`` finds is visible to the caller (else ``NotFound``), and the caller
    manages its organization (else ``Forbidden``)."""
    current = await (await conn.execute(queries[query], params)).fetchone()
    if current is None:
        raise NotFound()
    require_manager(current["caller_role"])


async def _write_template(
    conn: Connection, query: str, params: Mapping[str, Any], *, no_row: Refusal
) -> dict[str, Any]:
    """Run a template write as the caller; ``no_row`` when RLS let it change nothing."""
    try:
        async with conn.transaction():
            row = await (await conn.execute(queries[query], params)).fetchone()
    except pg_errors.UniqueViolation:
        raise TemplateAlreadyExists() from None
    except pg_errors.InsufficientPrivilege:
        raise Forbidden(user_message=MANAGERS_ONLY) from None
    if row is None:
        raise no_row
    return dict(row)


async def create_template(
    conn: Connection, channel_id: UUID, fields: TemplateFields
) -> dict[str, Any]:
    await _require_manager_of(conn, "channel_by_id", {"channel_id": channel_id})
    params = {"channel_id": channel_id, **template_fields(fields, creating=True)}
    return await _write_template(conn, "create_template", params, no_row=NotFound())


async def update_template(
    conn: Connection, template_id: UUID, fields: TemplateFields
) -> dict[str, Any]:
    await _require_manager_of(conn, "template_by_id", {"template_id": template_id})
    params = {"template_id": template_id, **template_fields(fields, creating=False)}
    return await _write_template(
        conn, "update_template", params, no_row=Forbidden(user_message=MANAGERS_ONLY)
    )


async def delete_template(conn: Connection, template_id: UUID) -> UUID:
    await _require_manager_of(conn, "template_by_id", {"template_id": template_id})
    await _write_template(
        conn,
        "delete_template",
        {"template_id": template_id},
        no_row=Forbidden(user_message=MANAGERS_ONLY),
    )
    return template_id


#: Refusals of ``send_template_message_v1`` (and the queue it calls), by constraint.
SEND_REFUSALS = {
    "contact_opted_out": "O contato pediu para não receber mensagens (opt-out).",
    "conversation_closed": "A conversa está encerrada: reabra-a antes de enviar.",
    "channel_disabled": "O canal desta conversa está desativado.",
}


async def send_template(
    conn: Connection, conversation_id: UUID, template_id: UUID, variables: Mapping[str, str]
) -> dict[str, Any]:
    """Queue an approved template in a conversation; the message as queued."""
    try:
        async with conn.transaction():
            row = await (
                await conn.execute(
                    queries["send_template"],
                    {
                        "conversation_id": conversation_id,
                        "template_id": template_id,
                        "variables": json.dumps(dict(variables), ensure_ascii=False),
                    },
                )
            ).fetchone()
    except psycopg.Error as error:
        constraint = error.diag.constraint_name
        if constraint in {"conversation_not_found", "template_not_found"}:
            raise NotFound() from None
        if constraint == "template_variables_invalid":
            raise InvalidInput("variables", _variables_message(error)) from None
        if constraint in SEND_REFUSALS:
            raise SendRefused(constraint, SEND_REFUSALS[constraint]) from None
        raise
    assert row is not None
    message = await (
        await conn.execute(queries["queued_message"], {"message_id": row["message_id"]})
    ).fetchone()
    assert message is not None
    return dict(message)


@dataclass(frozen=True)
class StartedConversation:
    conversation_id: UUID
    message_id: UUID


#: Refusals of ``start_conversation_v1`` that name an input field, by constraint.
START_FIELD_REFUSALS = {
    "phone_number_invalid": (
        "phoneNumber",
        "Informe o número de um cliente (por exemplo +55 11 98765-4321), não o do canal.",
    ),
    "template_not_found": ("templateId", "Este modelo não é um modelo aprovado deste canal."),
}


async def start_conversation(
    conn: Connection,
    channel_id: UUID,
    phone_number_text: str,
    template_id: UUID,
    variables: Mapping[str, str],
) -> StartedConversation:
    """Send an approved template to a phone number on a channel (``start_conversation_v1``),
    with the contact and the conversation made when missing.

    Raises ``InvalidInput`` (``phoneNumber``, ``templateId``, ``variables``), ``NotFound``
    (not a channel of the caller's organizations) or ``SendRefused`` (``contact_opted_out``,
    ``channel_disabled``). A refusal leaves nothing: it runs in a savepoint."""
    number = phone_number(phone_number_text)
    try:
        async with conn.transaction():
            row = await (
                await conn.execute(
                    queries["start_conversation"],
                    {
                        "channel_id": channel_id,
                        "phone_number": number,
                        "template_id": template_id,
                        "variables": json.dumps(dict(variables), ensure_ascii=False),
                    },
                )
            ).fetchone()
    except psycopg.Error as error:
        constraint = error.diag.constraint_name or ""
        if constraint == "channel_not_found":
            raise NotFound() from None
        if constraint in START_FIELD_REFUSALS:
            raise InvalidInput(*START_FIELD_REFUSALS[constraint]) from None
        if constraint == "template_variables_invalid":
            raise InvalidInput("variables", _variables_message(error)) from None
        if constraint in SEND_REFUSALS:
            raise SendRefused(constraint, SEND_REFUSALS[constraint]) from None
        raise
    assert row is not None
    return StartedConversation(row["conversation_id"], row["message_id"])


def _variables_message(error: psycopg.Error) -> str:
    detail = error.diag.message_primary or ""
    match = re.search(r"variable (\S+)", detail)
    if "needs a value" in detail and match:
        return f"Falta o valor da variável {match.group(1)}."
    if "has no variable" in detail and match:
        return f"O modelo não tem a variável {match.group(1)}."
    return "Valores de variáveis inválidos (textos de até 1.000 caracteres)."
