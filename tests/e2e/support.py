"""Helpers shared by the end-to-end tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import gzip
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import jwt
import requests

T = TypeVar("T")
# Asynchronous steps (an event through outbox, stream, relay, bus and queue to its consumer) take about a second when
# the machine is idle; generous for a busy one. Waits poll, and end as soon as the expected state is there.
EVENTUAL_S = 60.0
POLL_S = 0.2
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


def eventually(probe: Callable[[], T | None], what: str, timeout_s: float = EVENTUAL_S) -> T:
    """Poll ``probe`` until it returns something other than None or False, and return that; fail after
    ``timeout_s`` saying ``what`` never happened (and what the probe saw last, when it says so with an
    AssertionError)."""
    deadline = time.monotonic() + timeout_s
    last = ""
    while True:
        try:
            found = probe()
        except AssertionError as exc:  # a probe may assert on what it reads; the last one is shown
            found, last = None, str(exc)
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s" + (f" ({last})" if last else ""))
        time.sleep(POLL_S)


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
