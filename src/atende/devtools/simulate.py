"""``atende simulate``: be a customer writing to one of the business's channels.

Finds the channel in the database by its number (and decrypts its auth token), posts a
correctly signed incoming-message webhook to ``ATENDE_PUBLIC_URL`` as Twilio would, then
prints what comes back to that customer: the messages the Twilio simulator (at
``TWILIO_API_BASE_URL``) records from the channel to them, until a reply has arrived
and a moment passed quietly, or the timeout. While none has come, it reads the
conversation in the database: when the conversation is the team's (handed off, its AI
switched off), no AI reply will come, and it stops waiting and says why.
"""

from __future__ import annotations

import asyncio
import mimetypes
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, LiteralString

import httpx
import psycopg
from psycopg.rows import dict_row

from atende.channels.crypto import TokenCipher
from atende.channels.phone import InvalidPhoneNumber, normalize_phone_number
from atende.config import Settings
from atende.db.pool import first_line
from atende.db.queries import load_queries
from atende.devtools.twilio_simulator import InboundDelivery, post_inbound_message
from atende.errors import AtendeError
from atende.transports.twilio.models import WHATSAPP_PREFIX
from atende.transports.twilio.webhooks import INBOUND_PATH

queries = load_queries("channels")

#: Where ``make dev`` runs the simulator when TWILIO_API_BASE_URL is not set.
DEFAULT_SIMULATOR_URL = "http://127.0.0.1:8020"
#: After a reply, how long to wait for more (a long answer comes in parts; a second
#: reply may follow) before returning.
QUIET_SECONDS = 2.0
POLL_SECONDS = 0.25
#: ``atende simulate``'s exit status when it stopped waiting because no AI reply will come.
NO_AI_REPLY_EXIT_CODE = 3

#: The conversation a simulated message went to, as the AI sees it: why it may not answer
#: (``private.ai_reply_blocker``: null when it may), its assignee, and whether anything has
#: been queued to the customer since the message (a handoff's notice is on its way then).
CONVERSATION_STATE: LiteralString = """
select private.ai_reply_blocker(c.id) as blocker,
       p.full_name as assignee,
       exists (select from public.messages as o
               where o.conversation_id = c.id and o.direction = 'outbound'
                 and o.created_at >= m.created_at) as answered
from private.message_sids as s
join public.messages as m on m.id = s.message_id and m.created_at = s.message_created_at
join public.conversations as c on c.id = m.conversation_id
left join public.profiles as p on p.id = c.assignee_id
where s.message_sid = %(message_sid)s and m.direction = 'inbound'
"""

#: When the conversation is the team's (``private.ai_reply_blocker``'s code): why, and
#: what to do about it.
_TEAM_REPLIES = "Reply from the API (sendMessage) or switch the AI back on (setConversationAi)."
_WITH_THE_TEAM = {
    "conversation_handoff": ("handed off", _TEAM_REPLIES),
    "conversation_ai_disabled": ("its AI is switched off", _TEAM_REPLIES),
    "agent_ai_disabled": (
        "the AI is switched off for the whole organization",
        "Reply from the API (sendMessage) or switch the AI back on (updateAgent, aiEnabled).",
    ),
}


class SimulationFailed(AtendeError):
    """The simulated customer message could not be delivered."""


@dataclass(frozen=True)
class SimulatedChannel:
    kind: str
    phone_number: str
    account_sid: str
    auth_token: str

    def address(self, phone_number: str) -> str:
        return f"{WHATSAPP_PREFIX}{phone_number}" if self.kind == "whatsapp" else phone_number


@dataclass(frozen=True)
class NoAiReply:
    """Why no AI reply will come to the simulated message."""

    #: ``private.ai_reply_blocker``'s code: ``conversation_handoff``, ...
    blocker: str
    #: The member the conversation is assigned to, if any.
    assignee: str | None = None

    def explanation(self) -> str:
        """One line for the person at the terminal: why, and what to do."""
        if self.blocker in _WITH_THE_TEAM:
            why, advice = _WITH_THE_TEAM[self.blocker]
            assigned = f", assigned to {self.assignee}" if self.assignee else ""
            return (
                f"The conversation is with the team ({why}{assigned}): "
                f"no AI reply will come. {advice}"
            )
        if self.blocker == "contact_opted_out":
            return (
                "The customer has opted out (STOP): no AI reply will come, and nothing is "
                "sent to them until they write START."
            )
        return f"No AI reply will come ({self.blocker})."


@dataclass
class Conversation:
    delivery: InboundDelivery
    replies: list[dict[str, Any]] = field(default_factory=list)
    #: Set when the simulation stopped waiting because no AI reply will come.
    no_ai_reply: NoAiReply | None = None


def find_channel(
    database_url: str, settings: Settings, phone_number: str, kind: str | None = None
) -> SimulatedChannel:
    """The channel with this number (WhatsApp first, unless ``kind`` says), token decrypted."""
    try:
        number = normalize_phone_number(phone_number)
    except InvalidPhoneNumber:
        raise SimulationFailed(f"{phone_number!r} is not a phone number") from None
    try:
        with psycopg.connect(database_url, row_factory=dict_row) as conn:
            rows = conn.execute(
                queries["channel_by_phone_number"], {"phone_number": number}
            ).fetchall()
    except psycopg.OperationalError as error:
        raise SimulationFailed(
            f"cannot reach the database ({first_line(error)}): run atende simulate with the"
            " same DATABASE_URL, or ATENDE_DB_PORT and ATENDE_DATA_DIR, as make dev"
        ) from None
    rows = [row for row in rows if kind is None or row["kind"] == kind]
    if not rows:
        raise SimulationFailed(f"no channel has the number {number}")
    row = rows[0]
    if not row["enabled"]:
        raise SimulationFailed(f"the channel {number} is disabled")
    token = TokenCipher.from_settings(settings).decrypt(row["twilio_auth_token_ciphertext"])
    return SimulatedChannel(
        kind=row["kind"],
        phone_number=row["phone_number"],
        account_sid=row["twilio_account_sid"],
        auth_token=token.get_secret_value(),
    )


