"""Settings, read from environment variables and validated once at start.

Every variable is documented in README.md ("Configuration"). Names without the
``ATENDE_`` prefix are the ones the wider ecosystem already uses (``DATABASE_URL``,
``OPENAI_API_KEY``, ...).
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Development-only signing secret, refused when ``ATENDE_ENV=production`` (JWKS or not).
DEVELOPMENT_JWT_SECRET = "atende-development-jwt-secret-change-me-0123456789"  # noqa: S105
#: Development-only encryption key, refused when ``ATENDE_ENV=production``.
DEVELOPMENT_SECRET_KEY = "atende-development-secret-key-change-me-0123456789"  # noqa: S105


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class IdentityProviderName(StrEnum):
    LOCAL = "local"
    SUPABASE = "supabase"


class MediaStorageName(StrEnum):
    LOCAL = "local"
    SUPABASE = "supabase"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ATENDE_",
        env_file=None,
        extra="ignore",
        populate_by_name=True,
        frozen=True,
    )

    env: Environment = Environment.DEVELOPMENT
    log_level: str = "INFO"

    # Database
    database_url: SecretStr | None = Field(default=None, validation_alias=_env("DATABASE_URL"))
    data_dir: Path = Path(".atende")
    db_port: int = Field(default=54322, ge=1, le=65535)
    pg_bin_dir: Path | None = None
    db_pool_min_size: int = Field(default=2, ge=0)
    db_pool_max_size: int = Field(default=10, ge=1)
    #: Connections for the platform's own work (webhooks, jobs), apart from the team's.
    db_service_pool_max_size: int = Field(default=10, ge=1)
    statement_timeout_ms: int = Field(default=5000, ge=0)

    # HTTP
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    graphiql: bool = True
    introspection: bool = True
    max_body_bytes: int = Field(default=1_000_000, ge=1024)

    # Identity
    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_JWT_SECRET)
    jwks_url: str | None = None
    access_token_ttl_seconds: int = Field(default=900, ge=30)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    #: How long a process trusts that a session is still signed in before asking the
    #: database again: a signed-out session's access tokens stop working, and its
    #: subscriptions close, within this delay. 0: ask on every request.
    session_check_seconds: float = Field(default=5.0, ge=0, le=5)
    identity_provider: IdentityProviderName = IdentityProviderName.LOCAL
    supabase_url: str | None = Field(default=None, validation_alias=_env("SUPABASE_URL"))
    supabase_service_role_key: SecretStr | None = Field(
        default=None, validation_alias=_env("SUPABASE_SERVICE_ROLE_KEY")
    )
    identity_provider_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    # Abuse limits (docs/api.md#rate-limits)
    #: Comma-separated IPs or CIDRs of the proxies whose ``X-Forwarded-For`` is believed;
    #: otherwise the client's address is the socket's peer.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Threads that hash and check passwords (bcrypt), apart from every other thread.
    password_hash_workers: int = Field(default=2, ge=1, le=64)
    #: ``<attempts>/<window>`` (window: ``30s``, ``15m``, ``1h``, ``1d``) or ``off``; per
    #: account (e-mail or token digest), or per client address (``_ADDRESS``).
    rate_limit_sign_in: str = "10/15m"
    rate_limit_sign_in_address: str = "50/15m"
    rate_limit_registration_address: str = "5/1h"
    rate_limit_refresh: str = "10/15m"
    rate_limit_refresh_address: str = "600/15m"
    rate_limit_invitation: str = "10/15m"
    rate_limit_invitation_address: str = "30/15m"
    rate_limit_verify_email_address: str = "30/15m"
    rate_limit_password_reset: str = "5/1h"  # noqa: S105 (a limit, not a password)
    rate_limit_password_reset_address: str = "20/1h"  # noqa: S105
    #: Mails a signed-in person has sent to themselves (a new verification link).
    rate_limit_account_mail: str = "5/1h"
    #: Invitations one member sends (each is a mail to someone else's address).
    rate_limit_invite: str = "100/1h"
    #: Requests (and subscriptions) one API key makes, shared by every API process
    #: (counted in memory, reported to Postgres about once a second).
    rate_limit_api_key: str = "600/1m"
    #: Failed API-key authentications (a key no one has, or revoked) per client address;
    #: past it, every key from that address is refused until the window ends.
    rate_limit_api_key_address: str = "30/15m"

    # Outgoing webhooks (docs/api.md#outgoing-webhooks)
    #: Whether webhooks may go to private, loopback and link-local addresses (and plain
    #: http). Unset: yes outside production (``ATENDE_ENV=production``: no).
    outgoing_webhooks_allow_private: bool | None = None

    # Secrets at rest (Twilio auth tokens)
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET_KEY)
    #: Comma-separated keys that still decrypt (never encrypt): the old ones while
    #: `atende rotate-secrets` re-encrypts with ``secret_key``.
    previous_secret_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)

    # External services
    openai_api_key: SecretStr | None = Field(default=None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(default=None, validation_alias=_env("OPENAI_BASE_URL"))
    twilio_api_base_url: str | None = Field(
        default=None, validation_alias=_env("TWILIO_API_BASE_URL")
    )
    #: Seconds one model request may take before it counts as a (transient) failure.
    model_timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    #: The knowledge base's embedder: ``local`` (built in, offline) or an OpenAI-compatible
    #: embeddings model's name. Unset: ``local`` without ``OPENAI_API_KEY``, else
    #: ``text-embedding-3-small`` (atende.knowledge.embeddings).
    embeddings: str | None = Field(default=None, min_length=1, max_length=128)
    #: Largest multipart request to /graphql (a document uploaded to the knowledge base,
    #: a file the team sends: WhatsApp's 16 MB and the request around it).
    max_upload_bytes: int = Field(default=17_000_000, ge=1024)
    #: Queries the SQL declarations cover run as one statement that builds their JSON
    #: (atende.graphql.sql_selection); false: every query resolves field by field.
    graphql_compile_selections: bool = True

    # E-mail
    #: ``smtp://user:password@host:587`` (STARTTLS when offered; ``?starttls=required`` or
    #: ``=false``) or ``smtps://...:465`` (TLS from the start). Unset: no mail is sent
    #: (it waits in the outbox); ``atende dev`` runs its mail catcher instead.
    smtp_url: SecretStr | None = None
    mail_from: str = "Atende <no-reply@atende.dev>"
    #: Where the team's app lives: links in mails are built from it (else ATENDE_PUBLIC_URL).
    app_url: str | None = None

    # Twilio channels
    #: Webhook bodies larger than this get 413 (Twilio's are a few kilobytes).
    webhook_max_body_bytes: int = Field(default=64_000, ge=1024)
    #: Seconds a process may reuse a channel it looked up for a webhook; 0 disables.
    channel_cache_seconds: float = Field(default=10.0, ge=0, le=300)
    #: Attempts to hand a message to Twilio when it fails in a retryable way (429, 5xx).
    send_max_attempts: int = Field(default=5, ge=1, le=50)
    #: First retry delay; doubled per attempt, up to send_retry_max_seconds.
    send_retry_base_seconds: float = Field(default=2.0, ge=0, le=3600)
    send_retry_max_seconds: float = Field(default=300.0, ge=0, le=86_400)

    # Media (docs/messaging.md#media)
    #: Where files are kept: ``local`` (``data_dir/media``) or ``supabase`` (Storage).
    media_storage: MediaStorageName = MediaStorageName.LOCAL
    #: The private Supabase Storage bucket (``media_storage=supabase``).
    media_bucket: str = Field(default="atende-media", pattern=r"^[a-z0-9][a-z0-9._-]{2,62}$")
    #: Largest file Atende fetches from Twilio (WhatsApp's largest, audio and video: 16 MiB).
    media_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    #: Seconds one download from Twilio may take, all of it.
    media_fetch_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    #: Seconds a signed media link opens its file (the team's app; Twilio, for attachments).
    media_url_ttl_seconds: int = Field(default=600, ge=10, le=7 * 86_400)

    # Worker
    worker_concurrency: int = Field(default=10, ge=1)
    job_retention_days: int = Field(default=7, ge=1)
    #: Longest a worker waits before looking for due jobs (debounced replies, retries)
    #: when no notification woke it.
    worker_poll_interval_seconds: float = Field(default=0.5, gt=0, le=60)
    #: Jobs of a worker without a heartbeat for this long are retried (heartbeats: 10 s).
    stalled_job_seconds: int = Field(default=60, ge=15, le=86400)

    # AI replies
    #: Model requests per reply (the first and its retries) before the fallback message.
    reply_max_attempts: int = Field(default=4, ge=1, le=20)
    #: Wait before retrying a transient model failure; doubles with each retry.
    reply_retry_backoff_seconds: float = Field(default=2.0, ge=0, le=3600)
    reply_retry_max_backoff_seconds: float = Field(default=60.0, ge=0, le=3600)

    # Voice notes and images (docs/messaging.md#voice-notes-images-and-locations)
    #: The transcription model at ``OPENAI_BASE_URL`` (``whisper-1``,
    #: ``gpt-4o-mini-transcribe``, a local server's Whisper).
    transcription_model: str = Field(default="whisper-1", min_length=1, max_length=128)
    #: Seconds one transcription request may take (a long voice note takes a while).
    transcription_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    #: Longest a reply waits, after a customer's message arrived, for its voice note to be
    #: fetched and transcribed (and its image fetched, for an agent that sees images).
    media_wait_seconds: float = Field(default=90.0, ge=0, le=900)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [proxy.strip() for proxy in value.split(",") if proxy.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: list[str]) -> list[str]:
        for proxy in value:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"{proxy!r} is not an IP address or CIDR") from None
        return value

    @property
    def outgoing_webhooks_private_allowed(self) -> bool:
        """``ATENDE_OUTGOING_WEBHOOKS_ALLOW_PRIVATE``, or its default for ``env``."""
        if self.outgoing_webhooks_allow_private is not None:
            return self.outgoing_webhooks_allow_private
        return self.env is not Environment.PRODUCTION

    @field_validator(
        "rate_limit_sign_in",
        "rate_limit_sign_in_address",
        "rate_limit_registration_address",
        "rate_limit_refresh",
        "rate_limit_refresh_address",
        "rate_limit_invitation",
        "rate_limit_invitation_address",
        "rate_limit_verify_email_address",
        "rate_limit_password_reset",
        "rate_limit_password_reset_address",
        "rate_limit_account_mail",
        "rate_limit_invite",
        "rate_limit_api_key",
        "rate_limit_api_key_address",
    )
    @classmethod
    def _rate_limit_is_well_formed(cls, value: str) -> str:
        parse_rate_limit(value)
        return value.strip().lower()

    @field_validator("previous_secret_keys", mode="before")
    @classmethod
    def _split_previous_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @field_validator("previous_secret_keys")
    @classmethod
    def _previous_keys_are_long_enough(cls, value: list[SecretStr]) -> list[SecretStr]:
        # The message never says which key: that would print part of a secret.
        if any(len(key.get_secret_value()) < 32 for key in value):
            raise ValueError("each key must be at least 32 characters long")
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_key_is_long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters long")
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _jwt_secret_is_long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters long")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_has_no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("app_url")
    @classmethod
    def _app_url_has_no_trailing_slash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_is_smtp(cls, value: SecretStr | None) -> SecretStr | None:
        # The message never repeats the URL: it may hold a password.
        if value is not None and not value.get_secret_value().startswith(("smtp://", "smtps://")):
            raise ValueError("must start with smtp:// or smtps://")
        return value

    @model_validator(mode="after")
    def _production_hides_the_schema_unless_asked(self) -> Settings:
        # In production, introspection and GraphiQL are off unless a variable switches
        # them on: a deployment shows its schema to strangers only on purpose.
        if self.env is Environment.PRODUCTION:
            for name in ("graphiql", "introspection"):
                if name not in self.model_fields_set:
                    object.__setattr__(self, name, False)  # frozen: set once, here
        return self

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            # Even with a JWKS: Atende signs its own access tokens with this secret, and
            # accepts HS256 tokens signed with it, so the published default would let
            # anyone sign in as anyone.
            if self.jwt_secret.get_secret_value() == DEVELOPMENT_JWT_SECRET:
                raise ValueError(
                    "ATENDE_JWT_SECRET must be set in production"
                    " (the development default is public)"
                )
            if self.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY:
                raise ValueError("ATENDE_SECRET_KEY must be set in production")
        if self.identity_provider is IdentityProviderName.SUPABASE and not (
            self.supabase_url and self.supabase_service_role_key
        ):
            raise ValueError(
                "ATENDE_IDENTITY_PROVIDER=supabase needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY"
            )
        if self.media_storage is MediaStorageName.SUPABASE and not (
            self.supabase_url and self.supabase_service_role_key
        ):
            raise ValueError(
                "ATENDE_MEDIA_STORAGE=supabase needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY"
            )
        if self.db_pool_min_size > self.db_pool_max_size:
            raise ValueError("ATENDE_DB_POOL_MIN_SIZE must not exceed ATENDE_DB_POOL_MAX_SIZE")
        return self

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def mail_link_base(self) -> str:
        """The base of links in mails: ``ATENDE_APP_URL``, else ``ATENDE_PUBLIC_URL``."""
        return self.app_url or self.public_url


_RATE_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_rate_limit(value: str) -> tuple[int, int] | None:
    """``"10/15m"`` -> (10 attempts, 900 seconds); ``"off"`` -> None (no limit)."""
    if value.strip().lower() == "off":
        return None
    match = _RATE_LIMIT.match(value.lower())
    if match is None:
        raise ValueError("must be <attempts>/<window> (such as 10/15m, 5/1h) or off")
    attempts, count, unit = int(match[1]), int(match[2] or 1), match[3]
    seconds = count * _UNIT_SECONDS[unit]
    if attempts < 1 or seconds < 1:
        raise ValueError("attempts and window must be positive (or the limit off)")
    return attempts, seconds


def environment_variable_for(field_name: str) -> str:
    """The environment variable that sets a settings field, for error messages."""
    field = Settings.model_fields.get(field_name)
    if field is not None and isinstance(field.validation_alias, AliasChoices):
        first = field.validation_alias.choices[0]
        if isinstance(first, str):
            return first
    return f"ATENDE_{field_name.upper()}"


def describe_settings_error(error: ValidationError) -> str:
    """One line per invalid setting, named as the operator sets it."""
    lines = []
    for problem in error.errors():
        location = problem.get("loc") or ()
        name = environment_variable_for(str(location[0])) if location else "settings"
        lines.append(f"{name}: {problem['msg']}")
    return "; ".join(lines)
