"""A JWKS endpoint, served over real HTTP for ``PyJWKClient``, and the keys behind it.

Stands in for a Supabase project's ``/auth/v1/.well-known/jwks.json``: the keys are made
with ``cryptography`` when the server starts, and the set publishes the public half of
each, plus one symmetric (``oct``) key, which a JWKS should never hold and Atende must
never trust.

Runs under uvicorn in a thread of its own, on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import BackgroundServer

JWKS_PATH = "/auth/v1/.well-known/jwks.json"

RSA_KID = "rsa-signing-key"
EC_KID = "ec-signing-key"
ED_KID = "ed-signing-key"
OCT_KID = "oct-key"
#: The symmetric key the set publishes (so anyone can sign with it).
OCT_SECRET = b"published-in-the-jwks-so-not-a-secret-" + b"0123456789abcdef" * 2


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class SigningKeys:
    """The private keys; the server publishes their public halves."""

    rsa: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    ec: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    ed: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)

    def jwks(self) -> dict[str, Any]:
        # The RSA key declares its algorithm; the EC and OKP keys leave PyJWT to derive
        # it from kty and crv, as Supabase's may.
        rsa_jwk = RSAAlgorithm.to_jwk(self.rsa.public_key(), as_dict=True)
        ec_jwk = ECAlgorithm.to_jwk(self.ec.public_key(), as_dict=True)
        ed_jwk = OKPAlgorithm.to_jwk(self.ed.public_key(), as_dict=True)
        oct_jwk = {"kty": "oct", "k": b64url(OCT_SECRET), "alg": "HS512"}
        return {
            "keys": [
                {**rsa_jwk, "kid": RSA_KID, "alg": "RS256", "use": "sig"},
                {**ec_jwk, "kid": EC_KID, "use": "sig"},
                {**ed_jwk, "kid": ED_KID, "use": "sig"},
                {**oct_jwk, "kid": OCT_KID, "use": "sig"},
            ]
        }

    def sign(self, claims: dict[str, Any], *, algorithm: str, kid: str) -> str:
        """A token signed with the private key that ``algorithm`` is for, naming ``kid``."""
        key: Any = {"RS256": self.rsa, "ES256": self.ec, "EdDSA": self.ed}[algorithm]
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


class JwksServer:
    def __init__(self, keys: SigningKeys) -> None:
        self.keys = keys
        self.requests = 0
        #: Seconds to wait before answering.
        self.delay = 0.0
        self.url = ""

    def app(self) -> Starlette:
        return Starlette(routes=[Route(JWKS_PATH, self.jwks, methods=["GET"])])

    async def jwks(self, request: Request) -> Response:
        self.requests += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return JSONResponse(self.keys.jwks())


@contextmanager
def serve_jwks(keys: SigningKeys) -> Iterator[JwksServer]:
    """Serve ``keys``' JWKS on a free 127.0.0.1 port until the block ends."""
    server_state = JwksServer(keys)
    with BackgroundServer(server_state.app(), name="jwks-server") as server:
        server_state.url = f"{server.url}{JWKS_PATH}"
        yield server_state


def handmade_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A JWT put together by hand, for the ones PyJWT refuses to make."""
    return ".".join(
        [
            b64url(json.dumps(header).encode()),
            b64url(json.dumps(claims).encode()),
            b64url(signature),
        ]
    )
