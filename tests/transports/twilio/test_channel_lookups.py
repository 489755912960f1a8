"""The lookups that verify a channel, through the official client against the simulator:
the account, its incoming phone numbers (Twilio's partial filter), its WhatsApp senders
(the Senders API, paged), and refusals typed as every other Twilio error."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from atende.transports.twilio.client import TwilioService
from atende.transports.twilio.errors import TwilioAuthenticationFailed
from atende.transports.twilio.models import TwilioCredentials
from tests.twilio_fixtures import RunningSimulator

ACCOUNT = "AC" + "5" * 32
TOKEN = "lookup-token-0123456789"
CREDENTIALS = TwilioCredentials(account_sid=ACCOUNT, auth_token=SecretStr(TOKEN))


async def test_an_accounts_numbers_and_senders_as_twilio_lists_them(
    twilio_simulator: RunningSimulator, twilio_service: TwilioService
) -> None:
    senders = [f"whatsapp:+55119{n:08d}" for n in range(120)]  # more than a page
    twilio_simulator.simulator.add_account(
        ACCOUNT, TOKEN, ["+5511987654321", "+5511987654322", *senders]
    )

    assert await twilio_service.account_status(CREDENTIALS) == "active"
    assert await twilio_service.incoming_phone_numbers(CREDENTIALS, "+5511987654321") == [
        "+5511987654321"
    ]
    assert await twilio_service.incoming_phone_numbers(CREDENTIALS, "+1415") == []
    assert await twilio_service.whatsapp_senders(CREDENTIALS) == senders


@pytest.mark.parametrize("lookup", ["account", "numbers", "senders"])
async def test_a_wrong_token_is_an_authentication_failure(
    twilio_simulator: RunningSimulator, twilio_service: TwilioService, lookup: str
) -> None:
    twilio_simulator.simulator.add_account(ACCOUNT, TOKEN)
    wrong = TwilioCredentials(account_sid=ACCOUNT, auth_token=SecretStr("wrong-token-0123456789"))

    with pytest.raises(TwilioAuthenticationFailed) as refused:
        if lookup == "account":
            await twilio_service.account_status(wrong)
        elif lookup == "numbers":
            await twilio_service.incoming_phone_numbers(wrong, "+5511987654321")
        else:
            await twilio_service.whatsapp_senders(wrong)

    assert refused.value.http_status == 401
    assert "wrong-token" not in str(refused.value)


async def test_accounts_are_added_through_the_control_api_and_forgotten_on_reset(
    twilio_simulator: RunningSimulator, twilio_service: TwilioService
) -> None:
    async with httpx.AsyncClient(base_url=twilio_simulator.base_url) as control:
        added = await control.post(
            "/__simulator/accounts",
            json={
                "account_sid": ACCOUNT,
                "auth_token": TOKEN,
                "numbers": ["whatsapp:+5511900001111"],
            },
        )
        listed = (await control.get("/__simulator/accounts")).json()
        invalid = await control.post("/__simulator/accounts", json={"account_sid": "AC1"})

    assert (added.status_code, invalid.status_code) == (201, 422)
    assert listed["accounts"][ACCOUNT] == ["whatsapp:+5511900001111"]
    assert TOKEN not in str(listed)
    assert await twilio_service.whatsapp_senders(CREDENTIALS) == ["whatsapp:+5511900001111"]
    twilio_simulator.simulator.reset()
    assert await twilio_service.whatsapp_senders(CREDENTIALS) == []
