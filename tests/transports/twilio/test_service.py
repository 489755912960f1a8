"""TwilioService through the official client against the simulator: typed results, and
failures that say whether to retry."""

from __future__ import annotations

import re
import socket
from datetime import datetime
from decimal import Decimal

import pytest
from pydantic import SecretStr

from atende.devtools.twilio_simulator import TwilioSimulator, create_simulator_app
from atende.transports.twilio import errors
from atende.transports.twilio.client import TwilioService
from atende.transports.twilio.http import TwilioHttpClient
from atende.transports.twilio.models import MessageStatus, TwilioCredentials, TwilioMessageResult
from tests.fakes.server import BackgroundServer
from tests.twilio_fixtures import RunningSimulator, eventually

CUSTOMER = "whatsapp:+5511987654321"
BUSINESS = "whatsapp:+14155238886"


async def test_send_returns_a_typed_result(
    twilio_service: TwilioService, twilio_credentials: TwilioCredentials
) -> None:
    result = await twilio_service.send_message(
        twilio_credentials, to=CUSTOMER, from_=BUSINESS, body="Olá! Como posso ajudar?"
    )

    assert isinstance(result, TwilioMessageResult)
    assert re.fullmatch(r"SM[0-9a-f]{32}", result.sid)
    assert result.status == MessageStatus.QUEUED
    assert (result.to, result.from_) == (CUSTOMER, BUSINESS)
    assert result.account_sid == twilio_credentials.account_sid
    assert result.body == "Olá! Como posso ajudar?"
    assert result.num_segments == 1
    assert result.num_media == 0
    assert result.error_code is None
    assert result.direction == "outbound-api"
    assert isinstance(result.date_created, datetime)
    assert result.date_created.utcoffset() is not None
    assert result.price is None


async def test_sms_segments_are_counted(
    twilio_service: TwilioService, twilio_credentials: TwilioCredentials
) -> None:
    gsm = await twilio_service.send_message(
        twilio_credentials, to="+5511987654321", from_="+15005550006", body="a" * 161
    )
    ucs2 = await twilio_service.send_message(
        twilio_credentials, to="+5511987654321", from_="+15005550006", body="ã" * 71
    )
    assert (gsm.num_segments, ucs2.num_segments) == (2, 2)


async def test_media_urls_are_sent_in_order(
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
    twilio_simulator: RunningSimulator,
) -> None:
    media = ["https://cdn.example/cardapio.pdf", "https://cdn.example/foto.jpg"]
    result = await twilio_service.send_message(
        twilio_credentials, to=CUSTOMER, from_=BUSINESS, body="Segue o cardápio", media_urls=media
    )

    assert result.num_media == 2
    (recorded,) = twilio_simulator.simulator.messages(to=CUSTOMER)
    assert recorded.media_urls == media


async def test_media_without_a_body(
    twilio_service: TwilioService, twilio_credentials: TwilioCredentials
) -> None:
    result = await twilio_service.send_message(
        twilio_credentials, to=CUSTOMER, from_=BUSINESS, media_urls=["https://cdn.example/a.jpg"]
    )
    assert result.num_media == 1


async def test_whatsapp_template(
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
    twilio_simulator: RunningSimulator,
) -> None:
    await twilio_service.send_message(
        twilio_credentials,
        to=CUSTOMER,
        from_=BUSINESS,
        content_sid="HX" + "a" * 32,
        content_variables={"1": "Maria", "2": "sexta-feira às 14h"},
    )

    (recorded,) = twilio_simulator.simulator.messages(to=CUSTOMER)
    assert recorded.content_sid == "HX" + "a" * 32
    assert recorded.content_variables == {"1": "Maria", "2": "sexta-feira às 14h"}
    assert recorded.body is None


async def test_messaging_service_instead_of_a_sender(
    twilio_service: TwilioService, twilio_credentials: TwilioCredentials
) -> None:
    result = await twilio_service.send_message(
        twilio_credentials, to=CUSTOMER, messaging_service_sid="MG" + "1" * 32, body="oi"
    )
    assert result.messaging_service_sid == "MG" + "1" * 32
    assert result.from_ is None


async def test_fetch_follows_the_message_to_delivered(
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
    twilio_simulator: RunningSimulator,
) -> None:
    sent = await twilio_service.send_message(
        twilio_credentials, to=CUSTOMER, from_=BUSINESS, body="oi"
    )
    await eventually(
        lambda: twilio_simulator.simulator.messages()[0].status == MessageStatus.DELIVERED
    )

    fetched = await twilio_service.fetch_message(twilio_credentials, sent.sid)

    assert fetched.sid == sent.sid
    assert fetched.status == MessageStatus.DELIVERED
    assert isinstance(fetched.price, Decimal)
    assert fetched.price_unit == "USD"
    assert fetched.date_sent is not None


