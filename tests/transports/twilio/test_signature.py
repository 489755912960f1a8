"""Webhook signatures: Twilio's published vector, both algorithms, and tampering."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from atende.transports.twilio.signature import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    InvalidWebhookSignature,
    SignatureAlgorithm,
    compute_signature,
    is_valid_signature,
    is_valid_webhook,
    parse_form,
    public_url_of,
    public_webhook_url,
    signature_headers,
    verify_webhook_signature,
)

# Twilio's documented example ("Webhooks security"; also twilio-python's own tests).
DOCS_TOKEN = "12345"
DOCS_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
DOCS_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="

TOKEN = "channel-auth-token-0123456789abcdef"
URL = "https://atende.example/webhooks/twilio/messages"


def test_documented_vector() -> None:
    assert compute_signature(DOCS_URL, DOCS_PARAMS, DOCS_TOKEN) == DOCS_SIGNATURE
    assert RequestValidator(DOCS_TOKEN).validate(DOCS_URL, DOCS_PARAMS, DOCS_SIGNATURE)
    assert is_valid_signature(DOCS_URL, DOCS_PARAMS, DOCS_SIGNATURE, DOCS_TOKEN)


@pytest.mark.parametrize(
    "url",
    [
        "https://mycompany.com:443/myapp.php?foo=1&bar=2",  # Twilio may sign either form
        DOCS_URL,
    ],
)
def test_default_port_variants_validate(url: str) -> None:
    assert is_valid_signature(url, DOCS_PARAMS, DOCS_SIGNATURE, DOCS_TOKEN)


def test_documented_vector_through_the_header_check() -> None:
    verify_webhook_signature(
        url=DOCS_URL,
        params=DOCS_PARAMS,
        headers={"x-twilio-signature": DOCS_SIGNATURE},  # any case, as HTTP allows
        auth_token=DOCS_TOKEN,
    )


def test_sha256_matches_the_twilio_library() -> None:
    library = RequestValidator(DOCS_TOKEN).compute_signature(
        DOCS_URL, DOCS_PARAMS, algorithm="HMAC_SHA256"
    )
    ours = compute_signature(DOCS_URL, DOCS_PARAMS, DOCS_TOKEN, SignatureAlgorithm.HMAC_SHA256)
    assert ours == library
    assert ours != DOCS_SIGNATURE


def test_sha256_announced_by_the_settings_header_validates_with_the_auth_token() -> None:
    headers = signature_headers(URL, DOCS_PARAMS, TOKEN, algorithm=SignatureAlgorithm.HMAC_SHA256)
    assert headers[SIGNATURE_SETTINGS_HEADER] == "algorithm=HMAC_SHA256"
    verify_webhook_signature(url=URL, params=DOCS_PARAMS, headers=headers, auth_token=TOKEN)


def test_sha256_with_a_shared_key_uses_that_keys_secret() -> None:
    shared = "shared-key-secret-abcdefghijklmnop"
    headers = signature_headers(
        URL,
        DOCS_PARAMS,
        shared,
        algorithm=SignatureAlgorithm.HMAC_SHA256,
        shared_key_id="webhooks_sharedkey_1",
    )
    assert headers[SIGNATURE_SETTINGS_HEADER] == "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    keys = {"webhooks_sharedkey_1": shared}
    verify_webhook_signature(
        url=URL, params=DOCS_PARAMS, headers=headers, auth_token=TOKEN, shared_keys=keys
    )
    # Without the shared key, the auth token cannot validate it.
    assert not is_valid_webhook(url=URL, params=DOCS_PARAMS, headers=headers, auth_token=TOKEN)


@pytest.mark.parametrize("spelling", ["HMAC_SHA256", "hmac-sha256", "sha256", " SHA256 "])
def test_settings_header_spellings(spelling: str) -> None:
    signature = compute_signature(URL, DOCS_PARAMS, TOKEN, SignatureAlgorithm.HMAC_SHA256)
    headers = {SIGNATURE_HEADER: signature, SIGNATURE_SETTINGS_HEADER: f"algorithm={spelling}"}
    verify_webhook_signature(url=URL, params=DOCS_PARAMS, headers=headers, auth_token=TOKEN)


def test_a_sha1_signature_does_not_pass_as_sha256() -> None:
    headers = {
        SIGNATURE_HEADER: compute_signature(URL, DOCS_PARAMS, TOKEN),
        SIGNATURE_SETTINGS_HEADER: "algorithm=HMAC_SHA256",
    }
    with pytest.raises(InvalidWebhookSignature, match="does not match"):
        verify_webhook_signature(url=URL, params=DOCS_PARAMS, headers=headers, auth_token=TOKEN)


def test_unsupported_algorithm_is_refused() -> None:
    headers = {
        SIGNATURE_HEADER: compute_signature(URL, DOCS_PARAMS, TOKEN),
        SIGNATURE_SETTINGS_HEADER: "algorithm=HMAC_MD5",
    }
    with pytest.raises(InvalidWebhookSignature, match="unsupported"):
        verify_webhook_signature(url=URL, params=DOCS_PARAMS, headers=headers, auth_token=TOKEN)


@pytest.mark.parametrize("headers", [{}, {SIGNATURE_HEADER: ""}])
def test_missing_signature_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(InvalidWebhookSignature, match="missing"):
        verify_webhook_signature(url=URL, params=DOCS_PARAMS, headers=headers, auth_token=TOKEN)


def test_non_ascii_garbage_signature_is_just_invalid() -> None:
    headers = {SIGNATURE_HEADER: "não é base64 ✗"}
    assert not is_valid_webhook(url=URL, params=DOCS_PARAMS, headers=headers, auth_token=TOKEN)


def test_repeated_fields_are_signed_like_twilio_signs_them() -> None:
    pairs = [("MediaUrl", "https://b.example/2"), ("MediaUrl", "https://a.example/1"), ("To", "x")]
    signature = compute_signature(URL, pairs, TOKEN)
    library_params = _MultiDict(pairs)
    assert RequestValidator(TOKEN).validate(URL, library_params, signature)
    assert is_valid_signature(URL, list(reversed(pairs)), signature, TOKEN)
    assert is_valid_signature(
        URL,
        {"MediaUrl": ["https://a.example/1", "https://b.example/2"], "To": "x"},
        signature,
        TOKEN,
    )


class _MultiDict(dict[str, list[str]]):
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__()
        for name, value in pairs:
            self.setdefault(name, []).append(value)

    def getall(self, name: str) -> list[str]:
        return self[name]


def test_parse_form_keeps_order_repeats_and_blanks() -> None:
    body = b"Body=Ol%C3%A1+mundo&MediaUrl=a&MediaUrl=b&ProfileName=&To=whatsapp%3A%2B55"
    assert parse_form(body) == [
        ("Body", "Olá mundo"),
        ("MediaUrl", "a"),
        ("MediaUrl", "b"),
        ("ProfileName", ""),
        ("To", "whatsapp:+55"),
    ]


def test_parse_form_refuses_absurdly_many_fields() -> None:
    with pytest.raises(ValueError, match="Max number of fields"):
        parse_form(b"&".join(b"f%d=1" % i for i in range(2000)))


@pytest.mark.parametrize(
    ("public_url", "path", "query", "expected"),
    [
        ("https://atende.example", "/webhooks/twilio/messages", b"", URL),
        ("https://atende.example/", "/webhooks/twilio/messages", b"", URL),
        (
            "https://atende.example",
            "/w",
            b"channel=a%20b&x=1",
            "https://atende.example/w?channel=a%20b&x=1",
        ),
        ("https://atende.example/base", "/w", "", "https://atende.example/base/w"),
    ],
)
def test_public_webhook_url(public_url: str, path: str, query: bytes | str, expected: str) -> None:
    assert public_webhook_url(public_url, path, query) == expected


async def test_behind_a_proxy_the_public_url_is_what_validates() -> None:
    """The process sees http://10.0.0.5:8000/...; Twilio signed https://atende.example/..."""
    public_url = "https://atende.example"

    async def webhook(request: Request) -> Response:
        params = parse_form(await request.body())
        ok = is_valid_webhook(
            url=public_url_of(request, public_url),
            params=params,
            headers=request.headers,
            auth_token=TOKEN,
        )
        return PlainTextResponse("ok" if ok else "forbidden", status_code=200 if ok else 403)

    app = Starlette(routes=[Route("/webhooks/twilio/messages", webhook, methods=["POST"])])
    params = {"Body": "Olá", "From": "whatsapp:+5511999990000", "MessageSid": "SM1"}
    signed_for = f"{public_url}/webhooks/twilio/messages?channel=abc"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.5:8000") as client:
        good = await client.post(
            "/webhooks/twilio/messages?channel=abc",
            data=params,
            headers=signature_headers(signed_for, params, TOKEN),
        )
        signed_for_the_inside = signature_headers(
            "http://10.0.0.5:8000/webhooks/twilio/messages?channel=abc", params, TOKEN
        )
        bad = await client.post(
            "/webhooks/twilio/messages?channel=abc", data=params, headers=signed_for_the_inside
        )
    assert (good.status_code, bad.status_code) == (200, 403)


