"""Sessions: signing in, refreshing with rotation and reuse detection, signing out."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import jwt
import psycopg
import pytest

from atende.identity.passwords import PasswordHasher
from atende.services import Services
from tests.factories import Factory
from tests.identity.graphql import (
    OWNER_PASSWORD,
    REFRESH,
    SIGN_OUT,
    VIEWER,
    execute,
    register,
    sign_in,
)

EMAIL = "dona.maria@example.com"


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> dict[str, Any]:
    result: dict[str, Any] = (await execute(client, REFRESH, {"refreshToken": refresh_token}))[
        "refreshSession"
    ]
    return result


async def test_signing_in_gives_a_session_with_supabase_claims(
    client: httpx.AsyncClient, services: Services
) -> None:
    registered = await register(client)

    result = await sign_in(client, " Dona.Maria@Example.com", OWNER_PASSWORD)

    assert result["__typename"] == "SignInSuccess"
    access_token = result["session"]["accessToken"]
    claims = jwt.decode(
        access_token,
        services.settings.jwt_secret.get_secret_value(),
        algorithms=["HS256"],
        audience="authenticated",
    )
    assert claims["sub"] == registered["user"]["id"]
    assert (claims["role"], claims["aud"], claims["email"]) == (
        "authenticated",
        "authenticated",
        EMAIL,
    )
    assert claims["exp"] - claims["iat"] == services.settings.access_token_ttl_seconds
    assert claims["session_id"]
    viewer = await execute(client, VIEWER, token=access_token)
    assert viewer["viewer"]["user"]["email"] == EMAIL


@pytest.mark.local_identity
async def test_wrong_password_and_unknown_email_are_the_same_failure_at_the_same_cost(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register(client)
    checks: list[str | None] = []
    real_verify = PasswordHasher.verify_sync

    def counting_verify(self: PasswordHasher, password: str, stored_hash: str | None) -> bool:
        checks.append(stored_hash)
        return real_verify(self, password, stored_hash)

    monkeypatch.setattr(PasswordHasher, "verify_sync", counting_verify)

    wrong = await sign_in(client, EMAIL, "senha-errada-123")
    unknown = await sign_in(client, "ninguem@example.com", OWNER_PASSWORD)
    malformed = await sign_in(client, "not-an-email", "")

    assert wrong == unknown == malformed
    assert wrong["__typename"] == "InvalidCredentials"
    # One full bcrypt comparison each: against the user's hash, then twice against the dummy.
    assert len(checks) == 3
    assert checks[0] is not None
    assert checks[1:] == [None, None]


async def test_refreshing_rotates_the_refresh_token(client: httpx.AsyncClient) -> None:
    first = (await register(client))["session"]

    second = await refresh(client, first["refreshToken"])

    assert second["__typename"] == "RefreshSessionSuccess"
    new = second["session"]
    assert new["refreshToken"] != first["refreshToken"]
    before, after = (
        jwt.decode(session["accessToken"], options={"verify_signature": False})
        for session in (first, new)
    )
    assert before["session_id"] == after["session_id"]
    third = await refresh(client, new["refreshToken"])
    assert third["__typename"] == "RefreshSessionSuccess"


async def test_reusing_a_rotated_refresh_token_revokes_the_session(
    client: httpx.AsyncClient,
) -> None:
    first = (await register(client))["session"]
    second = (await refresh(client, first["refreshToken"]))["session"]

    reused = await refresh(client, first["refreshToken"])
    after = await refresh(client, second["refreshToken"])

    assert reused["__typename"] == "InvalidRefreshToken"
    assert after["__typename"] == "InvalidRefreshToken", "the thief's session is gone too"


async def test_refresh_tokens_are_stored_only_as_digests(
    client: httpx.AsyncClient, services: Services
) -> None:
    session = (await register(client))["session"]

    async with services.database.pool.connection() as conn:
        rows = await (
            await conn.execute("select token_hash from private.refresh_tokens")
        ).fetchall()
    assert [row["token_hash"] for row in rows] == [
        hashlib.sha256(session["refreshToken"].encode()).hexdigest()
    ]


async def test_an_expired_refresh_token_is_refused(
    client: httpx.AsyncClient, database_url: str
) -> None:
    session = (await register(client))["session"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("update private.refresh_tokens set expires_at = now() - interval '1 second'")

    assert (await refresh(client, session["refreshToken"]))["__typename"] == "InvalidRefreshToken"


async def test_signing_out_revokes_the_session(client: httpx.AsyncClient) -> None:
    session = (await register(client))["session"]
    other = (await sign_in(client, EMAIL, OWNER_PASSWORD))["session"]

    signed_out = await execute(
        client, "mutation { signOut { revoked } }", token=session["accessToken"]
    )
    again = await client.post(
        "/graphql",
        json={"query": SIGN_OUT},
        headers={"Authorization": f"Bearer {session['accessToken']}"},
    )

    assert signed_out == {"signOut": {"revoked": True}}
    # Its access token is refused from now on (tests/identity/test_session_end.py).
    assert again.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await refresh(client, session["refreshToken"]))["__typename"] == "InvalidRefreshToken"
    assert (await refresh(client, other["refreshToken"]))["__typename"] == "RefreshSessionSuccess"


async def test_signing_out_with_a_refresh_token_alone(client: httpx.AsyncClient) -> None:
    session = (await register(client))["session"]

    signed_out = await execute(client, SIGN_OUT, {"refreshToken": session["refreshToken"]})

    assert signed_out == {"signOut": {"revoked": True}}
    assert (await refresh(client, session["refreshToken"]))["__typename"] == "InvalidRefreshToken"


async def test_signing_out_anonymously_revokes_nothing(client: httpx.AsyncClient) -> None:
    assert await execute(client, SIGN_OUT) == {"signOut": {"revoked": False}}
    assert await execute(client, "mutation { signOut(input: null) { revoked } }") == {
        "signOut": {"revoked": False}
    }
    assert await execute(client, SIGN_OUT, {"refreshToken": "nonsense"}) == {
        "signOut": {"revoked": False}
    }


async def test_a_tampered_access_token_cannot_sign_out(client: httpx.AsyncClient) -> None:
    session = (await register(client))["session"]
    header, payload, signature = session["accessToken"].split(".")

    response = await client.post(
        "/graphql",
        json={"query": SIGN_OUT},
        headers={"Authorization": f"Bearer {header}.{payload}.{signature[:-2]}xx"},
    )

    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await refresh(client, session["refreshToken"]))["__typename"] == "RefreshSessionSuccess"


async def test_factory_users_with_a_password_can_sign_in(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user(email="fabrica@example.com", password="senha-de-teste-1")

    result = await sign_in(client, "fabrica@example.com", "senha-de-teste-1")

    assert result["__typename"] == "SignInSuccess"
    claims = jwt.decode(result["session"]["accessToken"], options={"verify_signature": False})
    assert claims["sub"] == str(user.id)


async def test_tokens_for_another_audience_or_role_are_unauthenticated(
    client: httpx.AsyncClient, services: Services
) -> None:
    session = (await register(client))["session"]
    claims = jwt.decode(session["accessToken"], options={"verify_signature": False})
    secret = services.settings.jwt_secret.get_secret_value()

    for changes in (
        {"aud": "somebody-else"},
        {"role": "service_role"},
        {"role": "anon"},
        {"sub": "not-a-uuid"},
    ):
        forged = jwt.encode({**claims, **changes}, secret, algorithm="HS256")
        response = await client.post(
            "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {forged}"}
        )

        body = response.json()
        assert body["data"] is None, changes
        assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
