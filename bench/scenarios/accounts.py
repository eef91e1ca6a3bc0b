"""Accounts scenarios. Seed: one shopper signed up and logged in through the handlers; their ID token's claims
stand in for what the Cognito authorizer passes to ``/me``, and their refresh token feeds ``/auth/refresh``."""

from __future__ import annotations

import base64
import json
from typing import Any

from bench.harness import Bench
from bench.scenarios import scenario, seeder

PASSWORD = "Sunny-Day-42"  # meets the pool's policy (local/resources.py)


def _seed(bench: Bench) -> dict[str, Any]:
    seed: dict[str, Any] = bench.seed["accounts"]
    return seed


def token_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified: moto issued it a moment ago, and API Gateway would have verified it."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def _email(bench: Bench) -> str:
    return f"{bench.unique('bench-')}@example.com"


@seeder
def seed_accounts(bench: Bench) -> None:
    email = _email(bench)
    bench.api("POST", "/auth/signup", {"email": email, "password": PASSWORD, "name": "Bench Shopper"})
    tokens = bench.api("POST", "/auth/login", {"email": email, "password": PASSWORD})
    bench.seed["accounts"] = {
        "email": email,
        "refresh_token": tokens["refresh_token"],
        "claims": token_claims(tokens["id_token"]),
    }


@scenario("SignUp", "sign up a new shopper", primary=True)
def sign_up(bench: Bench) -> dict[str, Any]:
    return bench.event("POST", "/auth/signup", {"email": _email(bench), "password": PASSWORD})


@scenario("LogIn", "log in (USER_PASSWORD_AUTH)", primary=True)
def log_in(bench: Bench) -> dict[str, Any]:
    return bench.event("POST", "/auth/login", {"email": _seed(bench)["email"], "password": PASSWORD})


@scenario("RefreshTokens", "refresh tokens", primary=True)
def refresh(bench: Bench) -> dict[str, Any]:
    return bench.event("POST", "/auth/refresh", {"refresh_token": _seed(bench)["refresh_token"]})


@scenario("GetMe", "read own profile", primary=True)
def get_me(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/me", claims=_seed(bench)["claims"])


@scenario("UpdateMe", "change own name", primary=True)
def update_me(bench: Bench) -> dict[str, Any]:
    return bench.event("PUT", "/me", {"name": bench.unique("Bench Shopper ")}, claims=_seed(bench)["claims"])
