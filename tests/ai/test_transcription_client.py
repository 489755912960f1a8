"""``ModelClient.transcribe``: the real ``openai`` client's audio transcription API against
the fake OpenAI server, its failures sorted as a reply's are."""

from __future__ import annotations

import pytest

from atende.ai.client import ModelClient
from atende.ai.errors import ModelFailure, PermanentModelError, TransientModelError
from tests.fakes.openai_server import ErrorReply, FakeOpenAI, TranscriptReply

VOICE_NOTE = b"OggS\x00\x02" + bytes(range(256)) * 8


async def test_a_voice_note_is_sent_named_for_its_kind_in_portuguese(
    model_client: ModelClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script_transcriptions(TranscriptReply("  Vocês abrem no domingo?  "))
    transcription = await model_client.transcribe(
        VOICE_NOTE,
        file_name="audio-1.ogg",
        content_type="audio/ogg",
        model="gpt-4o-mini-transcribe",
        timeout_seconds=2,
    )
    assert transcription.text == "Vocês abrem no domingo?"
    assert transcription.model == "gpt-4o-mini-transcribe"
    [sent] = fake_openai.transcriptions
    assert (sent.file_name, sent.content_type, sent.audio) == (
        "audio-1.ogg",
        "audio/ogg",
        VOICE_NOTE,
    )
    assert (sent.model, sent.language, sent.response_format) == (
        "gpt-4o-mini-transcribe",
        "pt",
        "json",
    )


async def test_an_unknown_transcription_model_is_permanent(
    model_client: ModelClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script_transcriptions(ErrorReply.model_not_found("whisper-9"))
    with pytest.raises(PermanentModelError) as raised:
        await model_client.transcribe(
            VOICE_NOTE,
            file_name="audio-1.ogg",
            content_type="audio/ogg",
            model="whisper-9",
            timeout_seconds=2,
        )
    assert raised.value.failure is ModelFailure.MODEL_NOT_FOUND


async def test_a_transcription_that_takes_too_long_is_transient_and_says_how_long(
    model_client: ModelClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.hold_transcriptions.set()
    with pytest.raises(TransientModelError) as raised:
        await model_client.transcribe(
            VOICE_NOTE,
            file_name="audio-1.ogg",
            content_type="audio/ogg",
            model="whisper-1",
            timeout_seconds=0.3,
        )
    assert raised.value.failure is ModelFailure.TIMEOUT
    assert "0.3s" in raised.value.reason
