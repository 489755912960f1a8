"""A local stand-in for Twilio's Messages API, for demos, tests and benchmarks.

``atende simulator`` (and ``make dev`` when ``TWILIO_API_BASE_URL`` is unset) serves it;
``TWILIO_API_BASE_URL`` points the official client at it. It answers the part of the
API Atende uses:

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (basic auth
  ``AccountSid:AuthToken``; form fields ``To``, ``From``, ``MessagingServiceSid``,
  ``Body``, repeated ``MediaUrl``, ``StatusCallback``, ``ContentSid``,
  ``ContentVariables``): validates as Twilio does, records the message and answers 201
  with a Twilio-shaped Message (``status: queued``, ``num_segments`` counted GSM-7 or
  UCS-2 for SMS, 1 for WhatsApp). Then, after short delays, the message becomes ``sent``
  and ``delivered``, and each change is posted to its ``StatusCallback`` as Twilio posts
  it: form-encoded, signed (``X-Twilio-Signature``) with the account's auth token.
- ``GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json``: the message now.
- Media: ``GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}/Media/{MediaSid}`` (basic
  auth) answers as Twilio does with HTTP auth on media: a 307 to a short-lived copy
  (``/__simulator/cdn/{MediaSid}?token=...``, same origin) that serves the file. Files a
  customer "sends" are added with ``add_media`` or ``POST /__simulator/media``. And a send
  with ``MediaUrl`` is fetched as Twilio fetches it, before the message is ``sent``: each
  fetch is recorded on the message (``media_fetches``: status, type, size, SHA-256), and a
  failed one fails the message with error 63019 (WhatsApp) or 11200 (SMS).
- What verifies a channel (``TwilioTransport.verify_channel``), each with the same basic
  auth: ``GET /2010-04-01/Accounts/{AccountSid}.json`` (the account, ``active``);
  ``GET /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json?PhoneNumber=``
  (the account's SMS numbers, filtered as Twilio does, by a part of the number);
  ``GET /v2/Channels/Senders?Channel=whatsapp`` (the account's WhatsApp senders, paged
  as Twilio's Senders API is).

Each account owns the numbers it was given (``numbers``, ``add_account`` or
``POST /__simulator/accounts``): ``+55...`` an SMS number, ``whatsapp:+55...`` a WhatsApp
sender. ``run_simulator`` (``make dev``) gives the demo workspace's account its number.

and a control API for tests and demos (JSON):

- ``GET /__simulator``: counts; ``POST /__simulator/reset``: forget messages and faults
  (and the accounts added since the simulator started).
- ``POST /__simulator/accounts`` (``{"account_sid", "auth_token", "numbers": [...]}``):
  an account with its numbers (its token is enforced from then on); ``GET`` lists them.
- ``GET /__simulator/messages?to=&from=&account_sid=``: recorded messages, oldest first,
  each with its callbacks' outcomes; ``DELETE /__simulator/messages``.
- ``POST /__simulator/media?account_sid=AC...`` (the file as the body, its
  ``Content-Type``; optional ``delay_seconds``, ``http_status``): a customer's file, served
  at the ``url`` answered (``MediaUrl0`` of ``atende simulate --media``).
- ``POST /__simulator/faults`` (``FaultSpec``): fail the next ``count`` sends, or all
  sends for ``duration_seconds``, optionally only those to ``to``. ``kind`` is ``reject``
  (answer ``http_status`` with Twilio error ``code``/``message``, e.g. 429/20429,
  500/20500, 400/21610, 400/63016, 400/21211), ``fail_delivery`` (accept, then report
  ``failed``/``undelivered`` with ``ErrorCode`` in the status callback, as Twilio reports
  63016 for WhatsApp) or ``delay`` (answer after ``delay_seconds``, to exercise timeouts).
  ``GET`` lists active faults, ``DELETE`` clears them.

State is bounded (oldest messages are forgotten past ``max_messages``) and guarded by a
lock, so tests may drive it from another thread. ``post_inbound_message`` plays the
customer: it posts a signed incoming-message webhook, as Twilio would, to any URL.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
import uvicorn
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from atende.channels.segments import count_segments
from atende.transports.twilio.models import (
    WHATSAPP_PREFIX,
    Channel,
    MessageStatus,
    channel_of,
    phone_number_of,
)
from atende.transports.twilio.signature import read_form, signature_headers

logger = logging.getLogger("atende.devtools.twilio_simulator")

API_VERSION = "2010-04-01"
DEFAULT_PORT = 8020
DEFAULT_MAX_MESSAGES = 10_000
MAX_FAULTS = 100
MAX_BODY_CHARACTERS = 1600
MAX_MEDIA = 10
#: Customers' files the simulator keeps (the oldest are forgotten).
MAX_MEDIA_FILES = 1000
#: Twilio's limit on one file it fetches for a send (WhatsApp's 16 MB).
MAX_FETCHED_MEDIA_BYTES = 16_000_000

#: Twilio errors the simulator knows: HTTP status and message (``{to}`` is filled in).
KNOWN_ERRORS: dict[int, tuple[int, str]] = {
    20001: (400, "Invalid request."),
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
    20503: (503, "Service Unavailable"),
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21408: (
        400,
        "Permission to send an SMS has not been enabled for the region indicated by the "
        "'To' number: {to}.",
    ),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number {to} is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    21619: (400, "A text message body or media URL must be specified."),
    21623: (400, "Number of media files exceeds allowed limit."),
    21656: (400, "The ContentVariables Parameter is invalid."),
    21910: (400, "Invalid From and To pair. From and To should be of the same channel."),
    11200: (400, "HTTP retrieval failure"),
    30008: (400, "Unknown error."),
    63016: (
        400,
        "Failed to send freeform message because you are outside the allowed window. If you "
        "are using WhatsApp, please use a Message Template.",
    ),
    63019: (400, "Media failed to download"),
}
_CODE_FOR_STATUS = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}

# The account ``make dev``'s demo workspace uses (atende.devtools.demo_workspace): any
# well-formed SID and token, and the WhatsApp number the simulator gives it.
DEMO_ACCOUNT_SID = "AC" + "de" * 16
DEMO_AUTH_TOKEN = "demo-auth-token-for-the-simulator"  # noqa: S105 - the simulator's own
DEMO_CHANNEL_NUMBER = "+5511999990000"
#: Senders per page of the Senders API (Twilio's default is 50).
SENDERS_PAGE_SIZE = 50


def new_sid(prefix: str = "SM") -> str:
    """A Twilio-shaped SID: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _rfc2822(moment: datetime | None) -> str | None:
    return format_datetime(moment) if moment is not None else None


