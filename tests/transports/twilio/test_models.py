"""The webhook models read Twilio's forms as Twilio names them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from atende.transports.twilio.models import (
    Channel,
    TwilioInboundMessage,
    TwilioStatusCallback,
    channel_of,
    phone_number_of,
)


def test_inbound_blank_optional_fields_are_none() -> None:
    inbound = TwilioInboundMessage.from_form(
        [
            ("MessageSid", "SM1"),
            ("AccountSid", "AC1"),
            ("From", "+5511987654321"),
            ("To", "+15005550006"),
            ("Body", ""),
            ("NumMedia", "0"),
            ("NumSegments", ""),
            ("ProfileName", ""),
            ("SomethingTwilioAddedLater", "x"),
        ]
    )
    assert inbound.body == ""
    assert (inbound.num_segments, inbound.profile_name) == (None, None)
    assert inbound.channel is Channel.SMS


def test_inbound_without_a_sid_is_invalid() -> None:
    with pytest.raises(ValidationError):
        TwilioInboundMessage.from_form({"AccountSid": "AC1", "From": "+55", "To": "+1"})


def test_status_callback_reads_sms_status_when_message_status_is_absent() -> None:
    callback = TwilioStatusCallback.from_form(
        {"SmsSid": "SM1", "MessageSid": "SM1", "SmsStatus": "sent", "AccountSid": "AC1"}
    )
    assert callback.message_status == "sent"


def test_status_callback_error_code() -> None:
    base = {"MessageSid": "SM1", "MessageStatus": "undelivered", "AccountSid": "AC1"}
    assert TwilioStatusCallback.from_form({**base, "ErrorCode": "30003"}).error_code == 30003
    assert TwilioStatusCallback.from_form({**base, "ErrorCode": ""}).error_code is None


@pytest.mark.parametrize(
    ("address", "channel", "number"),
    [
        ("whatsapp:+5511987654321", Channel.WHATSAPP, "+5511987654321"),
        ("+5511987654321", Channel.SMS, "+5511987654321"),
    ],
)
def test_addresses(address: str, channel: Channel, number: str) -> None:
    assert (channel_of(address), phone_number_of(address)) == (channel, number)
