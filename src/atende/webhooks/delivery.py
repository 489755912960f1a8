"""Posting a webhook: Standard Webhooks signatures, the SSRF guard, timeouts, backoff.

**Signing** follows the Standard Webhooks specification with its reference library
(``standardwebhooks``): ``webhook-id`` (the delivery's id, the same on every attempt),
``webhook-timestamp`` (seconds), and ``webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body">`` with the endpoint's ``whsec_`` secret, so any receiver verifies it
with existing tools.

**The SSRF guard** refuses to connect to private, loopback, link-local, multicast,
reserved or unspecified addresses (``ATENDE_OUTGOING_WEBHOOKS_ALLOW_PRIVATE`` allows
them; it defaults to true outside production). It checks the addresses the name
resolves to *at connection time* and connects to the address it checked (TLS still
verifies the name), so a name that resolves to a public address when the endpoint is
saved and to 127.0.0.1 when it is called (DNS rebinding) is refused too. No proxy from
the environment is used and redirects are not followed.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import random
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpcore
import httpx
from standardwebhooks.webhooks import Webhook

from atende.errors import AtendeError
from atende.webhooks.models import Attempt

#: Seconds to connect, and for the whole request (a receiver should answer fast and
#: work later; a slow one holds a delivery slot no longer than this).
CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 10.0
USER_AGENT = "Atende-Webhooks/1"

#: When attempt n+1 comes after attempt n failed (n = 1, 2, ...), before jitter: the
#: first retry within 10 s, then ever longer, over a day and a bit (about 27 h in all);
#: after the last, the delivery is failed.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
#: Each delay is spread by up to this fraction either way, so the retries of many
#: deliveries that failed together (a receiver's outage) do not come back together.
JITTER = 0.2


def new_secret() -> str:
    """A signing secret in the Standard Webhooks format: ``whsec_`` and 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_id(delivery_id: object) -> str:
    """The ``webhook-id`` of a delivery (``msg_`` and its id): stable across attempts."""
    return f"msg_{str(delivery_id).replace('-', '')}"


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> timedelta | None:
    """How long after failed attempt number ``attempts`` to try again; None: give up."""
    if attempts < 1 or attempts > len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[attempts - 1].total_seconds()
    spread = (rng or random).uniform(-JITTER, JITTER)
    return timedelta(seconds=base * (1 + spread))


