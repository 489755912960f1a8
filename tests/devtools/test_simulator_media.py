"""The simulator's media: a customer's files served as Twilio serves them (basic auth,
then a redirect to a short-lived copy), and a send's MediaUrl fetched as Twilio fetches
it, a failed fetch failing the message with Twilio's error."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from atende.transports.twilio.client import TwilioService
from atende.transports.twilio.models import TwilioCredentials
from tests.fakes.server import BackgroundServer
from tests.twilio_fixtures import RunningSimulator, WebhookReceiver, eventually

ACCOUNT = "AC" + "0" * 32
TOKEN = "simulator-auth-token-0123456789"
AUDIO = b"OggS" + b"\x01" * 2000


def test_a_customers_file_is_served_with_the_accounts_credentials_only(
    twilio_simulator: RunningSimulator,
) -> None:
    twilio_simulator.simulator.add_account(ACCOUNT, TOKEN)
    answer = httpx.post(
        f"{twilio_simulator.base_url}/__simulator/media",
        params={"account_sid": ACCOUNT},
        content=AUDIO,
        headers={"Content-Type": "audio/ogg"},
    )
    assert answer.status_code == 201
    url = answer.json()["url"]
    assert url.startswith(f"{twilio_simulator.base_url}/2010-04-01/Accounts/{ACCOUNT}/Messages/MM")

    anonymous = httpx.get(url)
    wrong = httpx.get(url, auth=(ACCOUNT, "not-the-token"))
    redirect = httpx.get(url, auth=(ACCOUNT, TOKEN))
    fetched = httpx.get(url, auth=(ACCOUNT, TOKEN), follow_redirects=True)

    assert (anonymous.status_code, wrong.status_code) == (401, 401)
    assert redirect.status_code == 307
    assert redirect.headers["location"].startswith("/__simulator/cdn/ME")
    assert fetched.content == AUDIO
    assert fetched.headers["content-type"] == "audio/ogg"
    missing = url[:-32] + "f" * 32
    assert httpx.get(missing, auth=(ACCOUNT, TOKEN)).status_code == 404
    forged = f"{twilio_simulator.base_url}{redirect.headers['location'].split('?')[0]}?token=x"
    assert httpx.get(forged).status_code == 403


@pytest.fixture
def file_server() -> Iterator[str]:
    async def serve(request: Request) -> Response:
        if request.url.path == "/menu.pdf":
            return Response(b"%PDF-1.4 menu", media_type="application/pdf")
        return Response(status_code=404)

    with BackgroundServer(Starlette(routes=[Route("/{p:path}", serve)])) as server:
        yield server.url


async def test_a_sends_media_is_fetched_and_a_failed_fetch_fails_the_message(
    twilio_service: TwilioService,
    twilio_credentials: TwilioCredentials,
    twilio_simulator: RunningSimulator,
    webhook_receiver: WebhookReceiver,
    file_server: str,
) -> None:
    async def send(url: str, to: str) -> str:
        result = await twilio_service.send_message(
            twilio_credentials,
            to=to,
            from_="whatsapp:+14155238886",
            media_urls=[url],
            status_callback=webhook_receiver.url("/status"),
        )
        return result.sid

    fine = await send(f"{file_server}/menu.pdf", "whatsapp:+5511911110001")
    broken = await send(f"{file_server}/gone.pdf", "whatsapp:+5511911110002")

    def settled() -> bool:
        statuses = {m.sid: m.status for m in twilio_simulator.simulator.messages()}
        return statuses.get(fine) == "delivered" and statuses.get(broken) == "failed"

    await eventually(settled)
    by_sid = {m.sid: m for m in twilio_simulator.simulator.messages()}
    [ok] = by_sid[fine].media_fetches
    assert (ok.http_status, ok.content_type) == (200, "application/pdf")
    assert ok.sha256 == hashlib.sha256(b"%PDF-1.4 menu").hexdigest()
    [failed] = by_sid[broken].media_fetches
    assert failed.http_status == 404
    assert by_sid[broken].error_code == 63019
    callbacks = [
        request.params
        for request in webhook_receiver.requests("/status")
        if request.params["MessageSid"] == broken
    ]
    assert callbacks[-1]["MessageStatus"] == "failed"
    assert callbacks[-1]["ErrorCode"] == "63019"
