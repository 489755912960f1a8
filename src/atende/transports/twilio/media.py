"""Downloading the files customers send, from Twilio's media URLs, and nothing else.

A ``MediaUrlN`` of an inbound message is
``https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media/{MediaSid}``.
With the account's credentials (Twilio's "Enforce HTTP Auth on Media URLs"), Twilio
answers with a redirect to a short-lived copy on its CDN (``mms.twiliocdn.com``; older
media: ``s3-external-1.amazonaws.com/media.twiliocdn.com/...``).

The URL comes from a webhook, so it is checked before anything is sent (a server-side
request forgery is one webhook away otherwise):

- the first request goes only to Twilio's API host (``https://api.twilio.com``, default
  port) or to the exact origin (scheme, host and port) of ``TWILIO_API_BASE_URL`` when it
  is set (the simulator), and only to a media path of the channel's own account;
- a redirect is followed only to that same origin (with the credentials) or to Twilio's
  media CDN (https, without them), three at most;
- the answer must declare one of the accepted media types and at most ``max_bytes``, and
  is read as it comes (uncompressed: ``Accept-Encoding: identity``) and dropped the moment
  it passes the limit; the whole download has one deadline.

Anything else is refused with its reason (``MediaFetchRefused``) and never fetched; what
may succeed later (timeouts, 5xx, 429, a connection that failed) is
``MediaFetchUnavailable``. Credentials never reach a log or an error message.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp

from atende.channels.transport import (
    MediaDownload,
    MediaFetchRefused,
    MediaFetchUnavailable,
)
from atende.media.models import MediaFailure, media_type_of
from atende.transports.twilio.models import TwilioCredentials

logger = logging.getLogger("atende.transports.twilio.media")

TWILIO_API_ORIGIN = ("https", "api.twilio.com", 443)
#: Twilio's media CDN: where its API redirects a media request (no credentials sent).
CDN_HOSTS = frozenset({"mms.twiliocdn.com", "media.twiliocdn.com"})
#: Older media live in Twilio's bucket on S3, under this path.
S3_HOST = "s3-external-1.amazonaws.com"
S3_PREFIX = "/media.twiliocdn.com/"
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MEDIA_PATH = re.compile(
    r"/2010-04-01/Accounts/(?P<account>AC[0-9a-fA-F]{32})/Messages/[A-Z]{2}[0-9a-fA-F]{32}"
    r"/Media/[A-Z]{2}[0-9a-fA-F]{32}"
)
_CHUNK = 64 * 1024

Origin = tuple[str, str, int]


@dataclass(frozen=True)
class _Target:
    url: str
    #: Whether the request carries the account's credentials (Twilio's own origins only).
    authenticated: bool


def origin_of(url: str) -> Origin | None:
    """``(scheme, host, port)`` of an http(s) URL without user info; None otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname or "@" in parts.netloc:
        return None
    return (parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80))


