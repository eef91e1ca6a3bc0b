"""Helpers shared by the end-to-end tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import gzip
import json
import socket
from pathlib import Path
from typing import Any

import jwt
import requests

ADMIN = ("admin@example.com", "Admin-Passw0rd!")
SHOPPER = ("shopper@example.com", "Shopper-Passw0rd!")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Client:
    """requests against the platform, optionally signed in (``Authorization: Bearer <id_token>``)."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self.token = token
        self.session = requests.Session()

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, f"{self.url}{path}", headers=headers, **kwargs)


def log_in(url: str, email: str, password: str) -> dict[str, Any]:
    response = requests.post(f"{url}/auth/login", json={"email": email, "password": password}, timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_of(response: requests.Response) -> dict[str, Any]:
    """The DESIGN.md §4 error body of a response (asserting its shape)."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "details"} <= set(body["error"]), body
    return dict(body["error"])


def user_pool_signing_key() -> Any:
    """The private key moto signs the local user pool's tokens with: lets a test make a token that is wrong in
    exactly one way (expired, say) and otherwise genuine."""
    import moto.cognitoidp

    path = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"
    return jwt.PyJWK.from_dict(json.loads(gzip.decompress(path.read_bytes()))).key
