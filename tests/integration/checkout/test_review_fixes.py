"""Cases a review found: a same-key request that loses the race answers as a replay, a half-applied product event
is applied in full when redelivered, the payment window's backstop, times out of range, a malformed cart token at
checkout, partial batch reads, and an unreachable JWKS."""

from __future__ import annotations

from datetime import timedelta

import pytest

from functions.checkout.model import CheckoutInput
from functions.checkout.service import service
from functions.shared.errors import ServiceUnavailable, Unauthorized
from functions.shared.events import utcnow
from local.apigw import LambdaContext
from tests.conftest import ADMIN, SHOPPER
from tests.integration.checkout.conftest import ADDRESS, checkout, project, sqs_event, variant


def test_a_same_key_request_that_lost_the_race_answers_as_the_replay(api, product, monkeypatch):
    """B read before A committed (no idempotency record yet), then A took the last unit: B must return A's order,
    not 409 OUT_OF_STOCK."""
    product({"RACE-KEY": 5000}, stock=1)
    api("POST", "/cart/items", {"sku": "RACE-KEY", "quantity": 1}, user=SHOPPER)
    first = checkout(api, SHOPPER, key="same-key-race-1")
    assert first.status == 201
    api("POST", "/cart/items", {"sku": "RACE-KEY", "quantity": 1}, user=SHOPPER)  # B's view of the cart
    svc = service()
    real = svc.repo.batch_get
    calls = {"n": 0}

    def first_read_misses_the_key(keys, consistent=False):
        reads = real(keys, consistent)
        calls["n"] += 1
        if calls["n"] == 1:
            reads.items = {k: v for k, v in reads.items.items() if not k[0].startswith("IDEMP#")}
        return reads

    monkeypatch.setattr(svc.repo, "batch_get", first_read_misses_the_key)
    order, replayed = svc.checkout(SHOPPER.sub, "same-key-race-1", CheckoutInput(address=ADDRESS), None)
    assert replayed is True
    assert order.order_id == first.body["order_id"]


def test_a_product_event_that_failed_half_way_is_applied_in_full_when_redelivered(api, product, monkeypatch):
    from functions.checkout.handlers import catalog_projector
    from functions.checkout.repository import DynamoCheckoutRepository

    p = product({"HALF-A": 1000, "HALF-B": 2000})
    v2 = {
        **p,
        "version": 2,
        "variants": [
            variant("HALF-A", 1111, options={"v": "HALF-A"}),
            variant("HALF-B", 2222, options={"v": "HALF-B"}),
        ],
    }
    real = DynamoCheckoutRepository._conditional_update
    failed = {"once": False}

    def fail_on_b(self, key, *args, **kwargs):
        if key["pk"]["S"] == "SKU#HALF-B" and not failed["once"]:
            failed["once"] = True
            raise RuntimeError("throttled")
        return real(self, key, *args, **kwargs)

    monkeypatch.setattr(DynamoCheckoutRepository, "_conditional_update", fail_on_b)
    event = sqs_event("ProductUpdated", "shop.catalog", {"event_id": "e1", "product": v2})
    first = catalog_projector.handler(event, LambdaContext("CheckoutCatalogProjector"))
    assert len(first["batchItemFailures"]) == 1
    assert catalog_projector.handler(event, LambdaContext("CheckoutCatalogProjector")) == {"batchItemFailures": []}
    prices = {
        line["sku"]: line["unit_price"]["amount"]
        for line in [
            api("POST", "/cart/items", {"sku": s, "quantity": 1}, user=SHOPPER).body["lines"]
            for s in ("HALF-A", "HALF-B")
        ][-1]
    }
    assert prices == {"HALF-A": 1111, "HALF-B": 2222}


def test_the_backstop_expires_unpaid_orders_the_timer_missed(api, product, monkeypatch):
    from functions.checkout.handlers import expire_overdue_orders

    product({"BACKSTOP": 1000}, stock=2)
    api("POST", "/cart/items", {"sku": "BACKSTOP", "quantity": 2}, user=SHOPPER)
    order = checkout(api, SHOPPER).body
    assert expire_overdue_orders.handler({}, LambdaContext("ExpireOverdueOrders")) == {"expired": []}
    later = utcnow() + timedelta(seconds=900 + 121)
    monkeypatch.setattr("functions.checkout.service.now", lambda: later)
    assert expire_overdue_orders.handler({}, LambdaContext("ExpireOverdueOrders")) == {"expired": [order["order_id"]]}
    assert api("GET", f"/orders/{order['order_id']}", user=SHOPPER).body["status"] == "cancelled"
    assert api("GET", "/admin/inventory/BACKSTOP", user=ADMIN).body["sellable"] == 2
    assert expire_overdue_orders.handler({}, LambdaContext("ExpireOverdueOrders")) == {"expired": []}


