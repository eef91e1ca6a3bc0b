"""Settings read lazily from the environment (DESIGN.md §7: never at import time, cached once read).

Physical resource names reach a function through the environment variables named by
:func:`functions.shared.wiring.env_names`; the CDK app and the local runner both set them from the manifest.
"""

from __future__ import annotations

import os
from functools import cache

from functions.shared.wiring import env_names


class MissingSetting(RuntimeError):
    pass


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise MissingSetting(f"environment variable {name} is not set")
    return value


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def resource_name(resource: str) -> str:
    """Physical name of a resource reference such as ``table:catalog`` (first env var for that resource)."""
    return env(env_names(resource)[0])


def table_name(name: str) -> str:
    return resource_name(f"table:{name}")


def stage() -> str:
    return os.environ.get("STAGE", "local")


@cache
def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def clear_cache() -> None:
    """For tests that change the environment between cases."""
    region.cache_clear()
