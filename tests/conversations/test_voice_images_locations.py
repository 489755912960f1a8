"""Voice notes, photos and locations reach the assistant (issue 19, items 3-5).

End to end: a signed webhook (as Twilio posts it) with a file the Twilio simulator holds,
a real worker on the ``replies`` and ``media`` queues (``channels:fetch_media``,
``ai:transcribe_audio``, ``conversations:generate_reply``) and the real ``openai`` client
against the fake OpenAI server (chat completions and audio transcriptions).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from procrastinate.jobs import Job

from atende.ai.replies import UNHEARD_AUDIO_TEXT
from atende.ai.tasks import RetryTranscription, TranscriptionRetryStrategy
from atende.ai.transcription import TRANSCRIBE_ATTEMPTS, AudioTranscriber
from atende.channels.media import InboundMediaFetcher
from atende.config import Settings
from atende.services import Services
from tests.channels.world import ACCOUNT_SID, TestChannel, deliver, fetch_one, make_channel
from tests.factories import Factory, ReplyFactory
from tests.fakes.openai_server import (
    DEFAULT_TRANSCRIPT,
    ErrorReply,
    FakeOpenAI,
    RecordedRequest,
    TextReply,
)
from tests.graphql.client import data
from tests.reply_fixtures import Inspector, Worker, eventually, open_queue_app
from tests.twilio_fixtures import RunningSimulator

CUSTOMER = "+5511987650000"
VOICE_NOTE = b"OggS\x00\x02" + bytes(range(256)) * 40
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 20
STICKER = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x01" * 300

MESSAGES_QUERY = """
query ($id: ID!) { conversation(id: $id) { messages(first: 10) { edges { node {
  id body transcript
  location { latitude longitude address label mapUrl }
  media { contentType status transcript transcriptErrorCode transcriptErrorMessage }
} } } } }
"""


@pytest.fixture
def settings(
    settings: Settings, twilio_simulator: RunningSimulator, reply_settings: dict[str, Any]
) -> Settings:
    """Twilio is the simulator (its media URLs are the ones fetched); a reply waits up to a
    minute for a voice note unless the test says otherwise."""
    return settings.model_copy(
        update={
            "twilio_api_base_url": twilio_simulator.base_url,
            "media_wait_seconds": reply_settings.get("media_wait_seconds", 60.0),
        }
    )


@pytest.fixture
async def channel(services: Services, factory: Factory, replies: ReplyFactory) -> TestChannel:
    """A WhatsApp channel of the simulator's account, its agent answering at once."""
    made = await make_channel(services, factory)
    await replies.configure_agent(
        made.organization.id,
        debounce_seconds=0,
        system_prompt="Você é a assistente da Padaria Pão Quente.",
    )
    return made


@pytest.fixture
async def worker(services: Services) -> AsyncIterator[Worker]:
    """A worker on the reply and media queues: fetch, transcription and reply jobs."""
    async with open_queue_app(services):
        running = Worker(services, ["replies", "media"])
        await running.start()
        try:
            yield running
        finally:
            await running.stop()


def served(simulator: RunningSimulator, content: bytes, content_type: str) -> str:
    """A customer's file, as the simulator (Twilio) holds it: its MediaUrl."""
    media = simulator.simulator.add_media(ACCOUNT_SID, content, content_type)
    return simulator.base_url + media.path


async def receive(
    client: httpx.AsyncClient, services: Services, channel: TestChannel, **fields: Any
) -> tuple[uuid.UUID, uuid.UUID]:
    """A customer's message through the signed webhook: (message id, conversation id)."""
    delivery = await deliver(client, channel, from_=CUSTOMER, **fields)
    assert delivery.status_code == 200, delivery.response_text
    row = await fetch_one(
        services,
        "select id, conversation_id from public.messages where metadata ->> 'message_sid' = %s",
        [delivery.message_sid],
    )
    return uuid.UUID(str(row["id"])), uuid.UUID(str(row["conversation_id"]))


async def outbound_bodies(inspect: Inspector, conversation_id: uuid.UUID) -> list[str]:
    return [row["body"] for row in await inspect.outbound(conversation_id)]


