"""TWILIO_API_BASE_URL: the official client's requests land on the configured host."""

from __future__ import annotations

import pytest

from atende.transports.twilio.client import TwilioService
from atende.transports.twilio.http import TwilioHttpClient, rewrite_twilio_url
from atende.transports.twilio.models import TwilioCredentials
from tests.twilio_fixtures import RunningSimulator

MESSAGES = "/2010-04-01/Accounts/AC123/Messages.json"


@pytest.mark.parametrize(
    ("url", "base_url", "expected"),
    [
        (
            f"https://api.twilio.com{MESSAGES}?PageSize=2",
            "http://127.0.0.1:8020",
            f"http://127.0.0.1:8020{MESSAGES}?PageSize=2",
        ),
        (
            f"https://api.twilio.com{MESSAGES}",
            "https://twilio-proxy.example/prefix/",
            f"https://twilio-proxy.example/prefix{MESSAGES}",
        ),
        (  # regional and edge hosts, other products: every *.twilio.com host
            "https://api.sydney.au1.twilio.com/2010-04-01/x.json",
            "http://127.0.0.1:8020",
            "http://127.0.0.1:8020/2010-04-01/x.json",
        ),
        ("https://content.twilio.com/v1/Content", "http://sim", "http://sim/v1/Content"),
        # Not Twilio: unchanged.
        (
            "https://api.twilio.com.evil.example/x",
            "http://sim",
            "https://api.twilio.com.evil.example/x",
        ),
        ("https://eviltwilio.com/x", "http://sim", "https://eviltwilio.com/x"),
        ("https://media.example.com/a.png", "http://sim", "https://media.example.com/a.png"),
        # No base URL: Twilio itself.
        (f"https://api.twilio.com{MESSAGES}", None, f"https://api.twilio.com{MESSAGES}"),
    ],
)
def test_rewrite(url: str, base_url: str | None, expected: str) -> None:
    assert rewrite_twilio_url(url, base_url) == expected


async def test_the_official_client_reaches_the_configured_host(
    twilio_simulator: RunningSimulator,
    twilio_http_client: TwilioHttpClient,
    twilio_credentials: TwilioCredentials,
) -> None:
    client = TwilioService(twilio_http_client).client_for(twilio_credentials)
    created = await client.messages.create_async(
        to="+5511999990000", from_="+15005550006", body="oi"
    )

    assert created.sid.startswith("SM")
    assert [m.sid for m in twilio_simulator.simulator.messages()] == [created.sid]


async def test_one_session_per_client_closed_on_close(
    twilio_http_client: TwilioHttpClient,
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
) -> None:
    for _ in range(3):
        await twilio_service.send_message(
            twilio_credentials, to="+5511999990000", from_="+15005550006", body="oi"
        )
    session = twilio_http_client.session
    assert session is not None
    assert not session.closed

    await twilio_http_client.close()
    assert session.closed
    assert twilio_http_client.session is None


async def test_timeouts_must_be_positive(twilio_http_client: TwilioHttpClient) -> None:
    with pytest.raises(ValueError, match="0"):
        await twilio_http_client.request("GET", "https://api.twilio.com/x", timeout=0)
