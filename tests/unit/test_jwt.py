"""functions.shared.jwt: a Cognito ID token is accepted only when signed (RS256) by a key of the pool's JWKS, for
this pool and app client, unexpired, and an ID token. Tokens are signed here with PyJWT and ``cryptography``; the
JWKS is served by a fake ``urlopen`` (no network)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from functions.shared import jwt as shared_jwt
from functions.shared.errors import Unauthorized
from functions.shared.jwt import LEEWAY_S, REFETCH_INTERVAL_S, JwksVerifier, rsa_pkcs1_sha256_verify

POOL = "us-east-1_TestPool"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"
CLIENT_ID = "app-client-1"
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"
NOW = 1_900_000_000


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Key:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        return {"kty": "RSA", "kid": self.kid, "alg": "RS256", "use": "sig", "n": b64(n), "e": b64(e)}

    def sign(self, claims: dict[str, Any], kid: str | None = None, **header: Any) -> str:
        return pyjwt.encode(claims, self.pem, algorithm="RS256", headers={"kid": kid or self.kid, **header})


@pytest.fixture(scope="module")
def key() -> Key:
    return Key("kid-1")


@pytest.fixture(scope="module")
def other_key() -> Key:
    return Key("kid-2")


class FakeJwks:
    """Stands in for ``urllib.request.urlopen``: serves a JWKS document and counts the fetches."""

    def __init__(self, keys: list[Key]) -> None:
        self.keys = keys
        self.urls: list[str] = []

    def __call__(self, url: str, timeout: float) -> io.BytesIO:
        self.urls.append(url)
        return io.BytesIO(json.dumps({"keys": [k.jwk() for k in self.keys]}).encode())


@pytest.fixture
def jwks(monkeypatch: pytest.MonkeyPatch, key: Key) -> Iterator[FakeJwks]:
    fake = FakeJwks([key])
    monkeypatch.setattr(shared_jwt.urllib.request, "urlopen", fake)
    yield fake


@pytest.fixture
def verifier(jwks: FakeJwks) -> JwksVerifier:
    return JwksVerifier(JWKS_URL, ISSUER, CLIENT_ID)


def id_claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": "11111111-1111-4111-8111-111111111111",
        "email": "shopper@example.com",
        "cognito:groups": ["customer"],
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "token_use": "id",
        "auth_time": NOW - 60,
        "iat": NOW - 60,
        "exp": NOW + 3600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def refused(verifier: JwksVerifier, token: str, code: str = "INVALID_TOKEN") -> Unauthorized:
    with pytest.raises(Unauthorized) as caught:
        verifier.verify(token, now=NOW)
    assert caught.value.code == code
    assert caught.value.status == 401
    return caught.value


# --- accepted ---------------------------------------------------------------------------------------------------


def test_a_good_id_token_is_accepted_and_its_claims_returned(verifier, key, jwks):
    claims = verifier.verify(key.sign(id_claims()), now=NOW)
    assert claims["sub"] == "11111111-1111-4111-8111-111111111111"
    assert claims["cognito:groups"] == ["customer"]
    assert jwks.urls == [JWKS_URL]


def test_the_jwks_is_fetched_once_for_many_tokens(verifier, key, jwks):
    for i in range(5):
        verifier.verify(key.sign(id_claims(email=f"u{i}@example.com")), now=NOW)
    assert len(jwks.urls) == 1


def test_an_audience_list_naming_the_client_is_accepted(verifier, key):
    assert verifier.verify(key.sign(id_claims(aud=["other-client", CLIENT_ID])), now=NOW)["aud"]


def test_a_token_just_past_its_expiry_is_accepted_within_the_leeway(verifier, key):
    assert verifier.verify(key.sign(id_claims(exp=NOW - LEEWAY_S)), now=NOW)


def test_the_current_time_is_used_when_none_is_given(verifier, key):
    now = int(time.time())
    assert verifier.verify(key.sign(id_claims(exp=now + 60)))
    with pytest.raises(Unauthorized):
        verifier.verify(key.sign(id_claims(exp=now - 60)))


def test_a_token_signed_with_a_rotated_in_key_is_accepted_after_refetching_the_jwks(verifier, key, other_key, jwks):
    verifier.verify(key.sign(id_claims()), now=NOW)
    jwks.keys = [key, other_key]
    verifier._fetched_at -= REFETCH_INTERVAL_S + 1  # the last fetch was a while ago
    assert verifier.verify(other_key.sign(id_claims()), now=NOW)
    assert len(jwks.urls) == 2


# --- refused ----------------------------------------------------------------------------------------------------


def test_a_token_with_a_tampered_payload_is_refused(verifier, key):
    header, _payload, signature = key.sign(id_claims()).split(".")
    forged = b64(json.dumps(id_claims(sub="someone-else", **{"cognito:groups": ["admin"]})).encode())
    error = refused(verifier, f"{header}.{forged}.{signature}")
    assert "signature" in error.message


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(verifier, other_key, key):
    refused(verifier, other_key.sign(id_claims(), kid=key.kid))


def test_a_token_with_a_truncated_or_altered_signature_is_refused(verifier, key):
    header, payload, signature = key.sign(id_claims()).split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    refused(verifier, f"{header}.{payload}.{b64(raw[:-1])}")
    refused(verifier, f"{header}.{payload}.{b64(raw[:-1] + bytes([raw[-1] ^ 1]))}")
    refused(verifier, f"{header}.{payload}.")


def test_a_token_naming_an_unknown_kid_is_refused(verifier, other_key, jwks):
    error = refused(verifier, other_key.sign(id_claims()))
    assert "unknown key" in error.message


def test_unknown_kids_do_not_make_the_verifier_fetch_the_jwks_on_every_token(verifier, key, other_key, jwks):
    verifier.verify(key.sign(id_claims()), now=NOW)
    for _ in range(10):
        refused(verifier, other_key.sign(id_claims()))
    assert len(jwks.urls) == 1


def test_an_expired_token_is_refused(verifier, key):
    refused(verifier, key.sign(id_claims(exp=NOW - LEEWAY_S - 1)), code="TOKEN_EXPIRED")


@pytest.mark.parametrize("exp", [None, "1900003600", [NOW + 60]])
def test_a_token_without_a_numeric_expiry_is_refused(verifier, key, exp):
    claims = id_claims()
    claims.pop("exp")
    if exp is not None:
        claims["exp"] = exp
    token = pyjwt.encode(claims, key.pem, algorithm="RS256", headers={"kid": key.kid})
    refused(verifier, token, code="TOKEN_EXPIRED")


def test_a_token_from_another_issuer_is_refused(verifier, key):
    refused(verifier, key.sign(id_claims(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other")))
    refused(verifier, key.sign(id_claims(iss=None)))


def test_a_token_for_another_app_client_is_refused(verifier, key):
    refused(verifier, key.sign(id_claims(aud="another-client")))
    refused(verifier, key.sign(id_claims(aud=["another-client"])))
    refused(verifier, key.sign(id_claims(aud=None)))


def test_an_access_token_is_refused(verifier, key):
    # Cognito's access tokens name the client in client_id, not aud.
    access = id_claims(token_use="access", aud=None, client_id=CLIENT_ID, scope="aws.cognito.signin.user.admin")
    refused(verifier, key.sign(access))
    error = refused(verifier, key.sign(id_claims(token_use="access")))
    assert "ID token" in error.message


def test_a_token_naming_no_user_is_refused(verifier, key):
    refused(verifier, key.sign(id_claims(sub=None)))
    refused(verifier, key.sign(id_claims(sub="")))


def test_an_unsigned_token_is_refused(verifier, key):
    refused(verifier, pyjwt.encode(id_claims(), None, algorithm="none"))
    header = b64(json.dumps({"alg": "none", "kid": key.kid}).encode())
    refused(verifier, f"{header}.{b64(json.dumps(id_claims()).encode())}.")


def test_a_token_signed_with_hs256_using_the_public_key_as_secret_is_refused(verifier, key):
    header = b64(json.dumps({"alg": "HS256", "kid": key.kid, "typ": "JWT"}).encode())
    payload = b64(json.dumps(id_claims()).encode())
    mac = hmac.new(key.public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    error = refused(verifier, f"{header}.{payload}.{b64(mac)}")
    assert "RS256" in error.message


@pytest.mark.parametrize("alg", ["RS384", "PS256", "rs256", None])
def test_a_token_with_another_algorithm_is_refused(verifier, key, alg):
    header_data = {"kid": key.kid} if alg is None else {"alg": alg, "kid": key.kid}
    header = b64(json.dumps(header_data).encode())
    payload = b64(json.dumps(id_claims()).encode())
    signature = key.sign(id_claims()).split(".")[2]
    refused(verifier, f"{header}.{payload}.{signature}")


DEEP_ARRAY = b"[" * 5000
DEEP_OBJECT = b'{"a":' * 3000


def _part(data: Any) -> str:
    return b64(json.dumps(data).encode())


RS256_HEADER = {"alg": "RS256", "kid": "kid-1"}
MALFORMED = {
    "empty": "",
    "one part": "abc",
    "two parts": "a.b",
    "four parts": "a.b.c.d",
    "empty parts": "..",
    "not base64": "!!!.???.###",
    "a header only": "eyJhbGciOiJSUzI1NiJ9",
    "header not json": f"{b64(b'not json')}.{_part({})}.sig",
    "claims not json": f"{_part(RS256_HEADER)}.{b64(b'not json')}.sig",
    "header not utf-8": f"{b64(bytes([0xFF, 0xFE, 0x00]))}.{_part({})}.sig",
    "header a list": f"{_part(['alg', 'RS256'])}.{_part({})}.sig",
    "claims a string": f"{_part(RS256_HEADER)}.{_part('a string')}.sig",
    "claims null": f"{_part(RS256_HEADER)}.{_part(None)}.sig",
    # Deep nesting makes json raise RecursionError, which is not a ValueError: it must not escape as a 500.
    "deeply nested header": f"{b64(DEEP_ARRAY)}.{_part({})}.sig",
    "deeply nested claims": f"{_part(RS256_HEADER)}.{b64(DEEP_OBJECT)}.sig",
    "with a scheme": "Bearer eyJ.eyJ.sig",
    "long garbage": "x" * 20000,
}


@pytest.mark.parametrize("token", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_malformed_token_is_refused_as_unauthorized(verifier, token):
    refused(verifier, token)


# --- the RSA primitive ------------------------------------------------------------------------------------------


def test_rsa_verification_accepts_only_the_exact_signature(key):
    numbers = key.private.public_key().public_numbers()
    message = b"header.payload"
    token = pyjwt.encode({"m": 1}, key.pem, algorithm="RS256")
    signing_input, signature = token.rsplit(".", 1)
    raw = base64.urlsafe_b64decode(signature + "==")
    assert rsa_pkcs1_sha256_verify(numbers.n, numbers.e, signing_input.encode(), raw)
    assert not rsa_pkcs1_sha256_verify(numbers.n, numbers.e, message, raw)
    assert not rsa_pkcs1_sha256_verify(numbers.n, numbers.e, signing_input.encode(), b"\x00" + raw)
    too_big = (numbers.n + 1).to_bytes(len(raw), "big")
    assert not rsa_pkcs1_sha256_verify(numbers.n, numbers.e, signing_input.encode(), too_big)


# --- the pool's verifier ------------------------------------------------------------------------------------------


def test_the_pool_verifier_checks_this_pools_issuer_and_client(monkeypatch):
    monkeypatch.setenv("USER_POOL_ID", POOL)
    monkeypatch.setenv("USER_POOL_CLIENT_ID", CLIENT_ID)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    shared_jwt.reset()
    try:
        v = shared_jwt.user_pool_verifier()
        assert (v.jwks_url, v.issuer, v.audience) == (JWKS_URL, ISSUER, CLIENT_ID)
        assert shared_jwt.user_pool_verifier() is v
        shared_jwt.reset()
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5005/")
        local = shared_jwt.user_pool_verifier()
        assert local.jwks_url == f"http://127.0.0.1:5005/{POOL}/.well-known/jwks.json"
        assert local.issuer == ISSUER
    finally:
        shared_jwt.reset()
