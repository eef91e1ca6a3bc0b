"""Carts over the handlers: guest carts and their tokens, merging at sign-in, limits, prices from the catalogue."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN, OTHER_SHOPPER, SHOPPER
from tests.integration.checkout.conftest import project


def test_a_guest_gets_a_cart_token_and_keeps_the_cart_with_it(api, product):
    product({"GUEST-1": 3900})
    first = api("POST", "/cart/items", {"sku": "GUEST-1", "quantity": 2})
    assert first.status == 200, first.body
    token = first.body["cart_token"]
    assert token and len(token) == 32
    again = api("GET", "/cart", headers={"X-Cart-Token": token})
    assert [(line["sku"], line["quantity"]) for line in again.body["lines"]] == [("GUEST-1", 2)]
    assert again.body["cart_token"] == token
    assert api("GET", "/cart").body["lines"] == []  # no token: an empty cart, nobody else's


def test_a_token_the_shop_never_issued_gets_a_fresh_cart_not_the_guessed_one(api, product):
    product({"GUEST-2": 3900})
    made_up = "A" * 32
    r = api("POST", "/cart/items", {"sku": "GUEST-2", "quantity": 1}, headers={"X-Cart-Token": made_up})
    assert r.status == 200
    assert r.body["cart_token"] != made_up


def test_a_malformed_cart_token_is_a_400(api):
    r = api("GET", "/cart", headers={"X-Cart-Token": "short"})
    assert r.status == 400
    assert r.body["error"]["code"] == "INVALID_CART_TOKEN"


def test_prices_and_totals_come_from_the_catalogue_with_shipping_until_the_threshold(api, product):
    product({"CHEAP-1": 2500, "DEAR-1": 120000})
    r = api("POST", "/cart/items", {"sku": "CHEAP-1", "quantity": 2}, user=SHOPPER)
    totals = r.body["totals"]
    assert totals["subtotal"] == {"amount": 5000, "currency": "CNY"}
    assert totals["shipping"]["amount"] == 1000  # below the free-shipping threshold (9900)
    assert totals["total"]["amount"] == 6000
    r = api("POST", "/cart/items", {"sku": "DEAR-1", "quantity": 1}, user=SHOPPER)
    assert r.body["totals"]["shipping"]["amount"] == 0
    assert r.body["totals"]["total"]["amount"] == 125000
    line = next(line for line in r.body["lines"] if line["sku"] == "DEAR-1")
    assert line["unit_price"]["amount"] == 120000 and line["availability"] == "in_stock"


def test_a_price_change_in_the_catalogue_shows_in_the_cart(api, product):
    p = product({"REPRICE-1": 5000})
    api("POST", "/cart/items", {"sku": "REPRICE-1", "quantity": 1}, user=SHOPPER)
    changed = {**p, "version": 2, "variants": [{**p["variants"][0], "price": {"amount": 4500, "currency": "CNY"}}]}
    project(changed, "ProductUpdated")
    assert api("GET", "/cart", user=SHOPPER).body["lines"][0]["unit_price"]["amount"] == 4500


def test_the_guest_cart_is_merged_into_the_shoppers_cart_once(api, product):
    product({"MERGE-A": 1000, "MERGE-B": 2000})
    api("POST", "/cart/items", {"sku": "MERGE-A", "quantity": 1}, user=SHOPPER)
    guest = api("POST", "/cart/items", {"sku": "MERGE-A", "quantity": 2}).body["cart_token"]
    api("POST", "/cart/items", {"sku": "MERGE-B", "quantity": 1}, headers={"X-Cart-Token": guest})
    shown = api("GET", "/cart", user=SHOPPER, headers={"X-Cart-Token": guest}).body
    assert {line["sku"]: line["quantity"] for line in shown["lines"]} == {"MERGE-A": 3, "MERGE-B": 1}
    # The first change persists the merge and deletes the guest cart.
    r = api("PUT", "/cart/items/MERGE-B", {"quantity": 2}, user=SHOPPER, headers={"X-Cart-Token": guest})
    assert {line["sku"]: line["quantity"] for line in r.body["lines"]} == {"MERGE-A": 3, "MERGE-B": 2}
    assert api("GET", "/cart", headers={"X-Cart-Token": guest}).body["lines"] == []
    # Sending the spent token again merges nothing twice.
    again = api("GET", "/cart", user=SHOPPER, headers={"X-Cart-Token": guest}).body
    assert {line["sku"]: line["quantity"] for line in again["lines"]} == {"MERGE-A": 3, "MERGE-B": 2}
    assert api("GET", "/cart", user=OTHER_SHOPPER).body["lines"] == []


@pytest.mark.parametrize("quantity", [0, -1, 100, 1.5, "two", None])
def test_a_bad_quantity_is_a_422_and_changes_nothing(api, product, quantity):
    product({"QTY-1": 1000})
    r = api("POST", "/cart/items", {"sku": "QTY-1", "quantity": quantity}, user=SHOPPER)
    assert r.status == 422, r.body
    assert set(r.body) == {"error"}
    assert api("GET", "/cart", user=SHOPPER).body["lines"] == []


def test_client_prices_are_refused_not_applied(api, product):
    product({"PRICE-1": 1000})
    body = {"sku": "PRICE-1", "quantity": 1, "unit_price": {"amount": 1, "currency": "CNY"}}
    r = api("POST", "/cart/items", body, user=SHOPPER)
    assert r.status == 422
    assert api("GET", "/cart", user=SHOPPER).body["lines"] == []


def test_quantities_add_up_to_at_most_99_per_sku(api, product):
    product({"MANY-1": 100})
    assert api("POST", "/cart/items", {"sku": "MANY-1", "quantity": 60}, user=SHOPPER).status == 200
    r = api("POST", "/cart/items", {"sku": "MANY-1", "quantity": 40}, user=SHOPPER)
    assert r.status == 422 and r.body["error"]["code"] == "QUANTITY_LIMIT"
    assert api("GET", "/cart", user=SHOPPER).body["lines"][0]["quantity"] == 60


def test_an_unknown_sku_is_a_404(api):
    r = api("POST", "/cart/items", {"sku": "NO-SUCH-SKU", "quantity": 1}, user=SHOPPER)
    assert r.status == 404 and r.body["error"]["code"] == "SKU_NOT_FOUND"


def test_an_archived_product_cannot_be_added_and_shows_unavailable_in_a_cart(api, product):
    p = product({"GONE-1": 1000})
    api("POST", "/cart/items", {"sku": "GONE-1", "quantity": 1}, user=SHOPPER)
    archived = api("DELETE", f"/admin/products/{p['product_id']}", user=ADMIN).body
    project(archived, "ProductArchived")
    line = api("GET", "/cart", user=SHOPPER).body["lines"][0]
    assert line["availability"] == "unavailable" and line["max_quantity"] == 0
    r = api("POST", "/cart/items", {"sku": "GONE-1", "quantity": 1}, user=OTHER_SHOPPER)
    assert r.status == 404


def test_availability_shows_insufficient_and_out_of_stock(api, product):
    product({"LOW-1": 1000}, stock=2)
    product({"NONE-1": 1000}, stock=0)
    api("POST", "/cart/items", {"sku": "LOW-1", "quantity": 3}, user=SHOPPER)
    cart = api("POST", "/cart/items", {"sku": "NONE-1", "quantity": 1}, user=SHOPPER).body
    lines = {line["sku"]: line for line in cart["lines"]}
    assert lines["LOW-1"]["availability"] == "insufficient_stock" and lines["LOW-1"]["max_quantity"] == 2
    assert lines["NONE-1"]["availability"] == "out_of_stock"
    assert cart["checkout_ready"] is False


def test_update_and_remove_lines(api, product):
    product({"EDIT-1": 1000, "EDIT-2": 1000})
    api("POST", "/cart/items", {"sku": "EDIT-1", "quantity": 1}, user=SHOPPER)
    api("POST", "/cart/items", {"sku": "EDIT-2", "quantity": 1}, user=SHOPPER)
    assert api("PUT", "/cart/items/EDIT-1", {"quantity": 5}, user=SHOPPER).body["lines"][0]["quantity"] == 5
    r = api("DELETE", "/cart/items/EDIT-2", user=SHOPPER)
    assert [line["sku"] for line in r.body["lines"]] == ["EDIT-1"]
    assert api("DELETE", "/cart/items/EDIT-2", user=SHOPPER).status == 404
    assert api("PUT", "/cart/items/EDIT-2", {"quantity": 1}, user=SHOPPER).status == 404


def test_a_cart_holds_at_most_50_lines(api, product):
    product({f"LINE-{i:02d}": 100 for i in range(26)}, stock=0)
    product({f"LINE-{i:02d}": 100 for i in range(26, 51)}, stock=0)
    for i in range(50):
        assert api("POST", "/cart/items", {"sku": f"LINE-{i:02d}", "quantity": 1}, user=SHOPPER).status == 200
    r = api("POST", "/cart/items", {"sku": "LINE-50", "quantity": 1}, user=SHOPPER)
    assert r.status == 422 and r.body["error"]["code"] == "CART_FULL"


def test_a_bad_bearer_token_on_a_cart_route_is_a_401_not_a_guest(api, monkeypatch, aws):
    r = api("GET", "/cart", headers={"Authorization": "Bearer not.a.token"})
    assert r.status == 401
