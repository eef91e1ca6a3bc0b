"""Login and token refresh through the service: one answer for every failed login, refresh tokens that expire."""

from __future__ import annotations

import pytest

from functions.accounts.domain import UserStatus
from functions.accounts.service import INVALID_CREDENTIALS, AccountsService
from functions.shared.errors import Unauthorized
from tests.unit.accounts.fake_identity import FakeIdentityProvider

PASSWORD = "Sunny-Day-42"


def test_login_returns_id_access_and_refresh_tokens(accounts: AccountsService, idp: FakeIdentityProvider) -> None:
    user = idp.add("ann@example.com", PASSWORD)

    tokens = accounts.log_in("ann@example.com", PASSWORD)

    assert tokens.id_token == f"id-{user.sub}"
    assert tokens.access_token == f"access-{user.sub}"
    assert tokens.refresh_token in idp.refresh_tokens
    assert tokens.expires_in == 3600


def test_login_accepts_the_email_in_any_case_and_with_surrounding_spaces(
    accounts: AccountsService, idp: FakeIdentityProvider
) -> None:
    idp.add("ann@example.com", PASSWORD)

    assert accounts.log_in("  ANN@Example.com ", PASSWORD).refresh_token


def _refusal(accounts: AccountsService, email: str, password: str) -> tuple[int, str, str]:
    with pytest.raises(Unauthorized) as caught:
        accounts.log_in(email, password)
    return caught.value.status, caught.value.code, caught.value.message


def test_every_failed_login_gets_the_same_answer(accounts: AccountsService, idp: FakeIdentityProvider) -> None:
    idp.add("ann@example.com", PASSWORD)
    idp.add("off@example.com", PASSWORD, enabled=False)
    idp.add("new@example.com", PASSWORD, status=UserStatus.UNCONFIRMED)

    answers = {
        "wrong password": _refusal(accounts, "ann@example.com", "Wrong-Pass-1"),
        "unknown user": _refusal(accounts, "nobody@example.com", PASSWORD),
        "disabled user": _refusal(accounts, "off@example.com", PASSWORD),
        "unconfirmed user": _refusal(accounts, "new@example.com", PASSWORD),
        "not even an email": _refusal(accounts, "ann @example.com", PASSWORD),
    }

    assert set(answers.values()) == {(401, "INVALID_CREDENTIALS", INVALID_CREDENTIALS)}


def test_login_with_an_email_cognito_could_never_hold_is_refused_without_asking_it(
    accounts: AccountsService, idp: FakeIdentityProvider
) -> None:
    for email in ("ann @example.com", "ann\x00@example.com", "a" * 129):
        _refusal(accounts, email, PASSWORD)

    assert "authenticate" not in idp.calls


def test_login_to_an_account_that_must_change_its_password_names_the_step_only_with_the_right_password(
    accounts: AccountsService, idp: FakeIdentityProvider
) -> None:
    idp.add("staff@example.com", PASSWORD, status=UserStatus.OTHER)

    with pytest.raises(Unauthorized) as caught:
        accounts.log_in("staff@example.com", PASSWORD)
    assert caught.value.code == "CHALLENGE_REQUIRED"
    assert caught.value.details == [{"challenge": "NEW_PASSWORD_REQUIRED"}]

    assert _refusal(accounts, "staff@example.com", "Wrong-Pass-1")[1] == "INVALID_CREDENTIALS"


def test_refresh_returns_new_id_and_access_tokens(accounts: AccountsService, idp: FakeIdentityProvider) -> None:
    user = idp.add("ann@example.com", PASSWORD)
    refresh_token = accounts.log_in("ann@example.com", PASSWORD).refresh_token
    assert refresh_token is not None

    tokens = accounts.refresh(refresh_token)

    assert tokens.id_token == f"id-{user.sub}"
    assert tokens.refresh_token is None


def test_refresh_with_an_unknown_token_is_unauthorized(accounts: AccountsService) -> None:
    with pytest.raises(Unauthorized) as caught:
        accounts.refresh("not-a-token")

    assert caught.value.code == "INVALID_REFRESH_TOKEN"


def test_refresh_after_signing_out_everywhere_is_unauthorized(
    accounts: AccountsService, idp: FakeIdentityProvider
) -> None:
    idp.add("ann@example.com", PASSWORD)
    refresh_token = accounts.log_in("ann@example.com", PASSWORD).refresh_token
    assert refresh_token is not None
    idp.sign_out_everywhere("ann@example.com")

    with pytest.raises(Unauthorized):
        accounts.refresh(refresh_token)
