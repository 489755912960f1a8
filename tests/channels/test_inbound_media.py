"""channels:fetch_media: a customer's files come from Twilio (the simulator) into media
storage with the channel's credentials, only from Twilio's media host, within the size,
type and time limits; whatever is refused is recorded on the message in words, and
nothing is retried forever."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import procrastinate
import pytest
from procrastinate.jobs import Job
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from atende.channels import media as channel_media
from atende.channels.media import FETCH_ATTEMPTS, InboundMediaFetcher
from atende.channels.tasks import FetchRetryStrategy, RetryFetch
from atende.config import Settings
from atende.media.storage import LocalMediaStorage
from atende.queue import app as queue_app
from atende.services import Services, open_services
from tests.channels.world import (
    TestChannel,
    deliver,
    fetch_all,
    fetch_one,
    make_channel,
    open_conversation,
)
from tests.factories import Factory
from tests.fakes.server import BackgroundServer
from tests.graphql.client import data
from tests.twilio_fixtures import RunningSimulator

VOICE_NOTE = b"OggS\x00\x02" + bytes(range(256)) * 40
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 5000


@pytest.fixture
def settings(settings: Settings, twilio_simulator: RunningSimulator) -> Settings:
    """Twilio is the simulator (its media URLs are the only ones fetched), with short
    limits for the tests that need them."""
    return settings.model_copy(
        update={
            "twilio_api_base_url": twilio_simulator.base_url,
            "media_fetch_timeout_seconds": 1.0,
            "media_max_bytes": 64 * 1024,
        }
    )


class Elsewhere:
    """A server that is not Twilio: records every request it gets."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self.url = ""

    async def handle(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request.url.path)
        return PlainTextResponse("segredo interno", media_type="image/jpeg")


@pytest.fixture
def elsewhere() -> Iterator[Elsewhere]:
    target = Elsewhere()
    app = Starlette(routes=[Route("/{path:path}", target.handle, methods=["GET", "HEAD"])])
    with BackgroundServer(app) as server:
        target.url = server.url
        yield target


def fetcher(services: Services) -> InboundMediaFetcher:
    return InboundMediaFetcher(
        services.database, services.transport, services.media_storage, services.settings
    )


async def receive(
    client: httpx.AsyncClient, services: Services, channel: TestChannel, *media: tuple[str, str]
) -> uuid.UUID:
    delivery = await deliver(client, channel, body="", media=list(media))
    assert delivery.status_code == 200, delivery.response_text
    row = await fetch_one(
        services,
        "select id from public.messages where metadata ->> 'message_sid' = %s",
        [delivery.message_sid],
    )
    return uuid.UUID(str(row["id"]))


async def media_of(services: Services, message_id: uuid.UUID) -> list[dict[str, Any]]:
    row = await fetch_one(services, "select media from public.messages where id = %s", [message_id])
    items: list[dict[str, Any]] = row["media"]
    return items


def served(simulator: RunningSimulator, content: bytes, content_type: str, **options: Any) -> str:
    """A customer's file, as the simulator (Twilio) holds it: its MediaUrl."""
    media = simulator.simulator.add_media("AC" + "0" * 32, content, content_type, **options)
    return simulator.base_url + media.path


