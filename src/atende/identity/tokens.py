"""Access tokens: JWTs with Supabase's claims, signed HS256 or verified against a JWKS.

Atende signs its own tokens HS256 with ``ATENDE_JWT_SECRET``. A Supabase project sharing
that secret (its legacy JWT secret) accepts them, and its HS256 tokens are accepted here.
With ``ATENDE_JWKS_URL`` set, tokens signed with one of that set's asymmetric keys
(Supabase's JWT signing keys) are accepted too. A token's header is written by whoever
made the token, so the key its ``kid`` names decides the algorithm, and a token whose
``alg`` says otherwise is refused.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
from pydantic import BaseModel, ConfigDict, ValidationError

from atende.errors import AtendeError

AUDIENCE = "authenticated"
ALGORITHM = "HS256"
#: Key types of public keys. A symmetric (``oct``) key in a JWKS is published with it, so
#: a token it verifies could have been signed by anyone.
_ASYMMETRIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})


class InvalidAccessToken(AtendeError):
    """The access token is invalid or expired."""


class AccessTokenClaims(BaseModel):
    """The claims Atende reads; any others a token carries pass through to Postgres."""

    model_config = ConfigDict(extra="allow", frozen=True)

    sub: UUID
    role: str
    aud: str | list[str]
    exp: int
    iat: int | None = None
    email: str | None = None
    session_id: UUID | None = None


class IssuedAccessToken(BaseModel):
    token: str
    expires_at: datetime


class TokenService:
    """Mints and verifies access tokens."""

    def __init__(
        self,
        secret: str,
        *,
        ttl: timedelta = timedelta(minutes=15),
        jwks_url: str | None = None,
        leeway: timedelta = timedelta(seconds=10),
    ) -> None:
        self._secret = secret
        self._ttl = ttl
        self._leeway = leeway
        # Keys come from the set PyJWT caches for five minutes, not from a per-kid cache
        # that never expires: a key withdrawn from the JWKS stops verifying tokens.
        self._jwks = jwt.PyJWKClient(jwks_url) if jwks_url else None

    def issue(self, *, user_id: UUID, email: str, session_id: UUID) -> IssuedAccessToken:
        now = datetime.now(UTC)
        expires_at = now + self._ttl
        claims = {
            "sub": str(user_id),
            "role": AUDIENCE,
            "aud": AUDIENCE,
            "email": email,
            "session_id": str(session_id),
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return IssuedAccessToken(token=token, expires_at=expires_at.replace(microsecond=0))

    async def verify(self, token: str) -> AccessTokenClaims:
        """The token's claims, or ``InvalidAccessToken`` whatever went wrong.

        HS256 is checked with the secret Atende signs with; any other algorithm only
        against the JWKS key the token's ``kid`` names, and only if it is the algorithm
        that key is for. The reason is never echoed: a client learns that the token was
        refused, not why.
        """
        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg")
            if algorithm == ALGORITHM:
                payload = self._decode(token, self._secret, ALGORITHM)
            else:
                key = await self._public_key(header.get("kid"))
                if algorithm != key.algorithm_name:
                    raise InvalidAccessToken()
                payload = self._decode(token, key.key, key.algorithm_name)
            claims = AccessTokenClaims.model_validate(payload)
        except (jwt.PyJWTError, ValidationError, ValueError) as error:
            raise InvalidAccessToken() from error
        if claims.role != AUDIENCE:
            raise InvalidAccessToken()
        return claims

    async def _public_key(self, kid: object) -> jwt.PyJWK:
        if self._jwks is None or not isinstance(kid, str):
            raise InvalidAccessToken()
        # May fetch the JWKS over HTTP (urllib, blocking).
        key = await asyncio.to_thread(self._jwks.get_signing_key, kid)
        if key.key_type not in _ASYMMETRIC_KEY_TYPES:
            raise InvalidAccessToken()
        return key

    def _decode(self, token: str, key: Any, algorithm: str) -> dict[str, Any]:
        payload: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=AUDIENCE,
            leeway=self._leeway,
            options={"require": ["sub", "exp", "aud", "role"]},
        )
        return payload
