"""POST /webhooks/twilio/messages: signed deliveries are stored exactly once; everything
else is refused with a 4xx and leaves no trace."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import httpx
import pytest

from atende.db.session import Caller
from atende.devtools.twilio_simulator import inbound_message_params, new_sid
from atende.services import Services
from atende.transports.twilio.signature import SignatureAlgorithm, signature_headers
from atende.transports.twilio.webhooks import EMPTY_TWIML, INBOUND_PATH
from tests.channels.world import (
    PUBLIC_URL,
    TestChannel,
    deliver,
    fetch_all,
    fetch_one,
    make_channel,
    random_phone,
)
from tests.factories import Factory

CUSTOMER = "+5521987654321"


async def message_count(services: Services) -> int:
    return int((await fetch_one(services, "select count(*) as n from public.messages"))["n"])


async def reply_jobs(services: Services) -> list[dict[str, object]]:
    return await fetch_all(
        services,
        "select args, queueing_lock from procrastinate.procrastinate_jobs"
        " where task_name = 'conversations:generate_reply' order by id",
    )


async def test_a_signed_message_is_stored_and_answered_with_empty_twiml(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    delivery = await deliver(
        client, channel, from_=CUSTOMER, body="Vocês abrem amanhã?", profile_name="Maria"
    )

    assert delivery.status_code == 200
    assert delivery.response_text == EMPTY_TWIML
    message = await fetch_one(
        services,
        "select m.body, m.direction::text, m.status::text, m.media, m.metadata,"
        " c.phone_number, c.profile_name, cv.channel_id"
        " from public.messages m join public.conversations cv on cv.id = m.conversation_id"
        " join public.contacts c on c.id = cv.contact_id",
    )
    assert message["body"] == "Vocês abrem amanhã?"
    assert (message["direction"], message["status"]) == ("inbound", "received")
    assert message["media"] == []
    assert message["metadata"]["message_sid"] == delivery.message_sid
    assert message["metadata"]["account_sid"] == channel.account_sid
    assert message["metadata"]["wa_id"] == CUSTOMER.removeprefix("+")
    assert (message["phone_number"], message["profile_name"]) == (CUSTOMER, "Maria")
    assert message["channel_id"] == channel.id
    assert len(await reply_jobs(services)) == 1


async def test_the_answer_is_text_xml(client: httpx.AsyncClient, channel: TestChannel) -> None:
    params = inbound_message_params(
        account_sid=channel.account_sid, from_=channel.address_of(CUSTOMER), to=channel.address
    )
    url = f"{PUBLIC_URL}{INBOUND_PATH}"
    answer = await client.post(
        INBOUND_PATH,
        content=urlencode(params),
        headers={
            **signature_headers(url, params, channel.auth_token),
            "content-type": "application/x-www-form-urlencoded",
        },
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/xml")


async def test_sms_channels_work_the_same(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    sms = await make_channel(services, factory, kind="sms")
    delivery = await deliver(client, sms, from_=CUSTOMER, body="Oi")
    assert delivery.status_code == 200
    assert await message_count(services) == 1


async def test_the_sha256_signature_variant_is_accepted(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    params = inbound_message_params(
        account_sid=channel.account_sid, from_=channel.address_of(CUSTOMER), to=channel.address
    )
    headers = signature_headers(
        f"{PUBLIC_URL}{INBOUND_PATH}",
        params,
        channel.auth_token,
        algorithm=SignatureAlgorithm.HMAC_SHA256,
    )
    answer = await client.post(
        INBOUND_PATH,
        content=urlencode(params),
        headers={**headers, "content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert await message_count(services) == 1


async def test_the_signature_covers_the_query_string_of_the_public_url(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    params = inbound_message_params(
        account_sid=channel.account_sid, from_=channel.address_of(CUSTOMER), to=channel.address
    )
    path = f"{INBOUND_PATH}?source=twilio&x=%20y"
    headers = signature_headers(f"{PUBLIC_URL}{path}", params, channel.auth_token)
    form = {"content-type": "application/x-www-form-urlencoded"}

    signed = await client.post(path, content=urlencode(params), headers={**headers, **form})
    unsigned_query = await client.post(
        INBOUND_PATH, content=urlencode(params), headers={**headers, **form}
    )

    assert (signed.status_code, unsigned_query.status_code) == (200, 403)
    assert await message_count(services) == 1


@pytest.mark.parametrize(
    "tamper",
    ["wrong token", "no signature", "wrong account", "unknown number", "disabled", "body changed"],
)
async def test_refused_deliveries_store_nothing(
    client: httpx.AsyncClient, services: Services, factory: Factory, tamper: str
) -> None:
    channel = await make_channel(services, factory, enabled=tamper != "disabled")
    params = inbound_message_params(
        account_sid=channel.account_sid,
        from_=channel.address_of(CUSTOMER),
        to=channel.address,
        body="Olá",
    )
    headers = signature_headers(f"{PUBLIC_URL}{INBOUND_PATH}", params, channel.auth_token)
    if tamper == "wrong token":
        headers = signature_headers(f"{PUBLIC_URL}{INBOUND_PATH}", params, "x" * 32)
    elif tamper == "no signature":
        headers = {}
    elif tamper == "wrong account":
        params["AccountSid"] = "AC" + "1" * 32
        headers = signature_headers(f"{PUBLIC_URL}{INBOUND_PATH}", params, channel.auth_token)
    elif tamper == "unknown number":
        params["To"] = "whatsapp:" + random_phone()
        headers = signature_headers(f"{PUBLIC_URL}{INBOUND_PATH}", params, channel.auth_token)
    elif tamper == "body changed":
        params["Body"] = "Olá, transfira R$ 1000"

    answer = await client.post(
        INBOUND_PATH,
        content=urlencode(params),
        headers={**headers, "content-type": "application/x-www-form-urlencoded"},
    )

    assert answer.status_code == 403
    assert len(answer.text) < 100
    assert await message_count(services) == 0
    assert await reply_jobs(services) == []


async def test_a_channel_disabled_after_a_delivery_refuses_the_next(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    assert (await deliver(client, channel)).status_code == 200
    async with services.database.transaction(Caller.service()) as conn:
        await conn.execute("update public.channels set enabled = false where id = %s", [channel.id])
    # The API process caches channels briefly; a change made through the API forgets
    # it at once, one made behind its back (as here) within ATENDE_CHANNEL_CACHE_SECONDS.
    app_services: Services = client._transport.app.state.services  # type: ignore[attr-defined]
    app_services.transport.forget_channel(channel.id)

    assert (await deliver(client, channel)).status_code == 403
    assert await message_count(services) == 1


async def test_a_repeated_delivery_is_stored_once_and_defers_nothing_more(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    sid = new_sid()
    first = await deliver(client, channel, from_=CUSTOMER, message_sid=sid)
    again = await deliver(client, channel, from_=CUSTOMER, message_sid=sid)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.response_text == EMPTY_TWIML
    assert await message_count(services) == 1
    assert len(await reply_jobs(services)) == 1


async def test_concurrent_repeated_deliveries_store_each_message_exactly_once(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    """50 concurrent deliveries of each of 20 messages (20 customers): 20 messages, and
    one reply job per conversation."""
    messages = [(random_phone(), new_sid()) for _ in range(20)]
    deliveries = [
        deliver(client, channel, from_=phone, message_sid=sid, body=f"mensagem {sid[-4:]}")
        for phone, sid in messages
        for _ in range(50)
    ]
    statuses = [d.status_code for d in await asyncio.gather(*deliveries)]

    assert set(statuses) == {200}
    rows = await fetch_all(services, "select metadata ->> 'message_sid' as sid from messages")
    assert sorted(row["sid"] for row in rows) == sorted(sid for _, sid in messages)
    jobs = await reply_jobs(services)
    assert len(jobs) == 20
    assert len({str(job["queueing_lock"]) for job in jobs}) == 20


async def test_media_is_stored_on_the_message_and_the_body_may_be_empty(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    media = [
        ("https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM1/Media/ME1", "image/jpeg"),
        ("https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM1/Media/ME2", "audio/ogg"),
    ]
    delivery = await deliver(client, channel, body="", media=media)

    assert delivery.status_code == 200
    message = await fetch_one(services, "select body, media, metadata from public.messages")
    assert message["body"] == ""
    assert message["media"] == [{"url": url, "content_type": kind} for url, kind in media]
    assert message["metadata"]["message_type"] == "image"


async def test_only_https_media_urls_are_stored(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    kept = "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM2/Media/ME1"
    media = [
        ("javascript:alert(document.cookie)", "image/jpeg"),
        ("http://plain.example/a.jpg", "image/jpeg"),
        ("data:text/html;base64,PHNjcmlwdD4=", "text/html"),
        (kept, "image/png"),
    ]
    delivery = await deliver(client, channel, body="olha", media=media)

    assert delivery.status_code == 200
    message = await fetch_one(services, "select body, media from public.messages")
    assert message["body"] == "olha"
    assert message["media"] == [{"url": kept, "content_type": "image/png"}]


async def test_opt_out_and_back_in_through_the_webhook(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    await deliver(client, channel, from_=CUSTOMER, body="Oi")
    await deliver(client, channel, from_=CUSTOMER, body="  stop ")

    contact = await fetch_one(services, "select opted_out_at from public.contacts")
    assert contact["opted_out_at"] is not None
    # The AI does not answer an opted-out contact, and nothing can be queued to them.
    await deliver(client, channel, from_=CUSTOMER, body="quanto custa?")
    jobs = await fetch_all(
        services,
        "select count(*) as n from procrastinate.procrastinate_jobs"
        " where task_name = 'conversations:generate_reply'",
    )
    assert jobs[0]["n"] == 1  # the one from before the STOP
    conversation = await fetch_one(services, "select id from public.conversations")
    with pytest.raises(Exception, match="opted out"):
        async with services.database.transaction(Caller.service()) as conn:
            await conn.execute(
                "select private.queue_outbound_message(%s, 'ai', 'Olá')", [conversation["id"]]
            )

    await deliver(client, channel, from_=CUSTOMER, body="START")
    contact = await fetch_one(services, "select opted_out_at from public.contacts")
    assert contact["opted_out_at"] is None


async def test_twilio_opt_out_type_marks_the_contact(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    params_extra = {"OptOutType": "STOP"}
    delivery = await post_with_extra(client, channel, "Parar", params_extra)
    assert delivery == 200
    contact = await fetch_one(services, "select opted_out_at from public.contacts")
    assert contact["opted_out_at"] is not None


async def test_portuguese_keywords_opt_out_and_back_in(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    async def opted_out() -> bool:
        contact = await fetch_one(services, "select opted_out_at from public.contacts")
        return contact["opted_out_at"] is not None

    await deliver(client, channel, from_=CUSTOMER, body="Oi, quero sair do grupo")
    assert not await opted_out()  # a sentence that holds a keyword is not one
    for stop, start in [("PARAR", "VOLTAR"), (" Saír! ", "iniciar"), ("cancelar", "Voltar.")]:
        await deliver(client, channel, from_=CUSTOMER, body=stop)
        assert await opted_out(), stop
        await deliver(client, channel, from_=CUSTOMER, body=start)
        assert not await opted_out(), start
    await deliver(client, channel, from_=CUSTOMER, body="Descadastrar")
    assert await opted_out()


async def test_twilio_opt_out_type_wins_over_the_body(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    await deliver(client, channel, from_=CUSTOMER, body="PARAR")
    # Twilio says START (a keyword of the Messaging Service's own): the contact is back.
    assert await post_with_extra(client, channel, "PARAR", {"OptOutType": "START"}) == 200
    contact = await fetch_one(services, "select opted_out_at from public.contacts")
    assert contact["opted_out_at"] is None
    # HELP asks for nothing, whatever the body says.
    assert await post_with_extra(client, channel, "SAIR", {"OptOutType": "HELP"}) == 200
    contact = await fetch_one(services, "select opted_out_at from public.contacts")
    assert contact["opted_out_at"] is None


async def post_with_extra(
    client: httpx.AsyncClient, channel: TestChannel, body: str, extra: dict[str, str]
) -> int:
    params = inbound_message_params(
        account_sid=channel.account_sid,
        from_=channel.address_of(CUSTOMER),
        to=channel.address,
        body=body,
    )
    params.update(extra)
    headers = signature_headers(f"{PUBLIC_URL}{INBOUND_PATH}", params, channel.auth_token)
    answer = await client.post(
        INBOUND_PATH,
        content=urlencode(params),
        headers={**headers, "content-type": "application/x-www-form-urlencoded"},
    )
    return answer.status_code


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"NumMedia": "many"}, 400),
        ({"NumMedia": "1000000000"}, 400),
        ({"MessageSid": ""}, 400),
        ({"From": "whatsapp:not-a-number"}, 400),
        ({"From": "+5521987654321"}, 400),  # SMS sender to a WhatsApp number
        ({"Body": "x" * 10_001}, 400),
    ],
)
async def test_signed_but_malformed_deliveries_are_refused(
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    change: dict[str, str],
    status: int,
) -> None:
    assert await post_with_extra(client, channel, "Olá", change) == status
    assert await message_count(services) == 0


async def test_bad_requests_get_a_short_reason(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    json_body = await client.post(INBOUND_PATH, json={"Body": "hi"})
    no_fields = await client.post(
        INBOUND_PATH, content=b"", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    too_many = await client.post(
        INBOUND_PATH,
        content="&".join(f"f{i}=1" for i in range(1500)).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    huge = await client.post(
        INBOUND_PATH,
        content=b"Body=" + b"x" * 70_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    get = await client.get(INBOUND_PATH)

    assert json_body.status_code == 415
    assert no_fields.status_code == 400
    assert too_many.status_code == 400
    assert huge.status_code == 413
    assert get.status_code == 405
    for answer in (json_body, no_fields, too_many, huge):
        assert 0 < len(answer.text) < 100
    assert await message_count(services) == 0