async def answered(inspect: Inspector, conversation_id: uuid.UUID) -> list[str]:
    return await eventually(lambda: outbound_bodies(inspect, conversation_id), bool, timeout=20.0)


async def shown_messages(
    client: httpx.AsyncClient, channel: TestChannel, conversation_id: uuid.UUID
) -> list[dict[str, Any]]:
    result = await data(
        client, MESSAGES_QUERY, {"id": str(conversation_id)}, user=channel.organization.owner
    )
    return [edge["node"] for edge in result["conversation"]["messages"]["edges"]]


def image_parts(request: RecordedRequest) -> list[dict[str, Any]]:
    return [
        part
        for message in request.messages
        if message["role"] == "user" and isinstance(message["content"], list)
        for part in message["content"]
        if part.get("type") == "image_url"
    ]


async def test_a_voice_notes_transcript_reaches_the_model_the_team_and_the_search(  # noqa: PLR0917 (fixtures)
    client: httpx.AsyncClient,
    factory: Factory,
    services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
    worker: Worker,
) -> None:
    fake_openai.script(TextReply("Temos sim! Bolo de chocolate até as 18h."))
    url = served(twilio_simulator, VOICE_NOTE, "audio/ogg")
    _, conversation_id = await receive(
        client, services, channel, body="", media=[(url, "audio/ogg")]
    )

    assert await answered(inspect, conversation_id) == ["Temos sim! Bolo de chocolate até as 18h."]

    # The stored file, under a name every transcription model accepts, in Portuguese.
    [transcription] = fake_openai.transcriptions
    assert transcription.audio == VOICE_NOTE
    assert transcription.file_name == "audio-1.ogg"
    assert transcription.content_type == "audio/ogg"
    assert (transcription.model, transcription.language) == ("whisper-1", "pt")
    # The model got what the customer said, not the placeholder.
    [request] = fake_openai.requests
    assert request.user_texts == [f"[áudio transcrito] {DEFAULT_TRANSCRIPT}"]

    [shown] = [m for m in await shown_messages(client, channel, conversation_id) if m["body"] == ""]
    assert shown["transcript"] == DEFAULT_TRANSCRIPT
    assert shown["media"] == [
        {
            "contentType": "audio/ogg",
            "status": "STORED",
            "transcript": DEFAULT_TRANSCRIPT,
            "transcriptErrorCode": None,
            "transcriptErrorMessage": None,
        }
    ]

    search = (
        "query ($org: ID!, $search: String) { organization(id: $org) {"
        " conversations(search: $search) { edges { node { id } } } } }"
    )
    for words, found in (("chocolate para hoje", 1), ("pão de queijo", 0)):
        result = await data(
            client,
            search,
            {"org": str(channel.organization.id), "search": words},
            user=channel.organization.owner,
        )
        assert len(result["organization"]["conversations"]["edges"]) == found, words
    # Another organization's member neither sees the message nor finds it by its words.
    stranger = (await factory.organization()).owner
    hidden = await data(client, MESSAGES_QUERY, {"id": str(conversation_id)}, user=stranger)
    assert hidden == {"conversation": None}


async def test_the_reply_waits_for_the_transcript(  # noqa: PLR0917 (fixtures)
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
    worker: Worker,
) -> None:
    fake_openai.hold_transcriptions.set()
    url = served(twilio_simulator, VOICE_NOTE, "audio/ogg")
    _, conversation_id = await receive(
        client, services, channel, body="", media=[(url, "audio/ogg")]
    )

    # The reply job ran while the voice note was being transcribed, and deferred itself
    # instead of answering (a job done and a later one waiting).
    async def reply_jobs() -> list[str]:
        return [job["status"] for job in await inspect.jobs("conversations:generate_reply")]

    async def transcriptions() -> int:
        return len(fake_openai.transcriptions)

    await eventually(transcriptions, bool)
    assert await eventually(reply_jobs, lambda s: "succeeded" in s and "todo" in s) != []
    assert fake_openai.requests == []
    assert await inspect.outcomes(conversation_id) == []

    fake_openai.hold_transcriptions.clear()
    await answered(inspect, conversation_id)
    [request] = fake_openai.requests
    assert request.user_texts == [f"[áudio transcrito] {DEFAULT_TRANSCRIPT}"]