# -- faults -----------------------------------------------------------------------------


class FaultKind(StrEnum):
    REJECT = "reject"
    FAIL_DELIVERY = "fail_delivery"
    DELAY = "delay"


class FaultSpec(BaseModel):
    """What to break, for how long (``count`` sends, or ``duration_seconds``; one send
    when neither is given) and for whom (``to``: every recipient when unset)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind = FaultKind.REJECT
    count: int | None = Field(default=None, ge=1, le=1_000_000)
    duration_seconds: float | None = Field(default=None, gt=0, le=86_400)
    http_status: int | None = Field(default=None, ge=400, le=599)
    code: int | None = Field(default=None, ge=1)
    message: str | None = Field(default=None, max_length=1000)
    delivery_status: Literal["failed", "undelivered"] = "failed"
    delay_seconds: float = Field(default=0.0, ge=0, le=60)
    to: str | None = None

    def error(self, to: str) -> tuple[int, int, str]:
        """``(HTTP status, Twilio code, message)`` of a rejection or failed delivery."""
        if self.kind is FaultKind.FAIL_DELIVERY:
            default_code = 30008
        else:
            default_code = 20001 if (self.http_status or 500) < 500 else 20500
        code = self.code or _CODE_FOR_STATUS.get(self.http_status or 0) or default_code
        known_status, known_message = KNOWN_ERRORS.get(code, (400, "Simulated failure"))
        return (
            self.http_status or known_status,
            code,
            self.message or known_message.replace("{to}", to),
        )


class AccountSpec(BaseModel):
    """An account for the simulator: its token (enforced once given) and its numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: str | None = Field(default=None, min_length=1, max_length=256)
    numbers: list[str] = Field(default_factory=list, max_length=1000)


class ActiveFault(BaseModel):
    id: str
    spec: FaultSpec
    remaining: int | None
    expires_at: float | None

    def applies_to(self, to: str) -> bool:
        return self.spec.to is None or phone_number_of(self.spec.to) == phone_number_of(to)


# -- recorded messages ------------------------------------------------------------------


class CallbackAttempt(BaseModel):
    status: str
    url: str
    at: datetime
    http_status: int | None = None
    error: str | None = None


class MediaFetch(BaseModel):
    """The simulator fetching a send's ``MediaUrl``, as Twilio does."""

    url: str
    at: datetime
    http_status: int | None = None
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


@dataclass
class SimulatedMedia:
    """A file a customer sent, as Twilio keeps it."""

    account_sid: str
    message_sid: str
    media_sid: str
    content: bytes
    content_type: str
    #: The short-lived copy's token (what Twilio's CDN URL carries).
    token: str
    delay_seconds: float = 0.0
    #: Answer this status instead of the file (a Twilio or CDN failure).
    http_status: int | None = None

    @property
    def path(self) -> str:
        return (
            f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.message_sid}"
            f"/Media/{self.media_sid}"
        )


