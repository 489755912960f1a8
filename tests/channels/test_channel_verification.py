"""Channels you own (issue 17, item 7): ``createChannel`` and a credential change in
``updateChannel`` ask Twilio (here the simulator, with accounts of its own) whether the
credentials work and the number is the account's; a channel is one per Twilio account,
kind and number, so two accounts share the WhatsApp Sandbox and webhooks route by
``AccountSid`` and ``To``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from atende.app import create_app
from atende.config import Settings
from atende.devtools.twilio_simulator import TwilioSimulator, create_simulator_app
from atende.services import Services
from atende.transports.twilio.models import WHATSAPP_SANDBOX_NUMBER
from tests import factories
from tests.channels.test_channel_api import CREATE, UPDATE, graphql
from tests.channels.world import TestChannel, deliver, fetch_all
from tests.conftest import free_port
from tests.factories import Factory
from tests.fakes.server import BackgroundServer

ACCOUNT_A = "AC" + "a" * 32
TOKEN_A = "token-of-account-a-0123456789"
ACCOUNT_B = "AC" + "b" * 32
TOKEN_B = "token-of-account-b-0123456789"
NUMBER_A = "+5511911110000"
NUMBER_B = "+5511922220000"
VERIFY_CREATE = CREATE.replace(
    "... on UserError", "... on ChannelVerificationFailed { reason }\n    ... on UserError"
)
VERIFY_UPDATE = UPDATE.replace(
    "... on UserError", "... on ChannelVerificationFailed { reason }\n    ... on UserError"
)


@pytest.fixture(scope="module")
def twilio_accounts() -> Iterator[str]:
    """A simulator that knows two accounts (others do not authenticate): A has NUMBER_A
    for WhatsApp and SMS, B has NUMBER_B for WhatsApp. Its base URL."""
    simulator = TwilioSimulator(
        accounts={ACCOUNT_A: TOKEN_A, ACCOUNT_B: TOKEN_B},
        numbers={
            ACCOUNT_A: [f"whatsapp:{NUMBER_A}", NUMBER_A],
            ACCOUNT_B: [f"whatsapp:{NUMBER_B}"],
        },
    )
    with BackgroundServer(create_simulator_app(simulator), name="twilio-accounts") as server:
        yield server.url


@pytest.fixture
def settings(settings: Settings, twilio_accounts: str) -> Settings:
    return settings.model_copy(update={"twilio_api_base_url": twilio_accounts})


def new_channel(
    organization: factories.TestOrganization,
    *,
    kind: str = "WHATSAPP",
    number: str = NUMBER_A,
    account: str = ACCOUNT_A,
    token: str = TOKEN_A,
) -> dict[str, Any]:
    return {
        "input": {
            "organizationId": str(organization.id),
            "kind": kind,
            "phoneNumber": number,
            "twilioAccountSid": account,
            "twilioAuthToken": token,
        }
    }


async def create(
    client: httpx.AsyncClient, organization: factories.TestOrganization, **changes: Any
) -> dict[str, Any]:
    data = await graphql(
        client, VERIFY_CREATE, new_channel(organization, **changes), organization.owner
    )
    result: dict[str, Any] = data["createChannel"]
    return result


async def channels(services: Services) -> list[dict[str, Any]]:
    return await fetch_all(
        services,
        "select organization_id, kind::text, phone_number, twilio_account_sid"
        " from public.channels order by created_at",
    )


async def test_the_accounts_own_number_is_accepted_for_whatsapp_and_sms(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    organization = await factory.organization()

    whatsapp = await create(client, organization)
    sms = await create(client, organization, kind="SMS")

    assert whatsapp["__typename"] == sms["__typename"] == "CreateChannelSuccess"
    assert len(await channels(services)) == 2


async def test_a_made_up_account_sid_is_refused(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    organization = await factory.organization()

    result = await create(client, organization, account="AC" + uuid.uuid4().hex)

    assert result["__typename"] == "ChannelVerificationFailed"
    assert result["reason"] == "BAD_CREDENTIALS"
    assert await channels(services) == []


async def test_bad_credentials_are_refused_and_never_echoed(
    client: httpx.AsyncClient,
    services: Services,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    organization = await factory.organization()
    wrong = "the-wrong-token-" + uuid.uuid4().hex
    caplog.set_level(logging.DEBUG)

    result = await create(client, organization, token=wrong)

    assert (result["__typename"], result["reason"]) == (
        "ChannelVerificationFailed",
        "BAD_CREDENTIALS",
    )
    assert wrong not in str(result)
    assert wrong not in caplog.text
    assert TOKEN_A not in caplog.text
    assert await channels(services) == []


@pytest.mark.parametrize(
    ("kind", "number"),
    [
        ("WHATSAPP", NUMBER_B),  # B's WhatsApp sender, claimed with A's credentials
        ("SMS", NUMBER_B),  # not an SMS number of A
        ("WHATSAPP", "+5511933330000"),  # nobody's
    ],
)
async def test_a_number_not_in_the_account_is_refused(
    client: httpx.AsyncClient, services: Services, factory: Factory, kind: str, number: str
) -> None:
    organization = await factory.organization()

    result = await create(client, organization, kind=kind, number=number)

    assert result["__typename"] == "ChannelVerificationFailed"
    assert result["reason"] == "NUMBER_NOT_IN_ACCOUNT"
    assert "Sandbox" in result["message"]
    assert await channels(services) == []


async def test_two_accounts_share_the_sandbox_number_in_two_organizations(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    first, second = await factory.organization(), await factory.organization()

    a = await create(client, first, number=WHATSAPP_SANDBOX_NUMBER)
    b = await create(
        client, second, number=WHATSAPP_SANDBOX_NUMBER, account=ACCOUNT_B, token=TOKEN_B
    )
    again = await create(client, second, number=WHATSAPP_SANDBOX_NUMBER)
    as_sms = await create(client, first, kind="SMS", number=WHATSAPP_SANDBOX_NUMBER)

    assert (a["__typename"], b["__typename"]) == ("CreateChannelSuccess", "CreateChannelSuccess")
    # One account's Sandbox is one channel; the Sandbox is no account's SMS number.
    assert again["__typename"] == "ChannelAlreadyExists"
    assert (as_sms["__typename"], as_sms["reason"]) == (
        "ChannelVerificationFailed",
        "NUMBER_NOT_IN_ACCOUNT",
    )
    assert [
        (row["organization_id"], row["twilio_account_sid"]) for row in await channels(services)
    ] == [
        (first.id, ACCOUNT_A),
        (second.id, ACCOUNT_B),
    ]


async def test_an_unreachable_twilio_is_a_refusal_to_try_again(
    settings: Settings, services: Services, factory: Factory
) -> None:
    away = settings.model_copy(update={"twilio_api_base_url": f"http://127.0.0.1:{free_port()}"})
    app = create_app(away)
    organization = await factory.organization()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://atende.test") as client:
            result = await create(client, organization)

    assert (result["__typename"], result["reason"]) == ("ChannelVerificationFailed", "UNAVAILABLE")
    assert "tente de novo" in result["message"]
    assert await channels(services) == []


async def test_new_credentials_are_verified_before_they_are_stored(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    organization = await factory.organization()
    created = await create(client, organization, number=WHATSAPP_SANDBOX_NUMBER)
    channel_id = created["channel"]["id"]

    async def update(**fields: Any) -> dict[str, Any]:
        data = await graphql(
            client,
            VERIFY_UPDATE,
            {"input": {"channelId": channel_id, **fields}},
            organization.owner,
        )
        result: dict[str, Any] = data["updateChannel"]
        return result

    wrong_token = await update(twilioAuthToken="not-the-token-0123456789")
    made_up = await update(twilioAccountSid="AC" + "c" * 32, twilioAuthToken=TOKEN_B)
    sid_alone = await update(twilioAccountSid=ACCOUNT_B)
    moved = await update(twilioAccountSid=ACCOUNT_B, twilioAuthToken=TOKEN_B)
    renamed = await update(displayName="Loja")  # no credentials: nothing to ask Twilio

    assert (wrong_token["__typename"], wrong_token["reason"]) == (
        "ChannelVerificationFailed",
        "BAD_CREDENTIALS",
    )
    assert (made_up["__typename"], made_up["reason"]) == (
        "ChannelVerificationFailed",
        "BAD_CREDENTIALS",
    )
    assert (sid_alone["__typename"], sid_alone["field"]) == ("ValidationError", "twilioAuthToken")
    assert moved["__typename"] == "UpdateChannelSuccess"
    assert moved["channel"]["twilioAccountSid"] == ACCOUNT_B
    assert renamed["__typename"] == "UpdateChannelSuccess"
    row = (await fetch_all(services, "select twilio_auth_token_ciphertext from public.channels"))[0]
    assert (
        services.cipher.decrypt(row["twilio_auth_token_ciphertext"]).get_secret_value() == TOKEN_B
    )


async def test_moving_to_an_account_that_already_has_the_channel_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    first, second = await factory.organization(), await factory.organization()
    await create(client, first, number=WHATSAPP_SANDBOX_NUMBER)
    b = await create(
        client, second, number=WHATSAPP_SANDBOX_NUMBER, account=ACCOUNT_B, token=TOKEN_B
    )

    data = await graphql(
        client,
        VERIFY_UPDATE,
        {
            "input": {
                "channelId": b["channel"]["id"],
                "twilioAccountSid": ACCOUNT_A,
                "twilioAuthToken": TOKEN_A,
            }
        },
        second.owner,
    )

    assert data["updateChannel"]["__typename"] == "ChannelAlreadyExists"


async def test_inbound_webhooks_route_by_account_when_two_share_the_sandbox(
    client: httpx.AsyncClient, services: Services, factory: Factory
) -> None:
    first, second = await factory.organization(), await factory.organization()
    made = [
        (first, ACCOUNT_A, TOKEN_A, await create(client, first, number=WHATSAPP_SANDBOX_NUMBER)),
        (
            second,
            ACCOUNT_B,
            TOKEN_B,
            await create(
                client, second, number=WHATSAPP_SANDBOX_NUMBER, account=ACCOUNT_B, token=TOKEN_B
            ),
        ),
    ]
    sandbox = [
        TestChannel(
            uuid.UUID(result["channel"]["id"]),
            organization,
            "whatsapp",
            WHATSAPP_SANDBOX_NUMBER,
            account,
            token,
        )
        for organization, account, token, result in made
    ]

    to_a = await deliver(client, sandbox[0], body="para A")
    to_b = await deliver(client, sandbox[1], body="para B")
    # B's AccountSid signed with A's token: B's channel checks B's token.
    forged = await deliver(client, sandbox[1], body="forjada", auth_token=TOKEN_A)

    assert (to_a.status_code, to_b.status_code, forged.status_code) == (200, 200, 403)
    stored = await fetch_all(
        services,
        "select m.body, cv.channel_id, cv.organization_id from public.messages m"
        " join public.conversations cv on cv.id = m.conversation_id order by m.body",
    )
    assert [(row["body"], row["channel_id"], row["organization_id"]) for row in stored] == [
        ("para A", sandbox[0].id, first.id),
        ("para B", sandbox[1].id, second.id),
    ]
