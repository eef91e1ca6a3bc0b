"""Checkout over the handlers: one transaction for the order and every reservation, idempotency, refusals that
leave nothing behind."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.conftest import ADMIN, SHOPPER
from tests.integration.checkout.conftest import ADDRESS, checkout


def stock_of(api, sku):
    """The checkout's own stock figures of a SKU (the warehouse copy is for tests of the inventory view)."""
    body = api("GET", f"/admin/inventory/{sku}", user=ADMIN).body
    return {k: body[k] for k in ("sku", "sellable", "reserved", "in_promotions")}


def outbox_events(aws, detail_type):
    table = aws.env["CHECKOUT_TABLE_NAME"]
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return [
        json.loads(i["detail"]["S"])
        for i in items
        if i["pk"]["S"].startswith("OUTBOX#") and i["detail_type"]["S"] == detail_type
    ]


def test_checkout_reserves_every_line_and_places_the_order(api, aws, product):
    product({"CO-A": 5000, "CO-B": 3000}, stock=5)
    api("POST", "/cart/items", {"sku": "CO-A", "quantity": 2}, user=SHOPPER)
    api("POST", "/cart/items", {"sku": "CO-B", "quantity": 1}, user=SHOPPER)
    r = checkout(api, SHOPPER, note="ring twice")
    assert r.status == 201, r.body
    order = r.body
    assert order["status"] == "pending_payment"
    assert order["user_id"] == SHOPPER.sub
    assert order["totals"] == {
        "subtotal": {"amount": 13000, "currency": "CNY"},
        "discount": {"amount": 0, "currency": "CNY"},
        "shipping": {"amount": 0, "currency": "CNY"},
        "total": {"amount": 13000, "currency": "CNY"},
    }
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [("CO-A", 2), ("CO-B", 1)]
    assert stock_of(api, "CO-A")["sellable"] == 3 and stock_of(api, "CO-A")["reserved"] == 2
    assert api("GET", "/cart", user=SHOPPER).body["lines"] == []
    placed = outbox_events(aws, "OrderPlaced")
    assert [e["order"]["order_id"] for e in placed] == [order["order_id"]]


def test_checkout_fails_when_one_line_is_out_of_stock_and_reserves_nothing(api, aws, product):
    product({"OOS-A": 5000}, stock=5)
    product({"OOS-B": 5000}, stock=1)
    api("POST", "/cart/items", {"sku": "OOS-A", "quantity": 2}, user=SHOPPER)
    api("POST", "/cart/items", {"sku": "OOS-B", "quantity": 2}, user=SHOPPER)
    r = checkout(api, SHOPPER)
    assert r.status == 409, r.body
    assert r.body["error"]["code"] == "OUT_OF_STOCK"
    assert r.body["error"]["details"][0]["sku"] == "OOS-B"
    assert stock_of(api, "OOS-A") == {"sku": "OOS-A", "sellable": 5, "reserved": 0, "in_promotions": 0}
    assert len(api("GET", "/cart", user=SHOPPER).body["lines"]) == 2  # the cart is kept
    assert outbox_events(aws, "OrderPlaced") == []
    assert api("GET", "/orders", user=SHOPPER).body["items"] == []


def test_the_transaction_refuses_when_stock_went_between_read_and_write(api, product, monkeypatch):
    """The condition in the transaction is the guard, not the read before it."""
    product({"RACE-1": 5000}, stock=1)
    api("POST", "/cart/items", {"sku": "RACE-1", "quantity": 1}, user=SHOPPER)
    from functions.checkout import model

    real = model.require_checkout_ready

    def steal_then_check(priced):
        real(priced)
        boto3.client("dynamodb").update_item(
            TableName=__import__("os").environ["CHECKOUT_TABLE_NAME"],
            Key={"pk": {"S": "SKU#RACE-1"}, "sk": {"S": "STOCK"}},
            UpdateExpression="SET sellable = :z",
            ExpressionAttributeValues={":z": {"N": "0"}},
        )

    monkeypatch.setattr("functions.checkout.service.require_checkout_ready", steal_then_check)
    r = checkout(api, SHOPPER)
    assert r.status == 409 and r.body["error"]["code"] == "OUT_OF_STOCK"
    assert api("GET", "/orders", user=SHOPPER).body["items"] == []


def test_replaying_the_same_key_and_body_returns_the_same_order(api, product):
    product({"IDEM-1": 5000}, stock=5)
    api("POST", "/cart/items", {"sku": "IDEM-1", "quantity": 1}, user=SHOPPER)
    first = checkout(api, SHOPPER, key="key-replay-0001")
    assert first.status == 201
    again = checkout(api, SHOPPER, key="key-replay-0001")
    assert again.status == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.body["order_id"] == first.body["order_id"]
    assert stock_of(api, "IDEM-1")["reserved"] == 1
    assert len(api("GET", "/orders", user=SHOPPER).body["items"]) == 1


