"""The partner request signature (DESIGN.md §5), as plain functions: no I/O, no AWS.

``X-Signature`` is the lowercase hex HMAC-SHA256, keyed with the app secret, of the UTF-8 string::

    METHOD \\n PATH \\n CANONICAL_QUERY \\n TIMESTAMP \\n NONCE \\n hex(SHA-256(body))

PATH is the request path without the stage prefix. CANONICAL_QUERY is every query parameter (decoded), sorted by
name then value, each ``quote(name)=quote(value)`` with RFC 3986 unreserved characters (``A-Z a-z 0-9 - . _ ~``)
left alone and everything else percent-encoded from UTF-8, joined by ``&``; the empty string when there are none.

API Gateway does not give a REQUEST authorizer the body, so a client declares the body's hash in
``X-Content-SHA256`` (required when there is a body; the empty body's hash otherwise) and the authorizer verifies the
signature over it; the function behind checks that the body it received has that hash
(``functions.shared.http._check_signed_body``). The signed string itself is exactly DESIGN.md §5's.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from functions.shared.headers import header_value

MAX_SKEW_S = 300
# A nonce is remembered for as long as a request carrying it could still pass the timestamp check: a request signed
# at t is accepted until t + 300 s of our clock, and one whose clock ran 300 s fast as late as t + 600 s.
NONCE_TTL_S = 2 * MAX_SKEW_S + 60
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

APP_KEY_RE = re.compile(r"^app_[0-9A-HJKMNP-TV-Z]{26}$")
TIMESTAMP_RE = re.compile(r"^[0-9]{1,12}$")
NONCE_RE = re.compile(r"^[A-Za-z0-9._~-]{16,128}$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")

HEADER_APP_KEY = "X-App-Key"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_NONCE = "X-Nonce"
HEADER_SIGNATURE = "X-Signature"
HEADER_BODY_SHA256 = "X-Content-SHA256"
REQUIRED_HEADERS = (HEADER_APP_KEY, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)


def _quote(text: str) -> str:
    return quote(text, safe="-._~")


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    pairs = sorted((str(name), str(value)) for name, value in params)
    return "&".join(f"{_quote(name)}={_quote(value)}" for name, value in pairs)


def query_pairs(
    multi: Mapping[str, Sequence[str]] | None, single: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """The query of an API Gateway event as (name, value) pairs: every value of a repeated parameter."""
    if multi:
        return [(name, value) for name, values in multi.items() for value in values]
    return list((single or {}).items())


def string_to_sign(method: str, path: str, query: str, timestamp: str, nonce: str, body_sha256: str) -> str:
    return "\n".join((method.upper(), path, query, timestamp, nonce, body_sha256))


def signature(secret: str, text: str) -> str:
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def body_sha256(body: bytes | str | None) -> str:
    data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    return hashlib.sha256(data).hexdigest()


class SignatureRejected(Exception):
    """The request is not (or no longer) a valid signed request: a 401. The reason is for our logs only: the
    caller always gets the same answer, so a prober learns nothing about which check failed."""


@dataclass(frozen=True)
class SignedRequest:
    """The parts of a partner request the signature covers, with the headers checked for shape."""

    app_key: str
    timestamp: int
    nonce: str
    signature: str
    method: str
    path: str
    query: str
    body_sha256: str

    @property
    def text(self) -> str:
        return string_to_sign(self.method, self.path, self.query, str(self.timestamp), self.nonce, self.body_sha256)

    def check_clock(self, now: float) -> None:
        if abs(now - self.timestamp) > MAX_SKEW_S:
            raise SignatureRejected("timestamp outside the 300 s window")

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(signature(secret, self.text), self.signature)


def parse(method: str, path: str, headers: Mapping[str, str] | None, query: Iterable[tuple[str, str]]) -> SignedRequest:
    """The signed request in an API Gateway request, or :class:`SignatureRejected` for a missing or malformed
    header."""
    values = {name: (header_value(headers, name) or "").strip() for name in (*REQUIRED_HEADERS, HEADER_BODY_SHA256)}
    missing = [name for name in REQUIRED_HEADERS if not values[name]]
    if missing:
        raise SignatureRejected(f"missing {', '.join(missing)}")
    if not APP_KEY_RE.fullmatch(values[HEADER_APP_KEY]):
        raise SignatureRejected("malformed app key")
    if not TIMESTAMP_RE.fullmatch(values[HEADER_TIMESTAMP]):
        raise SignatureRejected("malformed timestamp")
    if not NONCE_RE.fullmatch(values[HEADER_NONCE]):
        raise SignatureRejected("malformed nonce")
    if not HEX64_RE.fullmatch(values[HEADER_SIGNATURE]):
        raise SignatureRejected("malformed signature")
    declared = values[HEADER_BODY_SHA256] or EMPTY_SHA256
    if not HEX64_RE.fullmatch(declared):
        raise SignatureRejected("malformed X-Content-SHA256")
    return SignedRequest(
        app_key=values[HEADER_APP_KEY],
        timestamp=int(values[HEADER_TIMESTAMP]),
        nonce=values[HEADER_NONCE],
        signature=values[HEADER_SIGNATURE],
        method=method.upper(),
        path=path,
        query=canonical_query(query),
        body_sha256=declared,
    )
