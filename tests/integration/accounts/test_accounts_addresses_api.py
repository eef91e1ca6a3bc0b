"""Saved addresses over the API (in-process handlers on moto): create, list, replace, delete; the default rules;
the limit of 20; versions; other users; bad input; idempotent POST; and the events the outbox holds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.accounts.addresses.model import MAX_ADDRESSES
from tests.conftest import OTHER_SHOPPER, SHOPPER

BASE = {
    "recipient": "张三",
    "phone": "+8613812345678",
    "region": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "street": "世纪大道 100 号 5 楼",
    "postcode": "200120",
}


def address(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


def outbox(aws: Any, detail_type: str | None = None) -> list[dict[str, Any]]:
    """The events the accounts table's outbox holds (what the relay publishes)."""
    import boto3

    from functions.shared.dynamo import from_item

    items = boto3.client("dynamodb").scan(TableName=aws.env["ACCOUNTS_TABLE_NAME"])["Items"]
    found = [from_item(i) for i in items if i["pk"]["S"].startswith("OUTBOX#")]
    found = [f for f in found if detail_type is None or f["detail_type"] == detail_type]
    return [json.loads(f["detail"]) | {"detail_type": f["detail_type"]} for f in sorted(found, key=lambda f: f["pk"])]


@pytest.fixture
def create(api: Any) -> Any:
    def make(user: Any = SHOPPER, **changes: Any) -> dict[str, Any]:
        result = api("POST", "/me/addresses", address(**changes), user=user)
        assert result.status == 201, result.body
        body: dict[str, Any] = result.body
        return body

    return make


def listed(api: Any, user: Any = SHOPPER) -> list[dict[str, Any]]:
    result = api("GET", "/me/addresses", user=user)
    assert result.status == 200, result.body
    assert result.body["next_cursor"] is None
    items: list[dict[str, Any]] = result.body["items"]
    return items


def defaults(api: Any, user: Any = SHOPPER) -> list[str]:
    return [a["address_id"] for a in listed(api, user) if a["is_default"]]


def put(api: Any, current: dict[str, Any], user: Any = SHOPPER, **changes: Any) -> Any:
    body = {k: current[k] for k in (*BASE, "country", "version")} | changes
    return api("PUT", f"/me/addresses/{current['address_id']}", body, user=user)


# --- create, list, update, delete -------------------------------------------------------------------------------


def test_an_empty_book_lists_nothing(api: Any) -> None:
    assert listed(api) == []


def test_create_then_list_then_replace_then_delete(api: Any, create: Any) -> None:
    made = create()
    assert made["address_id"].startswith("adr_")
    assert made["is_default"] is True and made["version"] == 1 and made["country"] == "CN"
    assert {k: made[k] for k in BASE} == BASE
    assert listed(api) == [made]

    replaced = put(api, made, street="世纪大道 200 号", district="")
    assert replaced.status == 200, replaced.body
    assert replaced.body["street"] == "世纪大道 200 号" and replaced.body["district"] == ""
    assert replaced.body["version"] == 2 and replaced.body["is_default"] is True
    assert listed(api) == [replaced.body]

    deleted = api("DELETE", f"/me/addresses/{made['address_id']}", user=SHOPPER)
    assert deleted.status == 204
    assert listed(api) == []
    again = api("DELETE", f"/me/addresses/{made['address_id']}", user=SHOPPER)
    assert again.status == 404 and again.body["error"]["code"] == "ADDRESS_NOT_FOUND"


def test_signed_out_callers_are_refused(api: Any) -> None:
    assert api("GET", "/me/addresses").status == 401
    assert api("POST", "/me/addresses", address()).status == 401


# --- the default ------------------------------------------------------------------------------------------------


def test_the_first_address_is_the_default_even_when_not_asked(api: Any, create: Any) -> None:
    first = create(is_default=False)
    second = create(recipient="李四")
    assert first["is_default"] is True and second["is_default"] is False
    assert defaults(api) == [first["address_id"]]
    assert [a["address_id"] for a in listed(api)] == [first["address_id"], second["address_id"]]


def test_a_new_default_unsets_the_old_one(api: Any, create: Any) -> None:
    first = create()
    second = create(recipient="李四", is_default=True)
    assert second["is_default"] is True
    assert defaults(api) == [second["address_id"]]
    old = next(a for a in listed(api) if a["address_id"] == first["address_id"])
    assert old["is_default"] is False and old["version"] == 2  # the flag change is a change of that address