class TwilioMediaFetcher:
    """Fetches media with one aiohttp session, opened and closed by the transport."""

    def __init__(self, *, base_url: str | None = None) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self.origins: set[Origin] = {TWILIO_API_ORIGIN}
        self.base_path = ""
        if self.base_url is not None:
            base_origin = origin_of(self.base_url)
            if base_origin is not None:
                self.origins.add(base_origin)
                self.base_path = urlsplit(self.base_url).path.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Bodies as they are: a compressed answer must not grow past the limit unseen.
            self._session = aiohttp.ClientSession(auto_decompress=False, trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def first_target(self, url: str, account_sid: str) -> _Target:
        """``url`` if it is a media URL of ``account_sid`` at Twilio (or the simulator)."""
        origin = origin_of(url)
        if origin not in self.origins:
            raise MediaFetchRefused(
                MediaFailure.HOST_REFUSED, f"not Twilio's media host: {_where(url)}"
            )
        path = urlsplit(url).path
        if origin != TWILIO_API_ORIGIN and self.base_path:
            if not path.startswith(self.base_path + "/"):
                raise MediaFetchRefused(MediaFailure.HOST_REFUSED, "not a Twilio media path")
            path = path[len(self.base_path) :]
        match = _MEDIA_PATH.fullmatch(path)
        if match is None or match["account"] != account_sid:
            raise MediaFetchRefused(
                MediaFailure.HOST_REFUSED, "not a media path of the channel's Twilio account"
            )
        return _Target(url, authenticated=True)

    def redirect_target(self, current: _Target, location: str) -> _Target:
        url = urljoin(current.url, location)
        origin = origin_of(url)
        if origin in self.origins and origin == origin_of(current.url):
            return _Target(url, authenticated=current.authenticated)
        if origin is not None and origin[0] == "https" and origin[2] == 443:
            host, path = origin[1], urlsplit(url).path
            if host in CDN_HOSTS or (host == S3_HOST and path.startswith(S3_PREFIX)):
                return _Target(url, authenticated=False)
        raise MediaFetchRefused(
            MediaFailure.HOST_REFUSED, f"Twilio redirected to another host: {_where(url)}"
        )

    async def fetch(
        self,
        credentials: TwilioCredentials,
        url: str,
        *,
        max_bytes: int,
        accept: Collection[str],
        timeout: float,
    ) -> MediaDownload:
        target = self.first_target(url, credentials.account_sid)
        token = credentials.auth_token.get_secret_value()
        basic = base64.b64encode(f"{credentials.account_sid}:{token}".encode()).decode()
        try:
            async with asyncio.timeout(timeout):
                return await self._follow(target, basic, max_bytes=max_bytes, accept=accept)
        except TimeoutError:
            raise MediaFetchUnavailable(
                MediaFailure.UNAVAILABLE, f"no answer within {timeout:g} s"
            ) from None
        except aiohttp.ClientError as error:
            raise MediaFetchUnavailable(
                MediaFailure.UNAVAILABLE, f"connection failed: {type(error).__name__}"
            ) from None

    async def _follow(
        self, target: _Target, basic: str, *, max_bytes: int, accept: Collection[str]
    ) -> MediaDownload:
        for _ in range(MAX_REDIRECTS + 1):
            headers = {"Accept-Encoding": "identity", "User-Agent": "Atende media fetcher"}
            if target.authenticated:
                headers["Authorization"] = f"Basic {basic}"
            async with self._open_session().get(
                target.url, headers=headers, allow_redirects=False
            ) as answer:
                if answer.status in _REDIRECTS:
                    location = answer.headers.get("Location")
                    if not location:
                        raise MediaFetchRefused(
                            MediaFailure.UNAVAILABLE, "a redirect without a location"
                        )
                    target = self.redirect_target(target, location)
                    continue
                _check_status(answer.status)
                content_type = media_type_of(answer.headers.get("Content-Type"))
                if content_type not in accept:
                    raise MediaFetchRefused(
                        MediaFailure.TYPE_UNSUPPORTED,
                        f"a kind of file not kept: {content_type or 'no content type'}",
                    )
                declared = answer.content_length
                if declared is not None and declared > max_bytes:
                    raise _too_large(max_bytes)
                body = bytearray()
                async for chunk in answer.content.iter_chunked(_CHUNK):
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise _too_large(max_bytes)
                logger.debug(
                    "fetched %d bytes of %s from %s", len(body), content_type, _where(target.url)
                )
                return MediaDownload(content=bytes(body), content_type=content_type)
        raise MediaFetchRefused(MediaFailure.HOST_REFUSED, "too many redirects")


def _check_status(status: int) -> None:
    if 200 <= status < 300:
        return
    if status in {404, 410}:
        raise MediaFetchRefused(
            MediaFailure.NOT_FOUND,
            f"Twilio no longer has the file (HTTP {status})",
            http_status=status,
        )
    if status in {401, 403}:
        raise MediaFetchRefused(
            MediaFailure.UNAUTHORIZED,
            f"Twilio refused the channel's credentials (HTTP {status})",
            http_status=status,
        )
    if status == 429 or status >= 500:
        raise MediaFetchUnavailable(
            MediaFailure.UNAVAILABLE, f"Twilio answered HTTP {status}", http_status=status
        )
    raise MediaFetchRefused(
        MediaFailure.UNAVAILABLE, f"Twilio answered HTTP {status}", http_status=status
    )


def _too_large(max_bytes: int) -> MediaFetchRefused:
    return MediaFetchRefused(MediaFailure.TOO_LARGE, f"larger than {max_bytes} bytes")


def _where(url: str) -> str:
    """A URL's scheme and host, for messages (never its query: it may hold a signature)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}" if parts.netloc else parts.scheme
