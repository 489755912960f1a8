"""POST /webhooks/twilio/status: signed like inbound; statuses move forward only."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from atende.db.session import Caller
from atende.devtools.twilio_simulator import new_sid
from atende.services import Services
from atende.transports.twilio.signature import signature_headers
from atende.transports.twilio.webhooks import STATUS_PATH
from tests.channels.world import (
    PUBLIC_URL,
    TestChannel,
    fetch_one,
    open_conversation,
    queue_message,
)


async def sent_message(
    services: Services, channel: TestChannel, parts: int = 1
) -> tuple[uuid.UUID, list[str]]:
    """A message the send job handed to Twilio in ``parts`` parts (status ``sending``)."""
    conversation = await open_conversation(services, channel)
    message_id = await queue_message(services, conversation)
    sids = [new_sid() for _ in range(parts)]
    async with services.database.transaction(Caller.service()) as conn:
        row = await (
            await conn.execute(
                "select outcome from private.claim_outbound_message_v1(%s)", [message_id]
            )
        ).fetchone()
        assert row is not None
        assert row["outcome"] == "claimed"
        for index, sid in enumerate(sids):
            await conn.execute(
                "select * from private.record_message_status_v1(%s, %s, 'queued', %s, %s)",
                [message_id, sid, index, parts],
            )
    return message_id, sids


async def post_status(
    client: httpx.AsyncClient,
    channel: TestChannel,
    sid: str,
    status: str,
    *,
    query: dict[str, Any] | None = None,
    error_code: int | None = None,
    token: str | None = None,
    account_sid: str | None = None,
) -> httpx.Response:
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": account_sid or channel.account_sid,
        "From": channel.address,
        "To": "whatsapp:+5521987654321",
        "ApiVersion": "2010-04-01",
    }
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    path = STATUS_PATH + (f"?{urlencode(query)}" if query else "")
    headers = signature_headers(f"{PUBLIC_URL}{path}", params, token or channel.auth_token)
    return await client.post(
        path,
        content=urlencode(params),
        headers={**headers, "content-type": "application/x-www-form-urlencoded"},
    )


async def status_of(services: Services, message_id: uuid.UUID) -> dict[str, Any]:
    return await fetch_one(
        services,
        "select status::text, is_error, error_code, error_message, metadata"
        " from public.messages where id = %s",
        [message_id],
    )


@pytest.mark.parametrize(
    ("sequence", "final"),
    [
        (["sent", "delivered", "read"], "read"),
        (["delivered", "sent"], "delivered"),  # out of order
        (["read", "delivered", "sent", "queued"], "read"),
        (["sent", "sent", "sent"], "sent"),  # repeated
        (["sent", "undelivered", "delivered"], "undelivered"),  # final
        (["failed", "sent", "delivered", "read"], "failed"),
        (["delivered", "failed"], "delivered"),  # no failure after delivery
        (["accepted", "queued", "sending"], "sending"),
    ],
)
async def test_statuses_move_forward_only(
    client: httpx.AsyncClient,
    services: Services,
    channel: TestChannel,
    sequence: list[str],
    final: str,
) -> None:
    message_id, [sid] = await sent_message(services, channel)
    for status in sequence:
        answer = await post_status(client, channel, sid, status)
        assert answer.status_code == 200
    assert (await status_of(services, message_id))["status"] == final


async def test_a_failure_stores_twilios_code_and_the_error_flag(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    message_id, [sid] = await sent_message(services, channel)
    await post_status(client, channel, sid, "undelivered", error_code=63016)

    row = await status_of(services, message_id)
    assert (row["status"], row["is_error"], row["error_code"]) == ("undelivered", True, "63016")
    assert "24-hour" in row["error_message"]


async def test_a_multi_part_message_is_as_far_as_its_least_advanced_part(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    message_id, sids = await sent_message(services, channel, parts=3)

    def query(part: int) -> dict[str, Any]:
        # As the send job sets StatusCallback: later parts are known by their URL.
        return {"message_id": message_id, "part": part, "parts": 3}

    for part in (0, 1):
        await post_status(client, channel, sids[part], "delivered", query=query(part))
    assert (await status_of(services, message_id))["status"] == "sending"

    await post_status(client, channel, sids[2], "sent", query=query(2))
    assert (await status_of(services, message_id))["status"] == "sent"
    await post_status(client, channel, sids[2], "delivered", query=query(2))
    row = await status_of(services, message_id)
    assert row["status"] == "delivered"
    assert [part["status"] for part in row["metadata"]["parts"]] == ["delivered"] * 3


async def test_a_callback_naming_the_message_records_a_sid_the_job_never_stored(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    conversation = await open_conversation(services, channel)
    message_id = await queue_message(services, conversation)
    async with services.database.transaction(Caller.service()) as conn:
        await conn.execute("select * from private.claim_outbound_message_v1(%s)", [message_id])
    sid = new_sid()

    answer = await post_status(
        client, channel, sid, "sent", query={"message_id": message_id, "part": 0, "parts": 1}
    )

    assert answer.status_code == 200
    row = await status_of(services, message_id)
    assert (row["status"], row["metadata"]["message_sid"]) == ("sent", sid)


async def test_a_callback_does_not_take_a_requeued_message_out_of_the_queue(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    message_id, sids = await sent_message(services, channel, parts=2)
    async with services.database.transaction(Caller.service()) as conn:
        # Part 1 hit a 429: the message waits, queued, for the retry of that part.
        await conn.execute(
            "update public.messages set status = 'queued',"
            " metadata = jsonb_set(metadata, '{parts}', (metadata -> 'parts') - 1)"
            " where id = %s",
            [message_id],
        )
    await post_status(client, channel, sids[0], "delivered")
    assert (await status_of(services, message_id))["status"] == "queued"


async def test_unknown_sids_are_acknowledged_and_change_nothing(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    message_id, [_sid] = await sent_message(services, channel)
    unknown = await post_status(client, channel, new_sid(), "delivered")
    unknown_id = await post_status(
        client, channel, new_sid(), "delivered", query={"message_id": uuid.uuid4()}
    )
    assert (unknown.status_code, unknown_id.status_code) == (200, 200)
    assert (await status_of(services, message_id))["status"] == "sending"


@pytest.mark.parametrize("tamper", ["wrong token", "wrong account", "query changed"])
async def test_badly_signed_callbacks_are_refused(
    client: httpx.AsyncClient, services: Services, channel: TestChannel, tamper: str
) -> None:
    message_id, [sid] = await sent_message(services, channel)
    if tamper == "wrong token":
        answer = await post_status(client, channel, sid, "failed", token="y" * 32)
    elif tamper == "wrong account":
        answer = await post_status(client, channel, sid, "failed", account_sid="AC" + "2" * 32)
    else:
        params = {"MessageSid": sid, "MessageStatus": "failed", "AccountSid": channel.account_sid}
        headers = signature_headers(f"{PUBLIC_URL}{STATUS_PATH}", params, channel.auth_token)
        answer = await client.post(
            f"{STATUS_PATH}?message_id={message_id}&part=0",
            content=urlencode(params),
            headers={**headers, "content-type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 403
    assert (await status_of(services, message_id))["status"] == "sending"


async def test_malformed_callbacks_get_400(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    missing = await client.post(STATUS_PATH, content=b"MessageSid=SM1", headers=form)
    json_body = await client.post(STATUS_PATH, json={"MessageSid": "SM1"})
    assert (missing.status_code, json_body.status_code) == (400, 415)


async def test_concurrent_callbacks_sharing_a_transaction_still_move_forward_only(
    client: httpx.AsyncClient, services: Services, channel: TestChannel
) -> None:
    messages = [await sent_message(services, channel) for _ in range(5)]
    callbacks = [
        post_status(client, channel, sid, status)
        for _, [sid] in messages
        for status in ("read", "sent", "delivered", "sent", "queued")
    ]
    answers = await asyncio.gather(*callbacks)

    assert {answer.status_code for answer in answers} == {200}
    for message_id, _ in messages:
        assert (await status_of(services, message_id))["status"] == "read"