def test_put_can_make_an_address_the_default(api: Any, create: Any) -> None:
    first = create()
    second = create(recipient="李四")
    result = put(api, second, is_default=True)
    assert result.status == 200, result.body
    assert defaults(api) == [second["address_id"]]
    assert listed(api)[0]["address_id"] == second["address_id"]
    assert next(a for a in listed(api) if a["address_id"] == first["address_id"])["is_default"] is False
    left_out = put(api, result.body)  # is_default left out: it stays the default
    assert left_out.status == 200 and left_out.body["is_default"] is True
    assert defaults(api) == [second["address_id"]]


def test_the_default_cannot_simply_be_unset(api: Any, create: Any) -> None:
    only = create()
    result = put(api, only, is_default=False)
    assert result.status == 409 and result.body["error"]["code"] == "DEFAULT_REQUIRED"
    assert defaults(api) == [only["address_id"]]


def test_deleting_the_default_passes_it_to_the_most_recently_updated(api: Any, create: Any) -> None:
    first = create()
    second = create(recipient="李四")
    third = create(recipient="王五")
    touched = put(api, second, street="更新的街道 1 号")  # now the most recently updated
    assert touched.status == 200
    assert api("DELETE", f"/me/addresses/{first['address_id']}", user=SHOPPER).status == 204
    assert defaults(api) == [second["address_id"]]
    assert api("DELETE", f"/me/addresses/{third['address_id']}", user=SHOPPER).status == 204
    assert defaults(api) == [second["address_id"]]
    assert api("DELETE", f"/me/addresses/{second['address_id']}", user=SHOPPER).status == 204
    assert listed(api) == []
    again = create()
    assert again["is_default"] is True  # the book starts over


def test_deleting_another_address_keeps_the_default(api: Any, create: Any) -> None:
    first = create()
    second = create(recipient="李四")
    assert api("DELETE", f"/me/addresses/{second['address_id']}", user=SHOPPER).status == 204
    assert defaults(api) == [first["address_id"]]


# --- limit, versions, other users -------------------------------------------------------------------------------


def test_the_21st_address_is_refused(api: Any, create: Any) -> None:
    for n in range(MAX_ADDRESSES):
        create(recipient=f"收件人 {n}")
    result = api("POST", "/me/addresses", address(), user=SHOPPER)
    assert result.status == 409 and result.body["error"]["code"] == "ADDRESS_LIMIT_REACHED"
    assert len(listed(api)) == MAX_ADDRESSES
    assert len(defaults(api)) == 1
    # Another user's book is their own, and a deletion frees a place.
    create(user=OTHER_SHOPPER)
    assert api("DELETE", f"/me/addresses/{listed(api)[-1]['address_id']}", user=SHOPPER).status == 204
    create()


def test_a_stale_version_is_a_conflict(api: Any, create: Any) -> None:
    made = create()
    assert put(api, made, recipient="新名字").status == 200
    stale = put(api, made, recipient="另一个名字")
    assert stale.status == 409 and stale.body["error"]["code"] == "VERSION_CONFLICT"
    assert listed(api)[0]["recipient"] == "新名字"


def test_another_users_address_is_not_found(api: Any, create: Any) -> None:
    mine = create()
    path = f"/me/addresses/{mine['address_id']}"
    assert put(api, mine, user=OTHER_SHOPPER).status == 404
    assert api("DELETE", path, user=OTHER_SHOPPER).status == 404
    assert listed(api, OTHER_SHOPPER) == []
    assert listed(api) == [mine]


def test_an_unknown_or_malformed_address_id_is_refused(api: Any) -> None:
    body = address(version=1)
    assert api("PUT", "/me/addresses/adr_01JAAAAAAAAAAAAAAAAAAAAAAA", body, user=SHOPPER).status == 404
    assert api("PUT", "/me/addresses/not-an-id", body, user=SHOPPER).status == 422
    assert api("DELETE", "/me/addresses/not-an-id", user=SHOPPER).status == 422