async def test_a_voice_note_that_cannot_be_transcribed_gets_a_kind_request_to_write(  # noqa: PLR0917 (fixtures)
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
    worker: Worker,
) -> None:
    fake_openai.script_transcriptions(ErrorReply.model_not_found("whisper-1"))
    url = served(twilio_simulator, VOICE_NOTE, "audio/ogg")
    _, conversation_id = await receive(
        client, services, channel, body="", media=[(url, "audio/ogg")]
    )

    assert await answered(inspect, conversation_id) == [UNHEARD_AUDIO_TEXT]
    assert fake_openai.requests == []  # the model is not asked to guess
    [run] = await inspect.runs(conversation_id)
    assert run["outcome"] == "replied"
    assert (await inspect.conversation(conversation_id))["status"] == "open"

    [shown] = [m for m in await shown_messages(client, channel, conversation_id) if m["body"] == ""]
    assert shown["transcript"] is None
    [item] = shown["media"]
    assert item["transcriptErrorCode"] == "transcription_model_not_found"
    assert item["transcriptErrorMessage"].startswith("Não foi possível transcrever o áudio")

    # What the customer writes next is answered by the model as usual, the unheard voice
    # note described in words.
    fake_openai.script(TextReply("Claro! Temos bolo de chocolate."))
    await receive(client, services, channel, body="Tem bolo de chocolate?")
    await eventually(lambda: outbound_bodies(inspect, conversation_id), lambda b: len(b) == 2)
    request = fake_openai.requests[-1]
    assert request.user_texts == [
        "[o cliente enviou um áudio; o conteúdo não está disponível para você]",
        "Tem bolo de chocolate?",
    ]


@pytest.mark.parametrize("vision", [True, False])
async def test_images_and_stickers_reach_a_vision_agent_as_images_and_no_other(  # noqa: PLR0917 (fixtures)
    vision: bool,
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    replies: ReplyFactory,
    twilio_simulator: RunningSimulator,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
    worker: Worker,
) -> None:
    await replies.configure_agent(channel.organization.id, vision_enabled=vision)
    photo = served(twilio_simulator, PHOTO, "image/jpeg")
    _, conversation_id = await receive(
        client, services, channel, body="A peça quebrou assim", media=[(photo, "image/jpeg")]
    )
    await answered(inspect, conversation_id)
    [request] = fake_openai.requests
    if vision:
        [part] = image_parts(request)
        expected = "data:image/jpeg;base64," + base64.b64encode(PHOTO).decode()
        assert part["image_url"]["url"] == expected  # Atende's copy, never Twilio's URL
        assert request.user_texts == ["A peça quebrou assim"]
    else:
        assert image_parts(request) == []
        assert request.user_texts == [
            "A peça quebrou assim\n"
            "[o cliente enviou uma imagem; o conteúdo não está disponível para você]"
        ]
    assert twilio_simulator.base_url not in str(request.body)


async def test_a_sticker_is_an_image_for_a_vision_agent(  # noqa: PLR0917 (fixtures)
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    replies: ReplyFactory,
    twilio_simulator: RunningSimulator,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
    worker: Worker,
) -> None:
    await replies.configure_agent(channel.organization.id, vision_enabled=True)
    sticker = served(twilio_simulator, STICKER, "image/webp")
    _, conversation_id = await receive(
        client, services, channel, body="", media=[(sticker, "image/webp")]
    )
    await answered(inspect, conversation_id)
    [request] = fake_openai.requests
    [part] = image_parts(request)
    assert part["image_url"]["url"].startswith("data:image/webp;base64,")