def test_the_same_key_with_another_body_is_refused(api, product):
    product({"IDEM-2": 5000}, stock=5)
    api("POST", "/cart/items", {"sku": "IDEM-2", "quantity": 1}, user=SHOPPER)
    assert checkout(api, SHOPPER, key="key-reuse-00001").status == 201
    api("POST", "/cart/items", {"sku": "IDEM-2", "quantity": 1}, user=SHOPPER)
    r = checkout(api, SHOPPER, key="key-reuse-00001", note="another body")
    assert r.status == 422 and r.body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert stock_of(api, "IDEM-2")["reserved"] == 1


def test_a_key_is_per_shopper(api, product):
    from tests.conftest import OTHER_SHOPPER

    product({"IDEM-3": 5000}, stock=5)
    for user in (SHOPPER, OTHER_SHOPPER):
        api("POST", "/cart/items", {"sku": "IDEM-3", "quantity": 1}, user=user)
    a = checkout(api, SHOPPER, key="shared-key-0001")
    b = checkout(api, OTHER_SHOPPER, key="shared-key-0001")
    assert a.status == b.status == 201
    assert a.body["order_id"] != b.body["order_id"]


@pytest.mark.parametrize("headers", [{}, {"Idempotency-Key": "short"}, {"Idempotency-Key": "bad key with spaces"}])
def test_a_missing_or_malformed_idempotency_key_is_a_400(api, product, headers):
    product({"IDEM-4": 5000}, stock=5)
    api("POST", "/cart/items", {"sku": "IDEM-4", "quantity": 1}, user=SHOPPER)
    r = api("POST", "/checkout", {"address": ADDRESS}, user=SHOPPER, headers=headers)
    assert r.status == 400, r.body
    assert stock_of(api, "IDEM-4")["reserved"] == 0


def test_checkout_with_an_empty_cart_is_a_422(api):
    r = checkout(api, SHOPPER)
    assert r.status == 422 and r.body["error"]["code"] == "CART_EMPTY"


@pytest.mark.parametrize(
    "extra",
    [
        {"total": {"amount": 1, "currency": "CNY"}},
        {"status": "paid"},
        {"user_id": "someone-else"},
        {"lines": [{"sku": "X", "quantity": 1, "unit_price": {"amount": 1, "currency": "CNY"}}]},
    ],
)
def test_server_controlled_fields_from_the_client_are_refused(api, product, extra):
    product({"FIELD-1": 5000}, stock=5)
    api("POST", "/cart/items", {"sku": "FIELD-1", "quantity": 1}, user=SHOPPER)
    r = checkout(api, SHOPPER, **extra)
    assert r.status == 422, r.body
    assert stock_of(api, "FIELD-1")["reserved"] == 0


@pytest.mark.parametrize(
    "address",
    [{}, {**ADDRESS, "phone": "call me"}, {**ADDRESS, "recipient": ""}, {**ADDRESS, "street": "<script>"}],
)
def test_an_invalid_address_is_a_422(api, product, address):
    product({"ADDR-1": 5000}, stock=5)
    api("POST", "/cart/items", {"sku": "ADDR-1", "quantity": 1}, user=SHOPPER)
    r = api("POST", "/checkout", {"address": address}, user=SHOPPER, headers={"Idempotency-Key": "addr-key-0001"})
    assert r.status == 422, r.body


def test_anonymous_checkout_is_a_401(api):
    r = api("POST", "/checkout", {"address": ADDRESS}, headers={"Idempotency-Key": "anon-key-0001"})
    assert r.status == 401


def test_checkout_merges_the_guest_cart_it_is_sent(api, product):
    product({"GUESTCO-1": 5000}, stock=5)
    token = api("POST", "/cart/items", {"sku": "GUESTCO-1", "quantity": 2}).body["cart_token"]
    r = api(
        "POST",
        "/checkout",
        {"address": ADDRESS},
        user=SHOPPER,
        headers={"Idempotency-Key": "guest-co-0001", "X-Cart-Token": token},
    )
    assert r.status == 201, r.body
    assert r.body["lines"][0]["quantity"] == 2
    assert api("GET", "/cart", headers={"X-Cart-Token": token}).body["lines"] == []


def test_a_checkout_can_hold_fifty_lines(api, product):
    product({f"BIG-{i:02d}": 100 for i in range(25)}, stock=3)
    product({f"BIG-{i:02d}": 100 for i in range(25, 50)}, stock=3)
    for i in range(50):
        api("POST", "/cart/items", {"sku": f"BIG-{i:02d}", "quantity": 1}, user=SHOPPER)
    r = checkout(api, SHOPPER)
    assert r.status == 201, r.body
    assert len(r.body["lines"]) == 50
