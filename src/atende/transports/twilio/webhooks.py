"""Twilio's webhooks: incoming messages and delivery status callbacks.

``POST /webhooks/twilio/messages`` (a number's "A message comes in" URL) and ``POST
/webhooks/twilio/status`` (the ``StatusCallback`` every send names). Both are
form-encoded and signed (``X-Twilio-Signature``) with the channel's auth token over
``ATENDE_PUBLIC_URL`` + path + query, and both answer fast:

- 200 with an empty TwiML ``<Response/>``: stored (or already stored: Twilio repeats
  deliveries, and the unique index on the message sid is the only judge), or a status
  for a message Atende does not know (so Twilio stops retrying it);
- 4xx with a one-line reason, nothing stored: not a form (415), too large (413),
  malformed (400), unknown or disabled channel, bad signature (403);
- 503 when the database is unavailable, so Twilio retries later; the retry is then
  stored once like any other delivery.

Nothing about the request is checked before the signature except what is needed to
find the channel whose token signs it (``AccountSid``, ``To``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from pydantic import SecretStr, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, request_response
from starlette.types import ASGIApp

from atende.channels.ingest import GroupCommit, InboundMessage
from atende.config import Settings
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.http import BodySizeLimitMiddleware
from atende.transports.twilio.directory import ChannelDirectory, WebhookChannel
from atende.transports.twilio.errors import twilio_error
from atende.transports.twilio.models import (
    TwilioInboundMessage,
    TwilioStatusCallback,
    channel_of,
    first_values,
    phone_number_of,
)
from atende.transports.twilio.signature import (
    InvalidWebhookSignature,
    public_url_of,
    read_form,
    verify_webhook_signature,
)

logger = logging.getLogger("atende.transports.twilio.webhooks")
queries = load_queries("channels")

INBOUND_PATH = "/webhooks/twilio/messages"
STATUS_PATH = "/webhooks/twilio/status"

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
#: Seconds a webhook waits for a database connection before answering 503: well inside
#: Twilio's 15 s, so Twilio sees an answer and retries instead of a timeout.
DATABASE_WAIT_SECONDS = 5.0
#: Twilio sends at most 10 media per message.
MAX_MEDIA = 10
#: ``messages.body`` holds up to 10,000 characters; Twilio sends at most 1,600.
MAX_BODY_CHARACTERS = 10_000
E164 = re.compile(r"\+[1-9][0-9]{6,14}")

#: Twilio fields kept in ``messages.metadata`` (beside ``message_sid``), by our name.
KEPT_FIELDS = {
    "AccountSid": "account_sid",
    "MessagingServiceSid": "messaging_service_sid",
    "To": "to",
    "NumSegments": "num_segments",
    "WaId": "wa_id",
    "MessageType": "message_type",
    "ButtonText": "button_text",
    "ButtonPayload": "button_payload",
    "OriginalRepliedMessageSid": "replied_message_sid",
    "Latitude": "latitude",
    "Longitude": "longitude",
    "Address": "address",
    "Label": "label",
    "ReferralSourceUrl": "referral_source_url",
    "ReferralHeadline": "referral_headline",
    "ReferralCtwaClid": "referral_ctwa_clid",
}


class WebhookRefused(Exception):
    """A webhook answered with a 4xx or 5xx: ``status`` and a one-line ``reason``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class StatusTarget:
    message_id: UUID
    channel_id: UUID
    account_sid: str
    ciphertext: str


def twiml_response() -> Response:
    return Response(EMPTY_TWIML, media_type="text/xml")


def refusal(status: int, reason: str, headers: Mapping[str, str] | None = None) -> Response:
    return PlainTextResponse(reason, status_code=status, headers=headers)


async def read_webhook_form(request: Request) -> list[tuple[str, str]]:
    """The form of a webhook, or ``WebhookRefused`` (415 not a form, 400 unreadable)."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != FORM_CONTENT_TYPE:
        raise WebhookRefused(415, f"expected {FORM_CONTENT_TYPE}")
    try:
        form = await read_form(request)
    except ValueError:
        raise WebhookRefused(400, "too many form fields") from None
    except ClientDisconnect:
        raise WebhookRefused(400, "the request body was cut short") from None
    # Postgres text cannot hold NUL; Twilio never sends it.
    if any("\x00" in name or "\x00" in value for name, value in form):
        raise WebhookRefused(400, "NUL characters are not allowed")
    return form


def check_signature(
    request: Request,
    public_url: str,
    form: list[tuple[str, str]],
    auth_token: SecretStr,
    channel_id: UUID,
) -> None:
    try:
        verify_webhook_signature(
            url=public_url_of(request, public_url),
            params=form,
            headers=request.headers,
            auth_token=auth_token.get_secret_value(),
        )
    except InvalidWebhookSignature as error:
        logger.info("refused a webhook for channel %s: %s", channel_id, error.message)
        raise WebhookRefused(403, "invalid signature") from None


# -- incoming messages ------------------------------------------------------------------


def media_of(message: TwilioInboundMessage, simulator_url: str | None) -> list[dict[str, Any]]:
    """The message's media worth keeping: ``https:`` URLs (Twilio's), and in development
    the simulator's own. Anything else (``javascript:``, ``data:``, plain http) would be
    a link the team's app shows; it is dropped, and the message kept."""
    kept = [
        {"url": item.url, "content_type": item.content_type}
        for item in message.media
        if is_storable_media_url(item.url, simulator_url)
    ]
    if len(kept) < len(message.media):
        logger.info(
            "dropped %d media URL(s) of %s: not https",
            len(message.media) - len(kept),
            message.message_sid,
        )
    return kept