async def test_a_voice_note_is_fetched_stored_and_shown_to_members_by_a_signed_link(
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
    factory: Factory,
) -> None:
    url = served(twilio_simulator, VOICE_NOTE, "audio/ogg")
    message_id = await receive(client, services, channel, (url, "audio/ogg"))
    jobs = await fetch_all(
        services,
        "select task_name, args, queue_name from procrastinate.procrastinate_jobs"
        " where task_name = 'channels:fetch_media'",
    )
    assert jobs == [
        {
            "task_name": "channels:fetch_media",
            "args": {"message_id": str(message_id)},
            "queue_name": "media",
        }
    ]

    await run_media_jobs(services, rounds=3)

    [item] = await media_of(services, message_id)
    key = f"{channel.organization.id}/messages/{message_id}/0"
    # The stored voice note went on to be transcribed (ai:transcribe_audio, on the same
    # queue); no model is configured here, which the item says in words.
    assert item.pop("transcript_status") == "failed"
    assert item.pop("transcript_error_code") == "transcription_not_configured"
    assert item.pop("transcript_error_message").startswith("Não foi possível transcrever")
    assert item == {
        "url": url,
        "content_type": "audio/ogg",
        "status": "stored",
        "storage_key": key,
        "size": len(VOICE_NOTE),
        "file_name": "audio-1.ogg",
    }
    assert isinstance(services.media_storage, LocalMediaStorage)
    assert services.media_storage.path_of(key).read_bytes() == VOICE_NOTE

    query = """
    query ($id: ID!) { conversation(id: $id) { messages(first: 5) { edges { node {
      media { url contentType size fileName status errorCode errorMessage } } } } } }
    """
    conversation = await fetch_one(
        services, "select conversation_id from public.messages where id = %s", [message_id]
    )
    result = await data(
        client,
        query,
        {"id": str(conversation["conversation_id"])},
        user=channel.organization.owner,
    )
    [edge] = result["conversation"]["messages"]["edges"]
    [shown] = edge["node"]["media"]
    assert shown["status"] == "STORED"
    assert (shown["contentType"], shown["size"], shown["fileName"]) == (
        "audio/ogg",
        len(VOICE_NOTE),
        "audio-1.ogg",
    )
    assert shown["url"].startswith(
        f"https://atende.test/media/{channel.organization.id}/{message_id}/0/audio-1.ogg?"
    )
    assert twilio_simulator.base_url not in shown["url"]
    answer = await client.get(shown["url"].removeprefix("https://atende.test"))
    assert answer.status_code == 200
    assert answer.content == VOICE_NOTE
    assert answer.headers["content-type"] == "audio/ogg"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in answer.headers["content-security-policy"]

    # Another organization's member sees no such message, so no link either.
    stranger = (await factory.organization()).owner
    hidden = await data(client, query, {"id": str(conversation["conversation_id"])}, user=stranger)
    assert hidden == {"conversation": None}


async def test_a_file_twilio_no_longer_has_is_recorded_as_gone_and_not_retried(
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
) -> None:
    url = served(twilio_simulator, PHOTO, "image/jpeg")
    missing = url[:-32] + "f" * 32  # another media sid: Twilio answers 404
    message_id = await receive(
        client, services, channel, (missing, "image/jpeg"), (url, "image/jpeg")
    )

    outcome = await fetcher(services).fetch(message_id, last_attempt=False)

    assert outcome.retry == []
    gone, photo = await media_of(services, message_id)
    assert gone["status"] == "failed"
    assert gone["error_code"] == "media_not_found"
    assert gone["error_message"] == "O Twilio não tem mais este arquivo (foi apagado ou expirou)."
    assert photo["status"] == "stored"
    assert photo["file_name"] == "image-2.jpg"


async def test_files_over_the_limit_are_refused_whether_declared_or_streamed(
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
) -> None:
    big = b"OggS" + b"\x00" * (64 * 1024)
    url = served(twilio_simulator, big, "audio/ogg")
    message_id = await receive(client, services, channel, (url, "audio/ogg"))

    await fetcher(services).fetch(message_id)

    [item] = await media_of(services, message_id)
    assert item["status"] == "failed"
    assert item["error_code"] == "media_too_large"
    assert item["error_message"] == "O arquivo passa do limite de 0,1 MB e não foi guardado."
    assert "storage_key" not in item
    assert not (services.settings.data_dir / "media").exists()


async def test_a_kind_of_file_whatsapp_does_not_carry_is_refused_without_fetching(
    services: Services, channel: TestChannel, elsewhere: Elsewhere
) -> None:
    conversation = await open_conversation(services, channel)
    declared = await insert_inbound(services, conversation, f"{elsewhere.url}/x", "text/html")

    await fetcher(services).fetch(declared)

    [item] = await media_of(services, declared)
    assert item["error_code"] == "media_type_unsupported"
    assert item["error_message"] == "Tipo de arquivo não suportado (text/html): não foi guardado."
    assert elsewhere.requests == []


