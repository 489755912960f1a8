"""Access tokens: which signatures sign a user in, and the forgeries that must not.

Asymmetric tokens are checked against a real JWKS endpoint on 127.0.0.1
(tests/identity/jwks_server.py), fetched over HTTP by PyJWT as in production.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr, ValidationError

from atende.config import (
    DEVELOPMENT_JWT_SECRET,
    Environment,
    Settings,
    describe_settings_error,
)
from atende.identity.tokens import InvalidAccessToken, TokenService
from tests.factories import Factory
from tests.identity.jwks_server import (
    EC_KID,
    ED_KID,
    OCT_KID,
    OCT_SECRET,
    RSA_KID,
    JwksServer,
    SigningKeys,
    b64url,
    handmade_token,
    serve_jwks,
)

SECRET = "a-real-jwt-secret-for-these-tests-7f3a9c1e5b2d4086"
SECRET_KEY = "a-real-secret-key-for-these-tests-0e4b8d2f6a1c3957"
VIEWER = "{ viewer { user { id email } } }"


@pytest.fixture(scope="module")
def keys() -> SigningKeys:
    return SigningKeys()


@pytest.fixture(scope="module")
def jwks(keys: SigningKeys) -> Iterator[JwksServer]:
    with serve_jwks(keys) as server:
        yield server


@pytest.fixture
def tokens(jwks: JwksServer) -> TokenService:
    """Verification as in production: a real secret and the project's JWKS."""
    return TokenService(SECRET, jwks_url=jwks.url)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": str(uuid.uuid4()),
        "role": "authenticated",
        "aud": "authenticated",
        "email": "someone@example.com",
        "iat": now,
        "exp": now + 600,
        **overrides,
    }


async def assert_refused(tokens: TokenService, token: str) -> None:
    with pytest.raises(InvalidAccessToken) as refused:
        await tokens.verify(token)
    # The same words whatever the reason, so a client learns nothing about why.
    assert refused.value.message == InvalidAccessToken().message


# -- Accepted ---------------------------------------------------------------------------


async def test_hs256_token_signed_with_the_configured_secret_is_accepted(
    tokens: TokenService,
) -> None:
    user_id, session_id = uuid.uuid4(), uuid.uuid4()
    issued = tokens.issue(user_id=user_id, email="someone@example.com", session_id=session_id)

    verified = await tokens.verify(issued.token)

    assert (verified.sub, verified.session_id, verified.role) == (
        user_id,
        session_id,
        "authenticated",
    )


async def test_hs256_token_is_accepted_without_a_jwks() -> None:
    tokens = TokenService(SECRET)
    user_id = uuid.uuid4()
    issued = tokens.issue(user_id=user_id, email="someone@example.com", session_id=uuid.uuid4())

    assert (await tokens.verify(issued.token)).sub == user_id


@pytest.mark.parametrize(
    ("algorithm", "kid"),
    [("RS256", RSA_KID), ("ES256", EC_KID), ("EdDSA", ED_KID)],
)
async def test_asymmetric_token_from_the_jwks_is_accepted(
    tokens: TokenService, keys: SigningKeys, algorithm: str, kid: str
) -> None:
    payload = claims(custom_claim="passes through")
    token = keys.sign(payload, algorithm=algorithm, kid=kid)

    verified = await tokens.verify(token)

    assert str(verified.sub) == payload["sub"]
    assert verified.model_extra == {"custom_claim": "passes through"}


async def test_fetching_the_jwks_does_not_block_the_event_loop(
    jwks: JwksServer, keys: SigningKeys
) -> None:
    tokens = TokenService(SECRET, jwks_url=jwks.url)
    token = keys.sign(claims(), algorithm="ES256", kid=EC_KID)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    jwks.delay = 0.3
    try:
        await tokens.verify(token)
    finally:
        jwks.delay = 0.0
        ticker.cancel()

    assert ticks >= 10


# -- Refused: the key decides the algorithm ---------------------------------------------


async def test_rs256_token_naming_the_ec_key_is_refused(
    tokens: TokenService, keys: SigningKeys
) -> None:
    await assert_refused(tokens, keys.sign(claims(), algorithm="RS256", kid=EC_KID))


async def test_es256_token_naming_the_rsa_key_is_refused(
    tokens: TokenService, keys: SigningKeys
) -> None:
    await assert_refused(tokens, keys.sign(claims(), algorithm="ES256", kid=RSA_KID))


@pytest.mark.parametrize("kid", [None, RSA_KID, EC_KID])
async def test_alg_none_token_is_refused(tokens: TokenService, kid: str | None) -> None:
    header: dict[str, Any] = {"alg": "none", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid

    await assert_refused(tokens, handmade_token(header, claims()))


@pytest.mark.parametrize("algorithm", ["HS256", "RS256"])
async def test_hmac_token_keyed_with_the_rsa_public_key_is_refused(
    tokens: TokenService, keys: SigningKeys, algorithm: str
) -> None:
    """Algorithm confusion: the RSA public key, which anyone can read from the JWKS, used
    as an HMAC-SHA256 secret, under ``alg: HS256`` or under the key's own ``RS256``."""
    public_pem = keys.rsa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": algorithm, "typ": "JWT", "kid": RSA_KID}
    signing_input = handmade_token(header, claims()).rsplit(".", 1)[0]
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()

    await assert_refused(tokens, f"{signing_input}.{b64url(signature)}")


async def test_token_signed_with_the_jwks_symmetric_key_is_refused(tokens: TokenService) -> None:
    # The oct key's algorithm is HS512, so the header agrees with the key; the key itself
    # is published in the set, so its signatures prove nothing.
    token = jwt.encode(claims(), OCT_SECRET, algorithm="HS512", headers={"kid": OCT_KID})

    await assert_refused(tokens, token)


@pytest.mark.parametrize("kid", ["no-such-key", None])
async def test_token_naming_no_key_of_the_jwks_is_refused(
    tokens: TokenService, keys: SigningKeys, kid: str | None
) -> None:
    token = jwt.encode(claims(), keys.rsa, algorithm="RS256", headers={"kid": kid} if kid else None)

    await assert_refused(tokens, token)


async def test_token_signed_by_a_key_outside_the_jwks_is_refused(tokens: TokenService) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), stranger, algorithm="RS256", headers={"kid": RSA_KID})

    await assert_refused(tokens, token)


