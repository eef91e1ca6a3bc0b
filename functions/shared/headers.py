"""HTTP header lookup, case-insensitive as RFC 9110 says header names are (API Gateway keeps the client's case)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def header_value(headers: Mapping[str, Any] | None, name: str) -> str | None:
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if str(key).lower() == wanted:
            return None if value is None else str(value)
    return None