async def simulate_customer(
    channel: SimulatedChannel,
    *,
    public_url: str,
    simulator_url: str,
    customer: str,
    body: str,
    profile_name: str | None = None,
    timeout: float = 30.0,
    quiet_seconds: float = QUIET_SECONDS,
    on_reply: Callable[[dict[str, Any]], None] | None = None,
    database_url: str | None = None,
    media: Sequence[Path] = (),
    location: Mapping[str, str] | None = None,
) -> Conversation:
    """Post the customer's message (with ``media``: files the simulator then serves as
    Twilio serves a customer's files; with ``location``: a shared location, ``latitude``,
    ``longitude`` and optionally ``label`` and ``address``, as WhatsApp sends one), then
    collect the replies sent back to them.

    With ``database_url``, stop waiting as soon as the conversation shows that no AI reply
    will come (``Conversation.no_ai_reply`` says why) rather than at the timeout.
    """
    try:
        customer_number = normalize_phone_number(customer)
    except InvalidPhoneNumber:
        raise SimulationFailed(f"{customer!r} is not a phone number") from None
    to_customer = channel.address(customer_number)
    from_channel = channel.address(channel.phone_number)
    async with httpx.AsyncClient(timeout=15.0) as http:
        seen = {message["sid"] for message in await _sent(http, simulator_url, to_customer)}
        files = [await _upload(http, simulator_url, channel.account_sid, path) for path in media]
        delivery = await post_inbound_message(
            f"{public_url}{INBOUND_PATH}",
            auth_token=channel.auth_token,
            account_sid=channel.account_sid,
            from_=to_customer,
            to=from_channel,
            body=body,
            profile_name=profile_name,
            http_client=http,
            media=files,
            location=location,
        )
        if delivery.status_code != 200:
            raise SimulationFailed(
                f"the webhook answered {delivery.status_code}: {delivery.response_text[:200]}"
            )
        conversation = Conversation(delivery)
        deadline = time.monotonic() + timeout
        last_reply_at: float | None = None
        async with AsyncExitStack() as stack:
            database = None
            if database_url is not None:
                database = await stack.enter_async_context(await _connect(database_url))
            while time.monotonic() < deadline:
                if last_reply_at is not None and time.monotonic() - last_reply_at >= quiet_seconds:
                    break
                await asyncio.sleep(POLL_SECONDS)
                for message in await _sent(http, simulator_url, to_customer):
                    if message["sid"] in seen or message.get("from") != from_channel:
                        continue
                    seen.add(message["sid"])
                    conversation.replies.append(message)
                    last_reply_at = time.monotonic()
                    if on_reply is not None:
                        on_reply(message)
                if not conversation.replies and database is not None:
                    conversation.no_ai_reply = await _no_ai_reply(database, delivery.message_sid)
                    if conversation.no_ai_reply is not None:
                        break
    return conversation


async def _connect(database_url: str) -> psycopg.AsyncConnection[dict[str, Any]]:
    try:
        return await psycopg.AsyncConnection.connect(
            database_url, autocommit=True, row_factory=dict_row
        )
    except psycopg.OperationalError as error:
        raise SimulationFailed(f"cannot reach the database: {type(error).__name__}") from None


async def _no_ai_reply(
    database: psycopg.AsyncConnection[dict[str, Any]], message_sid: str
) -> NoAiReply | None:
    """Why no AI reply will come to the message, or None while one still may (or the
    message is not stored yet, or something was queued to the customer since)."""
    cursor = await database.execute(CONVERSATION_STATE, {"message_sid": message_sid})
    row = await cursor.fetchone()
    if row is None or row["answered"] or row["blocker"] is None:
        return None
    return NoAiReply(blocker=row["blocker"], assignee=row["assignee"])


async def _upload(
    http: httpx.AsyncClient, simulator_url: str, account_sid: str, path: Path
) -> tuple[str, str]:
    """Give the simulator a file the customer sends: its ``MediaUrl`` and content type."""
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    try:
        answer = await http.post(
            f"{simulator_url.rstrip('/')}/__simulator/media",
            params={"account_sid": account_sid},
            content=await asyncio.to_thread(path.read_bytes),
            headers={"Content-Type": content_type},
        )
        answer.raise_for_status()
    except httpx.HTTPError as error:
        raise SimulationFailed(
            f"the Twilio simulator at {simulator_url} did not take {path.name}:"
            f" {type(error).__name__}"
        ) from None
    return str(answer.json()["url"]), content_type


async def _sent(http: httpx.AsyncClient, simulator_url: str, to: str) -> list[dict[str, Any]]:
    try:
        answer = await http.get(
            f"{simulator_url.rstrip('/')}/__simulator/messages", params={"to": to}
        )
        answer.raise_for_status()
    except httpx.HTTPError as error:
        raise SimulationFailed(
            f"cannot read the Twilio simulator at {simulator_url}: {type(error).__name__}"
        ) from None
    messages: list[dict[str, Any]] = answer.json()["messages"]
    return messages
