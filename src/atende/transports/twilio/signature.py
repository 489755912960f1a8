"""Twilio webhook signatures: checking the ones Twilio sends, and making them for tests.

Twilio signs every webhook it posts (``X-Twilio-Signature``): the full URL it requested
(as configured in Twilio: scheme, host, port if any, path, query string exactly as
given), followed by each POST field name and value, sorted by name; HMAC of that string,
base64-encoded. The key is the account's auth token and the hash SHA-1 — unless a Twilio
*Webhook Setting* applies to the URL: then Twilio signs with that Setting's SharedKey
secret and algorithm, and says so in a second header::

    X-Twilio-Webhooks-Signature-Settings: key=<shared key id>,algorithm=HMAC_SHA256

Only the hash and the key change; the signed string is the same (Twilio's "Sign webhooks
with shared keys" and twilio-node's ``WebhookSignatureValidation.md``). The Webhooks
configuration API is a public beta and its documentation is thin, so this module takes
the natural reading and says what it assumes:

- no settings header: HMAC-SHA1 with the auth token (the classic scheme);
- a settings header naming ``HMAC_SHA1`` or ``HMAC_SHA256`` (also accepted as
  ``sha256``/``HMAC-SHA256``, any case): that hash, keyed with the shared key secret the
  caller knows for the header's ``key=`` id, or with the auth token when it knows none
  (what the simulator and Twilio-compatible providers that announce SHA-256 use);
- any other algorithm: invalid (the request is refused, never accepted unchecked).

Atende checks signatures against its *public* URL (``ATENDE_PUBLIC_URL`` + the request's
path + its raw query string), not the URL the process sees, so checks pass behind TLS
terminators and proxies. URLs are tried with and without the default port, as Twilio's
own libraries do. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import functools
import hmac
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from starlette.requests import Request
from twilio.request_validator import add_port, remove_port

from atende.errors import AtendeError

SIGNATURE_HEADER = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"

#: POST fields of a webhook: a mapping (one value each) or (name, value) pairs, where a
#: name may repeat (Starlette's ``FormData.multi_items()``).
WebhookParams = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]

#: More form fields than any Twilio webhook has (an inbound message has a few dozen).
MAX_FORM_FIELDS = 1000


class SignatureAlgorithm(StrEnum):
    HMAC_SHA1 = "HMAC_SHA1"
    HMAC_SHA256 = "HMAC_SHA256"


_ALGORITHM_NAMES = {
    "HMAC_SHA1": SignatureAlgorithm.HMAC_SHA1,
    "SHA1": SignatureAlgorithm.HMAC_SHA1,
    "HMAC_SHA256": SignatureAlgorithm.HMAC_SHA256,
    "SHA256": SignatureAlgorithm.HMAC_SHA256,
}
_HASH_NAMES = {
    SignatureAlgorithm.HMAC_SHA1: "sha1",
    SignatureAlgorithm.HMAC_SHA256: "sha256",
}


class InvalidWebhookSignature(AtendeError):
    """The webhook's Twilio signature is missing or does not match."""


# -- settings header --------------------------------------------------------------------


def parse_signature_settings(header: str | None) -> tuple[str | None, str | None]:
    """``(key id, algorithm name)`` from ``X-Twilio-Webhooks-Signature-Settings``."""
    values: dict[str, str] = {}
    for part in (header or "").split(","):
        name, separator, value = part.partition("=")
        if separator and value.strip():
            values[name.strip().lower()] = value.strip()
    return values.get("key"), values.get("algorithm")


def signature_algorithm(name: str | None) -> SignatureAlgorithm | None:
    """The algorithm a settings header names (SHA-1 when it names none); None if unknown."""
    if name is None:
        return SignatureAlgorithm.HMAC_SHA1
    return _ALGORITHM_NAMES.get(name.strip().upper().replace("-", "_"))


# -- signing ----------------------------------------------------------------------------


def compute_signature(
    url: str,
    params: WebhookParams,
    secret: str,
    algorithm: SignatureAlgorithm = SignatureAlgorithm.HMAC_SHA1,
) -> str:
    """The signature Twilio puts on a form-encoded POST of ``params`` to ``url``."""
    return _sign(url + signed_fields(params), secret, algorithm)


def signed_fields(params: WebhookParams) -> str:
    """The part of the string-to-sign after the URL: each name, then each of its distinct
    values, names and values sorted (what twilio's ``RequestValidator`` builds; the
    tests check the two never disagree)."""
    if isinstance(params, Mapping):
        pairs = {
            (name, value)
            for name, values in params.items()
            for value in ([values] if isinstance(values, str) else values)
        }
    else:
        pairs = set(params)
    # Sorting the distinct (name, value) pairs sorts the names, then each name's values.
    return "".join(name + value for name, value in sorted(pairs))


def _sign(payload: str, secret: str, algorithm: SignatureAlgorithm) -> str:
    return base64.b64encode(_digest(payload, secret.encode(), algorithm)).decode()


def _digest(payload: str, key: bytes, algorithm: SignatureAlgorithm) -> bytes:
    # hmac.digest with a hash name takes OpenSSL's one-shot HMAC: a webhook is signed
    # on every request.
    return hmac.digest(key, payload.encode(), _HASH_NAMES[algorithm])


