"""sendMessage with files: checked against WhatsApp's kinds and limits before anything is
stored or sent, kept under the organization, and fetched by Twilio (the simulator) from a
signed link Atende serves, which refuses once it expired and for another organization."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from atende.config import Settings
from atende.media.urls import MediaFileRef, MediaUrls
from atende.services import Services
from tests import factories
from tests.channels.world import (
    TestChannel,
    fetch_one,
    make_channel,
    open_conversation,
    sender_of,
)
from tests.factories import Factory
from tests.twilio_fixtures import RunningSimulator, eventually

CUSTOMER = "+5521987654321"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 20
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"1 0 obj << >> endobj\n" * 50

SEND = """
mutation ($input: SendMessageInput!) {
  sendMessage(input: $input) {
    __typename
    ... on SendMessageSuccess {
      reply { id body status media { url contentType size fileName status } }
    }
    ... on ValidationError { field message }
    ... on UserError { message }
  }
}
"""


async def send(
    client: httpx.AsyncClient,
    user: factories.TestUser,
    conversation: uuid.UUID,
    files: list[tuple[str, bytes, str]],
    body: str = "",
) -> dict[str, Any]:
    """``sendMessage`` as a GraphQL multipart request, one upload per file."""
    fields: dict[str, Any] = {"conversationId": str(conversation), "body": body}
    if files:
        fields["attachments"] = [None] * len(files)
    operations = {"query": SEND, "variables": {"input": fields}}
    if not files:
        response = await client.post("/graphql", json=operations, headers=user.headers)
    else:
        response = await client.post(
            "/graphql",
            data={
                "operations": json.dumps(operations),
                "map": json.dumps(
                    {
                        str(index): [f"variables.input.attachments.{index}"]
                        for index in range(len(files))
                    }
                ),
            },
            files={str(index): file for index, file in enumerate(files)},
            headers=user.headers,
        )
    assert response.status_code == 200, response.text
    body_json = response.json()
    assert "errors" not in body_json, body_json
    result: dict[str, Any] = body_json["data"]["sendMessage"]
    return result


def stored_files(settings: Settings) -> list[Path]:
    root = settings.data_dir / "media"
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


async def outbound_count(services: Services) -> int:
    row = await fetch_one(
        services, "select count(*) as n from public.messages where direction = 'outbound'"
    )
    return int(row["n"])


# -- sent and fetched ----------------------------------------------------------------------


async def test_a_file_the_team_sends_is_fetched_by_twilio_from_a_signed_link(
    client: httpx.AsyncClient,
    sending_services: Services,
    sending_settings: Settings,
    twilio_simulator: RunningSimulator,
    factory: Factory,
) -> None:
    channel = await make_channel(sending_services, factory)
    conversation = await open_conversation(sending_services, channel, phone_number=CUSTOMER)
    owner = channel.organization.owner

    result = await send(
        client,
        owner,
        conversation,
        [("Cardápio de Natal.pdf", PDF, "application/pdf")],
        body="Segue o cardápio",
    )

    assert result["__typename"] == "SendMessageSuccess"
    reply = result["reply"]
    message_id = uuid.UUID(reply["id"])
    [shown] = reply["media"]
    assert shown["status"] == "STORED"
    assert (shown["contentType"], shown["size"], shown["fileName"]) == (
        "application/pdf",
        len(PDF),
        "Cardapio-de-Natal.pdf",
    )
    assert shown["url"].startswith(f"https://atende.test/media/{channel.organization.id}/")
    row = await fetch_one(
        sending_services, "select media, body from public.messages where id = %s", [message_id]
    )
    assert row["body"] == "Segue o cardápio"
    key = row["media"][0]["storage_key"]
    assert key.startswith(f"{channel.organization.id}/uploads/")

    await sender_of(sending_services).send(message_id)

    def fetched() -> bool:
        sent = twilio_simulator.simulator.messages(to=channel.address_of(CUSTOMER))
        return bool(sent) and bool(sent[0].media_fetches)

    await eventually(fetched)
    [sent] = twilio_simulator.simulator.messages(to=channel.address_of(CUSTOMER))
    assert sent.body == "Segue o cardápio"
    [link] = sent.media_urls
    assert link.startswith(
        f"{sending_settings.public_url}/media/{channel.organization.id}/{message_id}/0/"
        "Cardapio-de-Natal.pdf?expires="
    )
    [fetch] = sent.media_fetches
    assert fetch.http_status == 200
    assert fetch.content_type == "application/pdf"
    assert fetch.sha256 == hashlib.sha256(PDF).hexdigest()
    await eventually(lambda: delivered(twilio_simulator, channel))

    async with httpx.AsyncClient() as http:
        assert (await http.get(link)).content == PDF
        # Expired: the same file, signed an hour ago for a minute.
        urls = MediaUrls.from_settings(sending_settings)
        ref = MediaFileRef(channel.organization.id, message_id, 0)
        expired = urls.url(ref, "x.pdf", ttl_seconds=60, now=time.time() - 3600)
        assert (await http.get(expired)).status_code == 403
        # Another organization in the link: the signature no longer fits.
        other = await factory.organization()
        swapped = link.replace(str(channel.organization.id), str(other.id))
        assert (await http.get(swapped)).status_code == 403
        # Signed for another organization (a valid signature, another tenant): no file.
        foreign = urls.url(MediaFileRef(other.id, message_id, 0), "x.pdf")
        assert (await http.get(foreign)).status_code == 404
        # A tampered signature or position.
        tampered = link.replace("/0/", "/1/")
        assert (await http.get(tampered)).status_code == 403
        query = urlsplit(link).query
        assert (await http.get(link.replace(query, query[:-2] + "xx"))).status_code == 403


def delivered(simulator: RunningSimulator, channel: TestChannel) -> bool:
    sent = simulator.simulator.messages(to=channel.address_of(CUSTOMER))
    return bool(sent) and sent[0].status == "delivered"


async def test_a_file_twilio_cannot_fetch_fails_the_message_with_twilios_reason(
    client: httpx.AsyncClient,
    sending_services: Services,
    twilio_simulator: RunningSimulator,
    factory: Factory,
) -> None:
    channel = await make_channel(sending_services, factory)
    conversation = await open_conversation(sending_services, channel, phone_number=CUSTOMER)
    result = await send(
        client, channel.organization.owner, conversation, [("foto.jpg", JPEG, "image/jpeg")]
    )
    message_id = uuid.UUID(result["reply"]["id"])
    # The file is gone before Twilio comes for it.
    for path in stored_files(sending_services.settings):
        path.unlink()

    await sender_of(sending_services).send(message_id)

    async def failed() -> dict[str, Any]:
        return await fetch_one(
            sending_services,
            "select status::text, error_code, error_message, is_error from public.messages"
            " where id = %s",
            [message_id],
        )

    deadline = time.monotonic() + 5
    row = await failed()
    while row["status"] != "failed" and time.monotonic() < deadline:
        await eventually(lambda: True)
        row = await failed()
    assert row == {
        "status": "failed",
        "error_code": "63019",
        "error_message": "Twilio could not fetch the file from its link (expired, gone, or not"
        " what it said).",
        "is_error": True,
    }
    [sent] = twilio_simulator.simulator.messages(to=channel.address_of(CUSTOMER))
    assert sent.media_fetches[0].http_status == 404


# -- refused before anything is stored or sent ---------------------------------------------


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            [("foto.jpg", b"\xff\xd8\xff" + b"\x00" * 5_000_000, "image/jpeg")],
            "foto.jpg passa de 5 MB, o limite do WhatsApp para imagens.",
        ),
        (
            [("pagina.html", b"<html></html>", "text/html")],
            "Tipo de arquivo não aceito (text/html): envie imagens JPEG ou PNG, PDF ou áudio"
            " (OGG, MP3, AMR, AAC, M4A).",
        ),
        (
            [("a.jpg", JPEG, "image/jpeg"), ("b.jpg", JPEG, "image/jpeg")],
            "O WhatsApp leva um arquivo por mensagem: envie um de cada vez.",
        ),
        (
            [("falso.jpg", PDF, "image/jpeg")],
            "O conteúdo de falso.jpg não é de um arquivo image/jpeg.",
        ),
        ([("vazio.pdf", b"", "application/pdf")], "O arquivo vazio.pdf está vazio."),
    ],
)
async def test_files_whatsapp_would_not_carry_are_refused_before_anything_is_stored(
    client: httpx.AsyncClient,
    services: Services,
    factory: Factory,
    files: list[tuple[str, bytes, str]],
    message: str,
) -> None:
    organization = await factory.organization()
    conversation = await factory.messaging.conversation(organization)

    result = await send(client, organization.owner, conversation, files, body="Olá")

    assert result == {"__typename": "ValidationError", "field": "attachments", "message": message}
    assert stored_files(services.settings) == []
    assert await outbound_count(services) == 0


async def test_the_type_is_read_from_the_name_when_the_client_does_not_say(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    organization = await factory.organization()
    conversation = await factory.messaging.conversation(organization)

    result = await send(
        client,
        organization.owner,
        conversation,
        [("recado.ogg", b"OggS\x00\x02" + b"\x01" * 100, "application/octet-stream")],
    )

    [shown] = result["reply"]["media"]
    assert (shown["contentType"], shown["fileName"]) == ("audio/ogg", "recado.ogg")
    assert result["reply"]["body"] == ""


@pytest.mark.parametrize(
    ("contact", "typename"),
    [
        ({"opted_out": True}, "ContactOptedOut"),
        ({"inbound_hours_ago": 30}, "OutsideCustomerServiceWindow"),
    ],
)
async def test_the_window_and_opt_out_apply_and_nothing_stays_stored(
    client: httpx.AsyncClient,
    services: Services,
    factory: Factory,
    contact: dict[str, Any],
    typename: str,
) -> None:
    organization = await factory.organization()
    opted_out = contact.get("opted_out", False)
    customer = await factory.messaging.contact(organization, opted_out=opted_out)
    conversation = await factory.messaging.conversation(
        organization, contact=customer, inbound_hours_ago=contact.get("inbound_hours_ago", 0.0)
    )

    result = await send(client, organization.owner, conversation, [("a.jpg", JPEG, "image/jpeg")])

    assert result["__typename"] == typename
    assert stored_files(services.settings) == []
    assert await outbound_count(services) == 0


async def test_another_organizations_conversation_is_not_found_and_nothing_is_stored(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    mine = await factory.organization()
    theirs = await factory.organization()
    conversation = await factory.messaging.conversation(theirs)

    result = await send(client, mine.owner, conversation, [("a.jpg", JPEG, "image/jpeg")])

    assert result["__typename"] == "NotFound"
    assert stored_files(services.settings) == []


async def test_text_alone_still_needs_a_body(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    organization = await factory.organization()
    conversation = await factory.messaging.conversation(organization)

    result = await send(client, organization.owner, conversation, [], body="  ")

    assert result["__typename"] == "ValidationError"
    assert result["field"] == "body"


async def test_a_file_as_large_as_whatsapp_takes_gets_through_the_api(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    organization = await factory.organization()
    conversation = await factory.messaging.conversation(organization)
    big = b"%PDF-1.4\n" + b"0" * (16_000_000 - 9)

    result = await send(client, organization.owner, conversation, [("catalogo.pdf", big, "")])

    [shown] = result["reply"]["media"]
    assert (shown["contentType"], shown["size"]) == ("application/pdf", 16_000_000)
