"""``TwilioService``: sending and fetching messages through the official ``twilio`` client.

Credentials belong to a channel, not to the process: every call takes the channel's
``TwilioCredentials`` and builds a ``twilio.rest.Client`` for it (cheap: no I/O) on the
process's one shared ``TwilioHttpClient``. The service holds no other state.

Every method returns a Pydantic model and raises only ``TwilioError`` subclasses
(``atende.transports.twilio.errors``), which say whether a retry can help.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
from pydantic import ValidationError
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.response import Response
from twilio.rest import Client

from atende.config import Settings
from atende.transports.twilio.errors import (
    TwilioError,
    TwilioNoResponse,
    TwilioUnexpectedResponse,
    TwilioUnreachable,
    twilio_error,
)
from atende.transports.twilio.http import TwilioHttpClient
from atende.transports.twilio.models import TwilioCredentials, TwilioMessageResult

logger = logging.getLogger("atende.channels.twilio")

T = TypeVar("T")


class TwilioService:
    """Twilio's Messages API for any channel's account, and the lookups that verify a
    channel (the account, its incoming phone numbers, its WhatsApp senders)."""

    def __init__(self, http_client: TwilioHttpClient) -> None:
        self.http_client = http_client

    def client_for(self, credentials: TwilioCredentials) -> Client:
        """The official client for one account, on the shared HTTP client."""
        return Client(
            credentials.account_sid,
            credentials.auth_token.get_secret_value(),
            http_client=self.http_client,
        )

    async def send_message(
        self,
        credentials: TwilioCredentials,
        *,
        to: str,
        from_: str | None = None,
        messaging_service_sid: str | None = None,
        body: str | None = None,
        media_urls: Sequence[str] = (),
        status_callback: str | None = None,
        content_sid: str | None = None,
        content_variables: Mapping[str, str] | None = None,
    ) -> TwilioMessageResult:
        """Create a Message: free text (``body``, ``media_urls``) or an approved WhatsApp
        template (``content_sid`` with ``content_variables``, e.g. ``{"1": "Maria"}``).

        ``to``/``from_`` are Twilio addresses (``whatsapp:+55...`` or ``+55...``); give
        ``from_``, ``messaging_service_sid`` or both. Twilio answers with the message
        ``queued``; ``status_callback`` then receives its delivery status changes.
        """
        messages = self.client_for(credentials).messages
        return await self._call(
            credentials,
            lambda: messages.create_async(
                to=to,
                from_=_given(from_),
                messaging_service_sid=_given(messaging_service_sid),
                body=_given(body),
                media_url=list(media_urls) if media_urls else values.unset,
                status_callback=_given(status_callback),
                content_sid=_given(content_sid),
                content_variables=(
                    json.dumps(dict(content_variables), ensure_ascii=False)
                    if content_variables is not None
                    else values.unset
                ),
            ),
        )

    async def fetch_message(self, credentials: TwilioCredentials, sid: str) -> TwilioMessageResult:
        """The Message as Twilio has it now (status, error code, price, ...)."""
        context = self.client_for(credentials).messages(sid)
        return await self._call(credentials, context.fetch_async)

    # -- verifying a channel ----------------------------------------------------------

    async def account_status(self, credentials: TwilioCredentials) -> str:
        """The account's status (``active``, ``suspended``, ``closed``); fetching it is
        also the cheapest check that the credentials authenticate."""
        context = self.client_for(credentials).api.v2010.accounts(credentials.account_sid)
        account = await self._request(credentials, context.fetch_async)
        return str(getattr(account, "status", "") or "")

    async def incoming_phone_numbers(
        self, credentials: TwilioCredentials, phone_number: str
    ) -> list[str]:
        """The account's incoming phone numbers matching ``phone_number`` (E.164), as
        Twilio lists them (its filter also matches partial numbers: compare them)."""
        numbers = self.client_for(credentials).incoming_phone_numbers
        found = await self._request(
            credentials, lambda: numbers.list_async(phone_number=phone_number, page_size=50)
        )
        return [str(item.phone_number) for item in found if item.phone_number]

    async def whatsapp_senders(self, credentials: TwilioCredentials) -> list[str]:
        """The account's WhatsApp senders (Senders API, ``/v2/Channels/Senders``), as
        ``whatsapp:+E164`` sender ids, whatever their status."""
        senders = self.client_for(credentials).messaging.v2.channels_senders
        found = await self._request(
            credentials, lambda: senders.list_async(channel="whatsapp", page_size=100)
        )
        return [str(item.sender_id) for item in found if item.sender_id]

    async def _call(
        self, credentials: TwilioCredentials, request: Callable[[], Awaitable[Any]]
    ) -> TwilioMessageResult:
        instance = await self._request(credentials, request)
        try:
            return TwilioMessageResult.from_instance(instance)
        except ValidationError as error:
            raise TwilioUnexpectedResponse(
                f"Twilio's answer is not a Message: {error.error_count()} invalid field(s)"
            ) from None

    async def _request(
        self, credentials: TwilioCredentials, request: Callable[[], Awaitable[T]]
    ) -> T:
        """Run one request of the official client; its failures as ``TwilioError``."""
        token = credentials.auth_token.get_secret_value()
        try:
            return await request()
        except TwilioRestException as error:
            # Without a code in the body the library repeats the HTTP status as the code.
            code = error.code if error.code != error.status else None
            raise _scrubbed(
                twilio_error(http_status=error.status, code=code, message=str(error.msg)), token
            ) from None
        except TwilioServiceException as error:
            detail = f"{error.title}: {error.detail}" if error.detail else str(error.title)
            raise _scrubbed(
                twilio_error(http_status=error.status, code=error.code, message=detail), token
            ) from None
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:
            raise _scrubbed(TwilioUnreachable(_describe(error)), token) from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise _scrubbed(TwilioNoResponse(_describe(error)), token) from None
        except TwilioException as error:
            # A list's page the library could not fetch carries the HTTP response.
            response = error.args[1] if len(error.args) == 2 else None
            if isinstance(response, Response):
                raise _scrubbed(_page_error(response), token) from None
            raise _scrubbed(TwilioUnexpectedResponse(_describe(error)), token) from None
        except ValueError as error:  # unreadable JSON, among others
            raise _scrubbed(TwilioUnexpectedResponse(_describe(error)), token) from None


@asynccontextmanager
async def open_twilio_service(settings: Settings) -> AsyncIterator[TwilioService]:
    """The process's ``TwilioService``; its HTTP session closes when the block ends."""
    http_client = TwilioHttpClient(base_url=settings.twilio_api_base_url)
    if settings.twilio_api_base_url:
        logger.info("Twilio API calls go to %s", settings.twilio_api_base_url)
    try:
        yield TwilioService(http_client)
    finally:
        await http_client.close()


def _given(value: str | None) -> object:
    """The library's "not given" marker for None (it drops unset fields from the form)."""
    return values.unset if value is None else value


def _page_error(response: Response) -> TwilioError:
    """The typed error of a list request Twilio refused, from its status and JSON body."""
    try:
        body = json.loads(response.text)
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    code = body.get("code")
    message = body.get("message")
    return twilio_error(
        http_status=int(response.status_code),
        code=code if isinstance(code, int) else None,
        message=str(message) if message else f"HTTP {response.status_code}",
    )


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _scrubbed(error: TwilioError, token: str) -> TwilioError:
    """The error with the auth token cut out of its message, should anything echo it."""
    if token and token in error.message:
        error.args = (error.message.replace(token, "[redacted]"),)
    return error
