"""Rotating ATENDE_SECRET_KEY: the cipher reads every configured key (and v1 tokens),
and rotate_secrets re-encrypts the stored tokens with the current key while webhooks keep
verifying and a token changed meanwhile is kept."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, LiteralString

import httpx
import pytest
from psycopg.rows import DictRow
from pydantic import SecretStr, ValidationError
from starlette.applications import Starlette

from atende.app import create_app
from atende.channels.crypto import (
    TokenCipher,
    TokenDecryptionFailed,
    key_id,
    queries,
    rotate_secrets,
)
from atende.config import Settings, describe_settings_error
from atende.db.session import Caller, Database
from atende.services import Services
from tests.channels.world import TestChannel, deliver, fetch_all, fetch_one, make_channel
from tests.factories import Factory

OLD_KEY = "old-secret-key-0123456789abcdefghijklmnop"
NEW_KEY = "new-secret-key-0123456789abcdefghijklmnop"
STRANGER_KEY = "nobody-configured-this-key-0123456789abc"
#: Written by the cipher before keys could rotate (format v1), with OLD_KEY.
LEGACY_TOKEN = "legacy-auth-token-0123456789abcd"
LEGACY_CIPHERTEXT = (
    "v1.kCCo3LoDsAruHDJzFxzSdqOjOS4siPqIkWoIi1bDIk-fAXgS1tTSOCd-V2Y160G0nOi-j4im-WAjVBO8"
)
OLD = TokenCipher(OLD_KEY)
NEW = TokenCipher(NEW_KEY)
ROTATING = TokenCipher(NEW_KEY, [OLD_KEY])


# -- the cipher -------------------------------------------------------------------------


def test_a_ciphertext_names_the_key_that_made_it() -> None:
    ciphertext = NEW.encrypt("token-0123456789")
    version, kid, payload = ciphertext.split(".")

    assert (version, kid) == ("v2", key_id(NEW_KEY))
    assert kid != key_id(OLD_KEY)
    assert NEW_KEY not in ciphertext
    assert payload
    assert NEW.is_current(ciphertext)
    assert not OLD.is_current(ciphertext)


def test_previous_keys_decrypt_and_only_the_current_one_encrypts() -> None:
    made_by_old = OLD.encrypt("token-0123456789")

    assert ROTATING.decrypt(made_by_old).get_secret_value() == "token-0123456789"
    assert ROTATING.is_current(ROTATING.encrypt("x"))
    assert not ROTATING.is_current(made_by_old)
    reencrypted = ROTATING.reencrypt(made_by_old)
    assert NEW.decrypt(reencrypted).get_secret_value() == "token-0123456789"


def test_a_key_no_longer_configured_is_named_by_its_id_never_by_its_value() -> None:
    with pytest.raises(TokenDecryptionFailed) as refused:
        NEW.decrypt(OLD.encrypt("token-0123456789"))

    assert key_id(OLD_KEY) in refused.value.message
    assert "ATENDE_PREVIOUS_SECRET_KEYS" in refused.value.message
    assert OLD_KEY not in refused.value.message
    assert "token-0123456789" not in refused.value.message


def test_v1_ciphertexts_still_read_with_the_current_or_a_previous_key() -> None:
    assert TokenCipher(OLD_KEY).decrypt(LEGACY_CIPHERTEXT).get_secret_value() == LEGACY_TOKEN
    assert ROTATING.decrypt(LEGACY_CIPHERTEXT).get_secret_value() == LEGACY_TOKEN
    assert not ROTATING.is_current(LEGACY_CIPHERTEXT)
    with pytest.raises(TokenDecryptionFailed):
        NEW.decrypt(LEGACY_CIPHERTEXT)


def test_a_swapped_key_id_or_a_clear_token_does_not_decrypt() -> None:
    _, _, payload = OLD.encrypt("token-0123456789").split(".")
    with pytest.raises(TokenDecryptionFailed):
        ROTATING.decrypt(f"v2.{NEW.key_id}.{payload}")
    with pytest.raises(TokenDecryptionFailed) as refused:
        ROTATING.decrypt("clear-token-0123456789")
    assert "clear-token" not in refused.value.message
    broken = base64.urlsafe_b64encode(b"\0" * 40).decode()
    with pytest.raises(TokenDecryptionFailed):
        ROTATING.decrypt(f"v2.{NEW.key_id}.{broken}")


def test_previous_keys_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATENDE_SECRET_KEY", NEW_KEY)
    monkeypatch.setenv("ATENDE_PREVIOUS_SECRET_KEYS", f" {OLD_KEY} , {STRANGER_KEY},")
    settings = Settings()

    assert [key.get_secret_value() for key in settings.previous_secret_keys] == [
        OLD_KEY,
        STRANGER_KEY,
    ]
    cipher = TokenCipher.from_settings(settings)
    assert cipher.key_id == NEW.key_id
    assert cipher.decrypt(OLD.encrypt("t")).get_secret_value() == "t"
    monkeypatch.delenv("ATENDE_PREVIOUS_SECRET_KEYS")
    assert Settings().previous_secret_keys == []


def test_a_short_previous_key_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATENDE_PREVIOUS_SECRET_KEYS", f"{OLD_KEY},short-key-oops")
    with pytest.raises(ValidationError) as refused:
        Settings()

    described = describe_settings_error(refused.value)
    assert "ATENDE_PREVIOUS_SECRET_KEYS" in described
    assert "short-key-oops" not in described
    assert OLD_KEY not in described


# -- rotating what is stored -------------------------------------------------------------


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The process after the restart: the new key, the old one still decrypting; every
    webhook looks its channel up (no cache), so each one decrypts what is stored."""
    return settings.model_copy(
        update={
            "secret_key": SecretStr(NEW_KEY),
            "previous_secret_keys": [SecretStr(OLD_KEY)],
            "channel_cache_seconds": 0.0,
        }
    )


