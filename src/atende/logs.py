"""Logging for every process: one format, secrets scrubbed before anything is written, and
routine work (periodic upkeep, the simulator's polling) at DEBUG, so an idle process is
quiet at INFO."""

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


#: Procrastinate's records of a job going as planned (deferred, started, succeeded). Its
#: failures and retries are other actions, and keep their level.
_ROUTINE_JOB_ACTIONS = frozenset({"periodic_task_deferred", "start_job", "job_success"})
#: The Twilio simulator's own endpoints (``atende simulate`` polls them 4 times a second).
_SIMULATOR_CONTROL = "/__simulator/"


def is_routine(record: logging.LogRecord) -> bool:
    """An INFO record of work that runs whether anything happens or not: a periodic job
    deferred, started or succeeded (Procrastinate calls periodic tasks with a
    ``timestamp``), or a successful GET of the Twilio simulator's control endpoints."""
    if record.name.startswith("procrastinate."):
        job = getattr(record, "job", None)
        return (
            getattr(record, "action", None) in _ROUTINE_JOB_ACTIONS
            and isinstance(job, dict)
            and "timestamp" in (job.get("task_kwargs") or {})
        )
    if record.name == "uvicorn.access":
        # uvicorn's access line: (client, method, path and query, HTTP version, status).
        args = record.args
        return (
            isinstance(args, tuple)
            and len(args) == 5
            and args[1] == "GET"
            and str(args[2]).startswith(_SIMULATOR_CONTROL)
            and isinstance(args[4], int)
            and args[4] < 400
        )
    return False


class RoutineAtDebug(logging.Filter):
    """Lowers the INFO records of routine work (``is_routine``) to DEBUG, and lets them
    through only when the log level is DEBUG: a replying, sending process logs what it
    does at INFO; an idle one (upkeep every 10 s, a simulator being polled) says nothing.
    """

    def __init__(self, level: int) -> None:
        super().__init__()
        self.shows_debug = level <= logging.DEBUG

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and is_routine(record):
            record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
            return self.shows_debug
        return True


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
    root = logging.getLogger()
    root.setLevel(settings.log_level.upper())
    handler.addFilter(RoutineAtDebug(root.level))
    handler.addFilter(SecretScrubber(settings_secrets(settings)))
    root.handlers[:] = [handler]