async def test_fetching_an_unknown_message_is_permanent(
    twilio_service: TwilioService, twilio_credentials: TwilioCredentials
) -> None:
    with pytest.raises(errors.TwilioRequestRejected) as caught:
        await twilio_service.fetch_message(twilio_credentials, "SM" + "f" * 32)
    assert (caught.value.http_status, caught.value.code) == (404, 20404)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"http_status": 429, "code": 20429}, (errors.TwilioRateLimited, 429, 20429, True)),
        ({"http_status": 429}, (errors.TwilioRateLimited, 429, 20429, True)),
        ({"http_status": 500}, (errors.TwilioUnavailable, 500, 20500, True)),
        ({"http_status": 503, "code": 20503}, (errors.TwilioUnavailable, 503, 20503, True)),
        ({"code": 21610}, (errors.RecipientOptedOut, 400, 21610, False)),
        ({"code": 63016}, (errors.OutsideWhatsAppWindow, 400, 63016, False)),
        ({"code": 21211}, (errors.InvalidRecipient, 400, 21211, False)),
        ({"code": 21614}, (errors.InvalidRecipient, 400, 21614, False)),
        ({"code": 21408}, (errors.RecipientRegionNotEnabled, 400, 21408, False)),
        ({"http_status": 401}, (errors.TwilioAuthenticationFailed, 401, 20003, False)),
        ({"code": 21606}, (errors.TwilioRequestRejected, 400, 21606, False)),
        ({"http_status": 400}, (errors.TwilioRequestRejected, 400, 20001, False)),
        ({"http_status": 502}, (errors.TwilioUnavailable, 502, 20500, True)),
        ({"http_status": 403, "code": 20008}, (errors.TwilioRequestRejected, 403, 20008, False)),
    ],
)
async def test_rejections_map_to_typed_errors(
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
    twilio_simulator: RunningSimulator,
    fault: dict[str, int],
    expected: tuple[type[errors.TwilioError], int, int, bool],
) -> None:
    error_class, http_status, code, retryable = expected
    twilio_simulator.simulator.add_fault(**fault)

    with pytest.raises(error_class) as caught:
        await twilio_service.send_message(
            twilio_credentials, to=CUSTOMER, from_=BUSINESS, body="oi"
        )

    error = caught.value
    assert (error.http_status, error.code, error.retryable) == (http_status, code, retryable)
    permanent_or_not = errors.TwilioRetryableError if retryable else errors.TwilioPermanentError
    assert isinstance(error, permanent_or_not)
    assert error.more_info == f"https://www.twilio.com/docs/errors/{code}"
    assert not error.outcome_unknown
    token = twilio_credentials.auth_token.get_secret_value()
    assert token not in str(error)
    assert token not in repr(error)


async def test_twilio_message_text_is_kept(
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
    twilio_simulator: RunningSimulator,
) -> None:
    twilio_simulator.simulator.add_fault(code=21211)
    with pytest.raises(errors.InvalidRecipient, match=r"not a valid phone number"):
        await twilio_service.send_message(twilio_credentials, to=CUSTOMER, from_=BUSINESS, body="x")


async def test_a_fault_for_n_sends_then_recovers(
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
    twilio_simulator: RunningSimulator,
) -> None:
    twilio_simulator.simulator.add_fault(count=2, http_status=503)

    for _ in range(2):
        with pytest.raises(errors.TwilioUnavailable):
            await twilio_service.send_message(
                twilio_credentials, to=CUSTOMER, from_=BUSINESS, body="oi"
            )
    result = await twilio_service.send_message(
        twilio_credentials, to=CUSTOMER, from_=BUSINESS, body="oi"
    )
    assert result.status == MessageStatus.QUEUED


