"""Payments over the handlers, with the card adapter against a stand-in for Stripe's API: intents, verified
webhooks applied once, the order paid through the checkout, refunds, late successes refunded, reconciliation."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from functions.shared.events import utcnow
from local.apigw import LambdaContext
from tests.conftest import ADMIN, OTHER_SHOPPER, SHOPPER, User
from tests.integration.payments.conftest import outbox, to_checkout, to_payments, webhook

FULFILMENT = User("55555555-5555-4555-8555-555555555555", "ops@example.com", ("customer", "fulfilment"))


def pay(api, order, key=None, method="card", user=SHOPPER):
    return api(
        "POST",
        f"/orders/{order['order_id']}/payments",
        {"method": method},
        user=user,
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )


def callback(api, body, headers):
    return api("POST", "/callbacks/payments/card", raw_body=body, headers=headers)


def succeed(api, stripe, payment, event_id=None):
    intent = stripe.pay(payment["provider_reference"])
    return callback(api, *webhook("payment_intent.succeeded", intent, event_id))


def test_a_card_payment_is_created_for_the_orders_total_and_replayed_by_key(api, placed, stripe):
    order = placed(20000)
    first = pay(api, order, key="pay-key-00001")
    assert first.status == 201, first.body
    payment = first.body["payment"]
    assert payment["amount"] == {"amount": 20000, "currency": "CNY"} and payment["status"] == "pending"
    assert first.body["next_action"]["kind"] == "client_secret"
    assert first.body["next_action"]["client_secret"].startswith(payment["provider_reference"])
    again = pay(api, order, key="pay-key-00001")
    assert again.status == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.body["payment"]["payment_id"] == payment["payment_id"]
    assert len(stripe.intents) == 1
    reuse = pay(api, order, key="pay-key-00001", method="alipay")
    assert reuse.status == 422 and reuse.body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_a_client_cannot_choose_the_amount_or_pay_someone_elses_order(api, placed, stripe):
    order = placed()
    r = api(
        "POST",
        f"/orders/{order['order_id']}/payments",
        {"method": "card", "amount": 1},
        user=SHOPPER,
        headers={"Idempotency-Key": "pay-key-00002"},
    )
    assert r.status == 422
    assert pay(api, order, user=OTHER_SHOPPER).status == 404
    assert pay(api, order, method="bitcoin").status == 422
    assert pay(api, order, method="wechat_pay").body["error"]["code"] == "METHOD_NOT_AVAILABLE"
    assert api("POST", f"/orders/{order['order_id']}/payments", {"method": "card"}, user=SHOPPER).status == 400
    assert stripe.intents == {}


def test_a_verified_success_pays_the_order_once(api, aws, placed, stripe):
    order = placed()
    payment = pay(api, order).body["payment"]
    first = succeed(api, stripe, payment, event_id="evt_success_1")
    assert first.status == 200 and first.body == {"received": True}
    duplicate = succeed(api, stripe, payment, event_id="evt_success_1")
    assert duplicate.status == 200
    events = outbox(aws, "PAYMENTS_TABLE_NAME", "PaymentSucceeded")
    assert [e["payment_id"] for e in events] == [payment["payment_id"]]
    to_checkout(events[0])
    assert api("GET", f"/orders/{order['order_id']}", user=SHOPPER).body["status"] == "paid"
    for paid in outbox(aws, "CHECKOUT_TABLE_NAME", "OrderPaid"):
        to_payments("OrderPaid", paid)
    again = pay(api, order)
    assert again.status == 409 and again.body["error"]["code"] == "ORDER_NOT_PAYABLE"


@pytest.mark.parametrize(
    "tamper",
    ["signature", "body", "stale", "future", "secret"],
)
def test_a_forged_or_stale_webhook_changes_nothing(api, aws, placed, stripe, tamper):
    import time

    order = placed()
    payment = pay(api, order).body["payment"]
    intent = stripe.pay(payment["provider_reference"])
    at = {"stale": int(time.time()) - 301, "future": int(time.time()) + 301}.get(tamper)
    body, headers = webhook(
        "payment_intent.succeeded", intent, at=at, secret="whsec_other" if tamper == "secret" else "whsec_test_secret"
    )
    if tamper == "signature":
        headers["Stripe-Signature"] = headers["Stripe-Signature"][:-4] + "0000"
    if tamper == "body":
        body = body.replace(str(intent["amount"]), str(intent["amount"] - 1), 1)
    r = callback(api, body, headers)
    assert r.status in (400, 401), r.body
    assert outbox(aws, "PAYMENTS_TABLE_NAME", "PaymentSucceeded") == []


def test_a_webhook_for_another_amount_or_an_unknown_payment_is_refused(api, aws, placed, stripe):
    order = placed()
    payment = pay(api, order).body["payment"]
    intent = dict(stripe.pay(payment["provider_reference"]))
    intent["amount_received"] = 1
    assert callback(api, *webhook("payment_intent.succeeded", intent)).status == 400
    stranger = {**intent, "amount_received": intent["amount"], "metadata": {"payment_id": "pay_unknown123"}}
    assert callback(api, *webhook("payment_intent.succeeded", stranger)).status == 400
    assert outbox(aws, "PAYMENTS_TABLE_NAME", "PaymentSucceeded") == []


def test_a_declined_payment_fails_and_the_order_can_be_paid_again(api, aws, placed, stripe):
    order = placed()
    payment = pay(api, order).body["payment"]
    intent = stripe.intents[payment["provider_reference"]]
    intent["status"] = "requires_payment_method"
    assert callback(api, *webhook("payment_intent.payment_failed", intent)).status == 200
    assert [e["payment_id"] for e in outbox(aws, "PAYMENTS_TABLE_NAME", "PaymentFailed")] == [payment["payment_id"]]
    assert pay(api, order).status == 201  # another attempt


def test_a_success_after_the_order_was_cancelled_is_refunded_in_full(api, aws, placed, stripe):
    order = placed()
    payment = pay(api, order).body["payment"]
    api("POST", f"/orders/{order['order_id']}/cancel", {}, user=SHOPPER)
    succeed(api, stripe, payment)
    to_checkout(outbox(aws, "PAYMENTS_TABLE_NAME", "PaymentSucceeded")[0])
    rejected = outbox(aws, "CHECKOUT_TABLE_NAME", "PaymentRejected")
    assert [r["reason"] for r in rejected] == ["order_cancelled"]
    to_payments("PaymentRejected", rejected[0])
    to_payments("PaymentRejected", rejected[0])  # delivered twice: refunded once
    assert [(r["amount"], r["payment_intent"]) for r in stripe.refunds] == [(20000, payment["provider_reference"])]
    assert len(outbox(aws, "PAYMENTS_TABLE_NAME", "RefundSucceeded")) == 1


def paid_order(api, aws, placed, stripe):
    order = placed(30000)
    payment = pay(api, order).body["payment"]
    succeed(api, stripe, payment)
    to_checkout(outbox(aws, "PAYMENTS_TABLE_NAME", "PaymentSucceeded")[0])
    for paid in outbox(aws, "CHECKOUT_TABLE_NAME", "OrderPaid"):
        to_payments("OrderPaid", paid)
    return order, payment


def test_partial_and_full_refunds_never_exceed_what_was_captured(api, aws, placed, stripe):
    order, _payment = paid_order(api, aws, placed, stripe)
    path = f"/admin/orders/{order['order_id']}/refunds"
    first = api("POST", path, {"amount": 3000, "reason": "damaged box"}, user=FULFILMENT)
    assert first.status == 201, first.body
    assert first.body["status"] == "succeeded" and first.body["amount"]["amount"] == 3000
    too_much = api("POST", path, {"amount": 27001, "reason": "again"}, user=FULFILMENT)
    assert too_much.status == 409 and too_much.body["error"]["code"] == "REFUND_EXCEEDS_CAPTURED"
    rest = api("POST", path, {"reason": "the rest"}, user=ADMIN)
    assert rest.status == 201 and rest.body["amount"]["amount"] == 27000
    assert api("POST", path, {"reason": "nothing left"}, user=ADMIN).status == 409
    assert sum(r["amount"] for r in stripe.refunds) == 30000
    assert api("POST", path, {"reason": "x"}, user=SHOPPER).status == 403


def test_refunding_an_unpaid_order_is_refused(api, placed, stripe):
    order = placed()
    r = api("POST", f"/admin/orders/{order['order_id']}/refunds", {"reason": "why"}, user=FULFILMENT)
    assert r.status == 409 and r.body["error"]["code"] == "ORDER_NOT_PAID"
    bad = api("POST", f"/admin/orders/{order['order_id']}/refunds", {"amount": -5, "reason": "x"}, user=FULFILMENT)
    assert bad.status == 422


def test_cancelling_a_paid_order_refunds_it(api, aws, placed, stripe):
    order, _payment = paid_order(api, aws, placed, stripe)
    api("POST", f"/orders/{order['order_id']}/cancel", {}, user=SHOPPER)
    cancelled = outbox(aws, "CHECKOUT_TABLE_NAME", "OrderCancelled")
    assert cancelled[0]["refund_due"] is True
    to_payments("OrderCancelled", cancelled[0])
    assert [r["amount"] for r in stripe.refunds] == [30000]


def test_reconciliation_settles_a_payment_whose_callback_was_lost(api, aws, placed, stripe, monkeypatch):
    from functions.payments.handlers import reconcile

    order = placed()
    payment = pay(api, order).body["payment"]
    stripe.pay(payment["provider_reference"])  # paid at the provider; the webhook never arrives
    assert reconcile.handler({}, LambdaContext("ReconcilePayments")) == {"reconciled": {}}  # too early
    later = utcnow() + timedelta(minutes=4)
    monkeypatch.setattr("functions.payments.service.now", lambda: later)
    done = reconcile.handler({}, LambdaContext("ReconcilePayments"))
    assert done == {"reconciled": {payment["payment_id"]: "succeeded"}}
    assert [e["payment_id"] for e in outbox(aws, "PAYMENTS_TABLE_NAME", "PaymentSucceeded")] == [payment["payment_id"]]
    assert reconcile.handler({}, LambdaContext("ReconcilePayments")) == {"reconciled": {}}


def test_an_unreachable_provider_is_a_503_and_the_attempt_is_failed(api, placed, stripe):
    order = placed()
    stripe.down = True
    r = pay(api, order)
    assert r.status == 503 and r.headers.get("Retry-After") == "1"


def test_a_retried_refund_with_the_same_key_refunds_once(api, aws, placed, stripe):
    order, _payment = paid_order(api, aws, placed, stripe)
    path = f"/admin/orders/{order['order_id']}/refunds"
    headers = {"Idempotency-Key": "refund-key-0001"}
    first = api("POST", path, {"amount": 1000, "reason": "late"}, user=FULFILMENT, headers=headers)
    again = api("POST", path, {"amount": 1000, "reason": "late"}, user=FULFILMENT, headers=headers)
    assert first.status == 201 and again.status == 200
    assert again.body["refund_id"] == first.body["refund_id"]
    other = api("POST", path, {"amount": 2000, "reason": "late"}, user=FULFILMENT, headers=headers)
    assert other.status == 422
    assert [r["amount"] for r in stripe.refunds] == [1000]


def test_a_refund_the_provider_did_not_answer_stays_pending_and_is_sent_again_later(
    api, aws, placed, stripe, monkeypatch
):
    from functions.payments.handlers import reconcile

    order, _payment = paid_order(api, aws, placed, stripe)
    stripe.down = True
    r = api("POST", f"/admin/orders/{order['order_id']}/refunds", {"reason": "lost parcel"}, user=FULFILMENT)
    assert r.status == 201 and r.body["status"] == "pending"
    stripe.down = False
    later = utcnow() + timedelta(minutes=4)
    monkeypatch.setattr("functions.payments.service.now", lambda: later)
    done = reconcile.handler({}, LambdaContext("ReconcilePayments"))["reconciled"]
    assert done == {r.body["refund_id"]: "succeeded"}
    assert [x["amount"] for x in stripe.refunds] == [30000]
    assert reconcile.handler({}, LambdaContext("ReconcilePayments")) == {"reconciled": {}}


def test_an_abandoned_attempt_leaves_the_reconciliation_worklist(api, aws, placed, stripe, monkeypatch):
    from functions.payments.handlers import reconcile

    order = placed()
    payment = pay(api, order).body["payment"]  # never paid
    api("POST", f"/orders/{order['order_id']}/cancel", {}, user=SHOPPER)
    for cancelled in outbox(aws, "CHECKOUT_TABLE_NAME", "OrderCancelled"):
        to_payments("OrderCancelled", cancelled)
    later = utcnow() + timedelta(minutes=4)
    monkeypatch.setattr("functions.payments.service.now", lambda: later)
    assert reconcile.handler({}, LambdaContext("ReconcilePayments")) == {
        "reconciled": {payment["payment_id"]: "failed"}
    }
    assert reconcile.handler({}, LambdaContext("ReconcilePayments")) == {"reconciled": {}}


def test_an_order_with_nothing_to_pay_is_refused_before_anything_is_written(api, placed, stripe, aws):
    import boto3

    order = placed()
    boto3.client("dynamodb").update_item(
        TableName=aws.env["PAYMENTS_TABLE_NAME"],
        Key={"pk": {"S": f"ORDER#{order['order_id']}"}, "sk": {"S": "ORDER"}},
        UpdateExpression="SET #t.amount = :z",
        ExpressionAttributeNames={"#t": "total"},
        ExpressionAttributeValues={":z": {"N": "0"}},
    )
    r = pay(api, order, key="zero-total-01")
    assert r.status == 409 and r.body["error"]["code"] == "NOTHING_TO_PAY"
    assert stripe.intents == {}
    assert pay(api, order, key="zero-total-01").status == 409  # nothing was recorded under the key
