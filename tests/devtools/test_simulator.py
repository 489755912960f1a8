"""The simulator: signed status callbacks, its control API, bounds, and inbound webhooks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from atende.devtools.twilio_simulator import (
    MAX_FAULTS,
    FaultSpec,
    SimulatedMessage,
    SimulatorState,
    inbound_message_params,
    post_inbound_message,
)
from atende.transports.twilio import errors
from atende.transports.twilio.client import TwilioService
from atende.transports.twilio.models import (
    MessageStatus,
    TwilioCredentials,
    TwilioInboundMessage,
    TwilioStatusCallback,
)
from atende.transports.twilio.signature import (
    SIGNATURE_HEADER,
    is_valid_webhook,
    verify_webhook_signature,
)
from tests.twilio_fixtures import RunningSimulator, WebhookReceiver, eventually

CUSTOMER = "whatsapp:+5511987654321"
BUSINESS = "whatsapp:+14155238886"


async def _send(
    service: TwilioService,
    credentials: TwilioCredentials,
    receiver: WebhookReceiver,
    *,
    to: str = CUSTOMER,
    from_: str = BUSINESS,
    body: str = "Seu pedido saiu para entrega.",
) -> str:
    result = await service.send_message(
        credentials,
        to=to,
        from_=from_,
        body=body,
        status_callback=receiver.url("/webhooks/twilio/status"),
    )
    return result.sid


# -- status callbacks -------------------------------------------------------------------


async def test_status_callbacks_arrive_signed_in_order(
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
    webhook_receiver: WebhookReceiver,
) -> None:
    sid = await _send(twilio_service, twilio_credentials, webhook_receiver)
    await eventually(lambda: len(webhook_receiver.requests()) == 2)

    token = twilio_credentials.auth_token.get_secret_value()
    callbacks = webhook_receiver.requests()
    for received in callbacks:
        assert received.headers["content-type"] == "application/x-www-form-urlencoded"
        verify_webhook_signature(
            url=received.url, params=received.form, headers=received.headers, auth_token=token
        )
        assert not is_valid_webhook(
            url=received.url,
            params=received.form,
            headers=received.headers,
            auth_token="another-token",
        )
    statuses = [TwilioStatusCallback.from_form(r.form) for r in callbacks]
    assert [s.message_status for s in statuses] == [MessageStatus.SENT, MessageStatus.DELIVERED]
    assert {s.message_sid for s in statuses} == {sid}
    assert statuses[0].account_sid == twilio_credentials.account_sid
    assert (statuses[0].to, statuses[0].from_) == (CUSTOMER, BUSINESS)
    assert statuses[0].channel_prefix == "whatsapp"
    assert statuses[0].error_code is None


async def test_sms_delivery_callback_carries_the_carrier_receipt_date(
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
    webhook_receiver: WebhookReceiver,
) -> None:
    await _send(
        twilio_service,
        twilio_credentials,
        webhook_receiver,
        to="+5511987654321",
        from_="+15005550006",
    )
    await eventually(lambda: len(webhook_receiver.requests()) == 2)

    delivered = webhook_receiver.requests()[1].params
    assert delivered["MessageStatus"] == "delivered"
    assert len(delivered["RawDlrDoneDate"]) == 10
    assert "ChannelPrefix" not in delivered


@pytest.mark.parametrize(
    "case", [("failed", ["failed"]), ("undelivered", ["sent", "undelivered"])], ids=str
)
async def test_failed_delivery_is_reported_with_the_error_code(
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
    twilio_simulator: RunningSimulator,
    webhook_receiver: WebhookReceiver,
    case: tuple[str, list[str]],
) -> None:
    delivery_status, expected = case
    twilio_simulator.simulator.add_fault(
        kind="fail_delivery", code=63016, delivery_status=delivery_status
    )
    sid = await _send(twilio_service, twilio_credentials, webhook_receiver)
    await eventually(lambda: len(webhook_receiver.requests()) == len(expected))
    await asyncio.sleep(0.05)  # nothing more follows

    callbacks = [TwilioStatusCallback.from_form(r.form) for r in webhook_receiver.requests()]
    assert [c.message_status for c in callbacks] == expected
    assert callbacks[-1].error_code == 63016
    error = errors.twilio_error(http_status=None, code=callbacks[-1].error_code)
    assert isinstance(error, errors.OutsideWhatsAppWindow)
    fetched = await twilio_service.fetch_message(twilio_credentials, sid)
    assert (fetched.status, fetched.error_code) == (delivery_status, 63016)
    assert fetched.error_message is not None


async def test_callback_outcomes_are_recorded_even_when_the_receiver_fails(
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
    twilio_simulator: RunningSimulator,
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.status_code = 500
    await _send(twilio_service, twilio_credentials, webhook_receiver)

    def both_attempted() -> bool:
        return len(twilio_simulator.simulator.messages()[0].callbacks) == 2

    await eventually(both_attempted)
    (message,) = twilio_simulator.simulator.messages()
    assert [(a.status, a.http_status) for a in message.callbacks] == [
        ("sent", 500),
        ("delivered", 500),
    ]


async def test_an_unreachable_callback_url_does_not_stop_delivery(
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
    twilio_simulator: RunningSimulator,
) -> None:
    await twilio_service.send_message(
        twilio_credentials,
        to=CUSTOMER,
        from_=BUSINESS,
        body="oi",
        status_callback="http://127.0.0.1:9/status",
    )

    def both_attempted() -> bool:
        return len(twilio_simulator.simulator.messages()[0].callbacks) == 2

    await eventually(both_attempted)
    (message,) = twilio_simulator.simulator.messages()
    assert message.status == MessageStatus.DELIVERED
    assert [a.status for a in message.callbacks] == ["sent", "delivered"]
    assert all(a.error and a.http_status is None for a in message.callbacks)


# -- control API ------------------------------------------------------------------------


async def test_control_api(
    twilio_simulator: RunningSimulator,
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
) -> None:
    async with httpx.AsyncClient(base_url=twilio_simulator.base_url) as control:
        created = await control.post(
            "/__simulator/faults", json={"count": 2, "http_status": 429, "code": 20429}
        )
        assert created.status_code == 201
        assert created.json()["remaining"] == 2
        assert len((await control.get("/__simulator/faults")).json()["faults"]) == 1

        for _ in range(2):
            with pytest.raises(errors.TwilioRateLimited):
                await twilio_service.send_message(
                    twilio_credentials, to=CUSTOMER, from_=BUSINESS, body="oi"
                )
        assert (await control.get("/__simulator/faults")).json()["faults"] == []

        await twilio_service.send_message(twilio_credentials, to=CUSTOMER, from_=BUSINESS, body="1")
        await twilio_service.send_message(
            twilio_credentials, to="whatsapp:+5511000000002", from_=BUSINESS, body="2"
        )
        listed = (await control.get("/__simulator/messages", params={"to": CUSTOMER})).json()
        assert [m["body"] for m in listed["messages"]] == ["1"]
        assert listed["messages"][0]["from"] == BUSINESS
        assert (await control.get("/__simulator")).json()["messages"] == 2

        assert (await control.post("/__simulator/faults", json={"count": 0})).status_code == 422
        assert (await control.post("/__simulator/faults", json={"nope": 1})).status_code == 422
        await control.post("/__simulator/faults", json={"duration_seconds": 60})
        assert (await control.delete("/__simulator/faults")).status_code == 204
        assert (await control.get("/__simulator/faults")).json()["faults"] == []

        await control.post("/__simulator/faults", json={"code": 21610})
        assert (await control.post("/__simulator/reset")).status_code == 204
        summary = (await control.get("/__simulator")).json()
        assert (summary["messages"], summary["faults"]) == (0, 0)


async def test_a_fault_for_a_duration_expires(
    twilio_simulator: RunningSimulator,
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
) -> None:
    twilio_simulator.simulator.add_fault(http_status=500, duration_seconds=0.2)
    for _ in range(3):
        with pytest.raises(errors.TwilioUnavailable):
            await twilio_service.send_message(
                twilio_credentials, to=CUSTOMER, from_=BUSINESS, body="x"
            )
    await asyncio.sleep(0.25)
    await twilio_service.send_message(twilio_credentials, to=CUSTOMER, from_=BUSINESS, body="x")


async def test_concurrent_sends_consume_a_fault_exactly_count_times(
    twilio_simulator: RunningSimulator,
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
) -> None:
    twilio_simulator.simulator.add_fault(count=5, code=21610)

    outcomes = await asyncio.gather(
        *(
            twilio_service.send_message(
                twilio_credentials, to=CUSTOMER, from_=BUSINESS, body=f"m{i}"
            )
            for i in range(20)
        ),
        return_exceptions=True,
    )

    failures = [o for o in outcomes if isinstance(o, errors.RecipientOptedOut)]
    sids = {o.sid for o in outcomes if not isinstance(o, BaseException)}
    assert (len(failures), len(sids)) == (5, 15)
    assert {m.sid for m in twilio_simulator.simulator.messages()} == sids


def test_recorded_messages_are_bounded() -> None:
    state = SimulatorState(max_messages=3)
    now = datetime.now(UTC)
    for index in range(5):
        state.record(
            SimulatedMessage(
                sid=f"SM{index}", account_sid="AC1", to=CUSTOMER, date_created=now, date_updated=now
            )
        )
    assert [m.sid for m in state.messages()] == ["SM2", "SM3", "SM4"]
    assert state.advance("SM0", MessageStatus.SENT) is None


def test_too_many_faults_are_refused() -> None:
    state = SimulatorState()
    for _ in range(MAX_FAULTS):
        state.add_fault(FaultSpec(duration_seconds=60))
    with pytest.raises(ValueError, match="at most"):
        state.add_fault(FaultSpec())


async def test_requests_without_credentials_are_refused(twilio_simulator: RunningSimulator) -> None:
    async with httpx.AsyncClient(base_url=twilio_simulator.base_url) as http:
        answer = await http.post(
            "/2010-04-01/Accounts/AC1/Messages.json", data={"To": CUSTOMER, "Body": "x"}
        )
        other_account = await http.post(
            "/2010-04-01/Accounts/AC1/Messages.json",
            data={"To": CUSTOMER, "From": BUSINESS, "Body": "x"},
            auth=("AC2", "token"),
        )
    assert answer.status_code == other_account.status_code == 401
    assert answer.json()["code"] == 20003
    assert answer.json()["more_info"] == "https://www.twilio.com/docs/errors/20003"


async def test_invalid_content_variables_are_refused(twilio_simulator: RunningSimulator) -> None:
    async with httpx.AsyncClient(base_url=twilio_simulator.base_url) as http:
        answer = await http.post(
            "/2010-04-01/Accounts/AC1/Messages.json",
            data={"To": CUSTOMER, "From": BUSINESS, "ContentSid": "HX1", "ContentVariables": "{"},
            auth=("AC1", "token"),
        )
    assert (answer.status_code, answer.json()["code"]) == (400, 21656)


# -- inbound webhooks -------------------------------------------------------------------


async def test_inbound_whatsapp_message_is_posted_signed_for_the_public_url(
    webhook_receiver: WebhookReceiver,
) -> None:
    public_url = "https://atende.example/webhooks/twilio/messages"
    delivery = await post_inbound_message(
        webhook_receiver.url("/webhooks/twilio/messages"),
        signed_url=public_url,
        auth_token="channel-token-123",
        account_sid="AC" + "2" * 32,
        from_=CUSTOMER,
        to=BUSINESS,
        body="Oi, vocês abrem domingo?",
        profile_name="Maria",
        media=[("https://api.twilio.com/media/ME1", "image/jpeg")],
    )

    assert delivery.status_code == 200
    (received,) = webhook_receiver.requests()
    assert SIGNATURE_HEADER.lower() in received.headers
    verify_webhook_signature(
        url=public_url,
        params=received.form,
        headers=received.headers,
        auth_token="channel-token-123",
    )
    assert not is_valid_webhook(
        url=received.url,
        params=received.form,
        headers=received.headers,
        auth_token="channel-token-123",
    )

    inbound = TwilioInboundMessage.from_form(received.form)
    assert inbound.message_sid == delivery.message_sid
    assert (inbound.from_, inbound.to, inbound.body) == (
        CUSTOMER,
        BUSINESS,
        "Oi, vocês abrem domingo?",
    )
    assert (inbound.profile_name, inbound.wa_id) == ("Maria", "5511987654321")
    assert inbound.customer_phone_number == "+5511987654321"
    assert inbound.channel == "whatsapp"
    assert inbound.message_type == "image"
    assert [(m.url, m.content_type) for m in inbound.media] == [
        ("https://api.twilio.com/media/ME1", "image/jpeg")
    ]
    params = received.params
    assert params["SmsMessageSid"] == params["MessageSid"] == delivery.message_sid
    assert (params["NumMedia"], params["NumSegments"], params["SmsStatus"]) == (
        "1",
        "1",
        "received",
    )
    assert params["ApiVersion"] == "2010-04-01"


def test_inbound_sms_params() -> None:
    params = inbound_message_params(
        account_sid="AC1", from_="+5511987654321", to="+15005550006", body="ã" * 71
    )
    assert "WaId" not in params
    assert "ProfileName" not in params
    assert params["NumSegments"] == "2"
    inbound = TwilioInboundMessage.from_form(params)
    assert inbound.channel == "sms"
    assert inbound.wa_id is None
    assert inbound.media == ()
