"""Coupons: created by staff, applied at checkout by the server's rules, limits held, given back on cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest

from functions.shared.events import utcnow
from tests.conftest import ADMIN, CATALOG_STAFF, OTHER_SHOPPER, SHOPPER, User
from tests.integration.checkout.conftest import checkout

THIRD = User("66666666-6666-4666-8666-666666666666", "third@example.com", ("customer",))


def iso(delta_days: float) -> str:
    return (utcnow() + timedelta(days=delta_days)).isoformat().replace("+00:00", "Z")


def coupon(api, **fields):
    body = {
        "code": "SAVE10",
        "kind": "percentage",
        "percent_off": 10,
        "starts_at": iso(-1),
        "ends_at": iso(30),
        "usage_limit": 100,
        **fields,
    }
    r = api("POST", "/admin/coupons", body, user=CATALOG_STAFF)
    assert r.status == 201, r.body
    return r.body


def fill(api, user, sku, quantity=1):
    assert api("POST", "/cart/items", {"sku": sku, "quantity": quantity}, user=user).status == 200


def test_a_percentage_coupon_discounts_the_order_and_counts_a_use(api, product):
    product({"CP-1": 10005}, stock=5)
    coupon(api, code="save10", max_discount={"amount": 100000, "currency": "CNY"})
    fill(api, SHOPPER, "CP-1", 2)
    preview = api("GET", "/cart", user=SHOPPER, query={"coupon": "SAVE10"}).body
    assert preview["coupon"] == {"code": "SAVE10", "discount": {"amount": 2001, "currency": "CNY"}}
    r = checkout(api, SHOPPER, coupon_code="Save10")
    assert r.status == 201, r.body
    assert r.body["totals"]["discount"]["amount"] == 2001  # 10% of 20010, rounded down
    assert r.body["totals"]["total"]["amount"] == 20010 - 2001
    assert r.body["coupon_code"] == "SAVE10"
    listed = api("GET", "/admin/coupons", user=CATALOG_STAFF).body["items"]
    assert listed[0]["code"] == "SAVE10" and listed[0]["used"] == 1


def test_a_shopper_uses_a_coupon_at_most_their_limit(api, product):
    product({"CP-2": 5000}, stock=10)
    coupon(api, code="ONCE", kind="fixed", percent_off=None, amount_off={"amount": 500, "currency": "CNY"})
    fill(api, SHOPPER, "CP-2")
    assert checkout(api, SHOPPER, coupon_code="ONCE").status == 201
    fill(api, SHOPPER, "CP-2")
    r = checkout(api, SHOPPER, coupon_code="ONCE")
    assert r.status == 409 and r.body["error"]["code"] == "COUPON_LIMIT_REACHED"


def test_the_use_after_the_limit_fails(api, product):
    product({"CP-3": 5000}, stock=10)
    coupon(api, code="TWO", usage_limit=2)
    for user in (SHOPPER, OTHER_SHOPPER):
        fill(api, user, "CP-3")
        assert checkout(api, user, coupon_code="TWO").status == 201
    fill(api, THIRD, "CP-3")
    r = checkout(api, THIRD, coupon_code="TWO")
    assert r.status == 409 and r.body["error"]["code"] == "COUPON_EXHAUSTED"
    assert api("GET", "/admin/inventory/CP-3", user=ADMIN).body["reserved"] == 2


def test_cancelling_an_unpaid_order_gives_the_coupon_use_back(api, product):
    product({"CP-4": 5000}, stock=10)
    coupon(api, code="GIVEBACK", usage_limit=1)
    fill(api, SHOPPER, "CP-4")
    order = checkout(api, SHOPPER, coupon_code="GIVEBACK").body
    api("POST", f"/orders/{order['order_id']}/cancel", {}, user=SHOPPER)
    assert api("GET", "/admin/coupons", user=ADMIN).body["items"][0]["used"] == 0
    fill(api, SHOPPER, "CP-4")
    assert checkout(api, SHOPPER, coupon_code="GIVEBACK").status == 201


@pytest.mark.parametrize(
    ("fields", "code", "status"),
    [
        ({"starts_at": iso(-10), "ends_at": iso(-1) if False else iso(-0.5)}, "COUPON_EXPIRED", 422),
        ({"starts_at": iso(2), "ends_at": iso(3)}, "COUPON_NOT_STARTED", 422),
        ({"min_spend": {"amount": 100000, "currency": "CNY"}}, "COUPON_MIN_SPEND", 422),
        ({"category_ids": ["cat_not_this_one"]}, "COUPON_NOT_APPLICABLE", 422),
    ],
)
def test_a_coupon_that_does_not_apply_is_refused_and_uses_nothing(api, product, monkeypatch, fields, code, status):
    product({"CP-5": 5000}, stock=5)
    if code == "COUPON_EXPIRED":
        # Created while valid, then time passes.
        coupon(api, code="LATE", starts_at=iso(-1), ends_at=iso(1))
        later = utcnow() + timedelta(days=2)
        monkeypatch.setattr("functions.checkout.service.now", lambda: later)
        name = "LATE"
    else:
        coupon(api, code="NOPE", **fields)
        name = "NOPE"
    fill(api, SHOPPER, "CP-5")
    r = checkout(api, SHOPPER, coupon_code=name)
    assert r.status == status, r.body
    assert r.body["error"]["code"] == code
    assert api("GET", "/admin/inventory/CP-5", user=ADMIN).body["reserved"] == 0
    preview = api("GET", "/cart", user=SHOPPER, query={"coupon": name}).body
    assert preview["coupon"] is None and preview["coupon_error"] == code


def test_a_scoped_coupon_discounts_only_its_categorys_lines(api, product, refs):
    product({"SCOPE-PHONE": 10000}, stock=5, category="phones")
    product({"SCOPE-BOOK": 10000}, stock=5, category="books")
    coupon(api, code="PHONES20", percent_off=20, category_ids=[refs["electronics"]])  # a parent category
    fill(api, SHOPPER, "SCOPE-PHONE")
    fill(api, SHOPPER, "SCOPE-BOOK")
    r = checkout(api, SHOPPER, coupon_code="PHONES20")
    assert r.status == 201, r.body
    assert r.body["totals"]["discount"]["amount"] == 2000


def test_an_unknown_coupon_is_a_422(api, product):
    product({"CP-6": 5000}, stock=5)
    fill(api, SHOPPER, "CP-6")
    r = checkout(api, SHOPPER, coupon_code="NOSUCH")
    assert r.status == 422 and r.body["error"]["code"] == "COUPON_NOT_FOUND"


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "percentage", "percent_off": 0},
        {"kind": "percentage", "percent_off": 101},
        {"kind": "percentage", "percent_off": 10, "amount_off": {"amount": 100, "currency": "CNY"}},
        {"kind": "fixed", "percent_off": None, "amount_off": {"amount": 1.5, "currency": "CNY"}},
        {"kind": "fixed", "percent_off": None, "amount_off": {"amount": -100, "currency": "CNY"}},
        {"ends_at": "2020-01-01T00:00:00Z"},
        {"usage_limit": 0},
        {"code": "a"},
        {"used": 50},
    ],
)
def test_invalid_coupons_are_refused(api, body):
    base = {
        "code": "BAD1",
        "kind": "percentage",
        "percent_off": 10,
        "starts_at": iso(-1),
        "ends_at": iso(1),
        "usage_limit": 5,
    }
    r = api("POST", "/admin/coupons", {**base, **body}, user=CATALOG_STAFF)
    assert r.status == 422, r.body
    assert api("GET", "/admin/coupons", user=CATALOG_STAFF).body["items"] == []


def test_coupon_codes_are_unique_and_staff_only(api):
    coupon(api, code="UNIQUE")
    again = api(
        "POST",
        "/admin/coupons",
        {
            "code": "unique",
            "kind": "percentage",
            "percent_off": 5,
            "starts_at": iso(-1),
            "ends_at": iso(1),
            "usage_limit": 1,
        },
        user=CATALOG_STAFF,
    )
    assert again.status == 409
    assert api("GET", "/admin/coupons", user=SHOPPER).status == 403
