"""Access tokens: JWTs with Supabase's claims, signed HS256 or verified against a JWKS.

A token minted here is accepted by a Supabase project sharing ``ATENDE_JWT_SECRET``
(its JWT secret), and a token minted by Supabase Auth is accepted here, so either can
sign users in.
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
_ASYMMETRIC_ALGORITHMS = ["RS256", "ES256", "EdDSA"]


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
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None

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

        The reason is never echoed: a client learns that the token was refused, not why.
        """
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") == ALGORITHM:
                payload = self._decode(token, self._secret, [ALGORITHM])
            elif self._jwks is not None and header.get("alg") in _ASYMMETRIC_ALGORITHMS:
                signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                payload = self._decode(token, signing_key.key, _ASYMMETRIC_ALGORITHMS)
            else:
                raise InvalidAccessToken()
            claims = AccessTokenClaims.model_validate(payload)
        except (jwt.PyJWTError, ValidationError, ValueError) as error:
            raise InvalidAccessToken() from error
        if claims.role != AUDIENCE:
            raise InvalidAccessToken()
        return claims

    def _decode(self, token: str, key: Any, algorithms: list[str]) -> dict[str, Any]:
        payload: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=AUDIENCE,
            leeway=self._leeway,
            options={"require": ["sub", "exp", "aud", "role"]},
        )
        return payload