@pytest.mark.parametrize(
    "query",
    [
        {"to": "0001-01-01T00:00:00Z"},
        {"to": "9999-12-31T23:00:00-05:00"},
        {"from": "0999-01-01T00:00:00Z"},
        {"from": "2001-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
    ],
)
def test_admin_order_ranges_out_of_bounds_are_a_422(api, query):
    from tests.integration.checkout.test_orders_api import FULFILMENT

    r = api("GET", "/admin/orders", user=FULFILMENT, query=query)
    assert r.status == 422, r.body


def test_a_flash_sale_ending_in_the_year_9999_is_a_422(api, product):
    product({"FAR-1": 9900}, stock=5)
    body = {
        "name": "far",
        "sku": "FAR-1",
        "price": {"amount": 100, "currency": "CNY"},
        "quantity": 1,
        "starts_at": "2026-01-01T00:00:00Z",
        "ends_at": "9999-12-31T23:00:00-05:00",
    }
    assert api("POST", "/admin/promotions", body, user=ADMIN).status == 422


def test_a_malformed_cart_token_at_checkout_is_a_400(api, product):
    product({"TOK-1": 1000}, stock=1)
    api("POST", "/cart/items", {"sku": "TOK-1", "quantity": 1}, user=SHOPPER)
    r = api(
        "POST",
        "/checkout",
        {"address": ADDRESS},
        user=SHOPPER,
        headers={"Idempotency-Key": "token-check-01", "X-Cart-Token": "x" * 3000},
    )
    assert r.status == 400 and r.body["error"]["code"] == "INVALID_CART_TOKEN"


def test_the_coupon_code_case_does_not_change_the_request(api, product):
    from tests.integration.checkout.test_coupons_api import coupon

    product({"CASE-1": 20000}, stock=5)
    coupon(api, code="CASED")
    api("POST", "/cart/items", {"sku": "CASE-1", "quantity": 1}, user=SHOPPER)
    assert checkout(api, SHOPPER, key="case-key-0001", coupon_code="cased").status == 201
    assert checkout(api, SHOPPER, key="case-key-0001", coupon_code="CASED").status == 200


def test_a_batch_read_that_stays_throttled_is_a_503_not_a_partial_answer(aws, monkeypatch):
    from functions.checkout.repository import cart_key

    repo = service().repo
    monkeypatch.setattr("functions.checkout.repository.time.sleep", lambda s: None)

    class Throttled:
        def batch_get_item(self, RequestItems):
            return {"Responses": {}, "UnprocessedKeys": RequestItems}

    monkeypatch.setattr(repo, "_ddb", Throttled())
    with pytest.raises(ServiceUnavailable):
        repo.batch_get([cart_key("U#x")])


def test_an_unreachable_jwks_is_a_503_and_is_not_fetched_again_at_once(monkeypatch):
    from functions.shared import jwt

    fetches = {"n": 0}

    def down(*args, **kwargs):
        fetches["n"] += 1
        raise OSError("connection refused")

    monkeypatch.setattr(jwt.urllib.request, "urlopen", down)
    verifier = jwt.JwksVerifier("https://example.invalid/jwks.json", "iss", "aud")
    header = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0"  # {"alg":"RS256","kid":"k1"}
    token = f"{header}.e30.c2ln"
    with pytest.raises(ServiceUnavailable):
        verifier.verify(token)
    with pytest.raises(Unauthorized):  # no keys yet and no new fetch within the interval: an unknown key
        verifier.verify(token)
    assert fetches["n"] == 1


def test_a_replayed_projection_of_an_older_version_is_ignored(api, product):
    p = product({"OLDV-1": 1000})
    project({**p, "version": 3, "variants": [variant("OLDV-1", 3000, options={"v": "OLDV-1"})]}, "ProductUpdated")
    project({**p, "version": 2, "variants": [variant("OLDV-1", 2000, options={"v": "OLDV-1"})]}, "ProductUpdated")
    line = api("POST", "/cart/items", {"sku": "OLDV-1", "quantity": 1}, user=SHOPPER).body["lines"][0]
    assert line["unit_price"]["amount"] == 3000