async def test_a_fault_for_one_recipient_only(
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
    twilio_simulator: RunningSimulator,
) -> None:
    twilio_simulator.simulator.add_fault(code=21610, to="+5511000000001", duration_seconds=60)

    await twilio_service.send_message(twilio_credentials, to=CUSTOMER, from_=BUSINESS, body="oi")
    for _ in range(2):
        with pytest.raises(errors.RecipientOptedOut):
            await twilio_service.send_message(
                twilio_credentials, to="whatsapp:+5511000000001", from_=BUSINESS, body="oi"
            )


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"from_": BUSINESS}, 21619),  # neither body, media nor template
        ({"body": "oi"}, 21603),  # no sender
        ({"from_": "+15005550006", "body": "oi"}, 21910),  # SMS sender, WhatsApp recipient
        ({"from_": BUSINESS, "body": "x" * 1601}, 21617),
        ({"from_": BUSINESS, "media_urls": [f"https://m.example/{i}" for i in range(11)]}, 21623),
    ],
)
async def test_invalid_requests_are_refused_as_twilio_refuses_them(
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
    fields: dict[str, object],
    code: int,
) -> None:
    with pytest.raises(errors.TwilioRequestRejected) as caught:
        await twilio_service.send_message(twilio_credentials, to=CUSTOMER, **fields)  # type: ignore[arg-type]
    assert (caught.value.http_status, caught.value.code) == (400, code)


async def test_nothing_listening_is_retryable_and_not_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http_client = TwilioHttpClient(base_url=f"http://127.0.0.1:{port}", timeout=2.0)
    credentials = TwilioCredentials(account_sid="AC1", auth_token=SecretStr("secret-token-xyz"))
    try:
        with pytest.raises(errors.TwilioUnreachable) as caught:
            await TwilioService(http_client).send_message(
                credentials, to=CUSTOMER, from_=BUSINESS, body="oi"
            )
    finally:
        await http_client.close()

    assert caught.value.retryable
    assert not caught.value.outcome_unknown
    assert (caught.value.code, caught.value.http_status) == (None, None)
    assert "secret-token-xyz" not in str(caught.value)


async def test_no_answer_in_time_is_retryable_with_an_unknown_outcome(
    twilio_simulator: RunningSimulator, twilio_credentials: TwilioCredentials
) -> None:
    twilio_simulator.simulator.add_fault(kind="delay", delay_seconds=1.0)
    http_client = TwilioHttpClient(base_url=twilio_simulator.base_url, timeout=0.2)
    try:
        with pytest.raises(errors.TwilioNoResponse) as caught:
            await TwilioService(http_client).send_message(
                twilio_credentials, to=CUSTOMER, from_=BUSINESS, body="oi"
            )
    finally:
        await http_client.close()

    assert caught.value.retryable
    assert caught.value.outcome_unknown


async def test_wrong_credentials_are_permanent() -> None:
    simulator = TwilioSimulator(accounts={"AC" + "1" * 32: "the-right-token-123456"})
    with BackgroundServer(create_simulator_app(simulator)) as server:
        http_client = TwilioHttpClient(base_url=server.url, timeout=2.0)
        service = TwilioService(http_client)
        wrong = TwilioCredentials(account_sid="AC" + "1" * 32, auth_token=SecretStr("wrong-token"))
        right = wrong.model_copy(update={"auth_token": SecretStr("the-right-token-123456")})
        try:
            with pytest.raises(errors.TwilioAuthenticationFailed) as caught:
                await service.send_message(wrong, to=CUSTOMER, from_=BUSINESS, body="oi")
            accepted = await service.send_message(right, to=CUSTOMER, from_=BUSINESS, body="oi")
        finally:
            await http_client.close()

    assert (caught.value.http_status, caught.value.code) == (401, 20003)
    assert accepted.status == MessageStatus.QUEUED


async def test_an_echoed_auth_token_is_scrubbed_from_the_error(
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
    twilio_simulator: RunningSimulator,
) -> None:
    token = twilio_credentials.auth_token.get_secret_value()
    twilio_simulator.simulator.add_fault(code=21606, message=f"bad request with {token} inside")

    with pytest.raises(errors.TwilioRequestRejected) as caught:
        await twilio_service.send_message(twilio_credentials, to=CUSTOMER, from_=BUSINESS, body="x")

    assert token not in str(caught.value)
    assert "[redacted]" in str(caught.value)


def test_credentials_never_show_the_token() -> None:
    credentials = TwilioCredentials(account_sid="AC1", auth_token=SecretStr("hunter2-token"))
    assert "hunter2-token" not in repr(credentials)
    assert "hunter2-token" not in str(credentials.model_dump())


@pytest.mark.parametrize(
    ("code", "error_class", "retryable"),
    [
        (63016, errors.OutsideWhatsAppWindow, False),
        (21610, errors.RecipientOptedOut, False),
        (20429, errors.TwilioRateLimited, True),
        (30008, errors.TwilioRequestRejected, False),
    ],
)
def test_status_callback_error_codes_classify_too(
    code: int, error_class: type[errors.TwilioError], retryable: bool
) -> None:
    error = errors.twilio_error(http_status=None, code=code)
    assert type(error) is error_class
    assert error.retryable is retryable
    assert error.message  # the class docstring when Twilio gave no text
