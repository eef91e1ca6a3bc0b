"""Staff and roles through the service, over the in-memory identity provider: searching users, setting roles
exactly, disabling, and the rules an admin is held to (never demote or disable themselves)."""

from __future__ import annotations

import pytest

from functions.accounts.domain import Caller
from functions.accounts.identity import UserNotFound
from functions.accounts.service import AccountsService
from functions.shared.errors import BadRequest, Conflict, NotFound, Unauthorized, Unprocessable
from tests.unit.accounts.fake_identity import FakeIdentityProvider, FakeUser

PASSWORD = "Sunny-Day-42"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(autouse=True)
def signing_key(cursor_key: None) -> None:
    return cursor_key


@pytest.fixture
def admin(idp: FakeIdentityProvider) -> FakeUser:
    return idp.add("boss@example.com", PASSWORD, groups=("customer", "admin"))


@pytest.fixture
def ann(idp: FakeIdentityProvider) -> FakeUser:
    return idp.add("ann@example.com", PASSWORD, name="Ann", groups=("customer", "catalog"))


def caller(user: FakeUser) -> Caller:
    return Caller(user_id=user.sub, username=user.sub, roles=frozenset(user.groups))


# --- setting roles ------------------------------------------------------------------------------------------------


def test_setting_roles_makes_the_staff_roles_exactly_those_removing_before_adding(
    accounts: AccountsService, idp: FakeIdentityProvider, admin: FakeUser, ann: FakeUser
) -> None:
    view = accounts.set_roles(caller(admin), ann.sub, ["fulfilment", "analyst"])

    assert ann.groups == {"customer", "fulfilment", "analyst"}
    assert view.roles == ("analyst", "customer", "fulfilment")
    assert (view.user_id, view.email, view.name, view.enabled) == (ann.sub, "ann@example.com", "Ann", True)
    changes = [c for c in idp.calls if c in ("remove_from_group", "add_to_group")]
    assert changes == ["remove_from_group", "add_to_group", "add_to_group"]


def test_customer_and_groups_the_platform_does_not_define_are_never_touched(
    accounts: AccountsService, idp: FakeIdentityProvider, admin: FakeUser, ann: FakeUser
) -> None:
    ann.groups.add("beta-testers")

    accounts.set_roles(caller(admin), ann.sub, [])
    assert ann.groups == {"customer", "beta-testers"}

    accounts.set_roles(caller(admin), ann.sub, ["customer", "catalog", "catalog"])
    assert ann.groups == {"customer", "beta-testers", "catalog"}


def test_setting_the_roles_a_user_already_has_calls_nothing_that_writes(
    accounts: AccountsService, idp: FakeIdentityProvider, admin: FakeUser, ann: FakeUser
) -> None:
    accounts.set_roles(caller(admin), ann.sub, ["catalog"])

    assert not {"add_to_group", "remove_from_group"} & set(idp.calls)


def test_an_unknown_role_is_unprocessable_and_changes_nothing(
    accounts: AccountsService, idp: FakeIdentityProvider, admin: FakeUser, ann: FakeUser
) -> None:
    with pytest.raises(Unprocessable) as caught:
        accounts.set_roles(caller(admin), ann.sub, ["catalog", "owner"])

    assert "owner" in caught.value.message
    assert idp.calls == []


def test_an_admin_cannot_remove_their_own_admin_role(
    accounts: AccountsService, idp: FakeIdentityProvider, admin: FakeUser
) -> None:
    with pytest.raises(Conflict) as caught:
        accounts.set_roles(caller(admin), admin.sub, ["catalog"])

    assert caught.value.code == "SELF_DEMOTION"
    assert "admin" in admin.groups
    assert idp.calls == []


def test_an_admin_may_change_their_other_roles_while_keeping_admin(accounts: AccountsService, admin: FakeUser) -> None:
    view = accounts.set_roles(caller(admin), admin.sub, ["admin", "analyst"])

    assert view.roles == ("admin", "analyst", "customer")


def test_an_admin_may_remove_another_admins_admin_role(
    accounts: AccountsService, idp: FakeIdentityProvider, admin: FakeUser
) -> None:
    other = idp.add("second@example.com", PASSWORD, groups=("customer", "admin"))

    accounts.set_roles(caller(admin), other.sub, [])

    assert other.groups == {"customer"}


def test_roles_and_disabling_of_an_unknown_user_are_not_found(accounts: AccountsService, admin: FakeUser) -> None:
    with pytest.raises(NotFound) as set_roles:
        accounts.set_roles(caller(admin), UNKNOWN_ID, ["catalog"])
    with pytest.raises(NotFound) as disable:
        accounts.disable_user(caller(admin), UNKNOWN_ID)

    assert set_roles.value.code == disable.value.code == "USER_NOT_FOUND"


def test_a_user_deleted_half_way_through_a_role_change_is_not_found(
    accounts: AccountsService, idp: FakeIdentityProvider, admin: FakeUser, ann: FakeUser
) -> None:
    idp.fail_next("remove_from_group", UserNotFound("User does not exist."))

    with pytest.raises(NotFound):
        accounts.set_roles(caller(admin), ann.sub, [])


