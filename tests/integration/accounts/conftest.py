"""Fixtures for the accounts API tests: real handlers, moto's Cognito, and signed-in users made from real tokens.

The accounts service is built once per container and holds the user pool's ids; every test gets a fresh moto pool,
so the service is rebuilt around each test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest

from functions.accounts import bootstrap

PASSWORD = "Sunny-Day-42"


@pytest.fixture(autouse=True)
def fresh_accounts_service() -> Iterator[None]:
    bootstrap.install(None)
    yield
    bootstrap.install(None)


@dataclass(frozen=True)
class TokenUser:
    """A caller whose claims are those of a real ID token, as the API Gateway authorizer passes them on (the
    ``api`` fixture only reads ``claims``)."""

    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def sub(self) -> str:
        return str(self.claims["sub"])


def user_from(id_token: str) -> TokenUser:
    return TokenUser(jwt.decode(id_token, options={"verify_signature": False}))


@pytest.fixture
def signed_up(api: Any) -> Callable[..., dict[str, Any]]:
    """Sign up through the API and return the 201 body."""

    def make(email: str = "ann@example.com", password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
        result = api("POST", "/auth/signup", {"email": email, "password": password, **extra})
        assert result.status == 201, result.body
        body: dict[str, Any] = result.body
        return body

    return make


@pytest.fixture
def logged_in(api: Any) -> Callable[..., TokenUser]:
    """Log in through the API and return the caller its ID token describes."""

    def make(email: str = "ann@example.com", password: str = PASSWORD) -> TokenUser:
        result = api("POST", "/auth/login", {"email": email, "password": password})
        assert result.status == 200, result.body
        return user_from(result.body["id_token"])

    return make


@pytest.fixture
def signed_in(
    signed_up: Callable[..., dict[str, Any]], logged_in: Callable[..., TokenUser]
) -> Callable[..., TokenUser]:
    """Sign up and log in through the API; return the caller."""

    def make(email: str = "ann@example.com", password: str = PASSWORD, **extra: Any) -> TokenUser:
        signed_up(email, password, **extra)
        return logged_in(email, password)

    return make
