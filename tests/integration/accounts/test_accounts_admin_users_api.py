"""Staff and roles over the API against moto's Cognito: GET /admin/users, PUT /admin/users/{user_id}/roles and
POST /admin/users/{user_id}/disable, called by an admin whose ID token is a real one from the pool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from functions.shared.aws import client
from tests.conftest import CATALOG_STAFF, SHOPPER
from tests.integration.accounts.conftest import PASSWORD, TokenUser

SignedUp = Callable[..., dict[str, Any]]
LoggedIn = Callable[..., TokenUser]
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
ITEM_FIELDS = {"user_id", "email", "name", "status", "enabled", "roles", "created_at"}


@pytest.fixture
def admin(aws: Any, signed_up: SignedUp, logged_in: LoggedIn) -> TokenUser:
    signed_up("boss@example.com")
    client("cognito-idp").admin_add_user_to_group(
        UserPoolId=aws.user_pool_id, Username="boss@example.com", GroupName="admin"
    )
    return logged_in("boss@example.com")


def emails(result: Any) -> list[str]:
    return [item["email"] for item in result.body["items"]]


def test_admin_searches_users_by_email_prefix_in_any_case_and_sees_their_roles(
    api: Any, admin: TokenUser, signed_up: SignedUp
) -> None:
    ann = signed_up("ann@example.com", name="Ann")
    signed_up("annette@example.com")
    signed_up("bob@example.com")

    result = api("GET", "/admin/users", query={"email": "ANN"}, user=admin)

    assert result.status == 200
    assert sorted(emails(result)) == ["ann@example.com", "annette@example.com"]
    assert result.body["next_cursor"] is None
    item = next(i for i in result.body["items"] if i["email"] == "ann@example.com")
    assert set(item) == ITEM_FIELDS
    assert item["user_id"] == ann["user_id"]
    assert (item["name"], item["status"], item["enabled"], item["roles"]) == ("Ann", "CONFIRMED", True, ["customer"])


def test_admin_pages_through_every_match_with_the_cursor(api: Any, admin: TokenUser, signed_up: SignedUp) -> None:
    made = {signed_up(f"user{n}@example.com")["user_id"] for n in range(5)}

    seen: list[str] = []
    query: dict[str, Any] = {"email": "user", "limit": 2}
    for _ in range(3):
        page = api("GET", "/admin/users", query=query, user=admin)
        assert page.status == 200, page.body
        seen += [item["user_id"] for item in page.body["items"]]
        query["cursor"] = page.body["next_cursor"]
    assert query["cursor"] is None
    assert sorted(seen) == sorted(made)

    page_two = api("GET", "/admin/users", query={"email": "user", "limit": 2}, user=admin).body["next_cursor"]
    other_search = api("GET", "/admin/users", query={"email": "use", "cursor": page_two}, user=admin)
    assert other_search.status == 400
    assert other_search.body["error"]["code"] == "INVALID_CURSOR"


def test_roles_set_by_an_admin_show_in_the_list_and_in_the_users_next_id_token(
    api: Any, admin: TokenUser, signed_up: SignedUp, logged_in: LoggedIn
) -> None:
    ann = signed_up("ann@example.com")
    old_token = logged_in("ann@example.com")

    result = api("PUT", f"/admin/users/{ann['user_id']}/roles", {"roles": ["fulfilment", "catalog"]}, user=admin)

    assert result.status == 200, result.body
    assert set(result.body) == ITEM_FIELDS
    assert result.body["roles"] == ["catalog", "customer", "fulfilment"]
    listed = api("GET", "/admin/users", query={"email": "ann@"}, user=admin).body["items"]
    assert [i["roles"] for i in listed] == [["catalog", "customer", "fulfilment"]]
    assert set(logged_in("ann@example.com").claims["cognito:groups"]) == {"catalog", "customer", "fulfilment"}
    assert old_token.claims["cognito:groups"] == ["customer"]  # an issued token keeps its groups until it expires

    emptied = api("PUT", f"/admin/users/{ann['user_id']}/roles", {"roles": ["customer"]}, user=admin)
    assert emptied.body["roles"] == ["customer"]


def test_an_admin_cannot_remove_their_own_admin_role(api: Any, admin: TokenUser) -> None:
    result = api("PUT", f"/admin/users/{admin.sub}/roles", {"roles": ["catalog"]}, user=admin)

    assert result.status == 409
    assert result.body["error"]["code"] == "SELF_DEMOTION"
    mine = api("GET", "/admin/users", query={"email": "boss@"}, user=admin).body["items"]
    assert mine[0]["roles"] == ["admin", "customer"]


def test_an_admin_cannot_disable_themselves(api: Any, admin: TokenUser, logged_in: LoggedIn) -> None:
    result = api("POST", f"/admin/users/{admin.sub}/disable", user=admin)

    assert result.status == 409
    assert result.body["error"]["code"] == "SELF_DISABLE"
    logged_in("boss@example.com")


def test_a_disabled_user_can_no_longer_log_in_or_refresh_and_disabling_again_is_fine(
    api: Any, admin: TokenUser, signed_up: SignedUp
) -> None:
    ann = signed_up("ann@example.com")
    tokens = api("POST", "/auth/login", {"email": "ann@example.com", "password": PASSWORD}).body

    result = api("POST", f"/admin/users/{ann['user_id']}/disable", user=admin)

    assert result.status == 200, result.body
    assert (result.body["user_id"], result.body["enabled"]) == (ann["user_id"], False)
    assert api("POST", "/auth/login", {"email": "ann@example.com", "password": PASSWORD}).status == 401
    assert api("POST", "/auth/refresh", {"refresh_token": tokens["refresh_token"]}).status == 401
    again = api("POST", f"/admin/users/{ann['user_id']}/disable", user=admin)
    assert (again.status, again.body) == (200, result.body)
    listed = api("GET", "/admin/users", query={"email": "ann@"}, user=admin).body["items"]
    assert listed[0]["enabled"] is False


def test_an_unknown_user_is_404_for_setting_roles_and_disabling(api: Any, admin: TokenUser) -> None:
    set_roles = api("PUT", f"/admin/users/{UNKNOWN_ID}/roles", {"roles": []}, user=admin)
    disable = api("POST", f"/admin/users/{UNKNOWN_ID}/disable", user=admin)

    assert (set_roles.status, disable.status) == (404, 404)
    assert set_roles.body["error"]["code"] == disable.body["error"]["code"] == "USER_NOT_FOUND"


@pytest.mark.parametrize("caller", [SHOPPER, CATALOG_STAFF], ids=["customer", "catalog"])
def test_shoppers_and_other_staff_may_not_call_the_staff_routes(api: Any, caller: Any) -> None:
    for method, path, body in (
        ("GET", "/admin/users", None),
        ("PUT", f"/admin/users/{caller.sub}/roles", {"roles": ["admin"]}),
        ("POST", f"/admin/users/{caller.sub}/disable", None),
    ):
        result = api(method, path, body, user=caller)
        assert result.status == 403, (method, path, result.body)
        assert result.body["error"]["code"] == "FORBIDDEN"


def test_setting_roles_with_a_wrong_body_is_422_and_changes_nothing(
    api: Any, admin: TokenUser, signed_up: SignedUp
) -> None:
    ann = signed_up("ann@example.com")
    for body in (
        {"roles": "catalog"},
        {"roles": [1]},
        {"roles": ["owner"]},
        {"roles": None},
        {},
        {"roles": ["catalog"], "user_id": UNKNOWN_ID},
        {"roles": ["catalog"] * 11},
    ):
        result = api("PUT", f"/admin/users/{ann['user_id']}/roles", body, user=admin)
        assert result.status == 422, (body, result.body)
        assert result.body["error"]["code"] == "VALIDATION_FAILED"
    listed = api("GET", "/admin/users", query={"email": "ann@"}, user=admin).body["items"]
    assert listed[0]["roles"] == ["customer"]


def test_a_user_id_that_is_not_a_sub_is_422(api: Any, admin: TokenUser) -> None:
    for user_id in ("ann@example.com", "not-a-uuid", UNKNOWN_ID.replace("0", "Z", 1)):
        set_roles = api("PUT", f"/admin/users/{user_id}/roles", {"roles": []}, user=admin)
        disable = api("POST", f"/admin/users/{user_id}/disable", user=admin)
        assert (set_roles.status, disable.status) == (422, 422), (user_id, set_roles.body, disable.body)


def test_listing_with_an_odd_email_or_limit_is_422(api: Any, admin: TokenUser) -> None:
    for query in (
        {"email": "a" * 129},
        {"email": "<script>"},
        {"email": 'ann" or email ^= "'},
        {"email": "ann\\"},
        {"email": "ann\x07"},
        {"email": "ann smith"},
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
    ):
        result = api("GET", "/admin/users", query=query, user=admin)
        assert result.status == 422, (query, result.body)
        assert result.body["error"]["code"] == "VALIDATION_FAILED"