# -- properties -------------------------------------------------------------------------

names = st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=12)
values = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
forms = st.dictionaries(names, values, max_size=8)
tokens = st.text(alphabet=st.characters(categories=["L", "N"]), min_size=8, max_size=40)
urls = st.builds(
    "https://{}.example/{}?{}".format,
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789/_-", max_size=20),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789=&", max_size=20),
)
algorithms = st.sampled_from(SignatureAlgorithm)
fast = settings(max_examples=60, deadline=None)


@fast
@given(url=urls, params=forms, token=tokens, algorithm=algorithms)
def test_every_signature_validates(
    url: str, params: dict[str, str], token: str, algorithm: SignatureAlgorithm
) -> None:
    signature = compute_signature(url, params, token, algorithm)
    assert is_valid_signature(url, params, signature, token, algorithm)


@fast
@given(url=urls, params=forms, token=tokens, data=st.data())
def test_changing_a_value_breaks_it(
    url: str, params: dict[str, str], token: str, data: st.DataObject
) -> None:
    signature = compute_signature(url, params, token)
    if not params:
        params, signature = {"Body": "x"}, compute_signature(url, {"Body": "x"}, token)
    name = data.draw(st.sampled_from(sorted(params)))
    tampered = {**params, name: data.draw(values.filter(lambda v: v != params[name]))}
    assert not is_valid_signature(url, tampered, signature, token)


