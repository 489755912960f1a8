"""``Mailer``: hands one message to the SMTP server (``ATENDE_SMTP_URL``), with aiosmtplib.

The URL says how: ``smtp://user:password@host:587`` speaks plain SMTP and upgrades with
STARTTLS when the server offers it (``?starttls=required`` insists, ``?starttls=false``
never does, for a local catcher); ``smtps://...:465`` is TLS from the first byte.
``?timeout=<seconds>`` bounds each step (default 30). A failure is classified for the
job: ``MailRefused`` (a permanent 5xx about this mail: do not retry) or
``MailUnavailable`` (the server is away, busy (4xx), or refused our credentials: retry).
Their text never holds the password.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from atende.config import Settings
from atende.errors import AtendeError

DEFAULT_TIMEOUT_SECONDS = 30.0
_STARTTLS = {"true": True, "required": True, "false": False, "never": False, "auto": None}


class MailError(AtendeError):
    """The mail was not sent; ``reason`` is safe to store and log (no password)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MailUnavailable(MailError):
    """Not sent now; it may go later (network, 4xx, credentials, no SMTP configured)."""


class MailRefused(MailError):
    """The server refused this mail for good (a 5xx about the sender, recipient or data)."""


class InvalidSmtpUrl(AtendeError):
    pass


@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    #: True: STARTTLS required; False: never; None: when the server offers it.
    start_tls: bool | None
    timeout: float

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        """Parse ``ATENDE_SMTP_URL``; errors never repeat the URL (it may hold a password)."""
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"}:
            raise InvalidSmtpUrl("ATENDE_SMTP_URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise InvalidSmtpUrl("ATENDE_SMTP_URL has no host")
        try:
            port = parts.port
        except ValueError:
            raise InvalidSmtpUrl("ATENDE_SMTP_URL has an invalid port") from None
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        implicit_tls = parts.scheme == "smtps"
        starttls_word = query.get("starttls", "auto").lower()
        if starttls_word not in _STARTTLS:
            raise InvalidSmtpUrl("ATENDE_SMTP_URL: starttls must be required, auto or false")
        try:
            timeout = float(query.get("timeout", DEFAULT_TIMEOUT_SECONDS))
        except ValueError:
            raise InvalidSmtpUrl("ATENDE_SMTP_URL: timeout must be a number of seconds") from None
        return cls(
            hostname=parts.hostname,
            port=port or (465 if implicit_tls else 587),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=implicit_tls,
            start_tls=False if implicit_tls else _STARTTLS[starttls_word],
            timeout=timeout,
        )

    def describe(self) -> str:
        """Where mail goes, for logs and banners: never the credentials."""
        scheme = "smtps" if self.use_tls else "smtp"
        return f"{scheme}://{self.hostname}:{self.port}"


class Mailer:
    """Sends one message per SMTP connection (mail is rare: nothing is kept open)."""

    def __init__(self, settings: Settings) -> None:
        self.mail_from = settings.mail_from
        self.link_base = settings.mail_link_base
        url = settings.smtp_url.get_secret_value() if settings.smtp_url is not None else None
        self.target = SmtpTarget.from_url(url) if url is not None else None

    async def send(self, message: EmailMessage) -> None:
        target = self.target
        if target is None:
            raise MailUnavailable("ATENDE_SMTP_URL is not set")
        try:
            await aiosmtplib.send(
                message,
                hostname=target.hostname,
                port=target.port,
                username=target.username,
                password=target.password,
                use_tls=target.use_tls,
                start_tls=target.start_tls,
                timeout=target.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as refused:
            codes = [recipient.code for recipient in refused.recipients]
            # The recipient stays out: the reason is logged, and an address is personal.
            reason = "; ".join(f"{r.code} {r.message}" for r in refused.recipients)
            raise self._classified(min(codes, default=500), reason) from None
        except aiosmtplib.SMTPAuthenticationError as error:
            # Our credentials, not this mail: it may go once the operator fixes them.
            raise MailUnavailable(self._safe(f"authentication refused: {error.code}")) from None
        except aiosmtplib.SMTPResponseException as error:
            raise self._classified(error.code, f"{error.code} {error.message}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            detail = str(error) or type(error).__name__
            raise MailUnavailable(self._safe(f"{target.describe()}: {detail}")) from None

    def _classified(self, code: int, reason: str) -> MailError:
        safe = self._safe(reason)
        return MailRefused(safe) if 500 <= code < 600 else MailUnavailable(safe)

    def _safe(self, text: str) -> str:
        """``text`` without the password, should a server or library ever echo it."""
        password = self.target.password if self.target is not None else None
        return text.replace(password, "***") if password else text