def signature_headers(
    url: str,
    params: WebhookParams,
    secret: str,
    *,
    algorithm: SignatureAlgorithm = SignatureAlgorithm.HMAC_SHA1,
    shared_key_id: str | None = None,
) -> dict[str, str]:
    """The headers Twilio would send: the signature, and the settings header when the
    request is signed any other way than SHA-1 with the auth token."""
    headers = {SIGNATURE_HEADER: compute_signature(url, params, secret, algorithm)}
    if algorithm is not SignatureAlgorithm.HMAC_SHA1 or shared_key_id is not None:
        settings = f"algorithm={algorithm.value}"
        if shared_key_id is not None:
            settings = f"key={shared_key_id},{settings}"
        headers[SIGNATURE_SETTINGS_HEADER] = settings
    return headers


# -- checking ---------------------------------------------------------------------------


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """The fields of a form-encoded body, in order, repeated names and blank values kept.

    (Starlette's ``request.form()`` needs ``python-multipart``; Twilio only ever sends
    ``application/x-www-form-urlencoded``, which the standard library reads.) Raises
    ``ValueError`` past ``MAX_FORM_FIELDS`` fields.
    """
    text = body.decode("latin-1")
    if text.count("&") >= MAX_FORM_FIELDS:
        raise ValueError("Max number of fields exceeded")
    # What parse_qsl(keep_blank_values=True, encoding="utf-8", errors="replace") does,
    # without its generality: a webhook's form is parsed on every request.
    pairs = []
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        pairs.append((_unquote_plus(name), _unquote_plus(value)))
    return pairs


def _unquote_plus(text: str) -> str:
    text = text.replace("+", " ")
    return unquote(text, encoding="utf-8", errors="replace") if "%" in text else text


async def read_form(request: Request) -> list[tuple[str, str]]:
    """The form fields of a webhook request (see ``parse_form``)."""
    return parse_form(await request.body())


def public_url_of(request: Request, public_url: str) -> str:
    """The URL Twilio requested to reach ``request``, with ``ATENDE_PUBLIC_URL`` as its
    scheme and host (``public_webhook_url`` for a Starlette request)."""
    scope = request.scope
    # What ``request.url.path`` gives, without building the whole URL on every webhook.
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    return public_webhook_url(public_url, path, scope.get("query_string", b""))


def public_webhook_url(public_url: str, path: str, query_string: str | bytes = b"") -> str:
    """The URL Twilio requested: ``ATENDE_PUBLIC_URL`` + path + the raw query string.

    Pass the query string exactly as received (``scope["query_string"]``): Twilio signs
    it as configured, percent-encoding and all.
    """
    query = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    url = public_url.rstrip("/") + "/" + path.lstrip("/")
    return f"{url}?{query}" if query else url


def is_valid_signature(
    url: str,
    params: WebhookParams,
    signature: str,
    secret: str,
    algorithm: SignatureAlgorithm = SignatureAlgorithm.HMAC_SHA1,
) -> bool:
    """Whether ``signature`` signs this POST, with ``url`` tried as given, then with and
    without its default port (Twilio is inconsistent there)."""
    given = signature.encode("utf-8", errors="replace")
    fields = signed_fields(params)  # the same for every candidate URL
    key = secret.encode()
    # Only the digest comparison is constant-time: the candidates are derived from the
    # public URL, so which one matched tells nothing secret, and trying them in turn
    # saves an HMAC on every webhook.
    return any(
        hmac.compare_digest(base64.b64encode(_digest(candidate + fields, key, algorithm)), given)
        for candidate in _url_candidates(url)
    )


@functools.lru_cache(maxsize=256)
def _url_candidates(url: str) -> tuple[str, ...]:
    """``url``, then (like twilio's RequestValidator) it with and without its default
    port, when those differ from it."""
    parsed = urlsplit(url)
    return (url, *sorted({remove_port(parsed), add_port(parsed)} - {url}))


def verify_webhook_signature(
    *,
    url: str,
    params: WebhookParams,
    headers: Mapping[str, str],
    auth_token: str,
    shared_keys: Mapping[str, str] | None = None,
) -> None:
    """Raise ``InvalidWebhookSignature`` unless the request carries a valid signature.

    ``headers`` is the request's headers (Starlette's, or any mapping: names are
    matched case-insensitively);
    ``shared_keys`` maps shared key ids to secrets for channels that use Twilio Webhook
    Settings. The error's message says why (for logs), never what was expected.
    """
    signature = _header(headers, SIGNATURE_HEADER)
    if not signature:
        raise InvalidWebhookSignature(f"{SIGNATURE_HEADER} is missing")
    key_id, algorithm_name = parse_signature_settings(_header(headers, SIGNATURE_SETTINGS_HEADER))
    algorithm = signature_algorithm(algorithm_name)
    if algorithm is None:
        raise InvalidWebhookSignature(f"unsupported signature algorithm {algorithm_name!r}")
    secret = (shared_keys or {}).get(key_id or "", auth_token)
    if not is_valid_signature(url, params, signature, secret, algorithm):
        raise InvalidWebhookSignature(f"{SIGNATURE_HEADER} does not match {url}")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # a plain dict: look the name up case-insensitively
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


def is_valid_webhook(
    *,
    url: str,
    params: WebhookParams,
    headers: Mapping[str, str],
    auth_token: str,
    shared_keys: Mapping[str, str] | None = None,
) -> bool:
    """``verify_webhook_signature`` as a yes/no."""
    try:
        verify_webhook_signature(
            url=url, params=params, headers=headers, auth_token=auth_token, shared_keys=shared_keys
        )
    except InvalidWebhookSignature:
        return False
    return True
