"""PaymentSucceeded from the payments context: the order becomes paid only from pending_payment and for its exact
total; anything else is rejected (and refunded by payments); duplicates change nothing."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import boto3

from functions.shared.events import utcnow
from local.apigw import LambdaContext
from tests.conftest import SHOPPER
from tests.integration.checkout.conftest import checkout, sqs_event


def place(api, product, sku, amount=5000):
    product({sku: amount}, stock=3)
    api("POST", "/cart/items", {"sku": sku, "quantity": 1}, user=SHOPPER)
    r = checkout(api, SHOPPER)
    assert r.status == 201, r.body
    return r.body


def succeeded(order, payment_id=None, amount=None):
    from functions.checkout.handlers import payment_recorder

    detail = {
        "event_id": str(uuid.uuid4()),
        "payment_id": payment_id or "pay_1",
        "order_id": order["order_id"],
        "user_id": order["user_id"],
        "method": "card",
        "amount": {"amount": order["totals"]["total"]["amount"] if amount is None else amount, "currency": "CNY"},
        "provider_reference": "pi_123",
        "succeeded_at": utcnow().isoformat(),
    }
    result = payment_recorder.handler(
        sqs_event("PaymentSucceeded", "shop.payments", detail), LambdaContext("OrderPaymentRecorder")
    )
    assert result == {"batchItemFailures": []}, result


def outbox(aws, detail_type):
    items = boto3.client("dynamodb").scan(TableName=aws.env["CHECKOUT_TABLE_NAME"])["Items"]
    return [
        json.loads(i["detail"]["S"])
        for i in items
        if i["pk"]["S"].startswith("OUTBOX#") and i["detail_type"]["S"] == detail_type
    ]


def test_a_payment_for_the_total_marks_the_order_paid_once(api, aws, product):
    order = place(api, product, "PAY-1")
    succeeded(order)
    succeeded(order)  # a duplicate delivery
    got = api("GET", f"/orders/{order['order_id']}", user=SHOPPER).body
    assert got["status"] == "paid" and got["payment_id"] == "pay_1" and got["version"] == 2
    assert [e["order"]["status"] for e in outbox(aws, "OrderPaid")] == ["paid"]
    assert outbox(aws, "PaymentRejected") == []


def test_a_payment_after_the_order_was_cancelled_is_rejected_for_a_refund(api, aws, product):
    order = place(api, product, "PAY-2")
    api("POST", f"/orders/{order['order_id']}/cancel", {}, user=SHOPPER)
    succeeded(order)
    assert api("GET", f"/orders/{order['order_id']}", user=SHOPPER).body["status"] == "cancelled"
    assert [(e["payment_id"], e["reason"]) for e in outbox(aws, "PaymentRejected")] == [("pay_1", "order_cancelled")]


def test_a_second_payment_and_a_wrong_amount_are_rejected(api, aws, product):
    order = place(api, product, "PAY-3")
    succeeded(order, "pay_short", amount=1)
    assert api("GET", f"/orders/{order['order_id']}", user=SHOPPER).body["status"] == "pending_payment"
    succeeded(order, "pay_ok")
    succeeded(order, "pay_twice")
    reasons = sorted((e["payment_id"], e["reason"]) for e in outbox(aws, "PaymentRejected"))
    assert reasons == [("pay_short", "amount_mismatch"), ("pay_twice", "already_paid")]


def test_a_paid_order_is_not_expired_and_cancelling_it_is_a_refund(api, aws, product, monkeypatch):
    order = place(api, product, "PAY-4")
    succeeded(order)
    svc = __import__("functions.checkout.service", fromlist=["service"]).service()
    later = utcnow() + timedelta(seconds=2000)
    monkeypatch.setattr("functions.checkout.service.now", lambda: later)
    assert svc.expire(order["order_id"]) is None
    assert api("GET", f"/orders/{order['order_id']}", user=SHOPPER).body["status"] == "paid"
    cancelled = api("POST", f"/orders/{order['order_id']}/cancel", {}, user=SHOPPER).body
    assert cancelled["status"] == "cancelled"
    assert [e["refund_due"] for e in outbox(aws, "OrderCancelled")] == [True]


def test_the_window_waits_a_moment_for_a_payment_in_flight(api, product, monkeypatch):
    from datetime import datetime

    order = place(api, product, "PAY-5")
    due = datetime.fromisoformat(order["payment_due_at"].replace("Z", "+00:00"))
    monkeypatch.setattr("functions.checkout.service.now", lambda: due + timedelta(seconds=1))
    svc = __import__("functions.checkout.service", fromlist=["service"]).service()
    wait = svc.expire(order["order_id"])
    assert wait is not None and 0 < wait <= 10
