"""The HTTP client every Twilio API call goes through: one aiohttp session per process.

Twilio's Python client has no base-URL setting. ``TWILIO_API_BASE_URL`` is implemented
here instead: the client rewrites the scheme and host of every request to
``https://*.twilio.com`` onto the configured base URL (keeping path and query), so the
simulator, tests and Twilio-compatible providers all run the official client's code.
With no base URL, requests go to Twilio unchanged.

It also gives every request a timeout (the library's async client sends none by
default, which lets a stuck connection hang a job forever) and logs one debug line per
request, without bodies (they hold customers' messages) or credentials.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

from aiohttp import ClientSession, ClientTimeout, TCPConnector
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response

logger = logging.getLogger("atende.channels.twilio")

#: Seconds a whole request (connect, send, answer) may take.
DEFAULT_TIMEOUT_SECONDS = 15.0
#: Seconds to open a connection; past it the request was certainly not sent.
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5.0


def is_twilio_host(host: str | None) -> bool:
    host = (host or "").lower().rstrip(".")
    return host == "twilio.com" or host.endswith(".twilio.com")


def rewrite_twilio_url(url: str, base_url: str | None) -> str:
    """``url`` with ``https://<anything>.twilio.com`` replaced by ``base_url``.

    A path in the base URL is kept as a prefix (``http://proxy/twilio`` +
    ``/2010-04-01/...``). Other URLs, and every URL when ``base_url`` is None, are
    returned unchanged.
    """
    if base_url is None:
        return url
    parts = urlsplit(url)
    if parts.scheme != "https" or not is_twilio_host(parts.hostname):
        return url
    base = urlsplit(base_url)
    return urlunsplit(
        (base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, "")
    )


class TwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]  # twilio is untyped
    """``twilio.http`` client for ``twilio.rest.Client(..., http_client=...)``.

    Share one per process: its aiohttp session (and connection pool) is opened on first
    use, in the running event loop, and closed by ``close()``.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS,
        max_connections: int = 100,
    ) -> None:
        # No session from the parent: it would be created outside a running loop.
        super().__init__(pool_connections=False, timeout=timeout, logger=logger)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        self.session: ClientSession | None = None

    def rewrite_url(self, url: str) -> str:
        return rewrite_twilio_url(url, self.base_url)

    def _session(self) -> ClientSession:
        if self.session is None or self.session.closed:
            self.session = ClientSession(
                connector=TCPConnector(limit=self.max_connections),
                timeout=ClientTimeout(total=self.timeout, connect=self.connect_timeout),
            )
        return self.session

    async def request(  # noqa: PLR0917 - the signature of twilio's HttpClient.request
        self,
        method: str,
        url: str,
        params: Mapping[str, object] | None = None,
        data: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send one request and return the library's ``Response`` (any status)."""
        if timeout is not None and timeout <= 0:
            raise ValueError(timeout)
        target = self.rewrite_url(url)
        request_headers = dict(headers or {})
        if auth is not None:
            # By hand: aiohttp.BasicAuth is deprecated, and its replacement is new (3.14).
            credentials = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            request_headers["Authorization"] = f"Basic {credentials}"
        started = time.perf_counter()
        async with self._session().request(
            method.upper(),
            target,
            params=_pairs(params),
            data=_encode_body(data, request_headers.get("Content-Type")),
            headers=request_headers,
            timeout=ClientTimeout(total=timeout or self.timeout, connect=self.connect_timeout),
            allow_redirects=allow_redirects,
        ) as answer:
            text = await answer.text()
        logger.debug(
            "%s %s -> %d in %.0f ms",
            method.upper(),
            urlsplit(target)._replace(query="").geturl(),
            answer.status,
            (time.perf_counter() - started) * 1000,
        )
        return Response(answer.status, text, answer.headers)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


def _pairs(values: Mapping[str, object] | None) -> list[tuple[str, str]] | None:
    """Query or form fields as pairs, a list value becoming repeated fields."""
    if not values:
        return None
    pairs = []
    for name, value in values.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append((name, str(item)))
    return pairs


def _encode_body(data: Mapping[str, object] | None, content_type: str | None) -> bytes | None:
    if data is None:
        return None
    if content_type is not None and "json" in content_type:  # a few Twilio APIs take JSON
        return json.dumps(data).encode()
    return urlencode(_pairs(data) or []).encode()
