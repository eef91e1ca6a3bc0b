"""Flash sales: units set aside from stock, the special price only inside the window, per-shopper limits, sold out,
and settlement of what did not sell."""

from __future__ import annotations

from datetime import timedelta

import pytest

from functions.shared.events import utcnow
from local.apigw import LambdaContext
from tests.conftest import ADMIN, CATALOG_STAFF, OTHER_SHOPPER, SHOPPER, User
from tests.integration.checkout.conftest import checkout

THIRD = User("77777777-7777-4777-8777-777777777777", "third@example.com", ("customer",))


def iso(delta_s: float) -> str:
    return (utcnow() + timedelta(seconds=delta_s)).isoformat().replace("+00:00", "Z")


def sale(api, sku, quantity=3, price=1000, start=-60, end=3600, **extra):
    body = {
        "name": "秒杀 Flash",
        "sku": sku,
        "price": {"amount": price, "currency": "CNY"},
        "quantity": quantity,
        "starts_at": iso(start),
        "ends_at": iso(end),
        **extra,
    }
    r = api("POST", "/admin/promotions", body, user=CATALOG_STAFF)
    assert r.status == 201, r.body
    return r.body


def inventory(api, sku):
    """The checkout's own stock figures of a SKU (the warehouse copy is for tests of the inventory view)."""
    body = api("GET", f"/admin/inventory/{sku}", user=ADMIN).body
    return {k: body[k] for k in ("sku", "sellable", "reserved", "in_promotions")}


def buy(api, user, sku, quantity=1):
    assert api("POST", "/cart/items", {"sku": sku, "quantity": quantity}, user=user).status == 200
    return checkout(api, user)


def test_a_flash_sale_takes_its_units_out_of_sellable_stock(api, product):
    product({"FS-1": 9900}, stock=10)
    promo = sale(api, "FS-1", quantity=4, expected_peak_per_second=1200)
    assert promo["shards"] == 3 and promo["status"] == "running" and promo["remaining"] == 4
    assert inventory(api, "FS-1") == {"sku": "FS-1", "sellable": 6, "reserved": 0, "in_promotions": 4}
    listed = api("GET", "/promotions").body["items"]
    assert [(p["promotion_id"], p["remaining"]) for p in listed] == [(promo["promotion_id"], 4)]


def test_the_special_price_applies_only_inside_the_window(api, product, monkeypatch):
    product({"FS-2": 9900}, stock=10)
    sale(api, "FS-2", price=1000, start=3600, end=7200)
    cart = api("POST", "/cart/items", {"sku": "FS-2", "quantity": 1}, user=SHOPPER).body
    assert cart["lines"][0]["unit_price"]["amount"] == 9900 and cart["lines"][0]["promotion_id"] is None
    during = utcnow() + timedelta(seconds=3700)
    monkeypatch.setattr("functions.checkout.service.now", lambda: during)
    line = api("GET", "/cart", user=SHOPPER).body["lines"][0]
    assert line["unit_price"]["amount"] == 1000 and line["regular_price"]["amount"] == 9900
    after = utcnow() + timedelta(seconds=7300)
    monkeypatch.setattr("functions.checkout.service.now", lambda: after)
    assert api("GET", "/cart", user=SHOPPER).body["lines"][0]["unit_price"]["amount"] == 9900


def test_a_flash_sale_sells_exactly_its_quantity_and_one_per_shopper(api, product):
    product({"FS-3": 9900}, stock=10)
    promo = sale(api, "FS-3", quantity=2)
    first = buy(api, SHOPPER, "FS-3")
    assert first.status == 201, first.body
    assert first.body["lines"][0]["unit_price"]["amount"] == 1000
    assert first.body["lines"][0]["promotion_id"] == promo["promotion_id"]
    again = buy(api, SHOPPER, "FS-3")
    assert again.status == 409 and again.body["error"]["code"] == "PROMOTION_LIMIT_REACHED"
    assert buy(api, OTHER_SHOPPER, "FS-3").status == 201
    late = buy(api, THIRD, "FS-3")
    assert late.status == 409 and late.body["error"]["code"] == "SOLD_OUT"
    assert api("GET", "/promotions").body["items"][0]["remaining"] == 0
    # Sold units came out of the sale, never out of the regular stock.
    assert inventory(api, "FS-3") == {"sku": "FS-3", "sellable": 8, "reserved": 0, "in_promotions": 2}


