"""The webhooks under abuse and outages: random and adversarial bodies get a 4xx (or a
200 when validly signed), never a 500, and store nothing unless valid and signed; a
database outage answers 503 and the retried delivery is then stored once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atende.app import create_app
from atende.channels.crypto import TokenCipher
from atende.config import Settings
from atende.db.embedded import EmbeddedPostgres
from atende.devtools.twilio_simulator import inbound_message_params, new_sid
from atende.transports.twilio import webhooks
from atende.transports.twilio.models import first_values
from atende.transports.twilio.signature import SignatureAlgorithm, parse_form, signature_headers
from atende.transports.twilio.webhooks import (
    INBOUND_PATH,
    STATUS_PATH,
    WebhookRefused,
    parse_inbound,
)
from tests.channels.world import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, TestChannel, deliver
from tests.fakes.server import BackgroundServer

BUSINESS = "+5511955550000"
TWILIO_FIELDS = [
    "MessageSid",
    "AccountSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "MediaUrl0",
    "MediaContentType0",
    "ProfileName",
    "OptOutType",
    "NumSegments",
    "MessageStatus",
    "ErrorCode",
]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "application/json",
    "multipart/form-data; boundary=x",
    "text/plain",
    "",
]
ALLOWED = {200, 400, 403, 413, 415}

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)
field_value = st.one_of(
    text,
    st.sampled_from(
        ["", "0", "-1", "11", "1e9", "²", "\uff11", "whatsapp:", "whatsapp:+5521987654321"]
    ),
    st.sampled_from([f"whatsapp:{BUSINESS}", ACCOUNT_SID, "SM" + "0" * 32, "STOP"]),
    # Huge fields.
    st.integers(1_000, 200_000).map(lambda size: "9" * size),
)
form_pairs = st.lists(
    st.tuples(st.one_of(st.sampled_from(TWILIO_FIELDS), text), field_value), max_size=20
)


def parse_outcome(pairs: list[tuple[str, str]]) -> tuple[int, str]:
    try:
        message = parse_inbound(first_values(pairs))
    except WebhookRefused as refused:
        return refused.status, refused.reason
    return 200, message.customer_phone_number


@given(form_pairs)
@settings(max_examples=200, deadline=None)
def test_the_inbound_parser_only_accepts_or_refuses(pairs: list[tuple[str, str]]) -> None:
    status, detail = parse_outcome(pairs)
    assert status in {200, 400}
    assert detail.startswith("+") if status == 200 else detail


@pytest.fixture
def served_app(settings: Settings, database_url: str) -> Iterator[tuple[str, Settings]]:
    """The API under uvicorn, with a WhatsApp channel on BUSINESS (sync tests)."""
    configured = settings.model_copy(update={"channel_cache_seconds": 0.0})
    with psycopg.connect(database_url) as conn:  # one transaction: the owner comes second
        organization = conn.execute(
            "insert into organizations (name) values ('Loja') returning id"
        ).fetchone()
        assert organization is not None
        user = conn.execute(
            "insert into auth.users (id, email) values (gen_random_uuid(), 'o@example.com')"
            " returning id"
        ).fetchone()
        assert user is not None
        conn.execute(
            "insert into profiles (id, email, full_name) values (%s, 'o@example.com', 'O')",
            [user[0]],
        )
        conn.execute(
            "insert into memberships (organization_id, user_id, role) values (%s, %s, 'owner')",
            [organization[0], user[0]],
        )
        conn.execute(
            "insert into channels (organization_id, kind, phone_number, twilio_account_sid,"
            " twilio_auth_token_ciphertext) values (%s, 'whatsapp', %s, %s, %s)",
            [
                organization[0],
                BUSINESS,
                ACCOUNT_SID,
                TokenCipher(configured.secret_key).encrypt(AUTH_TOKEN),
            ],
        )
    with BackgroundServer(create_app(configured)) as server:
        yield server.url, configured


@st.composite
def webhook_requests(draw: st.DrawFn) -> tuple[str, bytes, dict[str, str], bool]:
    """(path, body, headers, validly signed) — random, adversarial, or signed."""
    path = draw(st.sampled_from([INBOUND_PATH, STATUS_PATH]))
    kind = draw(st.sampled_from(["bytes", "form", "signed", "signed-then-tampered"]))
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    headers = {"content-type": content_type} if content_type else {}
    if kind == "bytes":
        return path, draw(st.binary(max_size=300)), headers, False
    if kind == "form":
        pairs = draw(form_pairs)
        # Signed random fields may, by chance, make a valid delivery: then a 200 is right.
        signed = draw(st.booleans())
        if signed:
            headers.update(signature_headers(f"{PUBLIC_URL}{path}", pairs, AUTH_TOKEN))
        return path, urlencode(pairs).encode(), headers, signed
    params = inbound_message_params(
        account_sid=ACCOUNT_SID,
        from_="whatsapp:+5521987654321",
        to=f"whatsapp:{BUSINESS}",
        body=draw(text),
        message_sid=new_sid(),
    )
    algorithm = draw(st.sampled_from(list(SignatureAlgorithm)))
    signature = signature_headers(
        f"{PUBLIC_URL}{INBOUND_PATH}", params, AUTH_TOKEN, algorithm=algorithm
    )
    tampered = kind == "signed-then-tampered"
    if tampered:
        name = draw(st.sampled_from(sorted(params)))
        params[name] = params[name] + draw(st.text(min_size=1, max_size=3))
    headers = {"content-type": "application/x-www-form-urlencoded", **signature}
    return INBOUND_PATH, urlencode(params).encode(), headers, not tampered


def test_random_and_adversarial_requests_never_get_a_500(
    served_app: tuple[str, Settings], database_url: str
) -> None:
    base_url, _ = served_app
    stored_by_signed: set[str] = set()
    with httpx.Client(base_url=base_url, timeout=10) as http:

        @given(webhook_requests())
        @settings(
            max_examples=150,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        def check(request: tuple[str, bytes, dict[str, str], bool]) -> None:
            path, body, headers, signed = request
            answer = http.post(path, content=body, headers=headers)
            assert answer.status_code in ALLOWED, (answer.status_code, answer.text)
            if answer.status_code != 200:
                assert 0 < len(answer.text) < 100
            if path == INBOUND_PATH and answer.status_code == 200:
                assert signed, "only a validly signed delivery is accepted"
                stored_by_signed.add(first_values(parse_form(body))["MessageSid"])

        check()
    with psycopg.connect(database_url) as conn:
        stored = {row[0] for row in conn.execute("select metadata->>'message_sid' from messages")}
        # Nor a contact or conversation without a message (a refused delivery leaves none).
        orphans = conn.execute(
            "select (select count(*) from contacts c where not exists (select 1 from"
            " conversations v join messages m on m.conversation_id = v.id"
            " where v.contact_id = c.id)),"
            " (select count(*) from conversations v where not exists"
            " (select 1 from messages m where m.conversation_id = v.id))"
        ).fetchone()
    assert stored == stored_by_signed
    assert orphans == (0, 0)


async def test_a_database_outage_answers_503_and_the_retry_is_stored_once(
    client: httpx.AsyncClient,
    channel: TestChannel,
    postgres: EmbeddedPostgres,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(webhooks, "DATABASE_WAIT_SECONDS", 0.5)
    assert (await deliver(client, channel)).status_code == 200  # the channel is now cached
    database = database_url.rsplit("/", 1)[1]
    sid = new_sid()
    customer = "+5521912345678"

    with psycopg.connect(postgres.url("postgres"), autocommit=True) as admin:
        admin.execute(f'alter database "{database}" allow_connections false')
        admin.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
            [database],
        )
        try:
            down = await deliver(client, channel, from_=customer, message_sid=sid)
        finally:
            admin.execute(f'alter database "{database}" allow_connections true')

    assert down.status_code == 503
    assert down.response_text == "temporarily unavailable"
    # Twilio retries: the first retries may still find the pool reconnecting.
    deadline = time.monotonic() + 30
    while True:
        again = await deliver(client, channel, from_=customer, message_sid=sid)
        if again.status_code == 200 or time.monotonic() > deadline:
            break
        assert again.status_code == 503
        await asyncio.sleep(0.2)
    assert again.status_code == 200
    replay = await deliver(client, channel, from_=customer, message_sid=sid)
    assert replay.status_code == 200
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "select count(*) from messages where metadata->>'message_sid' = %s", [sid]
        ).fetchone()
    assert rows == (1,)


@given(st.binary(max_size=400) | form_pairs.map(lambda pairs: urlencode(pairs).encode()))
@settings(max_examples=300, deadline=None)
def test_the_form_parser_reads_forms_as_the_standard_library_does(body: bytes) -> None:
    from urllib.parse import parse_qsl

    expected = parse_qsl(
        body.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace"
    )
    assert parse_form(body) == expected