class SimulatedMessage(BaseModel):
    """A message the simulator accepted, and what became of it."""

    model_config = ConfigDict(populate_by_name=True)

    sid: str
    account_sid: str
    to: str
    from_: str | None = Field(default=None, alias="from")
    messaging_service_sid: str | None = None
    body: str | None = None
    media_urls: list[str] = Field(default_factory=list)
    content_sid: str | None = None
    content_variables: dict[str, str] | None = None
    status_callback: str | None = None
    status: str = MessageStatus.QUEUED
    error_code: int | None = None
    error_message: str | None = None
    num_segments: int = 1
    price: str | None = None
    date_created: datetime
    date_updated: datetime
    date_sent: datetime | None = None
    callbacks: list[CallbackAttempt] = Field(default_factory=list)
    media_fetches: list[MediaFetch] = Field(default_factory=list)

    @property
    def channel(self) -> Channel:
        return channel_of(self.to)

    def resource(self) -> dict[str, Any]:
        """The Message as Twilio's REST API renders it."""
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body or "",
            "date_created": _rfc2822(self.date_created),
            "date_sent": _rfc2822(self.date_sent),
            "date_updated": _rfc2822(self.date_updated),
            "direction": "outbound-api",
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": str(len(self.media_urls)),
            "num_segments": str(self.num_segments),
            "price": self.price,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": self.to,
            "uri": f"{uri}.json",
        }

    def status_callback_params(self) -> dict[str, str]:
        """The form Twilio posts to the StatusCallback URL for the current status."""
        params = {
            "MessageSid": self.sid,
            "SmsSid": self.sid,
            "MessageStatus": self.status,
            "SmsStatus": self.status,
            "AccountSid": self.account_sid,
            "From": self.from_ or "",
            "To": self.to,
            "ApiVersion": API_VERSION,
        }
        if self.messaging_service_sid:
            params["MessagingServiceSid"] = self.messaging_service_sid
        if self.error_code is not None:
            params["ErrorCode"] = str(self.error_code)
        if self.channel is Channel.WHATSAPP:
            params.update(
                ChannelPrefix="whatsapp",
                ChannelToAddress=phone_number_of(self.to),
                StructuredMessage="false",
            )
        elif self.status == MessageStatus.DELIVERED:
            params["RawDlrDoneDate"] = self.date_updated.strftime("%y%m%d%H%M")
        return params


