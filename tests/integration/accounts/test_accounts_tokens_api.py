"""POST /auth/login and POST /auth/refresh against moto's Cognito, through the real handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import pytest
from botocore.exceptions import ClientError

from functions.shared.aws import client

PASSWORD = "Sunny-Day-42"


def test_login_returns_cognito_tokens_as_bearer(api: Any, signed_up: Callable[..., Any]) -> None:
    signed_up("ann@example.com")

    result = api("POST", "/auth/login", {"email": "ann@example.com", "password": PASSWORD})

    assert result.status == 200
    assert set(result.body) == {"id_token", "access_token", "refresh_token", "expires_in", "token_type"}
    assert result.body["token_type"] == "Bearer"
    assert result.body["expires_in"] == 3600
    id_claims = jwt.decode(result.body["id_token"], options={"verify_signature": False})
    access_claims = jwt.decode(result.body["access_token"], options={"verify_signature": False})
    assert (id_claims["token_use"], id_claims["email"]) == ("id", "ann@example.com")
    assert access_claims["token_use"] == "access"


def test_login_accepts_the_email_in_another_case(api: Any, signed_up: Callable[..., Any]) -> None:
    signed_up("ann@example.com")

    assert api("POST", "/auth/login", {"email": " Ann@EXAMPLE.com", "password": PASSWORD}).status == 200


def test_login_with_wrong_password_is_401_without_revealing_which_part_was_wrong(
    api: Any, aws: Any, signed_up: Callable[..., Any]
) -> None:
    signed_up("ann@example.com")
    signed_up("off@example.com")
    idp = client("cognito-idp")
    idp.admin_disable_user(UserPoolId=aws.user_pool_id, Username="off@example.com")
    idp.sign_up(ClientId=aws.user_pool_client_id, Username="new@example.com", Password=PASSWORD)  # unconfirmed

    attempts = {
        "wrong password": {"email": "ann@example.com", "password": "Wrong-Pass-1"},
        "unknown user": {"email": "nobody@example.com", "password": PASSWORD},
        "disabled user": {"email": "off@example.com", "password": PASSWORD},
        "unconfirmed user": {"email": "new@example.com", "password": PASSWORD},
        "impossible username": {"email": "ann @example.com", "password": PASSWORD},
    }
    answers = {name: api("POST", "/auth/login", body) for name, body in attempts.items()}

    assert {name: r.status for name, r in answers.items()} == dict.fromkeys(attempts, 401)
    bodies = [r.body for r in answers.values()]
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0]["error"]["code"] == "INVALID_CREDENTIALS"


def test_login_while_cognito_is_throttling_is_429(
    api: Any, signed_up: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_up("ann@example.com")

    def throttled(**kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "InitiateAuth")

    monkeypatch.setattr(client("cognito-idp"), "initiate_auth", throttled)

    result = api("POST", "/auth/login", {"email": "ann@example.com", "password": PASSWORD})

    assert result.status == 429
    assert result.body["error"]["code"] == "THROTTLED"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "ann@example.com"},
        {"password": PASSWORD},
        {"email": "", "password": PASSWORD},
        {"email": "ann@example.com", "password": ""},
        {"email": ["ann@example.com"], "password": PASSWORD},
        {"email": "ann@example.com", "password": None},
        {"email": "ann@example.com", "password": PASSWORD, "remember_me": True},
        {"email": "x" * 10_000, "password": PASSWORD},
        {"email": "ann@example.com", "password": "x" * 10_000},
        None,
    ],
    ids=[
        "no-password",
        "no-email",
        "empty-email",
        "empty-password",
        "email-not-a-string",
        "null-password",
        "unknown-field",
        "10kb-email",
        "10kb-password",
        "no-body",
    ],
)
def test_login_with_an_invalid_body_is_422(api: Any, body: Any) -> None:
    result = api("POST", "/auth/login", body)

    assert result.status == 422, result.body
    assert result.body["error"]["code"] == "VALIDATION_FAILED"


def test_login_with_malformed_json_is_400(api: Any) -> None:
    result = api("POST", "/auth/login", raw_body="{email: ann@example.com}")

    assert result.status == 400


def test_refresh_returns_new_id_and_access_tokens(api: Any, signed_up: Callable[..., Any]) -> None:
    signed_up("ann@example.com")
    login = api("POST", "/auth/login", {"email": "ann@example.com", "password": PASSWORD}).body

    result = api("POST", "/auth/refresh", {"refresh_token": login["refresh_token"]})

    assert result.status == 200
    assert set(result.body) == {"id_token", "access_token", "expires_in", "token_type"}
    assert result.body["token_type"] == "Bearer"
    assert result.body["id_token"] != login["id_token"]


def test_refresh_with_an_invalid_token_is_401(api: Any) -> None:
    result = api("POST", "/auth/refresh", {"refresh_token": "not-a-refresh-token"})

    assert result.status == 401
    assert result.body["error"]["code"] == "INVALID_REFRESH_TOKEN"


def test_refresh_after_signing_out_everywhere_is_401(api: Any, signed_up: Callable[..., Any]) -> None:
    signed_up("ann@example.com")
    login = api("POST", "/auth/login", {"email": "ann@example.com", "password": PASSWORD}).body
    client("cognito-idp").global_sign_out(AccessToken=login["access_token"])

    result = api("POST", "/auth/refresh", {"refresh_token": login["refresh_token"]})

    assert result.status == 401
    assert result.body["error"]["code"] == "INVALID_REFRESH_TOKEN"


@pytest.mark.parametrize(
    "body",
    [{}, {"refresh_token": ""}, {"refresh_token": 1}, {"refresh_token": "x" * 10_000}, {"token": "abc"}, None],
    ids=["empty-object", "empty-token", "token-not-a-string", "10kb-token", "unknown-field", "no-body"],
)
def test_refresh_with_an_invalid_body_is_422(api: Any, body: Any) -> None:
    result = api("POST", "/auth/refresh", body)

    assert result.status == 422
    assert result.body["error"]["code"] == "VALIDATION_FAILED"


def test_refresh_with_malformed_json_is_400(api: Any) -> None:
    assert api("POST", "/auth/refresh", raw_body='{"refresh_token": "abc"').status == 400