def signed_headers(secret: str, message_id: str, body: str, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for ``body`` sent as ``message_id`` at ``now``."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }


# -- The SSRF guard --------------------------------------------------------------------------


class RefusedAddress(OSError):
    """The receiver's name resolves to an address webhooks may not reach."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(address: IPAddress) -> bool:
    """An address on the public internet (not private, loopback, link-local, multicast,
    reserved, unspecified, or an IPv4 one of those mapped into IPv6)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an address literal: itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def checked_addresses(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """The addresses to connect to; ``RefusedAddress`` when any is not public (a name
    that resolves to one public and one private address is refused: the private one may
    be what the next resolution gives)."""
    addresses = await resolve(host, port)
    if not addresses:
        raise RefusedAddress(f"{host} resolves to no address")
    if not allow_private:
        refused = [a for a in addresses if not is_public(a)]
        if refused:
            raise RefusedAddress(f"{host} resolves to a non-public address ({refused[0]})")
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the guard accepts."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await checked_addresses(host, port, allow_private=self.allow_private)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as error:
                last = error
        raise last or httpcore.ConnectError(f"could not connect to {host}")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress("webhooks are not sent to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over ``GuardedBackend``."""

    def __init__(self, *, allow_private: bool) -> None:
        super().__init__(retries=0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(allow_private=allow_private),
        )


# -- Posting ---------------------------------------------------------------------------------


class LaneBusy(AtendeError):
    """This process is posting as many deliveries as it may (or to this endpoint); try
    again in ``retry_in`` seconds."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"the delivery lane is full; again in {retry_in:.1f} s")
        self.retry_in = retry_in


#: A job that finds its lane full comes back this long later (seconds, drawn at random so
#: the jobs put back together do not all come back together) ...
BUSY_PAUSE = (0.5, 2.0)
#: ... unless the endpoint's oldest request in flight has already taken this long: then
#: the receiver is slow or hanging, and its lane frees no sooner than that request's
#: timeout, so the job comes back around then (and not every second or two until then,
#: each time for nothing: bench/webhooks, a hanging receiver).
SLOW_AFTER = 1.0


class WebhookSender:
    """One per process: an HTTP client that posts signed deliveries through the guard.

    Its lanes bound what deliveries may hold of the process's job slots: ``slots``
    deliveries in flight at once, ``per_endpoint`` of them to one endpoint. A job that
    finds its lane full is put back (``LaneBusy``) instead of waiting in a slot, so a
    hanging receiver holds at most ``per_endpoint`` slots for at most ``REQUEST_TIMEOUT``
    an attempt, and replies and other organizations' deliveries keep the rest; it comes
    back in a second or two, or, when the endpoint's requests in flight are slow, around
    when the first of them times out.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        slots: int = 5,
        per_endpoint: int = 2,
        request_timeout: float = REQUEST_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allow_private = allow_private
        self.clock = clock
        self.request_timeout = request_timeout
        self.slots = slots
        self.per_endpoint = per_endpoint
        self._in_flight = 0
        #: When each request in flight to an endpoint started (monotonic), by endpoint.
        self._per_endpoint: dict[object, list[float]] = {}
        self._client = httpx.AsyncClient(
            transport=GuardedTransport(allow_private=allow_private),
            timeout=httpx.Timeout(request_timeout, connect=min(CONNECT_TIMEOUT, request_timeout)),
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": USER_AGENT},
        )

    async def close(self) -> None:
        await self._client.aclose()

    def check_lane(self, endpoint_id: object, *, rng: random.Random | None = None) -> None:
        """``LaneBusy`` when there is no place to post to ``endpoint_id`` from now."""
        pause = (rng or random).uniform(*BUSY_PAUSE)
        started = self._per_endpoint.get(endpoint_id, [])
        if len(started) >= self.per_endpoint:
            oldest = self.clock() - min(started)
            if oldest >= SLOW_AFTER:
                # Its first slot frees at that request's timeout at the latest.
                pause = max(pause, self.request_timeout + 1 - oldest + pause / 2)
            raise LaneBusy(pause)
        if self._in_flight >= self.slots:
            raise LaneBusy(pause)

    @asynccontextmanager
    async def lane(self, endpoint_id: object) -> AsyncIterator[None]:
        """A place to post to ``endpoint_id`` from, or ``LaneBusy`` at once."""
        self.check_lane(endpoint_id)
        self._in_flight += 1
        started = self.clock()
        self._per_endpoint.setdefault(endpoint_id, []).append(started)
        try:
            yield
        finally:
            self._in_flight -= 1
            others = self._per_endpoint.pop(endpoint_id)
            others.remove(started)
            if others:
                self._per_endpoint[endpoint_id] = others

    async def post(self, url: str, *, secret: str, message_id: str, body: str) -> Attempt:
        """One attempt; never raises for the receiver's or the network's failures."""
        headers = {
            "content-type": "application/json",
            **signed_headers(secret, message_id, body, datetime.now(UTC)),
        }
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.request_timeout + 1):  # DNS included
                response = await self._client.post(url, content=body.encode(), headers=headers)
        except RefusedAddress as error:
            return Attempt(None, _ms(started), f"refused: {error}")
        except (TimeoutError, httpx.TimeoutException):
            return Attempt(None, _ms(started), f"no answer within {self.request_timeout:g} s")
        except (httpx.HTTPError, OSError) as error:
            return Attempt(None, _ms(started), f"could not connect: {type(error).__name__}")
        if 200 <= response.status_code < 300:
            return Attempt(response.status_code, _ms(started), None)
        return Attempt(response.status_code, _ms(started), f"answered {response.status_code}")


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