@fast
@given(url=urls, params=forms, token=tokens, name=names, value=values)
def test_adding_a_field_breaks_it(
    url: str, params: dict[str, str], token: str, name: str, value: str
) -> None:
    assume(name not in params)
    signature = compute_signature(url, params, token)
    added = {**params, name: value}
    assert not is_valid_signature(url, added, signature, token)


@fast
@given(url=urls, params=forms.filter(bool), token=tokens, data=st.data())
def test_removing_a_field_breaks_it(
    url: str, params: dict[str, str], token: str, data: st.DataObject
) -> None:
    signature = compute_signature(url, params, token)
    name = data.draw(st.sampled_from(sorted(params)))
    removed = {key: value for key, value in params.items() if key != name}
    assert not is_valid_signature(url, removed, signature, token)


@fast
@given(url=urls, other=urls, params=forms, token=tokens)
def test_another_url_breaks_it(url: str, other: str, params: dict[str, str], token: str) -> None:
    if other == url:
        other = url + "x"
    signature = compute_signature(url, params, token)
    assert not is_valid_signature(other, params, signature, token)


@fast
@given(url=urls, params=forms, token=tokens, other=tokens, algorithm=algorithms)
def test_another_token_breaks_it(
    url: str, params: dict[str, str], token: str, other: str, algorithm: SignatureAlgorithm
) -> None:
    if other == token:
        other = token + "x"
    signature = compute_signature(url, params, token, algorithm)
    assert not is_valid_signature(url, params, signature, other, algorithm)
