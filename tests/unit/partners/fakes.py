"""In-memory adapters for the partners service, with the contracts of the real ones (functions/partners/repository.py):
conditional writes on the app's version, nonces and Idempotency-Keys claimed once until they expire, secrets
"encrypted" so that the stored text is never the secret and decrypts only for the app it was made for."""

from __future__ import annotations

import base64
from typing import Any

from functions.partners.model import App
from functions.partners.repository import VersionConflict


class FakeApps:
    def __init__(self) -> None:
        self.apps: dict[str, App] = {}
        self.nonces: dict[tuple[str, str], int] = {}  # (app key, nonce) -> expires at
        self.keys: dict[tuple[str, str], tuple[str, str, int]] = {}  # (actor, key) -> (digest, app key, expires at)

    def get(self, app_key: str) -> App | None:
        return self.apps.get(app_key)

    def add(self, app: App) -> None:
        assert app.app_key not in self.apps, "add() never overwrites"
        self.apps[app.app_key] = app

    def replace(self, app: App, read_version: int) -> None:
        stored = self.apps.get(app.app_key)
        if stored is None or stored.version != read_version:
            raise VersionConflict(app.app_key)
        self.apps[app.app_key] = app

    def page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[App], dict[str, Any] | None]:
        ordered = sorted(self.apps.values(), key=lambda a: (a.created_at, a.app_key), reverse=True)
        offset = int(start["offset"]) if start else 0
        chunk = ordered[offset : offset + limit]
        more = offset + limit < len(ordered)
        return chunk, ({"offset": offset + limit} if more else None)

    def remember_nonce(self, app_key: str, nonce: str, now: int, ttl_s: int) -> bool:
        expires = self.nonces.get((app_key, nonce))
        if expires is not None and expires >= now:
            return False
        self.nonces[(app_key, nonce)] = now + ttl_s
        return True

    def idempotent(self, actor: str, key: str, digest: str, app_key: str, now: int) -> tuple[str, str] | None:
        seen = self.keys.get((actor, key))
        if seen is not None and seen[2] >= now:
            return seen[0], seen[1]
        self.keys[(actor, key)] = (digest, app_key, now + 600)
        return None


class FakeSecrets:
    """Reversible, but bound to the app key like a KMS encryption context."""

    def encrypt(self, app_key: str, secret: str) -> str:
        return base64.b64encode(f"{app_key}|{secret}".encode()[::-1]).decode()

    def decrypt(self, app_key: str, ciphertext: str) -> str:
        bound, _, secret = base64.b64decode(ciphertext)[::-1].decode().partition("|")
        if bound != app_key:
            raise ValueError("ciphertext of another app")
        return secret


class FakePlans:
    def __init__(self) -> None:
        self.plans: dict[str, dict[str, Any]] = {}  # api key id -> what the usage plan was made with

    def create(self, app: App, usage_key: str) -> tuple[str, str]:
        key_id = f"key{len(self.plans)}"
        self.plans[key_id] = {
            "app_key": app.app_key,
            "usage_key": usage_key,
            "rate": app.rate_limit,
            "burst": app.burst_limit,
            "quota": app.daily_quota,
            "enabled": True,
        }
        return key_id, f"plan{len(self.plans)}"

    def disable(self, api_key_id: str) -> None:
        self.plans[api_key_id]["enabled"] = False
