"""GET /me and PUT /me against moto's Cognito, through the real handlers, as a caller with a real ID token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.shared.aws import client

SignedIn = Callable[..., Any]


def test_get_me_without_claims_is_401(api: Any) -> None:
    result = api("GET", "/me")

    assert result.status == 401
    assert result.body["error"]["code"] == "UNAUTHORIZED"


def test_get_me_returns_the_profile_of_the_signed_in_user(api: Any, signed_in: SignedIn) -> None:
    user = signed_in("ann@example.com", name="Ann")

    result = api("GET", "/me", user=user)

    assert result.status == 200
    body = result.body
    assert set(body) == {"user_id", "email", "name", "phone", "roles", "created_at"}
    assert body["user_id"] == user.sub
    assert body["email"] == "ann@example.com"
    assert body["name"] == "Ann"
    assert body["phone"] is None
    assert body["roles"] == ["customer"]
    created = datetime.fromisoformat(body["created_at"])
    assert created.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)


def test_get_me_lists_every_role_of_the_token_sorted(
    api: Any, aws: Any, signed_up: Callable[..., Any], logged_in: SignedIn
) -> None:
    signed_up("ann@example.com")
    idp = client("cognito-idp")
    for group in ("fulfilment", "catalog"):
        idp.admin_add_user_to_group(UserPoolId=aws.user_pool_id, Username="ann@example.com", GroupName=group)

    result = api("GET", "/me", user=logged_in("ann@example.com"))

    assert result.body["roles"] == ["catalog", "customer", "fulfilment"]


def test_get_me_for_a_token_whose_account_is_gone_is_404(api: Any, aws: Any, signed_in: SignedIn) -> None:
    user = signed_in("ann@example.com")
    client("cognito-idp").admin_delete_user(UserPoolId=aws.user_pool_id, Username=user.sub)

    result = api("GET", "/me", user=user)

    assert result.status == 404
    assert result.body["error"]["code"] == "USER_NOT_FOUND"


def test_put_me_updates_name_and_phone_and_returns_the_new_profile(api: Any, signed_in: SignedIn) -> None:
    user = signed_in("ann@example.com", name="Ann")

    result = api("PUT", "/me", {"name": "Ann Lee", "phone": "+8613812345678"}, user=user)

    assert result.status == 200
    assert result.body["name"] == "Ann Lee"
    assert result.body["phone"] == "+8613812345678"
    assert result.body["email"] == "ann@example.com"
    assert api("GET", "/me", user=user).body == result.body


def test_put_me_with_only_a_phone_keeps_the_name(api: Any, signed_in: SignedIn) -> None:
    user = signed_in("ann@example.com", name="Ann")

    result = api("PUT", "/me", {"phone": "+8613812345678"}, user=user)

    assert result.status == 200
    assert (result.body["name"], result.body["phone"]) == ("Ann", "+8613812345678")


def test_put_me_without_claims_is_401(api: Any) -> None:
    assert api("PUT", "/me", {"name": "Ann"}).status == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        None,
        {"email": "mallory@example.com"},
        {"name": "Ann", "email": "mallory@example.com"},
        {"roles": ["admin"]},
        {"user_id": "someone-else"},
        {"name": None},
        {"name": ""},
        {"name": "x" * 101},
        {"name": "x" * 10_000},
        {"name": "<img src=x onerror=alert(1)>"},
        {"name": "Ann\u0000"},
        {"name": 42},
        {"phone": "13812345678"},
        {"phone": "+86 138 1234 5678"},
        {"phone": 8613812345678},
        {"phone": "+" + "1" * 10_000},
        [],
    ],
    ids=[
        "empty-object",
        "no-body",
        "email",
        "name-and-email",
        "roles",
        "user-id",
        "null-name",
        "empty-name",
        "101-char-name",
        "10kb-name",
        "markup-name",
        "control-char-name",
        "name-not-a-string",
        "phone-without-plus",
        "phone-with-spaces",
        "phone-not-a-string",
        "10kb-phone",
        "array-body",
    ],
)
def test_put_me_with_an_invalid_body_is_422_and_changes_nothing(api: Any, signed_in: SignedIn, body: Any) -> None:
    user = signed_in("ann@example.com", name="Ann")

    result = api("PUT", "/me", body, user=user)

    assert result.status == 422, result.body
    assert result.body["error"]["code"] == "VALIDATION_FAILED"
    after = api("GET", "/me", user=user).body
    assert (after["name"], after["phone"], after["email"]) == ("Ann", None, "ann@example.com")


def test_put_me_with_malformed_json_is_400(api: Any, signed_in: SignedIn) -> None:
    user = signed_in("ann@example.com")

    result = api("PUT", "/me", raw_body='{"name": "Ann"', user=user)

    assert result.status == 400
    assert result.body["error"]["code"] == "MALFORMED_REQUEST"
