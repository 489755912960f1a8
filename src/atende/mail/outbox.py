"""The outbox: ``queue_mail`` writes a mail in the caller's transaction (and defers its
send job there); ``MailOutbox.send`` is the job's work on one row.

A mail is sent at least once: a worker that dies between the server's acceptance and
marking the row sent sends it again when the job is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from atende.db.pool import Connection
from atende.db.session import SERVICE, Database
from atende.mail.messages import RenderedMail, build_message, render
from atende.mail.sender import Mailer, MailError, MailRefused

logger = logging.getLogger("atende.mail")

#: Attempts at one mail before it is given up (about a day with the backoff below).
MAX_ATTEMPTS = 12
#: First retry delay, doubled per attempt up to RETRY_MAX.
RETRY_BASE = timedelta(seconds=10)
RETRY_MAX = timedelta(hours=4)


async def queue_mail(
    conn: Connection,
    *,
    recipient: str,
    kind: str,
    params: Mapping[str, str],
    link_base: str,
) -> UUID:
    """Render a mail of ``kind`` and queue it in ``conn``'s transaction (as the platform:
    ``conn`` must be a service-role transaction). It goes out only if that commits; a
    failure to send never reaches the caller. ``link_base``: ``Settings.mail_link_base``."""
    mail = render(kind, params, link_base)
    return await queue_rendered_mail(conn, recipient=recipient, kind=kind, mail=mail)


async def queue_rendered_mail(
    conn: Connection, *, recipient: str, kind: str, mail: RenderedMail
) -> UUID:
    row = await (
        await conn.execute(
            "select private.queue_mail_v1(%s, %s, %s, %s, %s) as mail_id",
            [recipient, kind, mail.subject, mail.text, mail.html],
        )
    ).fetchone()
    assert row is not None
    return UUID(str(row["mail_id"]))


@dataclass(frozen=True)
class Sent:
    pass


@dataclass(frozen=True)
class GaveUp:
    reason: str


@dataclass(frozen=True)
class RetryLater:
    delay: timedelta
    reason: str


@dataclass(frozen=True)
class NothingToSend:
    """Unknown, already sent or given up: a repeated job does nothing."""


SendOutcome = Sent | GaveUp | RetryLater | NothingToSend


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt (1-based)."""
    delay: timedelta = RETRY_BASE * 2 ** max(0, attempts - 1)
    return min(RETRY_MAX, delay)


class MailOutbox:
    def __init__(self, database: Database, mailer: Mailer) -> None:
        self.database = database
        self.mailer = mailer

    async def send(self, mail_id: UUID) -> SendOutcome:
        row = await self.database.fetch_one(
            SERVICE,
            "select id, recipient, kind, subject, text, html, attempts"
            " from private.mail_outbox where id = %s and status = 'queued'",
            [mail_id],
        )
        if row is None:
            return NothingToSend()
        message = build_message(
            mail_from=self.mailer.mail_from,
            recipient=row["recipient"],
            mail=RenderedMail(subject=row["subject"], text=row["text"], html=row["html"]),
        )
        attempts = int(row["attempts"]) + 1
        try:
            await self.mailer.send(message)
        except MailError as error:
            given_up = isinstance(error, MailRefused) or attempts >= MAX_ATTEMPTS
            await self.database.fetch_one(
                SERVICE,
                "update private.mail_outbox set attempts = %s, last_error = %s,"
                " status = case when %s then 'failed' else status end"
                " where id = %s returning id",
                [attempts, error.reason, given_up, mail_id],
            )
            # The kind and id only: the recipient is personal, the body may hold a link.
            if given_up:
                logger.warning(
                    "mail %s (%s) given up after %d attempt(s): %s",
                    mail_id,
                    row["kind"],
                    attempts,
                    error.reason,
                )
                return GaveUp(error.reason)
            delay = retry_delay(attempts)
            logger.info(
                "mail %s (%s) not sent (attempt %d), retrying in %ds: %s",
                mail_id,
                row["kind"],
                attempts,
                delay.total_seconds(),
                error.reason,
            )
            return RetryLater(delay, error.reason)
        await self.database.fetch_one(
            SERVICE,
            "update private.mail_outbox set attempts = %s, status = 'sent', sent_at = now(),"
            " last_error = null where id = %s returning id",
            [attempts, mail_id],
        )
        logger.debug("mail %s (%s) sent", mail_id, row["kind"])
        return Sent()