async def test_a_file_twilio_serves_as_another_kind_is_refused(
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
) -> None:
    url = served(twilio_simulator, b"<script>alert(1)</script>", "text/html")
    message_id = await receive(client, services, channel, (url, "image/jpeg"))

    await fetcher(services).fetch(message_id)

    [item] = await media_of(services, message_id)
    assert item["error_code"] == "media_type_unsupported"
    assert "text/html" in item["error_message"]


@pytest.mark.parametrize(
    "path",
    [
        # A Twilio-shaped path on another host, and anything else.
        "/2010-04-01/Accounts/AC{sid}/Messages/MM{hex}/Media/ME{hex}",
        "/latest/meta-data/iam/security-credentials/",
    ],
)
async def test_media_urls_on_other_hosts_are_never_fetched(
    services: Services, channel: TestChannel, elsewhere: Elsewhere, path: str
) -> None:
    conversation = await open_conversation(services, channel)
    url = elsewhere.url + path.format(sid="0" * 32, hex="a" * 32)
    message_id = await insert_inbound(services, conversation, url)

    await fetcher(services).fetch(message_id)

    [item] = await media_of(services, message_id)
    assert item["status"] == "failed"
    assert item["error_code"] == "media_host_refused"
    assert item["error_message"].startswith("O endereço do arquivo não é do Twilio")
    assert elsewhere.requests == []