# --- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"recipient": 42},
        {"phone": 8613812345678},
        {"is_default": "true"},
        {"is_default": 1},
        {"street": ["a"]},
        {"recipient": "x" * 101},
        {"street": "x" * 301},
        {"region": "r" * 101},
        {"district": "d" * 101},
        {"recipient": ""},
        {"recipient": "   "},
        {"recipient": "<script>alert(1)</script>"},
        {"street": "Main <b>Street</b>"},
        {"city": "Shang\u0000hai"},
        {"street": "line one\nline two"},
        {"recipient": "Ann\u202eLee"},
        {"phone": "call me"},
        {"postcode": "1"},
        {"country": "China"},
        {"user_id": "someone-else"},
        {"address_id": "adr_01JAAAAAAAAAAAAAAAAAAAAAAA"},
        {"version": 3},
    ],
)
def test_bad_input_is_422(api: Any, changes: dict[str, Any]) -> None:
    result = api("POST", "/me/addresses", address(**changes), user=SHOPPER)
    assert result.status == 422, result.body
    assert listed(api) == []


@pytest.mark.parametrize("missing", ["recipient", "phone", "region", "city", "street", "postcode"])
def test_a_missing_field_is_422(api: Any, missing: str) -> None:
    body = address()
    del body[missing]
    assert api("POST", "/me/addresses", body, user=SHOPPER).status == 422


@pytest.mark.parametrize(
    "changes", [{"version": "1"}, {"version": 0}, {"street": "x" * 301}, {"city": "<i>x</i>"}, {"extra": 1}]
)
def test_bad_replacements_are_422(api: Any, create: Any, changes: dict[str, Any]) -> None:
    made = create()
    assert put(api, made, **changes).status == 422
    assert listed(api) == [made]


def test_put_without_a_version_is_422(api: Any, create: Any) -> None:
    made = create()
    assert api("PUT", f"/me/addresses/{made['address_id']}", address(), user=SHOPPER).status == 422


def test_a_body_that_is_not_json_is_refused(api: Any) -> None:
    result = api("POST", "/me/addresses", user=SHOPPER, raw_body="{not json")
    assert 400 <= result.status < 500
    assert listed(api) == []


# --- idempotency ------------------------------------------------------------------------------------------------


def test_a_retried_post_with_its_idempotency_key_returns_the_first_address(api: Any) -> None:
    headers = {"Idempotency-Key": "addr-key-0001"}
    first = api("POST", "/me/addresses", address(), user=SHOPPER, headers=headers)
    assert first.status == 201, first.body
    again = api("POST", "/me/addresses", address(), user=SHOPPER, headers=headers)
    assert again.status == 200 and again.body == first.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(listed(api)) == 1

    other_body = api("POST", "/me/addresses", address(recipient="李四"), user=SHOPPER, headers=headers)
    assert other_body.status == 422 and other_body.body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    # The key belongs to the user who sent it.
    theirs = api("POST", "/me/addresses", address(), user=OTHER_SHOPPER, headers=headers)
    assert theirs.status == 201 and theirs.body["address_id"] != first.body["address_id"]
    assert len(listed(api)) == 1


def test_a_malformed_idempotency_key_is_400(api: Any) -> None:
    result = api("POST", "/me/addresses", address(), user=SHOPPER, headers={"Idempotency-Key": "short"})
    assert result.status == 400 and result.body["error"]["code"] == "INVALID_IDEMPOTENCY_KEY"


# --- events -----------------------------------------------------------------------------------------------------


def test_changes_are_published_through_the_outbox(api: Any, aws: Any, create: Any) -> None:
    first = create()
    second = create(recipient="李四", is_default=True)
    assert api("DELETE", f"/me/addresses/{second['address_id']}", user=SHOPPER).status == 204

    saved = outbox(aws, "AddressSaved")
    assert all(e["user_id"] == SHOPPER.sub for e in saved)
    versions = {(e["address"]["address_id"], e["address"]["version"], e["address"]["is_default"]) for e in saved}
    assert versions == {
        (first["address_id"], 1, True),
        (second["address_id"], 1, True),
        (first["address_id"], 2, False),  # lost the default to the second
        (first["address_id"], 3, True),  # got it back when the second was deleted
    }
    deleted = outbox(aws, "AddressDeleted")
    assert [(e["address_id"], e["version"], e["default_address_id"]) for e in deleted] == [
        (second["address_id"], 1, first["address_id"])
    ]
