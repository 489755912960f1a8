"""What a webhook endpoint may subscribe to, and what one attempt to deliver came to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EventType(StrEnum):
    """The event types (``private.webhook_event_types()`` lists the same)."""

    MESSAGE_RECEIVED = "message.received"
    MESSAGE_SENT = "message.sent"
    MESSAGE_STATUS_CHANGED = "message.status_changed"
    CONVERSATION_HANDED_OFF = "conversation.handed_off"
    CONVERSATION_ASSIGNED = "conversation.assigned"
    CONVERSATION_CLOSED = "conversation.closed"
    CONVERSATION_REOPENED = "conversation.reopened"
    CONTACT_OPTED_OUT = "contact.opted_out"
    CONTACT_OPTED_IN = "contact.opted_in"


@dataclass(frozen=True)
class Attempt:
    """One POST: the receiver's status (None when there was no answer), how long it took,
    and what went wrong in words (None for a 2xx)."""

    status_code: int | None
    duration_ms: int
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300
