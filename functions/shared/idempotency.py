"""The Idempotency-Key rules every creating POST shares (DESIGN.md §4): the key's shape, and the digest of the
request it is bound to (same key with another body is refused). Where the key is stored is each context's own
business: it is written in the same transaction as what the request creates."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from functions.shared.errors import BadRequest

IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:-]{8,128}$"


def check_key(key: str | None, required: bool = True) -> str | None:
    """The Idempotency-Key header as sent, or a 400: missing (when required) or not 8-128 of A-Z a-z 0-9 . _ : -."""
    if key is None and not required:
        return None
    if not key:
        raise BadRequest("the Idempotency-Key header is required", code="IDEMPOTENCY_KEY_REQUIRED")
    if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        raise BadRequest("Idempotency-Key must be 8-128 of A-Z a-z 0-9 . _ : -", code="INVALID_IDEMPOTENCY_KEY")
    return key


def request_hash(body: Any) -> str:
    """A digest of a request's meaning: canonical JSON (sorted keys), so key order and spacing do not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
