"""A received return is refunded through the payments context: the shipping context's ReturnReceived, delivered to
the ReturnRefunder, refunds the order's paying payment through its provider once per return, with the return as
the refund's reference; exchanges are not refunded, more than is left is capped, an unknown order is retried."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import boto3

from functions.payments.repository import DynamoPaymentsRepository
from functions.shared.events import utcnow
from functions.shared.money import Money
from functions.shipping.events import Line, ReturnReceived
from local.apigw import LambdaContext
from tests.integration.payments.conftest import outbox, to_return_refunder
from tests.integration.payments.test_payments_api import FULFILMENT

STAFF = "66666666-6666-4666-8666-666666666666"
OK = {"batchItemFailures": []}


def received(
    order: dict[str, Any], refund: int | None, kind: str = "return", return_id: str | None = None
) -> dict[str, Any]:
    """A ReturnReceived detail exactly as the shipping context's model writes it."""
    line = Line(sku=order["lines"][0]["sku"], quantity=1)
    event = ReturnReceived(
        return_id=return_id or f"ret_{uuid.uuid4().hex[:12]}",
        order_id=order["order_id"],
        user_id=order["user_id"],
        kind=kind,  # type: ignore[arg-type]
        lines=[line],
        actor=STAFF,
        restocked=[line],
        damaged=[],
        refund=None if refund is None else Money(amount=refund, currency="CNY"),
    )
    detail: dict[str, Any] = json.loads(event.detail_json())
    return detail


def repo(aws) -> DynamoPaymentsRepository:
    return DynamoPaymentsRepository(boto3.client("dynamodb"), aws.env["PAYMENTS_TABLE_NAME"])


def test_a_received_return_is_refunded_once_even_when_delivered_twice(aws, paid, stripe):
    order, payment = paid(30000)
    detail = received(order, 12000)
    assert to_return_refunder(detail, times=2) == [OK, OK]
    # The shipping context publishing the same return again (a new event id) refunds nothing either.
    assert to_return_refunder({**detail, "event_id": uuid.uuid4().hex}) == [OK]
    assert [(r["amount"], r["payment_intent"]) for r in stripe.refunds] == [(12000, payment["provider_reference"])]
    (succeeded,) = outbox(aws, "PAYMENTS_TABLE_NAME", "RefundSucceeded")
    assert succeeded["reference"] == f"return:{detail['return_id']}"
    assert succeeded["amount"] == {"amount": 12000, "currency": "CNY"}
    assert succeeded["refunded_total"] == {"amount": 12000, "currency": "CNY"}
    refund = repo(aws).refund(succeeded["refund_id"])
    assert refund is not None and refund.status == "succeeded"
    assert (refund.reason, refund.requested_by, refund.reference) == (
        f"return {detail['return_id']}",
        STAFF,
        f"return:{detail['return_id']}",
    )
    left = repo(aws).payment(payment["payment_id"])
    assert left is not None and left.refunded.amount == 12000


def test_a_delivery_that_loses_the_race_to_another_refunds_nothing(aws, paid, stripe, monkeypatch):
    """Two deliveries at once: both read no idempotency record, but it is written in the refund's own
    transaction, so the second one's write fails, and it answers with the first one's refund."""
    from functions.payments.service import service

    order, _payment = paid(30000)
    detail = received(order, 5000)
    assert to_return_refunder(detail) == [OK]
    svc = service()
    real = svc.repo.idempotency_record
    calls = iter([None])
    monkeypatch.setattr(svc.repo, "idempotency_record", lambda record: next(calls, real(record)))
    done = svc.refund_return(detail["return_id"], order["order_id"], Money(amount=5000, currency="CNY"), STAFF)
    assert done.outcome == "duplicate" and done.refund is not None
    assert [r["amount"] for r in stripe.refunds] == [5000]


def test_a_back_office_refund_has_no_reference(api, aws, paid, stripe):
    order, _payment = paid(30000)
    r = api("POST", f"/admin/orders/{order['order_id']}/refunds", {"amount": 100, "reason": "late"}, user=FULFILMENT)
    assert r.status == 201, r.body
    assert "reference" in r.body and r.body["reference"] is None
    assert [e["reference"] for e in outbox(aws, "PAYMENTS_TABLE_NAME", "RefundSucceeded")] == [None]


