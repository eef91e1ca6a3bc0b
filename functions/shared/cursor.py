"""Opaque, tamper-evident pagination cursors.

A cursor carries a DynamoDB ``LastEvaluatedKey`` plus a fingerprint of the query it belongs to, serialised, then
signed with HMAC-SHA256. A client can hand back only a cursor we issued, for the same query: an edited, forged or
transplanted cursor is a 400, so nobody can make us start a read at an arbitrary key.

The signing key comes from the ``cursor`` secret (Secrets Manager, read once per container) or, for tests and
tools, ``CURSOR_SIGNING_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from functools import cache
from typing import Any

from functions.shared.errors import BadRequest

_SIG_BYTES = 16
MAX_CURSOR_LENGTH = 2048


@cache
def _key() -> bytes:
    direct = os.environ.get("CURSOR_SIGNING_KEY")
    if direct:
        return direct.encode()
    arn = os.environ.get("CURSOR_SECRET_ARN")
    if not arn:
        raise RuntimeError("neither CURSOR_SIGNING_KEY nor CURSOR_SECRET_ARN is set")
    from functions.shared.aws import client  # lazy: only list handlers that page need Secrets Manager

    return str(client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fingerprint(**query: Any) -> str:
    """A short digest of the parameters that define a result set (filters and sort, not the page size)."""
    raw = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode(last_key: dict[str, Any] | None, query_fp: str) -> str | None:
    if not last_key:
        return None
    payload = json.dumps({"k": last_key, "q": query_fp}, separators=(",", ":"), sort_keys=True).encode()
    sig = hmac.new(_key(), payload, hashlib.sha256).digest()[:_SIG_BYTES]
    return _b64(payload) + "." + _b64(sig)


def decode(cursor: str | None, query_fp: str) -> dict[str, Any] | None:
    if cursor is None or cursor == "":
        return None
    invalid = BadRequest("cursor is invalid or belongs to another query", code="INVALID_CURSOR")
    if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
        raise invalid
    body, sig = cursor.split(".")
    try:
        payload, given = _unb64(body), _unb64(sig)
    except (ValueError, TypeError):
        raise invalid from None
    expected = hmac.new(_key(), payload, hashlib.sha256).digest()[:_SIG_BYTES]
    if not hmac.compare_digest(expected, given):
        raise invalid
    data = json.loads(payload)
    if data.get("q") != query_fp or not isinstance(data.get("k"), dict):
        raise invalid
    key: dict[str, Any] = data["k"]
    return key
