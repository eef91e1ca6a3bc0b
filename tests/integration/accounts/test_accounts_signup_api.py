"""POST /auth/signup against moto's Cognito, through the real handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.accounts import bootstrap
from functions.accounts.cognito import CognitoIdentityProvider
from functions.accounts.domain import PasswordPolicy
from functions.accounts.service import AccountsService
from functions.shared.aws import client

PASSWORD = "Sunny-Day-42"


def _groups(aws: Any, username: str) -> list[str]:
    groups = client("cognito-idp").admin_list_groups_for_user(UserPoolId=aws.user_pool_id, Username=username)
    return sorted(g["GroupName"] for g in groups["Groups"])


def _status(aws: Any, username: str) -> str:
    return str(client("cognito-idp").admin_get_user(UserPoolId=aws.user_pool_id, Username=username)["UserStatus"])


def test_signup_is_201_with_the_user_id_and_a_confirmed_customer_who_can_log_in_at_once(api: Any, aws: Any) -> None:
    result = api("POST", "/auth/signup", {"email": "ann@example.com", "password": PASSWORD, "name": "Ann"})

    assert result.status == 201
    assert set(result.body) == {"user_id", "email"}
    assert result.body["email"] == "ann@example.com"
    user_id = result.body["user_id"]
    assert _status(aws, user_id) == "CONFIRMED"
    assert _groups(aws, user_id) == ["customer"]
    assert api("POST", "/auth/login", {"email": "ann@example.com", "password": PASSWORD}).status == 200


def test_signup_trims_and_lower_cases_the_email(api: Any, aws: Any) -> None:
    result = api("POST", "/auth/signup", {"email": "  Ann.Lee@Example.COM ", "password": PASSWORD})

    assert result.status == 201
    assert result.body["email"] == "ann.lee@example.com"
    assert api("POST", "/auth/login", {"email": "ann.lee@example.com", "password": PASSWORD}).status == 200


def test_signup_with_a_taken_email_is_409_email_taken(api: Any, signed_up: Callable[..., Any]) -> None:
    signed_up("ann@example.com")

    result = api("POST", "/auth/signup", {"email": "ANN@example.com", "password": "Other-Pass-9"})

    assert result.status == 409
    assert result.body["error"]["code"] == "EMAIL_TAKEN"


def test_signing_up_twice_with_the_same_body_is_409_once_the_first_succeeded(
    api: Any, signed_up: Callable[..., Any]
) -> None:
    signed_up("ann@example.com", PASSWORD)

    result = api("POST", "/auth/signup", {"email": "ann@example.com", "password": PASSWORD})

    assert result.status == 409


def test_signup_with_a_weak_password_is_422_weak_password_and_says_the_policy(api: Any) -> None:
    result = api("POST", "/auth/signup", {"email": "ann@example.com", "password": "weakpass1"})

    assert result.status == 422
    error = result.body["error"]
    assert error["code"] == "WEAK_PASSWORD"
    assert error["message"] == (
        "password must be at least 8 characters with an upper-case letter, a lower-case letter and a digit"
    )
    assert error["details"] == [{"field": "password", "issue": "no upper-case letter"}]


def test_a_password_that_only_the_user_pool_refuses_is_422_weak_password_not_500(api: Any, aws: Any) -> None:
    lax = PasswordPolicy(minimum_length=1, require_uppercase=False, require_lowercase=False, require_numbers=False)
    bootstrap.install(
        AccountsService(
            CognitoIdentityProvider(client("cognito-idp"), aws.user_pool_id, aws.user_pool_client_id), policy=lax
        )
    )

    result = api("POST", "/auth/signup", {"email": "ann@example.com", "password": "weakpass"})

    assert result.status == 422
    assert result.body["error"]["code"] == "WEAK_PASSWORD"


@pytest.mark.parametrize(
    "email", ["not-an-email", "ann@", "ann@example", "ann @example.com", "<ann>@example.com", "a" * 120 + "@x.com"]
)
def test_signup_with_a_malformed_email_is_422(api: Any, email: str) -> None:
    result = api("POST", "/auth/signup", {"email": email, "password": PASSWORD})

    assert result.status == 422
    assert result.body["error"]["code"] == "VALIDATION_FAILED"
    assert result.body["error"]["details"][0]["field"] == "email"


def test_signup_with_markup_in_the_name_is_422(api: Any) -> None:
    result = api("POST", "/auth/signup", {"email": "ann@example.com", "password": PASSWORD, "name": "<b>Ann</b>"})

    assert result.status == 422


@pytest.mark.parametrize(
    "body",
    [
        {"email": "ann@example.com"},
        {"password": PASSWORD},
        {"email": 42, "password": PASSWORD},
        {"email": "ann@example.com", "password": 12345678},
        {"email": "ann@example.com", "password": PASSWORD, "name": ["Ann"]},
        {"email": "ann@example.com", "password": PASSWORD, "role": "admin"},
        {"email": "ann@example.com", "password": PASSWORD, "groups": ["admin"]},
        {"email": "x" * 10_000 + "@example.com", "password": PASSWORD},
        {"email": "ann@example.com", "password": "Aa1" + "x" * 10_000},
        {"email": "ann@example.com", "password": PASSWORD, "name": "x" * 10_000},
        [],
        "ann@example.com",
    ],
    ids=[
        "no-password",
        "no-email",
        "email-not-a-string",
        "password-not-a-string",
        "name-not-a-string",
        "unknown-field-role",
        "unknown-field-groups",
        "10kb-email",
        "10kb-password",
        "10kb-name",
        "array-body",
        "string-body",
    ],
)
def test_signup_with_an_invalid_body_is_422_and_creates_nobody(api: Any, aws: Any, body: Any) -> None:
    result = api("POST", "/auth/signup", body)

    assert result.status == 422, result.body
    assert result.body["error"]["code"] == "VALIDATION_FAILED"
    assert client("cognito-idp").list_users(UserPoolId=aws.user_pool_id)["Users"] == []


def test_signup_without_a_body_is_422(api: Any) -> None:
    result = api("POST", "/auth/signup")

    assert result.status == 422
    assert result.body["error"]["code"] == "VALIDATION_FAILED"


def test_signup_with_malformed_json_is_400(api: Any) -> None:
    result = api("POST", "/auth/signup", raw_body='{"email": "ann@example.com", "password": ')

    assert result.status == 400
    assert result.body["error"]["code"] == "MALFORMED_REQUEST"


def test_a_validation_error_never_echoes_the_password(api: Any) -> None:
    secret = "Aa1" + "s" * 300

    result = api("POST", "/auth/signup", {"email": "ann@example.com", "password": secret})

    assert result.status == 422
    assert "sss" not in str(result.body)


@pytest.mark.parametrize("failing_call", ["admin_confirm_sign_up", "admin_add_user_to_group"])
def test_retrying_a_signup_that_failed_after_cognito_signup_finishes_the_account(
    api: Any, aws: Any, monkeypatch: pytest.MonkeyPatch, failing_call: str
) -> None:
    idp = client("cognito-idp")
    real = getattr(idp, failing_call)
    failures = [ClientError({"Error": {"Code": "InternalErrorException", "Message": "boom"}}, failing_call)]

    def flaky(**kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return real(**kwargs)

    monkeypatch.setattr(idp, failing_call, flaky)
    body = {"email": "ann@example.com", "password": PASSWORD}

    first = api("POST", "/auth/signup", body)
    retry = api("POST", "/auth/signup", body)

    assert first.status == 500
    assert retry.status == 201, retry.body
    user_id = retry.body["user_id"]
    assert _status(aws, user_id) == "CONFIRMED"
    assert _groups(aws, user_id) == ["customer"]
    assert api("POST", "/auth/login", body).status == 200


def test_a_stranger_cannot_finish_someone_elses_interrupted_signup(api: Any, aws: Any) -> None:
    idp = client("cognito-idp")
    user_id = idp.sign_up(ClientId=aws.user_pool_client_id, Username="ann@example.com", Password=PASSWORD)["UserSub"]

    result = api("POST", "/auth/signup", {"email": "ann@example.com", "password": "Mallory-Pass-1"})

    assert result.status == 409
    assert result.body["error"]["code"] == "EMAIL_TAKEN"
    assert _groups(aws, user_id) == []
    assert api("POST", "/auth/login", {"email": "ann@example.com", "password": "Mallory-Pass-1"}).status == 401
    # The one who started it still can.
    assert api("POST", "/auth/signup", {"email": "ann@example.com", "password": PASSWORD}).status == 201
    assert _groups(aws, user_id) == ["customer"]


def test_the_local_user_pool_enforces_the_accounts_password_policy(aws) -> None:
    import boto3

    from functions.accounts.domain import PASSWORD_POLICY

    pool = boto3.client("cognito-idp").describe_user_pool(UserPoolId=aws.user_pool_id)["UserPool"]
    policy = pool["Policies"]["PasswordPolicy"]
    assert {k: policy[k] for k in PASSWORD_POLICY.as_cognito()} == PASSWORD_POLICY.as_cognito()
