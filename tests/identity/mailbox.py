"""The account mails a test's actions queued, read from the outbox as a recipient would
read them: the link's token, taken from the mail's plain text."""

from __future__ import annotations

import re
from typing import Any

from atende.db.session import SERVICE
from atende.services import Services

_TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_\-]+)")


async def mails_to(services: Services, recipient: str, kind: str | None = None) -> list[Any]:
    """The mails queued for ``recipient`` (of ``kind``), oldest first."""
    return await services.database.fetch_all(
        SERVICE,
        "select kind, subject, text, html from private.mail_outbox"
        " where recipient = %s and (%s::text is null or kind = %s) order by created_at, id",
        [recipient, kind, kind],
    )


def token_in(mail: Any) -> str:
    match = _TOKEN.search(mail["text"])
    assert match is not None, mail["text"]
    return match.group(1)


async def mailed_token(services: Services, recipient: str, kind: str) -> str:
    """The token of the latest ``kind`` mail to ``recipient``; fails when there is none."""
    mails = await mails_to(services, recipient, kind)
    assert mails, f"no {kind} mail to {recipient}"
    return token_in(mails[-1])