async def test_asymmetric_token_is_refused_without_a_jwks(keys: SigningKeys) -> None:
    await assert_refused(TokenService(SECRET), keys.sign(claims(), algorithm="ES256", kid=EC_KID))


# -- Refused: claims --------------------------------------------------------------------


async def test_expired_tokens_are_refused(tokens: TokenService, keys: SigningKeys) -> None:
    past = int(time.time()) - 600
    expired = claims(iat=past - 600, exp=past)
    issued = TokenService(SECRET, ttl=timedelta(seconds=-60)).issue(
        user_id=uuid.uuid4(), email="someone@example.com", session_id=uuid.uuid4()
    )

    await assert_refused(tokens, issued.token)
    await assert_refused(tokens, keys.sign(expired, algorithm="RS256", kid=RSA_KID))


@pytest.mark.parametrize("role", ["service_role", "anon", "supabase_admin"])
async def test_role_other_than_authenticated_is_refused(
    tokens: TokenService, keys: SigningKeys, role: str
) -> None:
    await assert_refused(tokens, jwt.encode(claims(role=role), SECRET, algorithm="HS256"))
    await assert_refused(tokens, keys.sign(claims(role=role), algorithm="ES256", kid=EC_KID))


# -- Refused: the development secret ----------------------------------------------------


@pytest.mark.parametrize("kid", [None, RSA_KID])
async def test_token_signed_with_the_development_secret_is_refused_in_the_production_setup(
    tokens: TokenService, kid: str | None
) -> None:
    forged = jwt.encode(
        claims(),
        DEVELOPMENT_JWT_SECRET,
        algorithm="HS256",
        headers={"kid": kid} if kid else None,
    )

    await assert_refused(tokens, forged)


def production(**settings: Any) -> Settings:
    return Settings(env=Environment.PRODUCTION, secret_key=SecretStr(SECRET_KEY), **settings)


@pytest.mark.parametrize("jwks_url", [None, "https://project.supabase.co/auth/v1/jwks"])
def test_production_refuses_the_development_jwt_secret(jwks_url: str | None) -> None:
    with pytest.raises(ValidationError) as refused:
        production(jwks_url=jwks_url)

    assert describe_settings_error(refused.value) == (
        "settings: Value error, ATENDE_JWT_SECRET must be set in production"
        " (the development default is public)"
    )


def test_production_refuses_the_development_jwt_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATENDE_ENV", "production")
    monkeypatch.setenv("ATENDE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("ATENDE_JWKS_URL", "https://project.supabase.co/auth/v1/jwks")
    monkeypatch.setenv("ATENDE_JWT_SECRET", DEVELOPMENT_JWT_SECRET)

    with pytest.raises(ValidationError, match="ATENDE_JWT_SECRET must be set in production"):
        Settings()


@pytest.mark.parametrize("jwks_url", [None, "https://project.supabase.co/auth/v1/jwks"])
def test_production_accepts_a_real_jwt_secret(jwks_url: str | None) -> None:
    settings = production(jwt_secret=SecretStr(SECRET), jwks_url=jwks_url)

    assert settings.jwt_secret.get_secret_value() == SECRET
    assert settings.jwks_url == jwks_url


# -- Through the app --------------------------------------------------------------------


@pytest.fixture
def settings(settings: Settings, jwks: JwksServer) -> Settings:
    """The test settings with the production setup: a real secret and a JWKS."""
    return settings.model_copy(update={"jwt_secret": SecretStr(SECRET), "jwks_url": jwks.url})


async def test_viewer_with_an_es256_token_from_the_jwks_is_the_user(
    client: httpx.AsyncClient, factory: Factory, keys: SigningKeys
) -> None:
    user = await factory.user()
    token = keys.sign(claims(sub=str(user.id), email=user.email), algorithm="ES256", kid=EC_KID)

    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.json() == {
        "data": {"viewer": {"user": {"id": str(user.id), "email": user.email}}}
    }


async def test_viewer_with_a_development_secret_token_is_unauthenticated(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    forged = jwt.encode(
        claims(sub=str(user.id), email=user.email), DEVELOPMENT_JWT_SECRET, algorithm="HS256"
    )

    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {forged}"}
    )

    body = response.json()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
    # The factory's own token (the real secret) still works on the same app.
    own = await client.post("/graphql", json={"query": VIEWER}, headers=user.headers)
    assert own.json()["data"]["viewer"]["user"]["id"] == str(user.id)
