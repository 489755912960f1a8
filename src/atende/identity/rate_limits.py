"""Rate limits on the identity flows, kept in Postgres so every API process shares them.

Each limited action counts an attempt against two keys, before any costly or guessable
step (a password hash, a provider call, a token lookup): the account (an e-mail,
lowercased, or a token's digest) and the client's address. Past either limit the action
is refused with ``TooManyAttempts`` and does nothing. The counting is the database's
(``private.rate_limit_hit_v1``: fixed windows, one upsert per key, atomic); the limits
are settings (``ATENDE_RATE_LIMIT_*``, ``<attempts>/<window>`` or ``off``).

A new flow limits itself with one line in its resolver,
``await rate_limiter(info).check("verify_email", account=token_digest(token),
address=info.context.client_address)``, and two settings in ``LIMITS`` below.

The client's address is the socket's peer, unless the peer is one of
``ATENDE_TRUSTED_PROXIES``: then ``X-Forwarded-For`` is read from the right, skipping
trusted proxies, and the first address that is not one is the client.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from atende.config import Settings, parse_rate_limit
from atende.db.queries import load_queries
from atende.db.session import Caller, Database
from atende.identity.errors import TooManyAttempts

queries = load_queries("identity")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Action -> (settings field per account, settings field per address); None: no such key.
LIMITS: dict[str, tuple[str | None, str | None]] = {
    "sign_in": ("rate_limit_sign_in", "rate_limit_sign_in_address"),
    "register_organization": (None, "rate_limit_registration_address"),
    "refresh_session": ("rate_limit_refresh", "rate_limit_refresh_address"),
    "accept_invitation": ("rate_limit_invitation", "rate_limit_invitation_address"),
    "verify_email": (None, "rate_limit_verify_email_address"),
    "request_password_reset": ("rate_limit_password_reset", "rate_limit_password_reset_address"),
    "reset_password": (None, "rate_limit_password_reset_address"),
    # A password change checks the current password: a guess, limited as sign-ins are.
    "change_password": ("rate_limit_sign_in", "rate_limit_sign_in_address"),
    "resend_verification_email": ("rate_limit_account_mail", None),
    "invite_member": ("rate_limit_invite", None),
    # A bearer token that looks like an API key and is none (or a revoked one): a guess.
    "api_key_guess": (None, "rate_limit_api_key_address"),
}


@dataclass(frozen=True)
class Limit:
    attempts: int
    window: timedelta


def _limit(settings: Settings, field: str | None) -> Limit | None:
    if field is None:
        return None
    parsed = parse_rate_limit(getattr(settings, field))
    if parsed is None:
        return None
    return Limit(attempts=parsed[0], window=timedelta(seconds=parsed[1]))


def _digest(kind: str, value: str) -> str:
    """Keys are stored as digests: the table never holds an e-mail or an address."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


class RateLimiter:
    """The limits of ``settings``, counted in ``database`` (as the service role)."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.limits = {
            action: (_limit(settings, account), _limit(settings, address))
            for action, (account, address) in LIMITS.items()
        }

    async def check(self, action: str, *, account: str | None, address: str | None) -> None:
        """Count one attempt at ``action``; ``TooManyAttempts`` past either limit."""
        account_limit, address_limit = self.limits[action]
        keys: list[str] = []
        limits: list[Limit] = []
        if account_limit is not None and account:
            keys.append(_digest("account", account))
            limits.append(account_limit)
        if address_limit is not None and address:
            keys.append(_digest("address", address))
            limits.append(address_limit)
        if not keys:
            return
        rows = await self.database.fetch_all(
            Caller.service(),
            queries["rate_limit_hit"],
            {
                "action": action,
                "keys": keys,
                "maxes": [limit.attempts for limit in limits],
                "windows": [limit.window for limit in limits],
            },
        )
        refused = [row["retry_after_seconds"] for row in rows if not row["allowed"]]
        if refused:
            raise TooManyAttempts(action, max(refused))


async def purge_rate_limits(database: Database) -> int:
    """Delete the counters of ended windows (identity's upkeep job); returns how many."""
    row = await database.fetch_one(Caller.service(), queries["purge_rate_limits"])
    return int(row["purged"]) if row is not None else 0


# -- The client's address ------------------------------------------------------------------


@lru_cache(maxsize=8)
def trusted_networks(proxies: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Iterable[IPNetwork]
) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == network.version and address in network for network in networks)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted_proxies: Sequence[str]
) -> str | None:
    """The client's address: ``peer`` (the socket's), or, when ``peer`` is a trusted
    proxy, the rightmost ``X-Forwarded-For`` entry that is not one (``forwarded_for``:
    every such header's value, in order)."""
    if peer is None:
        return None
    networks = trusted_networks(tuple(trusted_proxies))
    current = _address(peer)
    if current is None or not networks or not _is_trusted(current, networks):
        return str(current) if current is not None else peer
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # garbage: believe no further than the last trusted hop
            break
        current = address
        if not _is_trusted(address, networks):
            break
    return str(current)