def test_more_than_the_per_shopper_limit_in_one_line_is_a_422(api, product):
    product({"FS-4": 9900}, stock=10)
    sale(api, "FS-4", quantity=5, per_user_limit=2)
    r = buy(api, SHOPPER, "FS-4", quantity=3)
    assert r.status == 422 and r.body["error"]["code"] == "PROMOTION_LIMIT_EXCEEDED"
    assert api("GET", "/promotions").body["items"][0]["remaining"] == 5


def test_cancelling_gives_the_unit_back_to_the_sale_and_the_shopper_their_allowance(api, product):
    product({"FS-5": 9900}, stock=10)
    sale(api, "FS-5", quantity=1)
    order = buy(api, SHOPPER, "FS-5").body
    assert buy(api, OTHER_SHOPPER, "FS-5").body["error"]["code"] == "SOLD_OUT"
    api("POST", f"/orders/{order['order_id']}/cancel", {}, user=SHOPPER)
    assert api("GET", "/promotions").body["items"][0]["remaining"] == 1
    api("DELETE", "/cart/items/FS-5", user=OTHER_SHOPPER)
    assert buy(api, SHOPPER, "FS-5").status == 201  # the allowance came back too


def test_an_ended_sale_is_settled_and_its_leftovers_go_back_to_stock(api, product, monkeypatch):
    from functions.checkout.handlers import settle_promotions

    product({"FS-6": 9900}, stock=10)
    promo = sale(api, "FS-6", quantity=4, end=600, expected_peak_per_second=800)
    order = buy(api, SHOPPER, "FS-6").body
    assert settle_promotions.handler({}, LambdaContext("SettlePromotions")) == {"settled": []}  # still running
    after = utcnow() + timedelta(seconds=700)
    monkeypatch.setattr("functions.checkout.service.now", lambda: after)
    assert settle_promotions.handler({}, LambdaContext("SettlePromotions")) == {"settled": [promo["promotion_id"]]}
    assert settle_promotions.handler({}, LambdaContext("SettlePromotions")) == {"settled": []}  # once
    assert inventory(api, "FS-6") == {"sku": "FS-6", "sellable": 9, "reserved": 0, "in_promotions": 0}
    assert api("GET", "/promotions").body["items"] == []
    # A unit sold in the sale and cancelled after it was settled goes back to regular stock.
    api("POST", f"/orders/{order['order_id']}/cancel", {}, user=SHOPPER)
    assert inventory(api, "FS-6")["sellable"] == 10
    listed = api("GET", "/admin/promotions", user=ADMIN).body["items"][0]
    assert listed["status"] == "ended" and listed["settled"] is True


def test_overlapping_sales_on_one_sku_are_refused(api, product):
    product({"FS-7": 9900}, stock=10)
    sale(api, "FS-7", quantity=1, start=-60, end=3600)
    body = {
        "name": "again",
        "sku": "FS-7",
        "price": {"amount": 500, "currency": "CNY"},
        "quantity": 1,
        "starts_at": iso(1800),
        "ends_at": iso(7200),
    }
    r = api("POST", "/admin/promotions", body, user=CATALOG_STAFF)
    assert r.status == 409 and r.body["error"]["code"] == "PROMOTION_OVERLAP"


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"quantity": 11}, 409),  # more than sellable stock
        ({"price": {"amount": 9900, "currency": "CNY"}}, 422),  # not below the regular price
        ({"price": {"amount": 0, "currency": "CNY"}}, 422),
        ({"sku": "NO-SUCH"}, 404),
        ({"quantity": 0}, 422),
        ({"starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}, 422),
        ({"ends_at": "2020-01-01T00:00:00Z", "starts_at": "2019-01-01T00:00:00Z"}, 422),
        ({"per_user_limit": 0}, 422),
        ({"remaining": 5}, 422),
    ],
)
def test_invalid_flash_sales_are_refused_and_take_no_stock(api, product, changes, status):
    product({"FS-8": 9900}, stock=10)
    body = {
        "name": "bad",
        "sku": "FS-8",
        "price": {"amount": 500, "currency": "CNY"},
        "quantity": 2,
        "starts_at": iso(-60),
        "ends_at": iso(3600),
        **changes,
    }
    r = api("POST", "/admin/promotions", body, user=CATALOG_STAFF)
    assert r.status == status, r.body
    assert inventory(api, "FS-8")["sellable"] == 10


def test_flash_sales_are_staff_only_to_create(api):
    assert api("POST", "/admin/promotions", {}, user=SHOPPER).status == 403
    assert api("GET", "/admin/promotions", user=SHOPPER).status == 403