async def test_a_location_is_answered_with_its_text_in_the_prompt_and_shown_with_a_map(  # noqa: PLR0917 (fixtures)
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
    worker: Worker,
) -> None:
    fake_openai.script(TextReply("Entregamos aí, sim! Chega em 40 minutos."))
    _, conversation_id = await receive(
        client,
        services,
        channel,
        body="",
        location={
            "latitude": "-23.5613",
            "longitude": "-46.6565",
            "address": "Av. Paulista, 1578, São Paulo",
            "label": "MASP",
        },
    )

    assert await answered(inspect, conversation_id) == ["Entregamos aí, sim! Chega em 40 minutos."]
    [request] = fake_openai.requests
    assert request.user_texts == [
        "[localização compartilhada] MASP, Av. Paulista, 1578, São Paulo"
        " (latitude -23.5613, longitude -46.6565)"
    ]

    [shown] = [m for m in await shown_messages(client, channel, conversation_id) if m["location"]]
    assert shown["location"] == {
        "latitude": -23.5613,
        "longitude": -46.6565,
        "address": "Av. Paulista, 1578, São Paulo",
        "label": "MASP",
        "mapUrl": "https://www.google.com/maps/search/?api=1&query=-23.5613%2C-46.6565",
    }
    assert shown["body"] == ""


@pytest.mark.parametrize("reply_settings", [{"media_wait_seconds": 0.0}], indirect=True)
async def test_a_voice_note_not_transcribed_within_the_wait_gets_the_kind_message(  # noqa: PLR0917 (fixtures)
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
    fake_openai: FakeOpenAI,
    inspect: Inspector,
) -> None:
    """No worker fetches or transcribes here: past the wait, the reply goes on without."""
    url = served(twilio_simulator, VOICE_NOTE, "audio/ogg")
    _, conversation_id = await receive(
        client, services, channel, body="", media=[(url, "audio/ogg")]
    )
    async with open_queue_app(services):
        replies_only = Worker(services, ["replies"])
        await replies_only.start()
        try:
            assert await answered(inspect, conversation_id) == [UNHEARD_AUDIO_TEXT]
        finally:
            await replies_only.stop()
    assert fake_openai.requests == []
    assert fake_openai.transcriptions == []


async def test_transcription_is_retried_a_bounded_number_of_times_then_recorded(
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    twilio_simulator: RunningSimulator,
    fake_openai: FakeOpenAI,
) -> None:
    url = served(twilio_simulator, VOICE_NOTE, "audio/ogg")
    message_id, _ = await receive(client, services, channel, body="", media=[(url, "audio/ogg")])
    fetcher = InboundMediaFetcher(
        services.database, services.transport, services.media_storage, services.settings
    )
    assert (await fetcher.fetch(message_id)).stored == [0]
    transcriber = AudioTranscriber(
        database=services.database,
        model=services.model,
        storage=services.media_storage,
        settings=services.settings,
    )

    async def item() -> dict[str, Any]:
        row = await fetch_one(
            services, "select media from public.messages where id = %s", [message_id]
        )
        first: dict[str, Any] = row["media"][0]
        return first

    # A server error on a run that is not the last: to be retried, nothing recorded.
    fake_openai.script_transcriptions(ErrorReply(503), ErrorReply(503))
    outcome = await transcriber.transcribe(message_id, last_attempt=False)
    assert (outcome.retry, outcome.failed) == ([0], {})
    assert "transcript_status" not in await item()
    # The last run records it, in words.
    outcome = await transcriber.transcribe(message_id, last_attempt=True)
    assert outcome.failed == {0: "transcription_server_error"}
    recorded = await item()
    assert recorded["transcript_status"] == "failed"
    assert recorded["transcript_error_message"].startswith(
        "Não foi possível transcrever o áudio (whisper-1): o serviço de transcrição falhou."
    )
    # Settled: a job that runs again sends nothing more.
    assert (await transcriber.transcribe(message_id)).failed == {}
    assert len(fake_openai.transcriptions) == 2

    strategy = TranscriptionRetryStrategy()
    retry = RetryTranscription(3.0)
    decisions = [
        strategy.get_retry_decision(exception=retry, job=_job(attempts))
        for attempts in range(TRANSCRIBE_ATTEMPTS)
    ]
    assert [decision is not None for decision in decisions] == [True, True, False]


def _job(attempts: int) -> Job:
    return Job(
        id=1,
        queue="media",
        lock=None,
        queueing_lock=None,
        task_name="ai:transcribe_audio",
        task_kwargs={"message_id": str(uuid.uuid4())},
        attempts=attempts,
    )