def test_a_refused_return_refund_is_published_with_its_reference_and_not_sent_again(aws, paid, stripe):
    order, _payment = paid(30000)
    stripe.refund_status = "failed"
    detail = received(order, 8000)
    assert to_return_refunder(detail, times=2) == [OK, OK]
    assert len(stripe.refunds) == 1
    (failed,) = outbox(aws, "PAYMENTS_TABLE_NAME", "RefundFailed")
    assert failed["reference"] == f"return:{detail['return_id']}"
    assert outbox(aws, "PAYMENTS_TABLE_NAME", "RefundSucceeded") == []


def test_a_return_refund_the_provider_did_not_answer_is_sent_again_by_the_reconciliation(
    aws, paid, stripe, monkeypatch
):
    from functions.payments.handlers import reconcile

    order, _payment = paid(30000)
    stripe.down = True
    detail = received(order, 9000)
    assert to_return_refunder(detail, times=2) == [OK, OK]  # recorded as pending: acknowledged, not retried
    stripe.down = False
    later = utcnow() + timedelta(minutes=4)
    monkeypatch.setattr("functions.payments.service.now", lambda: later)
    done = reconcile.handler({}, LambdaContext("ReconcilePayments"))["reconciled"]
    assert list(done.values()) == ["succeeded"]
    assert [r["amount"] for r in stripe.refunds] == [9000]
    (succeeded,) = outbox(aws, "PAYMENTS_TABLE_NAME", "RefundSucceeded")
    assert succeeded["reference"] == f"return:{detail['return_id']}"


def test_an_exchange_or_a_return_without_a_refund_is_not_refunded(aws, paid, stripe):
    order, _payment = paid(30000)
    assert to_return_refunder(received(order, 12000, kind="exchange")) == [OK]
    assert to_return_refunder(received(order, None)) == [OK]
    assert to_return_refunder(received(order, 0)) == [OK]
    assert stripe.refunds == []
    assert outbox(aws, "PAYMENTS_TABLE_NAME", "RefundSucceeded") == []


def test_a_return_for_more_than_is_left_refundable_is_refunded_what_is_left(api, aws, paid, stripe):
    order, payment = paid(30000)
    path = f"/admin/orders/{order['order_id']}/refunds"
    assert api("POST", path, {"amount": 25000, "reason": "price match"}, user=FULFILMENT).status == 201
    assert to_return_refunder(received(order, 12000)) == [OK]
    assert [r["amount"] for r in stripe.refunds] == [25000, 5000]
    # Nothing left: acknowledged, nothing sent (it never loops or poisons the queue).
    assert to_return_refunder(received(order, 1000)) == [OK]
    assert [r["amount"] for r in stripe.refunds] == [25000, 5000]
    left = repo(aws).payment(payment["payment_id"])
    assert left is not None and left.refunded.amount == 30000


def test_a_return_for_an_order_not_known_yet_is_retried(aws, paid, stripe):
    order, _payment = paid(30000)
    stranger = {**order, "order_id": f"ord_{uuid.uuid4().hex[:12]}"}
    detail = received(stranger, 12000)
    (result,) = to_return_refunder(detail)
    assert len(result["batchItemFailures"]) == 1
    assert stripe.refunds == []


def test_a_return_for_an_order_with_no_captured_payment_is_dropped(aws, placed, stripe):
    order = placed(20000)  # known to payments, never paid
    assert to_return_refunder(received(order, 12000)) == [OK]
    assert stripe.refunds == []


def test_a_malformed_return_event_is_reported_as_failed(aws, paid, stripe):
    order, _payment = paid(30000)
    detail = received(order, 12000)
    detail["refund"] = {"amount": 120.5, "currency": "CNY"}  # never a float
    (result,) = to_return_refunder(detail)
    assert len(result["batchItemFailures"]) == 1
    assert stripe.refunds == []
