"""The checkout's copy of the catalogue: kept by events, safe against replays and late, older events."""

from __future__ import annotations

from tests.conftest import ADMIN, SHOPPER
from tests.integration.checkout.conftest import project, variant


def sku_state(api, sku):
    r = api("POST", "/cart/items", {"sku": sku, "quantity": 1}, user=SHOPPER)
    api("DELETE", f"/cart/items/{sku}", user=SHOPPER)
    return r


def test_an_older_event_after_a_newer_one_changes_nothing(api, product):
    p = product({"PJ-1": 5000})
    v2 = {**p, "version": 2, "variants": [variant("PJ-1", 4000, options={"v": "PJ-1"})]}
    project(v2, "ProductUpdated")
    project(p, "ProductCreated")  # late, older
    project(v2, "ProductUpdated")  # replay
    assert sku_state(api, "PJ-1").body["lines"][0]["unit_price"]["amount"] == 4000


def test_a_variant_dropped_by_an_update_is_taken_off_sale(api, product):
    p = product({"PJ-2": 5000, "PJ-3": 6000})
    v2 = {**p, "version": 2, "variants": [v for v in p["variants"] if v["sku"] == "PJ-2"]}
    project(v2, "ProductUpdated")
    assert sku_state(api, "PJ-2").status == 200
    assert sku_state(api, "PJ-3").status == 404


def test_a_draft_product_is_not_on_sale(api, refs):
    body = {
        "name": "草稿 Draft",
        "brand_id": refs["brand"],
        "category_id": refs["phones"],
        "status": "draft",
        "variants": [variant("PJ-DRAFT", 5000)],
    }
    created = api("POST", "/admin/products", body, user=ADMIN).body
    project(created)
    assert sku_state(api, "PJ-DRAFT").status == 404
