"""Sign-up through the service: validation, duplicates, the password policy, and finishing an interrupted sign-up."""

from __future__ import annotations

import pytest

from functions.accounts.domain import CUSTOMER_GROUP, PasswordPolicy, UserStatus
from functions.accounts.identity import UserNotFound
from functions.accounts.service import AccountsService
from functions.shared.errors import Conflict, Throttled, Unprocessable
from tests.unit.accounts.fake_identity import FakeIdentityProvider

PASSWORD = "Sunny-Day-42"


def test_signup_creates_a_confirmed_customer(accounts: AccountsService, idp: FakeIdentityProvider) -> None:
    result = accounts.sign_up("ann@example.com", PASSWORD, "Ann")

    user = idp.by_email("ann@example.com")
    assert result.user_id == user.sub
    assert result.email == "ann@example.com"
    assert user.status is UserStatus.CONFIRMED
    assert user.groups == {CUSTOMER_GROUP}
    assert user.name == "Ann"


def test_signup_trims_and_lower_cases_the_email(accounts: AccountsService, idp: FakeIdentityProvider) -> None:
    result = accounts.sign_up("  Ann@Example.COM ", PASSWORD)

    assert result.email == "ann@example.com"
    assert idp.by_email("ann@example.com").sub == result.user_id


def test_signup_with_a_taken_email_is_a_conflict(accounts: AccountsService) -> None:
    accounts.sign_up("ann@example.com", PASSWORD)

    with pytest.raises(Conflict) as caught:
        accounts.sign_up("ANN@example.com", "Other-Pass-9")

    assert caught.value.code == "EMAIL_TAKEN"


def test_signing_up_again_with_the_same_password_is_a_conflict_once_the_first_completed(
    accounts: AccountsService, idp: FakeIdentityProvider
) -> None:
    accounts.sign_up("ann@example.com", PASSWORD)
    calls_before = len(idp.calls)

    with pytest.raises(Conflict):
        accounts.sign_up("ann@example.com", PASSWORD)

    # A complete account is recognised without a login attempt on it.
    assert "authenticate" not in idp.calls[calls_before:]


def test_signup_with_a_weak_password_is_refused_with_the_policy_before_reaching_the_provider(
    accounts: AccountsService, idp: FakeIdentityProvider
) -> None:
    with pytest.raises(Unprocessable) as caught:
        accounts.sign_up("ann@example.com", "short1A")

    assert caught.value.code == "WEAK_PASSWORD"
    assert caught.value.message == (
        "password must be at least 8 characters with an upper-case letter, a lower-case letter and a digit"
    )
    assert {"field": "password", "issue": "shorter than 8 characters"} in caught.value.details
    assert "register" not in idp.calls


@pytest.mark.parametrize(
    ("password", "issue"),
    [
        ("alllowercase1", "no upper-case letter"),
        ("ALLUPPERCASE1", "no lower-case letter"),
        ("NoDigitsHere", "no digit"),
        (" Padded-Pass1 ", "leading or trailing whitespace"),
    ],
)
def test_each_broken_password_rule_is_named(accounts: AccountsService, password: str, issue: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        accounts.sign_up("ann@example.com", password)

    assert caught.value.code == "WEAK_PASSWORD"
    assert [d["issue"] for d in caught.value.details] == [issue]


def test_a_password_only_the_provider_refuses_is_still_a_weak_password_not_a_server_error() -> None:
    idp = FakeIdentityProvider(policy=PasswordPolicy(minimum_length=20))
    accounts = AccountsService(idp)

    with pytest.raises(Unprocessable) as caught:
        accounts.sign_up("ann@example.com", PASSWORD)

    assert caught.value.code == "WEAK_PASSWORD"
    assert idp.users == {}


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "ann@", "@example.com", "ann@example", "ann @example.com", "ann@exa_mple.com", "a..b@example.com"],
)
def test_signup_with_a_malformed_email_is_unprocessable(
    accounts: AccountsService, idp: FakeIdentityProvider, email: str
) -> None:
    with pytest.raises(Unprocessable) as caught:
        accounts.sign_up(email, PASSWORD)

    assert caught.value.details[0]["field"] == "email"
    assert idp.users == {}