class SimulatorState:
    """Recorded messages and active faults, safe to use from any thread."""

    def __init__(
        self,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        *,
        accounts: Mapping[str, str] | None = None,
        numbers: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.max_messages = max_messages
        self._lock = threading.Lock()
        self._messages: OrderedDict[str, SimulatedMessage] = OrderedDict()
        self._media: OrderedDict[str, SimulatedMedia] = OrderedDict()
        self._faults: list[ActiveFault] = []
        #: Whether only the known accounts authenticate (``accounts`` given).
        self.closed = accounts is not None
        self._initial_tokens = dict(accounts or {})
        self._initial_numbers = {sid: list(found) for sid, found in (numbers or {}).items()}
        self._tokens: dict[str, str] = {}
        self._numbers: dict[str, list[str]] = {}
        self._reset_accounts()

    def _reset_accounts(self) -> None:
        self._tokens = dict(self._initial_tokens)
        self._numbers = {sid: list(found) for sid, found in self._initial_numbers.items()}

    def add_account(
        self, account_sid: str, auth_token: str | None = None, numbers: Sequence[str] = ()
    ) -> None:
        """An account (its token enforced from now on, when given) and more numbers of it:
        ``+55...`` an SMS number, ``whatsapp:+55...`` a WhatsApp sender."""
        with self._lock:
            if auth_token is not None:
                self._tokens[account_sid] = auth_token
            owned = self._numbers.setdefault(account_sid, [])
            owned.extend(number for number in numbers if number not in owned)

    def token_of(self, account_sid: str) -> str | None:
        with self._lock:
            return self._tokens.get(account_sid)

    def numbers_of(self, account_sid: str) -> list[str]:
        with self._lock:
            return list(self._numbers.get(account_sid, ()))

    def accounts(self) -> dict[str, list[str]]:
        """Every known account's numbers (never its token)."""
        with self._lock:
            known: dict[str, list[str]] = {sid: [] for sid in self._tokens} | self._numbers
            return {sid: list(found) for sid, found in known.items()}

    def record(self, message: SimulatedMessage) -> None:
        with self._lock:
            self._messages[message.sid] = message
            while len(self._messages) > self.max_messages:
                self._messages.popitem(last=False)

    def message(self, sid: str) -> SimulatedMessage | None:
        with self._lock:
            found = self._messages.get(sid)
            return found.model_copy(deep=True) if found is not None else None

    def messages(
        self, *, to: str | None = None, from_: str | None = None, account_sid: str | None = None
    ) -> list[SimulatedMessage]:
        with self._lock:
            return [
                message.model_copy(deep=True)
                for message in self._messages.values()
                if (to is None or message.to == to)
                and (from_ is None or message.from_ == from_)
                and (account_sid is None or message.account_sid == account_sid)
            ]

    def count(self) -> int:
        with self._lock:
            return len(self._messages)

    def advance(
        self,
        sid: str,
        status: str,
        *,
        error_code: int | None = None,
        error_message: str | None = None,
        price: str | None = None,
    ) -> SimulatedMessage | None:
        """Move a message to ``status``; None when it has been forgotten meanwhile."""
        with self._lock:
            message = self._messages.get(sid)
            if message is None:
                return None
            message.status = status
            message.date_updated = _now()
            if status == MessageStatus.SENT:
                message.date_sent = message.date_updated
                message.price = price
            if error_code is not None:
                message.error_code, message.error_message = error_code, error_message
            return message.model_copy(deep=True)

    def add_media(self, media: SimulatedMedia) -> None:
        with self._lock:
            self._media[media.media_sid] = media
            while len(self._media) > MAX_MEDIA_FILES:
                self._media.popitem(last=False)

    def media(self, media_sid: str) -> SimulatedMedia | None:
        with self._lock:
            return self._media.get(media_sid)

    def add_media_fetch(self, sid: str, fetch: MediaFetch) -> None:
        with self._lock:
            message = self._messages.get(sid)
            if message is not None:
                message.media_fetches.append(fetch)

    def add_callback_attempt(self, sid: str, attempt: CallbackAttempt) -> None:
        with self._lock:
            message = self._messages.get(sid)
            if message is not None:
                message.callbacks.append(attempt)

    def clear_messages(self) -> None:
        with self._lock:
            self._messages.clear()

    def add_fault(self, spec: FaultSpec) -> ActiveFault:
        remaining = spec.count if spec.count is not None or spec.duration_seconds else 1
        expires_at = (
            time.monotonic() + spec.duration_seconds if spec.duration_seconds is not None else None
        )
        fault = ActiveFault(
            id=uuid.uuid4().hex[:12], spec=spec, remaining=remaining, expires_at=expires_at
        )
        with self._lock:
            if len(self._faults) >= MAX_FAULTS:
                raise ValueError(f"at most {MAX_FAULTS} faults may be active")
            self._faults.append(fault)
        return fault

    def faults(self) -> list[ActiveFault]:
        with self._lock:
            self._drop_expired()
            return [fault.model_copy() for fault in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def take_fault(self, to: str) -> FaultSpec | None:
        """The first active fault for a send to ``to``, counting it as used."""
        with self._lock:
            self._drop_expired()
            for fault in self._faults:
                if fault.applies_to(to):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault.spec
            return None

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._media.clear()
            self._faults.clear()
            self._reset_accounts()

    def _drop_expired(self) -> None:
        now = time.monotonic()
        self._faults = [f for f in self._faults if f.expires_at is None or f.expires_at > now]


# -- the simulator ----------------------------------------------------------------------


class ApiError(Exception):
    """An error the simulated API answers with (a known Twilio error code)."""

    def __init__(self, code: int, *, to: str = "", http_status: int | None = None) -> None:
        known_status, message = KNOWN_ERRORS[code]
        super().__init__(message.replace("{to}", to))
        self.code = code
        self.http_status = http_status or known_status

    def response(self) -> JSONResponse:
        return twilio_error_response(self.http_status, self.code, str(self))


def twilio_error_response(http_status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": http_status,
        },
        status_code=http_status,
    )


class TwilioSimulator:
    """The simulator's behaviour; ``create_simulator_app`` serves it.

    ``accounts`` (SID → auth token), when given, is enforced like Twilio's credentials;
    otherwise any account SID with any non-empty token is accepted (but an account added
    with ``add_account`` must give its own token), and that token signs the account's
    status callbacks. ``numbers`` (SID → addresses) are the numbers each account owns.
    """

    def __init__(
        self,
        *,
        callback_delay_seconds: float = 0.2,
        accounts: Mapping[str, str] | None = None,
        numbers: Mapping[str, Sequence[str]] | None = None,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        max_pending_callbacks: int = 1000,
    ) -> None:
        self.callback_delay_seconds = callback_delay_seconds
        self.max_pending_callbacks = max_pending_callbacks
        self.state = SimulatorState(max_messages, accounts=accounts, numbers=numbers)
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None

    # -- conveniences for in-process tests ---------------------------------------------

    def add_fault(self, **spec: Any) -> ActiveFault:
        return self.state.add_fault(FaultSpec(**spec))

    def messages(self, *, to: str | None = None) -> list[SimulatedMessage]:
        return self.state.messages(to=to)

    def reset(self) -> None:
        self.state.reset()

    def add_account(
        self, account_sid: str, auth_token: str | None = None, numbers: Sequence[str] = ()
    ) -> None:
        self.state.add_account(account_sid, auth_token, numbers)

    def add_media(
        self,
        account_sid: str,
        content: bytes,
        content_type: str,
        *,
        delay_seconds: float = 0.0,
        http_status: int | None = None,
    ) -> SimulatedMedia:
        """A file a customer sent to one of ``account_sid``'s numbers; its path (under the
        simulator's base URL) is its ``MediaUrl``."""
        media = SimulatedMedia(
            account_sid=account_sid,
            message_sid=new_sid("MM"),
            media_sid=new_sid("ME"),
            content=content,
            content_type=content_type,
            token=secrets.token_urlsafe(16),
            delay_seconds=delay_seconds,
            http_status=http_status,
        )
        self.state.add_media(media)
        return media

    # -- lifecycle ---------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Open the HTTP client for callbacks; on exit, cancel pending callbacks."""
        self._http = httpx.AsyncClient(timeout=10.0, follow_redirects=False)
        try:
            yield
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._http.aclose()
            self._http = None

    # -- the Messages API --------------------------------------------------------------

    def authenticate(self, request: Request, account_sid: str) -> str:
        """The auth token of a request for ``account_sid``, or ApiError 20003."""
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        username, _, token = decoded.partition(":")
        if scheme.lower() != "basic" or username != account_sid or not token:
            raise ApiError(20003)
        known = self.state.token_of(account_sid)
        if (known is not None or self.state.closed) and not secrets.compare_digest(
            (known or "").encode(), token.encode()
        ):
            raise ApiError(20003)
        return token

    # -- what verifies a channel -------------------------------------------------------

    async def fetch_account(self, request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        try:
            self.authenticate(request, account_sid)
        except ApiError as error:
            return error.response()
        now = _rfc2822(_now())
        return JSONResponse(
            {
                "sid": account_sid,
                "owner_account_sid": account_sid,
                "friendly_name": f"Simulated account {account_sid[-6:]}",
                "status": "active",
                "type": "Full",
                "date_created": now,
                "date_updated": now,
                "uri": f"/{API_VERSION}/Accounts/{account_sid}.json",
            }
        )

    async def list_incoming_phone_numbers(self, request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        try:
            self.authenticate(request, account_sid)
        except ApiError as error:
            return error.response()
        wanted = request.query_params.get("PhoneNumber", "").strip()
        numbers = [
            number
            for number in self.state.numbers_of(account_sid)
            if not number.startswith(WHATSAPP_PREFIX) and wanted.lstrip("+") in number
        ]
        uri = f"/{API_VERSION}/Accounts/{account_sid}/IncomingPhoneNumbers.json"
        return JSONResponse(
            {
                "incoming_phone_numbers": [
                    {
                        "sid": "PN" + uuid.uuid5(uuid.NAMESPACE_URL, account_sid + n).hex,
                        "account_sid": account_sid,
                        "phone_number": n,
                        "friendly_name": n,
                        "capabilities": {"sms": True, "mms": True, "voice": True},
                        "status": "in-use",
                    }
                    for n in numbers
                ],
                "start": 0,
                "end": max(len(numbers) - 1, 0),
                "page": 0,
                "page_size": 50,
                "first_page_uri": f"{uri}?PageSize=50&Page=0",
                "next_page_uri": None,
                "previous_page_uri": None,
                "uri": uri,
            }
        )

    async def list_senders(self, request: Request) -> Response:
        """The Senders API: the account of the basic auth's, ``Channel=whatsapp``; paged
        by ``PageToken`` (an offset here) as Twilio's ``meta.next_page_url`` says."""
        _, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            account_sid = base64.b64decode(encoded, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            account_sid = ""
        try:
            self.authenticate(request, account_sid)
        except ApiError as error:
            return error.response()
        query = request.query_params
        channel = query.get("Channel", "").lower()
        senders = [
            number
            for number in self.state.numbers_of(account_sid)
            if number.startswith(WHATSAPP_PREFIX) and channel in {"", "whatsapp"}
        ]
        try:
            size = min(max(int(query.get("PageSize", SENDERS_PAGE_SIZE)), 1), 1000)
            offset = max(int(query.get("PageToken", "0") or 0), 0)
        except ValueError:
            return twilio_error_response(400, 20001, "Invalid paging parameters")
        page = senders[offset : offset + size]
        base = f"{request.url.scheme}://{request.url.netloc}/v2/Channels/Senders"
        following = {"Channel": channel, "PageSize": size, "PageToken": offset + size}
        next_url = f"{base}?{urlencode(following)}" if offset + size < len(senders) else None
        return JSONResponse(
            {
                "senders": [
                    {
                        "sid": "XE" + uuid.uuid5(uuid.NAMESPACE_URL, account_sid + s).hex,
                        "status": "ONLINE",
                        "sender_id": s,
                        "url": f"{base}/XE{uuid.uuid5(uuid.NAMESPACE_URL, account_sid + s).hex}",
                    }
                    for s in page
                ],
                "meta": {
                    "page": offset // size,
                    "page_size": size,
                    "first_page_url": f"{base}?{urlencode({'Channel': channel, 'PageSize': size})}",
                    "previous_page_url": None,
                    "url": str(request.url),
                    "next_page_url": next_url,
                    "key": "senders",
                },
            }
        )

    async def create_message(self, request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        try:
            token = self.authenticate(request, account_sid)
            form = await read_form(request)
            fields = dict(reversed(form))  # the first value of a repeated field
            media_urls = [value for name, value in form if name == "MediaUrl"]
            message = self._validated_message(account_sid, fields, media_urls)
        except ApiError as error:
            return error.response()
        except ValueError:
            return twilio_error_response(400, 20001, "Invalid form body")

        fault = self.state.take_fault(message.to)
        if fault is not None and fault.kind is FaultKind.REJECT:
            http_status, code, text = fault.error(message.to)
            logger.info("simulated rejection of a send to %s: %s %s", message.to, code, text)
            return twilio_error_response(http_status, code, text)
        if fault is not None and fault.kind is FaultKind.DELAY:
            await asyncio.sleep(fault.delay_seconds)

        self.state.record(message)
        logger.info(
            "accepted %s %s -> %s: %r",
            message.sid,
            message.from_ or message.messaging_service_sid,
            message.to,
            (message.body or message.content_sid or "")[:80],
        )
        failure = fault if fault is not None and fault.kind is FaultKind.FAIL_DELIVERY else None
        self._schedule(self._progress(message, token, failure))
        return JSONResponse(message.resource(), status_code=201)

    def _validated_message(
        self, account_sid: str, fields: Mapping[str, str], media_urls: Sequence[str]
    ) -> SimulatedMessage:
        to = fields.get("To", "").strip()
        from_ = fields.get("From", "").strip() or None
        service_sid = fields.get("MessagingServiceSid", "").strip() or None
        body = fields.get("Body")
        content_sid = fields.get("ContentSid", "").strip() or None
        if not to:
            raise ApiError(21604)
        if from_ is None and service_sid is None:
            raise ApiError(21603)
        if from_ is not None and channel_of(from_) is not channel_of(to):
            raise ApiError(21910)
        if not phone_number_of(to).removeprefix("+").isdigit():
            raise ApiError(21211, to=to)
        if not body and not media_urls and content_sid is None:
            raise ApiError(21619)
        if body is not None and len(body) > MAX_BODY_CHARACTERS:
            raise ApiError(21617)
        if len(media_urls) > MAX_MEDIA:
            raise ApiError(21623)
        content_variables = None
        if "ContentVariables" in fields:
            try:
                parsed = json.loads(fields["ContentVariables"])
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise ApiError(21656)
            content_variables = {str(key): str(value) for key, value in parsed.items()}
        now = _now()
        return SimulatedMessage(
            sid=new_sid(),
            account_sid=account_sid,
            to=to,
            from_=from_,
            messaging_service_sid=service_sid,
            body=body,
            media_urls=list(media_urls),
            content_sid=content_sid,
            content_variables=content_variables,
            status_callback=fields.get("StatusCallback") or None,
            num_segments=1
            if channel_of(to) is Channel.WHATSAPP
            else count_segments(body or "").segments,
            date_created=now,
            date_updated=now,
        )

    async def fetch_message(self, request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        try:
            self.authenticate(request, account_sid)
        except ApiError as error:
            return error.response()
        message = self.state.message(request.path_params["message_sid"])
        if message is None or message.account_sid != account_sid:
            return ApiError(20404).response()
        return JSONResponse(message.resource())

    # -- status progression and callbacks ----------------------------------------------

    def _schedule(self, work: Coroutine[Any, Any, None]) -> None:
        # Ended tasks stay in the set until their done-callbacks run: not pending.
        if sum(not task.done() for task in self._tasks) >= self.max_pending_callbacks:
            work.close()
            logger.warning("simulator: too many pending status updates; one dropped")
            return
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _progress(
        self, message: SimulatedMessage, token: str, failure: FaultSpec | None
    ) -> None:
        steps: list[tuple[MessageStatus, int | None, str | None]]
        steps = [(MessageStatus.SENT, None, None)]
        if failure is None:
            steps.append((MessageStatus.DELIVERED, None, None))
        else:
            _, code, text = failure.error(message.to)
            if failure.delivery_status == "failed":
                steps = [(MessageStatus.FAILED, code, text)]
            else:
                steps.append((MessageStatus.UNDELIVERED, code, text))
        if failure is None and message.media_urls and not await self._fetch_media(message):
            code = 63019 if message.channel is Channel.WHATSAPP else 11200
            steps = [(MessageStatus.FAILED, code, KNOWN_ERRORS[code][1])]
        unit_price = 0.005 if message.channel is Channel.WHATSAPP else 0.0079 * message.num_segments
        price = f"-{unit_price:.5f}"
        for status, error_code, error_message in steps:
            await asyncio.sleep(self.callback_delay_seconds)
            current = self.state.advance(
                message.sid, status, error_code=error_code, error_message=error_message, price=price
            )
            if current is None:
                return
            if current.status_callback:
                await self._post_status_callback(current, token)

    async def _fetch_media(self, message: SimulatedMessage) -> bool:
        """Fetch each ``MediaUrl`` as Twilio does (redirects followed, at most 16 MB);
        record each fetch; whether all of them worked."""
        http = self._http or httpx.AsyncClient(timeout=10.0)
        all_fetched = True
        try:
            for url in message.media_urls:
                fetch = MediaFetch(url=url, at=_now())
                try:
                    answer = await http.get(url, follow_redirects=True)
                    fetch.http_status = answer.status_code
                    fetch.content_type = answer.headers.get("content-type")
                    if answer.is_success:
                        fetch.size = len(answer.content)
                        fetch.sha256 = hashlib.sha256(answer.content).hexdigest()
                        if fetch.size > MAX_FETCHED_MEDIA_BYTES:
                            fetch.error = "larger than 16 MB"
                except httpx.HTTPError as error:
                    fetch.error = f"{type(error).__name__}: {error}"
                logger.info("fetched media %s: %s", url.split("?", 1)[0], fetch.http_status)
                self.state.add_media_fetch(message.sid, fetch)
                all_fetched = all_fetched and fetch.ok and fetch.error is None
        finally:
            if http is not self._http:
                await http.aclose()
        return all_fetched

    # -- media a customer sent ---------------------------------------------------------

    async def fetch_media(self, request: Request) -> Response:
        """A customer's file, as Twilio answers with HTTP auth on media: a redirect to a
        short-lived copy."""
        account_sid = request.path_params["account_sid"]
        try:
            self.authenticate(request, account_sid)
        except ApiError as error:
            return error.response()
        media = self.state.media(request.path_params["media_sid"])
        if (
            media is None
            or media.account_sid != account_sid
            or media.message_sid != request.path_params["message_sid"]
        ):
            return ApiError(20404).response()
        return Response(
            status_code=307,
            headers={"Location": f"/__simulator/cdn/{media.media_sid}?token={media.token}"},
        )

    async def media_copy(self, request: Request) -> Response:
        """The short-lived copy a media request redirects to (Twilio's CDN)."""
        media = self.state.media(request.path_params["media_sid"])
        if media is None or not secrets.compare_digest(
            request.query_params.get("token", ""), media.token
        ):
            return Response(status_code=403)
        if media.delay_seconds:
            await asyncio.sleep(media.delay_seconds)
        if media.http_status is not None:
            return Response(status_code=media.http_status)
        return Response(media.content, media_type=media.content_type)

    async def control_media(self, request: Request) -> Response:
        """``POST /__simulator/media?account_sid=``: a customer's file (the body)."""
        query = request.query_params
        account_sid = query.get("account_sid", "")
        content_type = request.headers.get("content-type", "application/octet-stream")
        try:
            AccountSpec(account_sid=account_sid)
            delay = float(query.get("delay_seconds", "0"))
            status = int(query["http_status"]) if "http_status" in query else None
        except (ValidationError, ValueError):
            return JSONResponse({"errors": [{"msg": "invalid account_sid or options"}]}, 422)
        body = await request.body()
        media = self.add_media(
            account_sid, body, content_type, delay_seconds=min(delay, 60), http_status=status
        )
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "url": base + media.path,
                "media_sid": media.media_sid,
                "message_sid": media.message_sid,
                "content_type": content_type,
            },
            status_code=201,
        )

    async def _post_status_callback(self, message: SimulatedMessage, token: str) -> None:
        url = message.status_callback or ""
        params = message.status_callback_params()
        headers = {
            **signature_headers(url, params, token),
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        }
        attempt = CallbackAttempt(status=message.status, url=url, at=_now())
        http = self._http or httpx.AsyncClient(timeout=10.0)
        try:
            answer = await http.post(url, content=urlencode(params), headers=headers)
            attempt.http_status = answer.status_code
        except httpx.HTTPError as error:
            attempt.error = f"{type(error).__name__}: {error}"
            logger.warning("status callback to %s failed: %s", url, attempt.error)
        finally:
            if http is not self._http:
                await http.aclose()
        self.state.add_callback_attempt(message.sid, attempt)

    # -- control API -------------------------------------------------------------------

    async def control_summary(self, request: Request) -> Response:
        return JSONResponse(
            {
                "simulator": "atende twilio simulator",
                "api_version": API_VERSION,
                "messages": self.state.count(),
                "faults": len(self.state.faults()),
            }
        )

    async def control_messages(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.state.clear_messages()
            return Response(status_code=204)
        query = request.query_params
        found = self.state.messages(
            to=query.get("to"), from_=query.get("from"), account_sid=query.get("account_sid")
        )
        return JSONResponse(
            {"messages": [message.model_dump(mode="json", by_alias=True) for message in found]}
        )

    async def control_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.state.clear_faults()
            return Response(status_code=204)
        if request.method == "GET":
            return JSONResponse(
                {"faults": [fault.model_dump(mode="json") for fault in self.state.faults()]}
            )
        try:
            spec = FaultSpec.model_validate_json(await request.body())
            fault = self.state.add_fault(spec)
        except ValidationError as error:
            return JSONResponse({"errors": error.errors(include_url=False)}, status_code=422)
        except ValueError as error:
            return JSONResponse({"errors": [{"msg": str(error)}]}, status_code=409)
        return JSONResponse(fault.model_dump(mode="json"), status_code=201)

    async def control_accounts(self, request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"accounts": self.state.accounts()})
        try:
            spec = AccountSpec.model_validate_json(await request.body())
        except ValidationError as error:
            return JSONResponse({"errors": error.errors(include_url=False)}, status_code=422)
        self.state.add_account(spec.account_sid, spec.auth_token, spec.numbers)
        return JSONResponse({"account_sid": spec.account_sid, "numbers": spec.numbers}, 201)

    async def control_reset(self, request: Request) -> Response:
        self.state.reset()
        return Response(status_code=204)


def create_simulator_app(simulator: TwilioSimulator | None = None) -> Starlette:
    """The simulator's ASGI app (a new ``TwilioSimulator`` unless one is given)."""
    simulator = simulator or TwilioSimulator()
    accounts = f"/{API_VERSION}/Accounts/{{account_sid}}"

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with simulator.running():
            yield

    app = Starlette(
        routes=[
            Route(f"{accounts}/Messages.json", simulator.create_message, methods=["POST"]),
            Route(
                f"{accounts}/Messages/{{message_sid}}.json",
                simulator.fetch_message,
                methods=["GET"],
            ),
            Route(
                f"{accounts}/Messages/{{message_sid}}/Media/{{media_sid}}",
                simulator.fetch_media,
                methods=["GET"],
            ),
            Route("/__simulator/cdn/{media_sid}", simulator.media_copy, methods=["GET"]),
            Route("/__simulator/media", simulator.control_media, methods=["POST"]),
            Route(f"{accounts}.json", simulator.fetch_account, methods=["GET"]),
            Route(
                f"{accounts}/IncomingPhoneNumbers.json",
                simulator.list_incoming_phone_numbers,
                methods=["GET"],
            ),
            Route("/v2/Channels/Senders", simulator.list_senders, methods=["GET"]),
            Route("/__simulator", simulator.control_summary, methods=["GET"]),
            Route("/__simulator/accounts", simulator.control_accounts, methods=["GET", "POST"]),
            Route("/__simulator/messages", simulator.control_messages, methods=["GET", "DELETE"]),
            Route(
                "/__simulator/faults", simulator.control_faults, methods=["GET", "POST", "DELETE"]
            ),
            Route("/__simulator/reset", simulator.control_reset, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.simulator = simulator
    return app


def run_simulator(
    *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, callback_delay_seconds: float = 0.5
) -> None:
    """Serve the simulator until interrupted (``atende simulator``)."""
    simulator = TwilioSimulator(
        callback_delay_seconds=callback_delay_seconds,
        numbers={DEMO_ACCOUNT_SID: [WHATSAPP_PREFIX + DEMO_CHANNEL_NUMBER]},
    )
    logger.info("Twilio simulator on http://%s:%d (TWILIO_API_BASE_URL)", host, port)
    uvicorn.run(
        create_simulator_app(simulator),
        host=host,
        port=port,
        log_config=None,
        ws="none",
        lifespan="on",
    )


# -- the customer's side: inbound webhooks ----------------------------------------------


def inbound_message_params(
    *,
    account_sid: str,
    from_: str,
    to: str,
    body: str = "",
    message_sid: str | None = None,
    profile_name: str | None = None,
    media: Sequence[tuple[str, str]] = (),
    messaging_service_sid: str | None = None,
    location: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The form Twilio posts for a message a customer sent to ``to``.

    WhatsApp when the addresses start with ``whatsapp:`` (adds ``ProfileName``, ``WaId``,
    ``MessageType``), SMS otherwise. ``media`` is (URL, content type) pairs. ``location``
    (``latitude``, ``longitude``, optional ``address`` and ``label``) is a shared location,
    as WhatsApp sends it: ``Latitude``, ``Longitude``, ``Address``, ``Label``,
    ``MessageType=location`` and, usually, an empty ``Body``.
    """
    sid = message_sid or new_sid()
    channel = channel_of(from_)
    params = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "To": to,
        "Body": body,
        "NumMedia": str(len(media)),
        "NumSegments": str(1 if channel is Channel.WHATSAPP else count_segments(body).segments),
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
    }
    if messaging_service_sid:
        params["MessagingServiceSid"] = messaging_service_sid
    for index, (url, content_type) in enumerate(media):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = content_type
    if channel is Channel.WHATSAPP:
        params["ProfileName"] = profile_name or ""
        params["WaId"] = phone_number_of(from_).removeprefix("+")
        params["MessageType"] = media[0][1].split("/")[0] if media else "text"
        params["ReferralNumMedia"] = "0"
    if location is not None:
        for key in ("latitude", "longitude", "address", "label"):
            if location.get(key):
                params[key.capitalize()] = location[key]
        if channel is Channel.WHATSAPP:
            params["MessageType"] = "location"
    return params


@dataclass(frozen=True)
class InboundDelivery:
    """What happened to a simulated inbound webhook."""

    message_sid: str
    params: dict[str, str]
    status_code: int
    response_text: str


async def post_inbound_message(
    url: str,
    *,
    auth_token: str,
    account_sid: str,
    from_: str,
    to: str,
    body: str = "",
    signed_url: str | None = None,
    http_client: httpx.AsyncClient | None = None,
    **fields: Any,
) -> InboundDelivery:
    """Post a signed incoming-message webhook to ``url``, as Twilio would.

    ``signed_url`` is the URL the signature covers when it differs from the one posted
    to (the public URL behind a proxy: post to ``http://127.0.0.1:8000/...``, sign
    ``ATENDE_PUBLIC_URL/...``). ``fields`` go to ``inbound_message_params``.
    """
    params = inbound_message_params(
        account_sid=account_sid, from_=from_, to=to, body=body, **fields
    )
    headers = {
        **signature_headers(signed_url or url, params, auth_token),
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
    }
    client = http_client or httpx.AsyncClient(timeout=10.0)
    try:
        answer = await client.post(url, content=urlencode(params), headers=headers)
    finally:
        if http_client is None:
            await client.aclose()
    return InboundDelivery(
        message_sid=params["MessageSid"],
        params=params,
        status_code=answer.status_code,
        response_text=answer.text,
    )
