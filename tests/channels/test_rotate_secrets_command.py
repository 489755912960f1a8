"""`atende rotate-secrets`: counts what it re-encrypted and what was current, does nothing
the second time, and refuses in one line, naming the channel and no secret, when a stored
token opens with none of the configured keys."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg

from atende.channels.crypto import TokenCipher

OLD_KEY = "old-secret-key-0123456789abcdefghijklmnop"
NEW_KEY = "new-secret-key-0123456789abcdefghijklmnop"
STRANGER_KEY = "nobody-configured-this-key-0123456789abc"
ACCOUNT_SID = "AC" + "1" * 32


def rotate_secrets(database_url: str, **keys: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "atende", "rotate-secrets"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": database_url, **keys},
        timeout=60,
        check=False,
    )


def add_channels(database_url: str, ciphertexts: list[str]) -> list[uuid.UUID]:
    with psycopg.connect(database_url) as conn:  # one transaction: the owner comes second
        organization = conn.execute(
            "insert into organizations (name) values ('Loja') returning id"
        ).fetchone()
        assert organization is not None
        user = conn.execute(
            "insert into auth.users (id, email) values (gen_random_uuid(), 'o@example.com')"
            " returning id"
        ).fetchone()
        assert user is not None
        conn.execute(
            "insert into profiles (id, email, full_name) values (%s, 'o@example.com', 'O')",
            [user[0]],
        )
        conn.execute(
            "insert into memberships (organization_id, user_id, role) values (%s, %s, 'owner')",
            [organization[0], user[0]],
        )
        ids = []
        for index, ciphertext in enumerate(ciphertexts):
            row = conn.execute(
                "insert into channels (organization_id, kind, phone_number, twilio_account_sid,"
                " twilio_auth_token_ciphertext) values (%s, 'sms', %s, %s, %s) returning id",
                [organization[0], f"+551199990{index:04d}", ACCOUNT_SID, ciphertext],
            ).fetchone()
            assert row is not None
            ids.append(row[0])
    return ids


def stored_tokens(database_url: str) -> list[str]:
    only_new = TokenCipher(NEW_KEY)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "select twilio_auth_token_ciphertext from channels order by phone_number"
        ).fetchall()
    return [only_new.decrypt(row[0]).get_secret_value() for row in rows]


def test_rotate_secrets_re_encrypts_once_and_counts(database_url: str) -> None:
    old = TokenCipher(OLD_KEY)
    add_channels(
        database_url,
        [
            old.encrypt("token-a-0123456789"),
            old.encrypt("token-b-0123456789"),
            TokenCipher(NEW_KEY).encrypt("token-c-0123456789"),
        ],
    )
    keys = {"ATENDE_SECRET_KEY": NEW_KEY, "ATENDE_PREVIOUS_SECRET_KEYS": OLD_KEY}

    first = rotate_secrets(database_url, **keys)
    second = rotate_secrets(database_url, **keys)

    assert first.returncode == 0, first.stderr
    assert (
        first.stdout.strip() == "2 secret(s) re-encrypted with the current key, 1 already current"
    )
    assert second.returncode == 0, second.stderr
    assert "0 secret(s) re-encrypted with the current key, 3 already current" in second.stdout
    assert stored_tokens(database_url) == [
        "token-a-0123456789",
        "token-b-0123456789",
        "token-c-0123456789",
    ]


def test_an_undecryptable_token_fails_in_one_line_naming_the_channel(database_url: str) -> None:
    readable, unreadable = add_channels(
        database_url,
        [
            TokenCipher(OLD_KEY).encrypt("token-a-0123456789"),
            TokenCipher(STRANGER_KEY).encrypt("secret-nobody-may-see"),
        ],
    )

    result = rotate_secrets(
        database_url, ATENDE_SECRET_KEY=NEW_KEY, ATENDE_PREVIOUS_SECRET_KEYS=OLD_KEY
    )

    assert result.returncode != 0
    error = result.stderr.strip()
    assert error.count("\n") == 0, error
    assert str(unreadable) in error
    assert str(readable) not in error
    assert "Traceback" not in error
    for secret in ("secret-nobody-may-see", "token-a", OLD_KEY, NEW_KEY, STRANGER_KEY):
        assert secret not in result.stdout + result.stderr
    # The readable channel was rotated all the same.
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "select twilio_auth_token_ciphertext from channels where id = %s", [readable]
        ).fetchone()
    assert row is not None
    assert TokenCipher(NEW_KEY).decrypt(row[0]).get_secret_value() == "token-a-0123456789"