def test_signup_with_an_email_longer_than_a_cognito_username_is_unprocessable(accounts: AccountsService) -> None:
    with pytest.raises(Unprocessable):
        accounts.sign_up("a" * 120 + "@example.com", PASSWORD)


def test_signup_with_markup_in_the_name_is_unprocessable(accounts: AccountsService) -> None:
    with pytest.raises(Unprocessable) as caught:
        accounts.sign_up("ann@example.com", PASSWORD, "<b>Ann</b>")

    assert caught.value.details[0]["field"] == "name"


@pytest.mark.parametrize("failing_step", ["confirm", "add_to_group"])
def test_retrying_a_signup_that_failed_half_way_finishes_it(
    accounts: AccountsService, idp: FakeIdentityProvider, failing_step: str
) -> None:
    idp.fail_next(failing_step, RuntimeError("Cognito hiccup"))
    with pytest.raises(RuntimeError):
        accounts.sign_up("ann@example.com", PASSWORD)

    result = accounts.sign_up("ann@example.com", PASSWORD)

    user = idp.by_email("ann@example.com")
    assert result.user_id == user.sub
    assert user.status is UserStatus.CONFIRMED
    assert user.groups == {CUSTOMER_GROUP}


def test_a_retry_with_another_password_cannot_take_over_an_interrupted_signup(
    accounts: AccountsService, idp: FakeIdentityProvider
) -> None:
    idp.fail_next("confirm", RuntimeError("Cognito hiccup"))
    with pytest.raises(RuntimeError):
        accounts.sign_up("ann@example.com", PASSWORD)

    with pytest.raises(Conflict) as caught:
        accounts.sign_up("ann@example.com", "Mallory-Pass-1")

    assert caught.value.code == "EMAIL_TAKEN"
    user = idp.by_email("ann@example.com")
    assert user.password == PASSWORD
    assert CUSTOMER_GROUP not in user.groups
    # The rightful owner can still finish it.
    assert accounts.sign_up("ann@example.com", PASSWORD).user_id == user.sub
    assert user.groups == {CUSTOMER_GROUP}


def test_signup_never_takes_over_an_account_an_administrator_created(
    accounts: AccountsService, idp: FakeIdentityProvider
) -> None:
    staff = idp.add("staff@example.com", PASSWORD, status=UserStatus.OTHER, groups=("catalog",))

    with pytest.raises(Conflict):
        accounts.sign_up("staff@example.com", PASSWORD)

    assert staff.groups == {"catalog"}
    assert staff.status is UserStatus.OTHER


def test_a_confirmed_account_without_the_customer_group_is_finished_only_with_its_password(
    accounts: AccountsService, idp: FakeIdentityProvider
) -> None:
    user = idp.add("ann@example.com", PASSWORD, status=UserStatus.CONFIRMED)

    with pytest.raises(Conflict):
        accounts.sign_up("ann@example.com", "Wrong-Pass-1")
    assert user.groups == set()

    accounts.sign_up("ann@example.com", PASSWORD)
    assert user.groups == {CUSTOMER_GROUP}


def test_a_user_deleted_between_the_duplicate_check_and_the_lookup_is_a_conflict(
    accounts: AccountsService, idp: FakeIdentityProvider
) -> None:
    idp.add("ann@example.com", PASSWORD)
    idp.fail_next("get_user", UserNotFound("User does not exist."))

    with pytest.raises(Conflict):
        accounts.sign_up("ann@example.com", PASSWORD)


def test_provider_throttling_reaches_the_caller_as_throttled(
    accounts: AccountsService, idp: FakeIdentityProvider
) -> None:
    idp.fail_next("register", Throttled("busy"))

    with pytest.raises(Throttled):
        accounts.sign_up("ann@example.com", PASSWORD)


@pytest.mark.parametrize(
    "email", ["ann.lee+shop@mail.example.co.uk", "o'brien@example.ie", "x@a-b.cn", "user_1@sub.example.com"]
)
def test_signup_accepts_ordinary_addresses(accounts: AccountsService, email: str) -> None:
    assert accounts.sign_up(email, PASSWORD).email == email
