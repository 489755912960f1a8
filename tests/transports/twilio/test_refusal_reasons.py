"""README's "When nothing arrives": a refused webhook says why, in the answer (what
Twilio's Console shows for error 11200) and in the API's log."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
import pytest

from atende.db.session import Caller
from atende.devtools.twilio_simulator import new_sid, post_inbound_message
from atende.services import Services
from atende.transports.twilio.webhooks import INBOUND_PATH
from tests.channels.world import PUBLIC_URL, TestChannel, make_channel, random_phone
from tests.factories import Factory

WEBHOOK_LOGGER = "atende.transports.twilio.webhooks"


@dataclass(frozen=True)
class Refusal:
    answer: str
    #: What the API logs, ``{channel}`` and ``{url}`` filled in (not checked: ``None``).
    log: str | None


WRONG_URL = "https://<random>.trycloudflare.com"
CASES = {
    "ATENDE_PUBLIC_URL is not the URL Twilio called": Refusal(
        "invalid signature",
        "refused a webhook for channel {channel}: X-Twilio-Signature does not match {url}",
    ),
    "the channel's token is wrong": Refusal(
        "invalid signature",
        "refused a webhook for channel {channel}: X-Twilio-Signature does not match {url}",
    ),
    "no channel has this number": Refusal(
        "unknown channel", "refused a webhook for an unknown channel (whatsapp:"
    ),
    "the number is another Account SID's": Refusal(
        "unknown channel", "refused a webhook for an unknown channel (whatsapp:"
    ),
    "the channel is disabled": Refusal("channel disabled", None),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_refused_webhook_says_why(
    client: httpx.AsyncClient,
    services: Services,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    channel: TestChannel = await make_channel(services, factory)
    signed_for = PUBLIC_URL
    auth_token, account_sid, to = channel.auth_token, channel.account_sid, channel.address
    if case == "ATENDE_PUBLIC_URL is not the URL Twilio called":
        signed_for = WRONG_URL
    elif case == "the channel's token is wrong":
        auth_token = "another-token-" + "x" * 20
    elif case == "no channel has this number":
        to = "whatsapp:" + random_phone()
    elif case == "the number is another Account SID's":
        account_sid = "AC" + "1" * 32
    else:
        async with services.database.transaction(Caller.service()) as conn:
            await conn.execute(
                "update public.channels set enabled = false where id = %s", [channel.id]
            )
    caplog.set_level(logging.INFO, logger=WEBHOOK_LOGGER)

    delivery = await post_inbound_message(
        f"{client.base_url}{INBOUND_PATH}",
        signed_url=f"{signed_for}{INBOUND_PATH}",
        http_client=client,
        auth_token=auth_token,
        account_sid=account_sid,
        from_=channel.address_of(random_phone()),
        to=to,
        body="Olá",
        message_sid=new_sid(),
    )

    expected = CASES[case]
    assert (delivery.status_code, delivery.response_text) == (403, expected.answer)
    if expected.log is None:
        return
    logged = [r.getMessage() for r in caplog.records if r.name == WEBHOOK_LOGGER]
    # Atende checks the signature against its own public URL, and its log names that URL.
    line = expected.log.format(channel=channel.id, url=f"{PUBLIC_URL}{INBOUND_PATH}")
    assert any(message.startswith(line) for message in logged), logged