def is_storable_media_url(url: str, simulator_url: str | None) -> bool:
    if simulator_url and url.startswith(f"{simulator_url.rstrip('/')}/"):
        return True
    return url.lower().startswith("https://") and len(url) > len("https://")


def metadata_of(fields: Mapping[str, str]) -> dict[str, str]:
    return {ours: fields[theirs] for theirs, ours in KEPT_FIELDS.items() if fields.get(theirs)}


def parse_inbound(fields: Mapping[str, str]) -> TwilioInboundMessage:
    """The message of a signed webhook (the form's ``first_values``, read once), or
    ``WebhookRefused(400)``."""
    num_media = small_count(fields.get("NumMedia") or "0")
    if num_media is None or num_media > MAX_MEDIA:
        raise WebhookRefused(400, "invalid NumMedia")
    try:
        message = TwilioInboundMessage.from_form(fields)
    except (ValidationError, ValueError):
        raise WebhookRefused(400, "missing or invalid message fields") from None
    if not E164.fullmatch(message.customer_phone_number):
        raise WebhookRefused(400, "From is not an E.164 phone number")
    if channel_of(message.from_) is not channel_of(message.to):
        raise WebhookRefused(400, "From and To are on different channels")
    if len(message.body) > MAX_BODY_CHARACTERS:
        raise WebhookRefused(400, "Body is too long")
    return message


async def find_channel(directory: ChannelDirectory, fields: Mapping[str, str]) -> WebhookChannel:
    """The enabled channel a webhook is addressed to (``AccountSid`` + ``To``)."""
    account_sid, to = fields.get("AccountSid", ""), fields.get("To", "")
    if not account_sid or not to:
        raise WebhookRefused(400, "AccountSid and To are required")
    number = phone_number_of(to)
    if not E164.fullmatch(number):
        raise WebhookRefused(403, "unknown channel")
    channel = await directory.for_webhook(
        account_sid=account_sid,
        kind=channel_of(to),
        phone_number=number,
        timeout=DATABASE_WAIT_SECONDS,
    )
    if channel is None:
        logger.info("refused a webhook for an unknown channel (%s)", to)
        raise WebhookRefused(403, "unknown channel")
    if not channel.enabled:
        raise WebhookRefused(403, "channel disabled")
    return channel


#: The order in which a batch's items take their row locks: by contact (ingest), by
#: message (status callbacks).
LOCK_ORDERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "ingest_inbound_messages": lambda item: f"{item['from_number']} {item['channel_id']}",
    "record_message_statuses": lambda item: str(item["message_id"]),
}


# -- status callbacks -------------------------------------------------------------------


def callback_parameters(request: Request) -> tuple[UUID | None, int | None, int | None]:
    """``message_id``, ``part`` and ``parts`` of the StatusCallback URL, when valid."""
    query = request.query_params
    try:
        message_id = UUID(query.get("message_id", ""))
    except ValueError:
        return None, None, None
    part, parts = query.get("part", ""), query.get("parts", "")
    return message_id, small_count(part), small_count(parts)


def small_count(text: str) -> int | None:
    """A count of at most four ASCII digits, else None. (``str.isdigit`` also accepts
    ``²``, which ``int`` refuses, and ``int`` refuses numbers of over 4,300 digits.)"""
    if len(text) <= 4 and text.isascii() and text.isdigit():
        return int(text)
    return None


def _database_unavailable(error: BaseException) -> Response:
    logger.warning("webhook answered 503: database unavailable (%s)", type(error).__name__)
    return refusal(503, "temporarily unavailable", headers={"Retry-After": "5"})