async def test_an_https_url_a_webhook_names_elsewhere_is_kept_but_never_fetched(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    message_id = await receive(
        client, services, channel, ("https://169.254.169.254/latest/meta-data/", "image/png")
    )

    await fetcher(services).fetch(message_id)

    [item] = await media_of(services, message_id)
    assert item["error_code"] == "media_host_refused"
    assert item["error_message"] == (
        "O endereço do arquivo não é do Twilio (not Twilio's media host:"
        " https://169.254.169.254): o Atende não o baixou."
    )


async def test_a_media_path_of_another_twilio_account_is_not_fetched(
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
) -> None:
    other = twilio_simulator.simulator.add_media("AC" + "1" * 32, PHOTO, "image/jpeg")
    message_id = await receive(
        client, services, channel, (twilio_simulator.base_url + other.path, "image/jpeg")
    )

    await fetcher(services).fetch(message_id)

    [item] = await media_of(services, message_id)
    assert item["error_code"] == "media_host_refused"


@pytest.fixture
def redirecting_twilio(elsewhere: Elsewhere) -> Iterator[str]:
    """A "Twilio" whose media requests redirect to another host (a server-side request
    forgery through a redirect)."""

    async def media(request: Request) -> Response:
        return RedirectResponse(f"{elsewhere.url}/internal/secret", status_code=307)

    app = Starlette(routes=[Route("/{path:path}", media, methods=["GET"])])
    with BackgroundServer(app) as server:
        yield server.url


async def test_a_redirect_to_another_host_is_refused_and_not_followed(
    settings: Settings,
    factory: Factory,
    elsewhere: Elsewhere,
    redirecting_twilio: str,
) -> None:
    configured = settings.model_copy(update={"twilio_api_base_url": redirecting_twilio})
    async with open_services(configured, name="atende-test-redirect") as services:
        channel = await make_channel(services, factory)
        conversation = await open_conversation(services, channel)
        url = (
            f"{redirecting_twilio}/2010-04-01/Accounts/{channel.account_sid}"
            f"/Messages/MM{'a' * 32}/Media/ME{'b' * 32}"
        )
        message_id = await insert_inbound(services, conversation, url)

        await fetcher(services).fetch(message_id)

        [item] = await media_of(services, message_id)
    assert item["error_code"] == "media_host_refused"
    assert "redirected to another host" in item["error_message"]
    assert elsewhere.requests == []


async def insert_inbound(
    services: Services, conversation: uuid.UUID, url: str, content_type: str = "image/jpeg"
) -> uuid.UUID:
    """An inbound message naming ``url``, stored as ingest stores one (its job deferred)."""
    row = await fetch_one(
        services,
        "insert into public.messages (organization_id, conversation_id, direction, author,"
        " media, status, metadata) select organization_id, id, 'inbound', 'contact',"
        " jsonb_build_array(jsonb_build_object('url', %s::text, 'content_type', %s::text)),"
        " 'received', jsonb_build_object('message_sid', %s::text)"
        " from public.conversations where id = %s returning id",
        [url, content_type, "SM" + uuid.uuid4().hex, conversation],
    )
    return uuid.UUID(str(row["id"]))


async def test_a_slow_twilio_is_retried_a_few_times_then_recorded_as_unavailable(
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(channel_media, "FETCH_RETRY_BASE_SECONDS", 0.01)
    slow = served(twilio_simulator, PHOTO, "image/jpeg", delay_seconds=3.0)
    message_id = await receive(client, services, channel, (slow, "image/jpeg"))

    await run_media_jobs(services, rounds=FETCH_ATTEMPTS + 2)

    [item] = await media_of(services, message_id)
    assert item["status"] == "failed"
    assert item["error_code"] == "media_unavailable"
    assert item["error_message"] == (
        f"Não foi possível baixar o arquivo do Twilio depois de {FETCH_ATTEMPTS} tentativas"
        " (no answer within 1 s)."
    )
    [job] = await fetch_all(
        services,
        "select status::text, attempts from procrastinate.procrastinate_jobs"
        " where task_name = 'channels:fetch_media'",
    )
    # Four runs in all: the last records the failure and ends the job.
    assert job == {"status": "succeeded", "attempts": FETCH_ATTEMPTS}


async def test_a_twilio_outage_is_retried_and_the_file_kept_when_it_passes(
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
) -> None:
    media = twilio_simulator.simulator.add_media(
        channel.account_sid, PHOTO, "image/jpeg", http_status=503
    )
    message_id = await receive(
        client, services, channel, (twilio_simulator.base_url + media.path, "image/jpeg")
    )

    first = await fetcher(services).fetch(message_id, last_attempt=False)
    media.http_status = None
    second = await fetcher(services).fetch(message_id, last_attempt=False)

    assert (first.retry, first.failed) == ([0], {})
    assert second.stored == [0]
    [item] = await media_of(services, message_id)
    assert item["status"] == "stored"
    assert (
        hashlib.sha256(await services.media_storage.get(item["storage_key"])).digest()
        == hashlib.sha256(PHOTO).digest()
    )


def test_the_job_is_retried_a_bounded_number_of_times() -> None:
    strategy = FetchRetryStrategy()

    def decision(attempts: int) -> object:
        job = Job(
            id=1,
            queue="media",
            lock=None,
            queueing_lock=None,
            task_name="channels:fetch_media",
            attempts=attempts,
        )
        return strategy.get_retry_decision(exception=RetryFetch(1.0), job=job)

    assert [decision(attempts) is not None for attempts in range(FETCH_ATTEMPTS + 1)] == [True] * (
        FETCH_ATTEMPTS - 1
    ) + [False, False]
    unexpected = FetchRetryStrategy().get_retry_decision(
        exception=ValueError("bug"),
        job=Job(id=1, queue="media", lock=None, queueing_lock=None, task_name="x", attempts=0),
    )
    assert unexpected is None


async def run_media_jobs(services: Services, rounds: int = 1) -> None:
    """Run the media queue until nothing is waiting (retries come due within ms)."""
    import asyncio

    with queue_app.replace_connector(procrastinate.PsycopgConnector()) as app:
        async with app.open_async(services.database.pool):
            for _ in range(rounds):
                await app.run_worker_async(
                    queues=["media"],
                    wait=False,
                    additional_context={"dependencies": services.dependencies},
                    install_signal_handlers=False,
                )
                waiting = await fetch_all(
                    services,
                    "select 1 from procrastinate.procrastinate_jobs"
                    " where status = 'todo' and queue_name = 'media'",
                )
                if not waiting:
                    return
                await asyncio.sleep(0.05)
