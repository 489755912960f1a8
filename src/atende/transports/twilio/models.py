"""What the Twilio channel hands to the rest of Atende: Pydantic models, never dicts.

- ``TwilioCredentials``: a channel's account SID and auth token (the token stays a
  ``SecretStr``, so it never shows in a repr or a log line).
- ``TwilioMessageResult``: a Message resource as Twilio's REST API returns it.
- ``TwilioInboundMessage``: the form Twilio posts to the incoming-message webhook.
- ``TwilioStatusCallback``: the form Twilio posts to a message's StatusCallback URL.

The webhook models read the form as Twilio names its fields (``MessageSid``, ``From``,
...) and ignore fields they do not know: Twilio adds fields without notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

#: The prefix of WhatsApp addresses in Twilio (``whatsapp:+5511999990000``).
WHATSAPP_PREFIX = "whatsapp:"
#: Twilio's shared WhatsApp Sandbox number: any account may use it (each with its own
#: opted-in testers), so several channels, of several accounts, may have it.
WHATSAPP_SANDBOX_NUMBER = "+14155238886"


class MessageStatus(StrEnum):
    """Twilio's message status names (``messages.status`` stores these)."""

    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELED = "canceled"
    PARTIALLY_DELIVERED = "partially_delivered"
    RECEIVING = "receiving"
    RECEIVED = "received"


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    SMS = "sms"


def channel_of(address: str) -> Channel:
    """WhatsApp for ``whatsapp:`` addresses, SMS for plain numbers."""
    return Channel.WHATSAPP if address.startswith(WHATSAPP_PREFIX) else Channel.SMS


def phone_number_of(address: str) -> str:
    """The E.164 number inside a Twilio address (``whatsapp:+55...`` → ``+55...``)."""
    return address.removeprefix(WHATSAPP_PREFIX)


class TwilioCredentials(BaseModel):
    """The account a channel sends with, and the token its webhooks are signed with."""

    model_config = ConfigDict(frozen=True)

    account_sid: str = Field(min_length=1)
    auth_token: SecretStr


class TwilioMessageResult(BaseModel):
    """A Message resource: what Twilio answered to a send or a fetch."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    sid: str
    status: str
    account_sid: str | None = None
    messaging_service_sid: str | None = None
    to: str | None = None
    from_: str | None = Field(default=None, alias="from")
    body: str | None = None
    direction: str | None = None
    num_segments: int | None = None
    num_media: int | None = None
    error_code: int | None = None
    error_message: str | None = None
    price: Decimal | None = None
    price_unit: str | None = None
    api_version: str | None = None
    date_created: datetime | None = None
    date_sent: datetime | None = None
    date_updated: datetime | None = None
    uri: str | None = None

    @classmethod
    def from_instance(cls, instance: Any) -> TwilioMessageResult:
        """From the ``MessageInstance`` the official client returns (dates already parsed)."""
        return cls.model_validate(
            {name: getattr(instance, name, None) for name in cls.model_fields}
        )


# -- webhooks ---------------------------------------------------------------------------

FormParams = Mapping[str, str] | Iterable[tuple[str, str]]


def first_values(params: FormParams) -> dict[str, str]:
    """Each field's first value (Twilio sends each once; a repeat is not Twilio's)."""
    pairs = params.items() if isinstance(params, Mapping) else params
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name, value)
    return values


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


class InboundMedia(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str
    content_type: str | None = None


class TwilioInboundMessage(BaseModel):
    """A message a customer sent, as Twilio posts it to the incoming-message webhook."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    message_sid: str = Field(alias="MessageSid", min_length=1)
    account_sid: str = Field(alias="AccountSid", min_length=1)
    from_: str = Field(alias="From", min_length=1)
    to: str = Field(alias="To", min_length=1)
    body: str = Field(default="", alias="Body")
    num_media: int = Field(default=0, alias="NumMedia", ge=0)
    num_segments: int | None = Field(default=None, alias="NumSegments")
    messaging_service_sid: str | None = Field(default=None, alias="MessagingServiceSid")
    profile_name: str | None = Field(default=None, alias="ProfileName")
    wa_id: str | None = Field(default=None, alias="WaId")
    message_type: str | None = Field(default=None, alias="MessageType")
    button_text: str | None = Field(default=None, alias="ButtonText")
    button_payload: str | None = Field(default=None, alias="ButtonPayload")
    media: tuple[InboundMedia, ...] = ()

    _blank_to_none = field_validator(
        "num_segments",
        "messaging_service_sid",
        "profile_name",
        "wa_id",
        "message_type",
        "button_text",
        "button_payload",
        mode="before",
    )(_blank_is_none)

    @classmethod
    def from_form(cls, params: FormParams) -> TwilioInboundMessage:
        """From the webhook's form fields (``MediaUrl0``/``MediaContentType0``... included)."""
        values = first_values(params)
        media = []
        for index in range(int(values.get("NumMedia") or 0)):
            url = values.get(f"MediaUrl{index}")
            if url:
                media.append(
                    InboundMedia(url=url, content_type=values.get(f"MediaContentType{index}"))
                )
        return cls.model_validate({**values, "media": tuple(media)})

    @property
    def channel(self) -> Channel:
        return channel_of(self.from_)

    @property
    def customer_phone_number(self) -> str:
        """The sender's E.164 number (``contacts.phone_number``)."""
        return phone_number_of(self.from_)


class TwilioStatusCallback(BaseModel):
    """A delivery status change of a message Atende sent, as Twilio posts it."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    message_sid: str = Field(alias="MessageSid", min_length=1)
    message_status: str = Field(alias="MessageStatus", min_length=1)
    account_sid: str = Field(alias="AccountSid", min_length=1)
    from_: str | None = Field(default=None, alias="From")
    to: str | None = Field(default=None, alias="To")
    error_code: int | None = Field(default=None, alias="ErrorCode")
    messaging_service_sid: str | None = Field(default=None, alias="MessagingServiceSid")
    channel_prefix: str | None = Field(default=None, alias="ChannelPrefix")

    _blank_to_none = field_validator(
        "from_", "to", "error_code", "messaging_service_sid", "channel_prefix", mode="before"
    )(_blank_is_none)

    @classmethod
    def from_form(cls, params: FormParams) -> TwilioStatusCallback:
        values = first_values(params)
        if "MessageStatus" not in values and "SmsStatus" in values:
            values["MessageStatus"] = values["SmsStatus"]
        return cls.model_validate(values)
