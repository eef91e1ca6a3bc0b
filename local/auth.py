"""Verification of Cognito ID tokens, as API Gateway's Cognito user-pool authorizer does it.

The authorizer accepts the raw token or ``Bearer <token>`` in the ``Authorization`` header, checks the RS256
signature against the user pool's JWKS, the issuer (the pool), the audience (the app client), the expiry and that it
is an *ID* token, and then hands the token's claims to the function. The JWKS is fetched once and cached; a token
signed with a key id we have not seen triggers one re-fetch, so a rotated key is picked up without a restart.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

import jwt

REFETCH_INTERVAL_S = 30.0


class InvalidToken(Exception):
    """The request is not authenticated; the message says why (it becomes the 401's message)."""


def bearer_token(header: str | None) -> str:
    if header is None or not header.strip():
        raise InvalidToken("missing Authorization header")
    value = header.strip()
    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() == "bearer":
        value = rest.strip()
    if not value:
        raise InvalidToken("empty bearer token")
    return value


class CognitoVerifier:
    def __init__(self, jwks_url: str, issuer: str, audience: str) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    @classmethod
    def for_user_pool(
        cls, endpoint: str, user_pool_id: str, client_id: str, region: str = "us-east-1"
    ) -> CognitoVerifier:
        # Tokens name the real Cognito issuer; moto serves the pool's keys under its own endpoint.
        return cls(
            jwks_url=f"{endpoint.rstrip('/')}/{user_pool_id}/.well-known/jwks.json",
            issuer=f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}",
            audience=client_id,
        )

    def load(self) -> None:
        """Fetch the JWKS now (at start-up, so the first request does not pay for it)."""
        with urllib.request.urlopen(self.jwks_url, timeout=10) as response:  # noqa: S310 - loopback URL we built
            document = json.loads(response.read())
        keys = {}
        for entry in document.get("keys", []):
            kid = entry.get("kid")
            if kid:
                keys[kid] = jwt.PyJWK.from_dict(entry)
        with self._lock:
            self._keys = keys
            self._fetched_at = time.monotonic()

    def _key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            key = self._keys.get(kid)
            stale = time.monotonic() - self._fetched_at > REFETCH_INTERVAL_S
        if key is None and stale:
            self.load()
            with self._lock:
                key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("token signed with an unknown key")
        return key

    def verify(self, authorization: str | None) -> dict[str, Any]:
        """Return the verified claims of the ID token in an ``Authorization`` header value."""
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        if header.get("alg") != "RS256":
            raise InvalidToken("token is not signed with RS256")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("token has no key id")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key(kid),
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken("token was issued for another app client") from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidToken("token was issued by another user pool") from exc
        except jwt.InvalidSignatureError as exc:
            raise InvalidToken("token signature is invalid") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid token: {exc}") from exc
        if claims.get("token_use") != "id":
            raise InvalidToken("an ID token is required")
        return claims
