"""The caller's profile through the service: who the caller is, what it shows, what may be changed and how."""

from __future__ import annotations

import pytest

from functions.accounts.domain import Caller
from functions.accounts.service import AccountsService, caller_of
from functions.shared.auth import AuthContext
from functions.shared.errors import NotFound, Unauthorized, Unprocessable
from tests.unit.accounts.fake_identity import FakeIdentityProvider, FakeUser

PASSWORD = "Sunny-Day-42"


@pytest.fixture
def ann(idp: FakeIdentityProvider) -> FakeUser:
    return idp.add("ann@example.com", PASSWORD, name="Ann", groups=("customer",))


def as_caller(user: FakeUser, *roles: str) -> Caller:
    return Caller(user_id=user.sub, username=user.sub, roles=frozenset(roles or user.groups))


def test_profile_shows_the_stored_attributes_and_the_token_roles_sorted(
    accounts: AccountsService, ann: FakeUser
) -> None:
    profile = accounts.profile(as_caller(ann, "customer", "catalog", "admin"))

    assert profile.user_id == ann.sub
    assert profile.email == "ann@example.com"
    assert profile.name == "Ann"
    assert profile.phone is None
    assert profile.roles == ("admin", "catalog", "customer")
    assert profile.created_at == ann.created_at


def test_profile_of_an_account_that_no_longer_exists_is_not_found(accounts: AccountsService) -> None:
    gone = Caller(user_id="sub-1", username="sub-1", roles=frozenset())

    with pytest.raises(NotFound):
        accounts.profile(gone)


def test_updating_the_phone_keeps_the_name(accounts: AccountsService, ann: FakeUser) -> None:
    profile = accounts.update_profile(as_caller(ann), phone="+8613812345678")

    assert profile.phone == "+8613812345678"
    assert profile.name == "Ann"
    assert ann.phone == "+8613812345678"


def test_updating_the_name_trims_it(accounts: AccountsService, ann: FakeUser) -> None:
    profile = accounts.update_profile(as_caller(ann), name="  Ann Lee ")

    assert profile.name == "Ann Lee"


def test_an_update_with_nothing_to_change_is_unprocessable(
    accounts: AccountsService, ann: FakeUser, idp: FakeIdentityProvider
) -> None:
    with pytest.raises(Unprocessable):
        accounts.update_profile(as_caller(ann))

    assert "update_attributes" not in idp.calls


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "<script>alert(1)</script>"}, "name"),
        ({"name": "Ann>"}, "name"),
        ({"name": "Ann\x07"}, "name"),
        ({"name": "Ann\nLee"}, "name"),
        ({"name": "Ann\u202eeeL"}, "name"),
        ({"name": "Ann\ud800"}, "name"),
        ({"phone": "13812345678"}, "phone"),
        ({"phone": "+86 138 1234 5678"}, "phone"),
        ({"phone": "+0123456789"}, "phone"),
        ({"phone": "+1234567890123456"}, "phone"),
        ({"phone": "+86138abc5678"}, "phone"),
    ],
)
def test_invalid_profile_changes_are_refused_and_nothing_is_written(
    accounts: AccountsService, ann: FakeUser, idp: FakeIdentityProvider, changes: dict[str, str], field: str
) -> None:
    with pytest.raises(Unprocessable) as caught:
        accounts.update_profile(as_caller(ann), **changes)

    assert caught.value.details[0]["field"] == field
    assert "update_attributes" not in idp.calls
    assert (ann.name, ann.phone) == ("Ann", None)


def test_a_name_of_exactly_one_hundred_characters_in_any_script_is_accepted(
    accounts: AccountsService, ann: FakeUser
) -> None:
    name = "李" * 100

    assert accounts.update_profile(as_caller(ann), name=name).name == name


def test_the_caller_is_addressed_by_the_cognito_username_claim() -> None:
    auth = AuthContext(
        user_id="the-sub", roles=frozenset({"customer"}), claims={"sub": "the-sub", "cognito:username": "the-name"}
    )

    assert caller_of(auth) == Caller(user_id="the-sub", username="the-name", roles=frozenset({"customer"}))


def test_an_access_token_caller_is_addressed_by_its_username_claim() -> None:
    auth = AuthContext(user_id="the-sub", claims={"sub": "the-sub", "username": "the-name"})

    assert caller_of(auth).username == "the-name"


def test_without_a_username_claim_the_caller_is_addressed_by_sub() -> None:
    assert caller_of(AuthContext(user_id="the-sub", claims={"sub": "the-sub"})).username == "the-sub"


def test_an_anonymous_caller_has_no_profile() -> None:
    with pytest.raises(Unauthorized):
        caller_of(AuthContext())
