"""boto3 clients, created on first use and cached for the life of the container.

boto3 honours ``AWS_ENDPOINT_URL`` (and per-service ``AWS_ENDPOINT_URL_<SERVICE>``) itself, which is how the local
platform points the very same code at the moto server: nothing here knows whether it runs locally or in AWS.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


@cache
def client(service: str) -> Any:
    # botocore logs whole request and response bodies at DEBUG, and those hold passwords, tokens and personal data.
    # A function's log level may be turned up to investigate something else; these bodies stay out even then.
    botocore_log = logging.getLogger("botocore")
    botocore_log.setLevel(max(logging.INFO, botocore_log.getEffectiveLevel()))
    return boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]


def reset() -> None:
    """Forget cached clients (tests that start a fresh moto between cases)."""
    client.cache_clear()