def test_a_user_id_that_is_not_a_sub_is_refused_before_any_call(
    accounts: AccountsService, idp: FakeIdentityProvider, admin: FakeUser
) -> None:
    for user_id in ("ann@example.com", "not-a-uuid", "ABCDEF00-0000-4000-8000-000000000000", UNKNOWN_ID + "0", ""):
        with pytest.raises(Unprocessable):
            accounts.set_roles(caller(admin), user_id, ["catalog"])
        with pytest.raises(Unprocessable):
            accounts.disable_user(caller(admin), user_id)

    assert idp.calls == []


# --- disabling ----------------------------------------------------------------------------------------------------


def test_a_disabled_user_cannot_log_in_or_refresh_and_keeps_their_roles(
    accounts: AccountsService, idp: FakeIdentityProvider, admin: FakeUser, ann: FakeUser
) -> None:
    refresh_token = accounts.log_in("ann@example.com", PASSWORD).refresh_token
    assert refresh_token is not None

    view = accounts.disable_user(caller(admin), ann.sub)

    assert view.enabled is False
    assert view.roles == ("catalog", "customer")
    assert idp.refresh_tokens == {}
    with pytest.raises(Unauthorized):
        accounts.refresh(refresh_token)
    with pytest.raises(Unauthorized):
        accounts.log_in("ann@example.com", PASSWORD)


def test_disabling_a_disabled_user_gives_the_same_answer_again(
    accounts: AccountsService, idp: FakeIdentityProvider, admin: FakeUser, ann: FakeUser
) -> None:
    first = accounts.disable_user(caller(admin), ann.sub)
    idp.calls.clear()

    again = accounts.disable_user(caller(admin), ann.sub)

    assert again == first
    assert "revoke_sessions" in idp.calls  # a disable interrupted before the sign-out is finished by a retry


def test_an_admin_cannot_disable_themselves(
    accounts: AccountsService, idp: FakeIdentityProvider, admin: FakeUser
) -> None:
    with pytest.raises(Conflict) as caught:
        accounts.disable_user(caller(admin), admin.sub)

    assert caught.value.code == "SELF_DISABLE"
    assert admin.enabled
    assert idp.calls == []


# --- searching ----------------------------------------------------------------------------------------------------


def test_searching_by_email_is_a_prefix_match_in_any_case_with_each_users_groups(
    accounts: AccountsService, idp: FakeIdentityProvider, ann: FakeUser
) -> None:
    idp.add("annette@example.com", PASSWORD, groups=("customer",))
    idp.add("bob@example.com", PASSWORD, groups=("customer",))

    page = accounts.list_users(" ANN", limit=20)

    assert [(u.email, u.roles) for u in page.items] == [
        ("ann@example.com", ("catalog", "customer")),
        ("annette@example.com", ("customer",)),
    ]
    assert page.next_cursor is None


def test_paging_with_the_cursor_reaches_every_match_once(accounts: AccountsService, idp: FakeIdentityProvider) -> None:
    made = [idp.add(f"user{n}@example.com", PASSWORD).email for n in range(5)]
    idp.add("other@example.com", PASSWORD)

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(3):
        page = accounts.list_users("user", limit=2, page=cursor)
        seen += [u.email for u in page.items]
        cursor = page.next_cursor
    assert seen == made
    assert cursor is None


def test_a_cursor_is_refused_for_another_search_or_once_the_provider_forgot_it(
    accounts: AccountsService, idp: FakeIdentityProvider
) -> None:
    for n in range(3):
        idp.add(f"user{n}@example.com", PASSWORD)
    cursor = accounts.list_users("user", limit=1).next_cursor

    with pytest.raises(BadRequest):
        accounts.list_users("use", limit=1, page=cursor)
    idp.expire_page_tokens()
    with pytest.raises(BadRequest) as caught:
        accounts.list_users("user", limit=1, page=cursor)
    assert caught.value.code == "INVALID_CURSOR"


def test_a_user_deleted_while_the_page_is_read_is_left_out(
    accounts: AccountsService, idp: FakeIdentityProvider, ann: FakeUser
) -> None:
    idp.add("annette@example.com", PASSWORD)
    idp.fail_next("groups_of", UserNotFound("User does not exist."))

    page = accounts.list_users("ann", limit=20)

    assert [u.email for u in page.items] == ["annette@example.com"]


def test_an_email_search_with_characters_no_address_holds_is_unprocessable(
    accounts: AccountsService, idp: FakeIdentityProvider
) -> None:
    for email in ('ann"', "ann\\", "<b>ann", "ann smith", "ann\x00", "ann\u202e", "ánn", "a" * 129, " "):
        with pytest.raises(Unprocessable):
            accounts.list_users(email)

    assert idp.calls == []


def test_a_page_larger_than_100_is_unprocessable(accounts: AccountsService) -> None:
    with pytest.raises(Unprocessable):
        accounts.list_users(None, limit=101)