async def stored(services: Services, channel: TestChannel) -> str:
    row = await fetch_one(
        services,
        "select twilio_auth_token_ciphertext as c from public.channels where id = %s",
        [channel.id],
    )
    return str(row["c"])


async def store(services: Services, channel: TestChannel, ciphertext: str) -> None:
    await services.database.fetch_one(
        Caller.service(),
        queries["set_channel_token"],
        {"channel_id": channel.id, "twilio_auth_token_ciphertext": ciphertext},
    )


async def old_channels(services: Services, factory: Factory, count: int) -> list[TestChannel]:
    """Channels whose tokens the old key encrypted (the first as v1, before rotation
    existed), each with a token of its own."""
    channels = []
    for index in range(count):
        token = f"auth-token-{index:02d}-0123456789abcdef"
        channel = await make_channel(services, factory, auth_token=token)
        await store(services, channel, LEGACY_CIPHERTEXT if index == 0 else OLD.encrypt(token))
        if index == 0:
            channel.auth_token = LEGACY_TOKEN
        channels.append(channel)
    return channels


async def messages_of(services: Services, channel: TestChannel) -> int:
    row = await fetch_one(
        services,
        "select count(*) as n from public.messages m"
        " join public.conversations cv on cv.id = m.conversation_id where cv.channel_id = %s",
        [channel.id],
    )
    return int(row["n"])


@asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://atende.test") as http:
            yield http


async def test_rotation_leaves_every_channel_readable_with_the_new_key_alone(
    client: httpx.AsyncClient, services: Services, factory: Factory, settings: Settings
) -> None:
    channels = await old_channels(services, factory, 7)
    for channel in channels:  # before: the old key's tokens verify, through the previous key
        assert (await deliver(client, channel)).status_code == 200

    async def webhooks_meanwhile() -> list[int]:
        answers = []
        for _ in range(3):
            for channel in channels:
                answers.append((await deliver(client, channel)).status_code)
        return answers

    report, during = await asyncio.gather(
        rotate_secrets(services.database, services.cipher, batch_size=3), webhooks_meanwhile()
    )

    assert (report.reencrypted, report.already_current, report.unreadable) == (7, 0, ())
    assert set(during) == {200}
    for channel in channels:
        ciphertext = await stored(services, channel)
        assert NEW.decrypt(ciphertext).get_secret_value() == channel.auth_token
    # After: an API that knows only the new key (the old one dropped) still verifies.
    only_new = settings.model_copy(update={"previous_secret_keys": []})
    async with serve(create_app(only_new)) as http:
        for channel in channels:
            assert (await deliver(http, channel)).status_code == 200
    for channel in channels:
        assert await messages_of(services, channel) == 5
    # Run again: nothing to do.
    again = await rotate_secrets(services.database, services.cipher)
    assert (again.reencrypted, again.already_current) == (0, 7)


class ChangesTheTokenFirst(Database):
    """The database, where someone sets ``channel``'s token (``updateChannel``) between
    rotate_secrets reading a ciphertext and replacing it."""

    def __init__(self, database: Database, channel: TestChannel, ciphertext: str) -> None:
        super().__init__(
            database.pool,
            statement_timeout_ms=database.statement_timeout_ms,
            service_pool=database.service_pool,
        )
        self.channel = channel
        self.ciphertext: str | None = ciphertext

    async def fetch_all(
        self,
        caller: Caller,
        query: LiteralString,
        params: Mapping[str, Any] | Sequence[Any] | None = None,
        *,
        timeout: float | None = None,
        prepare: bool | None = None,
    ) -> list[DictRow]:
        if query == queries["replace_channel_secret"] and self.ciphertext is not None:
            change = {
                "channel_id": self.channel.id,
                "twilio_auth_token_ciphertext": self.ciphertext,
            }
            self.ciphertext = None
            await super().fetch_all(Caller.service(), queries["set_channel_token"], change)
        return await super().fetch_all(caller, query, params, timeout=timeout, prepare=prepare)


@pytest.mark.parametrize("writer", ["restarted", "not yet restarted"])
async def test_a_token_changed_during_rotation_is_kept(
    services: Services, factory: Factory, writer: str
) -> None:
    channel = (await old_channels(services, factory, 2))[1]
    # An API process already on the new key writes v2 with it; one not yet restarted,
    # with the old key: that token must still end up under the new key, unchanged.
    cipher = NEW if writer == "restarted" else OLD
    racing = ChangesTheTokenFirst(
        services.database, channel, cipher.encrypt("changed-token-0123456789abcdef")
    )

    report = await rotate_secrets(racing, services.cipher)

    ciphertext = await stored(services, channel)
    assert NEW.decrypt(ciphertext).get_secret_value() == "changed-token-0123456789abcdef"
    assert racing.ciphertext is None  # the change did happen mid-rotation
    expected = (1, 1) if writer == "restarted" else (2, 0)
    assert (report.reencrypted, report.already_current) == expected


async def test_a_token_no_key_opens_is_reported_and_the_others_rotated(
    services: Services, factory: Factory
) -> None:
    readable, unreadable = await old_channels(services, factory, 2)
    await store(services, unreadable, TokenCipher(STRANGER_KEY).encrypt("lost-token"))

    report = await rotate_secrets(services.database, services.cipher)

    assert report.unreadable == (unreadable.id,)
    assert (report.reencrypted, report.already_current) == (1, 0)
    assert NEW.decrypt(await stored(services, readable)).get_secret_value() == LEGACY_TOKEN
    rows = await fetch_all(services, "select id from public.channels")
    assert len(rows) == 2