class TwilioWebhooks:
    """The two webhooks' endpoints, bound to what they use when the app is built; the
    database, the channel directory and the group commits are attached when the process
    opens (``open``), and the endpoints answer 503 until then."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._database: Database | None = None
        self._directory: ChannelDirectory | None = None
        self._batches: dict[str, GroupCommit] = {}

    @contextmanager
    def open(self, database: Database, directory: ChannelDirectory) -> Iterator[None]:
        self._database, self._directory = database, directory
        self._batches = {
            query: GroupCommit(
                database, query, timeout=DATABASE_WAIT_SECONDS, lock_order=lock_order
            )
            for query, lock_order in LOCK_ORDERS.items()
        }
        try:
            yield
        finally:
            self._database, self._directory, self._batches = None, None, {}

    @property
    def database(self) -> Database:
        if self._database is None:
            raise WebhookRefused(503, "starting")
        return self._database

    @property
    def directory(self) -> ChannelDirectory:
        if self._directory is None:
            raise WebhookRefused(503, "starting")
        return self._directory

    def batch(self, query: str) -> GroupCommit:
        """The process's group commit for ``query``."""
        if query not in self._batches:
            raise WebhookRefused(503, "starting")
        return self._batches[query]

    def endpoints(self) -> dict[str, ASGIApp]:
        """The two webhooks' POST endpoints by path, each under a body cap of its own
        (Twilio's are small)."""

        def capped(endpoint: Any) -> ASGIApp:
            return BodySizeLimitMiddleware(
                request_response(endpoint), max_body_bytes=self.settings.webhook_max_body_bytes
            )

        return {
            INBOUND_PATH: capped(self.receive_message),
            STATUS_PATH: capped(self.receive_status),
        }

    async def receive_message(self, request: Request) -> Response:
        """``POST /webhooks/twilio/messages``: store an incoming message exactly once."""
        try:
            form = await read_webhook_form(request)
            fields = first_values(form)
            channel = await find_channel(self.directory, fields)
            check_signature(request, self.settings.public_url, form, channel.auth_token, channel.id)
            message = parse_inbound(fields)
            row = await self.batch("ingest_inbound_messages").submit(
                InboundMessage(
                    channel_id=channel.id,
                    message_sid=message.message_sid,
                    from_number=message.customer_phone_number,
                    body=message.body,
                    media=media_of(message, self.settings.twilio_api_base_url),
                    profile_name=message.profile_name,
                    opt_out_type=fields.get("OptOutType") or None,
                    metadata=metadata_of(fields),
                ).as_item()
            )
        except WebhookRefused as refused:
            return refusal(refused.status, refused.reason)
        except psycopg.errors.NoDataFound:
            # The channel was deleted between the lookup and the insert.
            self.directory.forget()
            return refusal(403, "unknown channel")
        except (psycopg.DataError, psycopg.IntegrityError) as error:
            # Input the checks above let through and a constraint refused: still the
            # sender's fault, and nothing was stored (the transaction rolled back).
            logger.warning("refused a webhook the database rejected: %s", type(error).__name__)
            return refusal(400, "rejected by validation")
        except (psycopg.OperationalError, OSError) as error:
            return _database_unavailable(error)
        if row is not None and row["duplicate"]:
            logger.debug("duplicate delivery of %s", message.message_sid)
        return twiml_response()

    async def find_status_target(
        self, message_id: UUID | None, message_sid: str
    ) -> StatusTarget | None:
        params: dict[str, object]
        if message_id is not None:
            query, params = queries["status_target_by_message_id"], {"message_id": message_id}
        else:
            query, params = queries["status_target_by_sid"], {"message_sid": message_sid}
        row = await self.database.fetch_one(
            Caller.service(), query, params, timeout=DATABASE_WAIT_SECONDS
        )
        if row is None:
            return None
        return StatusTarget(
            message_id=row["message_id"],
            channel_id=row["channel_id"],
            account_sid=row["twilio_account_sid"],
            ciphertext=row["twilio_auth_token_ciphertext"],
        )

    async def receive_status(self, request: Request) -> Response:
        """``POST /webhooks/twilio/status``: move a sent message's status forward."""
        try:
            form = await read_webhook_form(request)
            try:
                callback = TwilioStatusCallback.from_form(form)
            except (ValidationError, ValueError):
                raise WebhookRefused(400, "missing or invalid status fields") from None
            message_id, part_index, part_count = callback_parameters(request)
            target = await self.find_status_target(message_id, callback.message_sid)
            if target is None:
                logger.debug(
                    "status %s for unknown message %s",
                    callback.message_status,
                    callback.message_sid,
                )
                return twiml_response()
            if callback.account_sid != target.account_sid:
                raise WebhookRefused(403, "unknown channel")
            credentials = self.directory.credentials(target.account_sid, target.ciphertext)
            check_signature(
                request, self.settings.public_url, form, credentials.auth_token, target.channel_id
            )
            error = (
                twilio_error(http_status=None, code=callback.error_code)
                if callback.error_code is not None
                else None
            )
            row = await self.batch("record_message_statuses").submit(
                {
                    "message_id": target.message_id,
                    "message_sid": callback.message_sid,
                    "status": callback.message_status,
                    "part_index": part_index if message_id is not None else None,
                    "part_count": part_count if message_id is not None else None,
                    "error_code": str(error.code) if error is not None else None,
                    "error_message": error.message if error is not None else None,
                }
            )
        except WebhookRefused as refused:
            return refusal(refused.status, refused.reason)
        except (psycopg.OperationalError, OSError) as error:
            return _database_unavailable(error)
        if row is not None and row["outcome"] == "unknown":
            logger.debug(
                "status %s for a part message %s does not know",
                callback.message_sid,
                target.message_id,
            )
        return twiml_response()


def webhook_routes(endpoints: Mapping[str, ASGIApp]) -> list[BaseRoute]:
    """The routes of ``endpoints`` (POST only)."""
    return [Route(path, endpoint, methods=["POST"]) for path, endpoint in endpoints.items()]
