"""Logging for every process: one format, and secrets scrubbed before anything is written."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import psycopg
from psycopg.conninfo import conninfo_to_dict

from atende.config import Settings

REDACTED = "[redacted]"


class SecretScrubber(logging.Filter):
    """Replaces any configured secret that reaches a log record with ``[redacted]``.

    Code never logs secrets on purpose; this catches the accident (an exception message
    that quotes a URL with a password, a library that logs its request headers).
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if self.scrub(text) != text:
                record.exc_text = self.scrub(text)
                record.exc_info = None
        return True

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


def settings_secrets(settings: Settings) -> list[str]:
    values = [
        settings.jwt_secret,
        settings.secret_key,
        settings.openai_api_key,
        settings.supabase_service_role_key,
        settings.database_url,
    ]
    secrets = [value.get_secret_value() for value in values if value is not None]
    if settings.database_url is not None:
        try:
            password = conninfo_to_dict(settings.database_url.get_secret_value()).get("password")
        except psycopg.ProgrammingError:  # a malformed URL has no password to hide
            password = None
        if password:
            secrets.append(str(password))
    return secrets


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretScrubber(settings_secrets(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
