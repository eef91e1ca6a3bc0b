"""Opaque, URL-safe, time-sortable ids: 48 bits of milliseconds and 80 random bits in Crockford base32 (ULID layout).

Hand-written (twenty lines) rather than a dependency: the layout is fixed and the cold-start budget is tight.
"""

from __future__ import annotations

import os
import re
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"
_ID_RE = re.compile(ID_PATTERN)


def new_id(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_id(value: str) -> bool:
    return bool(_ID_RE.match(value))


def prefixed(prefix: str, now_ms: int | None = None) -> str:
    """``prd_01J...``: a readable kind prefix on top of the sortable id."""
    return f"{prefix}_{new_id(now_ms)}"
