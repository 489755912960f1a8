"""``atende simulate --media``: the customer's file is kept by the simulator, named by the
webhook as Twilio names it, and fetched by Atende's media job as in production; and
``--location``: a shared location, as WhatsApp sends one."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from atende.channels.media import InboundMediaFetcher
from atende.cli import _shared_location
from atende.config import Settings
from atende.devtools.simulate import find_channel, simulate_customer
from atende.services import Services
from tests.channels.world import fetch_one, make_channel
from tests.factories import Factory
from tests.twilio_fixtures import RunningSimulator

VOICE_NOTE = b"OggS\x00\x02" + b"\x07" * 3000


async def test_a_simulated_voice_note_reaches_media_storage(
    sending_settings: Settings,
    sending_services: Services,
    factory: Factory,
    twilio_simulator: RunningSimulator,
    tmp_path: Path,
) -> None:
    await make_channel(sending_services, factory, phone_number="+5511933334444")
    recording = tmp_path / "recado.ogg"
    recording.write_bytes(VOICE_NOTE)
    assert sending_settings.database_url is not None
    channel = find_channel(
        sending_settings.database_url.get_secret_value(), sending_settings, "+5511933334444"
    )

    conversation = await simulate_customer(
        channel,
        public_url=sending_settings.public_url,
        simulator_url=twilio_simulator.base_url,
        customer="+5521987654444",
        body="",
        timeout=0.1,
        media=[recording],
    )

    assert conversation.delivery.status_code == 200
    row = await fetch_one(
        sending_services, "select id, media from public.messages where direction = 'inbound'"
    )
    [item] = row["media"]
    assert item["content_type"] == "audio/ogg"
    assert item["url"].startswith(f"{twilio_simulator.base_url}/2010-04-01/Accounts/")

    fetcher = InboundMediaFetcher(
        sending_services.database,
        sending_services.transport,
        sending_services.media_storage,
        sending_services.settings,
    )
    outcome = await fetcher.fetch(row["id"])

    assert outcome.stored == [0]
    stored = await fetch_one(
        sending_services,
        "select media -> 0 as item from public.messages where id = %s",
        [row["id"]],
    )
    assert await sending_services.media_storage.get(stored["item"]["storage_key"]) == VOICE_NOTE


async def test_a_simulated_location_arrives_as_whatsapp_sends_one(
    sending_settings: Settings,
    sending_services: Services,
    factory: Factory,
    twilio_simulator: RunningSimulator,
) -> None:
    await make_channel(sending_services, factory, phone_number="+5511933335555")
    assert sending_settings.database_url is not None
    channel = find_channel(
        sending_settings.database_url.get_secret_value(), sending_settings, "+5511933335555"
    )
    location = _shared_location("-23.5613,-46.6565,MASP,Av. Paulista, 1578")

    conversation = await simulate_customer(
        channel,
        public_url=sending_settings.public_url,
        simulator_url=twilio_simulator.base_url,
        customer="+5521987655555",
        body="",
        timeout=0.1,
        location=location,
    )

    assert conversation.delivery.params["MessageType"] == "location"
    row = await fetch_one(
        sending_services,
        "select body, private.message_location(metadata) as location from public.messages"
        " where direction = 'inbound'",
    )
    assert row == {
        "body": "",
        "location": {
            "latitude": -23.5613,
            "longitude": -46.6565,
            "label": "MASP",
            "address": "Av. Paulista, 1578",
        },
    }


def test_the_location_option_reads_coordinates_then_a_label_and_an_address() -> None:
    assert _shared_location("-23.5,-46.6") == {"latitude": "-23.5", "longitude": "-46.6"}
    with pytest.raises(click.BadParameter):
        _shared_location("São Paulo")
