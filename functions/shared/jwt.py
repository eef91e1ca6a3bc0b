"""Verification of a Cognito ID token inside a function, for routes that serve guests and signed-in shoppers alike.

API Gateway's Cognito authorizer cannot be optional: a method either requires a token or never sees one. A guest
cart route is therefore PUBLIC, and its function verifies a bearer token itself when one is sent, exactly as the
authorizer would: RS256 signature against the user pool's JWKS, issuer, audience (the app client), expiry and
``token_use`` = ``id``. A token that is sent and fails any check is a 401, never a silent fall-back to guest.

Hand-written on the standard library (RSASSA-PKCS1-v1_5 verification is one modular exponentiation and a byte
comparison) because the Lambda code asset carries no third-party packages beyond the Powertools layer, and PyJWT
with ``cryptography`` would cost more cold start than these routes are worth. Only *verification* with a public key
is done here; nothing is signed.

The JWKS is fetched once per container (``https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json``,
or the moto server's copy locally) and fetched again, at most every 30 s, when a token names an unknown key id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
import urllib.request
from typing import Any

from functions.shared.errors import ServiceUnavailable, Unauthorized

# DER prefix of a DigestInfo for SHA-256 (RFC 8017 §9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
LEEWAY_S = 5
REFETCH_INTERVAL_S = 30.0


def _b64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise Unauthorized("the token is malformed", code="INVALID_TOKEN") from None


def rsa_pkcs1_sha256_verify(n: int, e: int, message: bytes, signature: bytes) -> bool:
    k = (n.bit_length() + 7) // 8
    if len(signature) != k or k < len(_SHA256_DIGEST_INFO) + 32 + 11:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    encoded = pow(s, e, n).to_bytes(k, "big")
    digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    expected = b"\x00\x01" + b"\xff" * (k - 3 - len(digest_info)) + b"\x00" + digest_info
    return hmac.compare_digest(encoded, expected)


class JwksVerifier:
    def __init__(self, jwks_url: str, issuer: str, audience: str) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self._keys: dict[str, tuple[int, int]] = {}
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        try:
            with urllib.request.urlopen(self.jwks_url, timeout=3) as response:  # noqa: S310 - https or loopback
                document = json.loads(response.read())
            if not isinstance(document, dict):
                raise ValueError("the JWKS is not a JSON object")
        except (OSError, ValueError) as exc:
            # Keep the keys we have; try again only after the refetch interval, so an outage is not a 3 s wait on
            # every request. A caller that needs a key we do not have gets a 503 it may retry, not a 502.
            self._fetched_at = time.monotonic()
            raise ServiceUnavailable("cannot check the sign-in right now; retry shortly") from exc
        keys: dict[str, tuple[int, int]] = {}
        for jwk in document.get("keys", []):
            if jwk.get("kty") == "RSA" and jwk.get("kid"):
                keys[str(jwk["kid"])] = (
                    int.from_bytes(_b64(jwk["n"]), "big"),
                    int.from_bytes(_b64(jwk["e"]), "big"),
                )
        self._keys = keys
        self._fetched_at = time.monotonic()

    def _key(self, kid: str) -> tuple[int, int]:
        with self._lock:
            if not self._fetched_at or (
                kid not in self._keys and time.monotonic() - self._fetched_at > REFETCH_INTERVAL_S
            ):
                self._fetch()
        key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("the token is signed with an unknown key", code="INVALID_TOKEN")
        return key

    def verify(self, token: str, now: float | None = None) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 3:
            raise Unauthorized("the token is malformed", code="INVALID_TOKEN")
        try:
            header = json.loads(_b64(parts[0]))
            claims = json.loads(_b64(parts[1]))
        except (ValueError, RecursionError):  # deeply nested JSON raises RecursionError, not a ValueError
            raise Unauthorized("the token is malformed", code="INVALID_TOKEN") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise Unauthorized("the token is malformed", code="INVALID_TOKEN")
        if header.get("alg") != "RS256":
            raise Unauthorized("the token is not RS256-signed", code="INVALID_TOKEN")
        n, e = self._key(str(header.get("kid", "")))
        if not rsa_pkcs1_sha256_verify(n, e, f"{parts[0]}.{parts[1]}".encode(), _b64(parts[2])):
            raise Unauthorized("the token's signature is invalid", code="INVALID_TOKEN")
        moment = time.time() if now is None else now
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp + LEEWAY_S < moment:
            raise Unauthorized("the token has expired", code="TOKEN_EXPIRED")
        if claims.get("iss") != self.issuer:
            raise Unauthorized("the token is from another issuer", code="INVALID_TOKEN")
        audience = claims.get("aud")
        if audience != self.audience and not (isinstance(audience, list) and self.audience in audience):
            raise Unauthorized("the token is for another client", code="INVALID_TOKEN")
        if claims.get("token_use") != "id":
            raise Unauthorized("send the ID token", code="INVALID_TOKEN")
        if not claims.get("sub"):
            raise Unauthorized("the token names no user", code="INVALID_TOKEN")
        return claims


_VERIFIER: JwksVerifier | None = None


def user_pool_verifier() -> JwksVerifier:
    """The verifier for this stage's user pool, made once per container from USER_POOL_ID / USER_POOL_CLIENT_ID."""
    global _VERIFIER  # noqa: PLW0603 - one per container, created on first use
    if _VERIFIER is None:
        from functions.shared.settings import env, region

        pool = env("USER_POOL_ID")
        issuer = f"https://cognito-idp.{region()}.amazonaws.com/{pool}"
        local = os.environ.get("AWS_ENDPOINT_URL")  # the local platform: moto serves the pool's JWKS
        base = local.rstrip("/") + f"/{pool}" if local else issuer
        _VERIFIER = JwksVerifier(f"{base}/.well-known/jwks.json", issuer, env("USER_POOL_CLIENT_ID"))
    return _VERIFIER


def reset() -> None:
    global _VERIFIER  # noqa: PLW0603
    _VERIFIER = None
