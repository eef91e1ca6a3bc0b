"""Payments scenarios. Seed: the local payment sandbox (``local.payment_sandbox``) started in this process, its
configuration stored in the payments secret as ``local/runner.py`` does (so the measured children's provider requests
go to it over loopback HTTP: those are not AWS requests and are not counted), and its keys file in a temporary
directory, never in the repository's ``.local``.

Every call that pays an order gets a fresh order: a fresh shopper places it through the checkout's handlers and the
builder projects it into payments through ``PaymentsOrderProjector``, as the OrderPlaced event would. A callback gets
a fresh pending card payment (created in-process, its PaymentIntent then marked paid in the sandbox) and the Stripe
webhook the sandbox signs for it; a refund gets a payment made paid by such a callback applied in-process. A received
return (``ReturnRefunder``) is the shipping context's ``ReturnReceived`` for such a paid order.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import secrets
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import Bench, Claims, ScenarioFailed, outcome
from bench.scenarios import scenario, seeder
from bench.scenarios.checkout import (
    FULFILMENT_STAFF,
    deliver,
    place_order,
    quiet_logs,
    shopper,
    sqs_event,
    with_headers,
)
from bench.scenarios.relay import BATCH, stream_event
from functions.checkout.events import OrderPlaced, PaymentRejected
from functions.checkout.model import Order
from functions.payments.events import PaymentSucceeded
from functions.shared.money import Money
from functions.shared.outbox import outbox_item
from functions.shared.wiring import StreamConsumer
from functions.shipping.events import Line, ReturnReceived

# Callbacks the sandbox would send by itself (after a refund) go here: nothing listens, they fail at once.
NOTIFY_BASE_URL = "http://127.0.0.1:9/bench"


def _seed(bench: Bench) -> dict[str, Any]:
    seed: dict[str, Any] = bench.seed["payments"]
    return seed


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@seeder
def seed_payments(bench: Bench) -> None:
    import boto3

    from local.payment_sandbox import PaymentSandbox

    keys_dir = Path(tempfile.mkdtemp(prefix="bench-payment-sandbox-"))
    atexit.register(shutil.rmtree, keys_dir, ignore_errors=True)
    os.environ["PAYMENT_SANDBOX_KEYS_FILE"] = str(keys_dir / "payment-sandbox.json")
    # The notifications it sends by itself (after a refund) find nobody: not worth a warning each.
    logging.getLogger("local.payment_sandbox").setLevel(logging.ERROR)
    sandbox = PaymentSandbox(0, notify_base_url=NOTIFY_BASE_URL)
    sandbox.start()
    arn = os.environ.get("PAYMENTS_SECRET_ARN")
    if not arn:
        sandbox.stop()
        raise ScenarioFailed("the created resources have no PAYMENTS_SECRET_ARN")
    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=sandbox.config_json())
    from functions.payments import gateway

    gateway.providers.cache_clear()  # in case anything read the (empty) secret before
    bench.seed["payments"] = {"sandbox": sandbox}


def _regular(bench: Bench) -> list[str]:
    skus: list[str] = bench.seed["checkout"]["regular"]
    return skus


def placed_order(bench: Bench) -> tuple[Claims, dict[str, Any]]:
    """A fresh shopper's unpaid order of 2 regular lines, known to the payments context (projected in-process)."""
    claims = shopper(bench)
    order = place_order(bench, claims, _regular(bench))
    detail = json.loads(OrderPlaced(order=Order.model_validate(order)).detail_json())
    deliver(bench, "PaymentsOrderProjector", sqs_event(OrderPlaced.SOURCE, OrderPlaced.detail_type(), detail))
    return claims, order


def payment_event(bench: Bench, claims: Claims, order_id: str, method: str) -> dict[str, Any]:
    event = bench.event("POST", f"/orders/{order_id}/payments", {"method": method}, claims)
    return with_headers(event, {"Idempotency-Key": uuid.uuid4().hex})


def create_payment(bench: Bench, method: str = "card") -> tuple[Claims, dict[str, Any]]:
    """A pending payment of a fresh order (through CreatePayment, in-process): ``(claims, payment)``."""
    claims, order = placed_order(bench)
    event = payment_event(bench, claims, order["order_id"], method)
    with quiet_logs():
        response = bench.invoke(bench.route_for(event), event)
    problem = outcome(response)
    if problem is not None:
        raise ScenarioFailed(f"POST /orders/{{order_id}}/payments: {problem}")
    payment: dict[str, Any] = json.loads(response["body"])["payment"]
    return claims, payment


def card_succeeded(bench: Bench, payment: dict[str, Any]) -> dict[str, Any]:
    """The card payment's PaymentIntent paid in the sandbox, and the ``payment_intent.succeeded`` webhook the
    sandbox signs for it, as the API Gateway event of ``POST /callbacks/payments/card``."""
    sandbox = _seed(bench)["sandbox"]
    intent = sandbox.intents.get(payment.get("provider_reference") or "")
    if intent is None:
        intent = next(
            (i for i in sandbox.intents.values() if i.metadata.get("payment_id") == payment["payment_id"]), None
        )
    if intent is None:
        raise ScenarioFailed(f"the sandbox has no PaymentIntent for {payment['payment_id']}")
    with sandbox._lock:
        intent.status, intent.amount_received = "succeeded", intent.amount
        intent.latest_charge = "ch_" + secrets.token_hex(12)
        intent.payment_method = "pm_" + secrets.token_hex(12)
    stripe_event = {
        "id": "evt_" + secrets.token_hex(12),
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "data": {"object": intent.as_json()},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "payment_intent.succeeded",
    }
    headers, body = sandbox.stripe_webhook(stripe_event)
    event = bench.event("POST", "/callbacks/payments/card")
    event["body"] = body.decode()
    event["isBase64Encoded"] = False
    return with_headers(event, headers)


def apply(bench: Bench, event: dict[str, Any]) -> None:
    with quiet_logs():
        response = bench.invoke(bench.route_for(event), event)
    problem = outcome(response)
    if problem is not None:
        raise ScenarioFailed(f"POST {event['path']}: {problem}")


def paid_payment(bench: Bench) -> dict[str, Any]:
    """A card payment of a fresh order, made succeeded by its signed webhook applied in-process."""
    _claims, payment = create_payment(bench)
    apply(bench, card_succeeded(bench, payment))
    return payment


# --- routes ---------------------------------------------------------------------------------------------------------


@scenario("CreatePayment", "card (Stripe PaymentIntent) for an unpaid order of 2 lines", primary=True)
def create_card_payment(bench: Bench) -> dict[str, Any]:
    claims, order = placed_order(bench)
    return payment_event(bench, claims, order["order_id"], "card")


@scenario("CreatePayment", "Alipay precreate (QR code) for an unpaid order of 2 lines")
def create_alipay_payment(bench: Bench) -> dict[str, Any]:
    claims, order = placed_order(bench)
    return payment_event(bench, claims, order["order_id"], "alipay")


@scenario("CreatePayment", "WeChat Pay Native (QR code) for an unpaid order of 2 lines")
def create_wechat_payment(bench: Bench) -> dict[str, Any]:
    claims, order = placed_order(bench)
    return payment_event(bench, claims, order["order_id"], "wechat_pay")


@scenario("PaymentCallback", "Stripe payment_intent.succeeded for a pending card payment", primary=True)
def card_callback(bench: Bench) -> dict[str, Any]:
    _claims, payment = create_payment(bench)
    return card_succeeded(bench, payment)


@scenario("PaymentCallback", "the same Stripe webhook again (already applied: acknowledged, nothing written)")
def card_callback_duplicate(bench: Bench) -> dict[str, Any]:
    _claims, payment = create_payment(bench)
    event = card_succeeded(bench, payment)
    apply(bench, event)
    return event


@scenario("RefundOrder", "full refund of a paid card payment", primary=True)
def refund_order(bench: Bench) -> dict[str, Any]:
    payment = paid_payment(bench)
    body = {"reason": "customer returned the goods"}
    event = bench.event("POST", f"/admin/orders/{payment['order_id']}/refunds", body, FULFILMENT_STAFF)
    return with_headers(event, {"Idempotency-Key": uuid.uuid4().hex})


@scenario("RefundOrder", "partial refund (1,000 fen) of a paid card payment")
def refund_order_partial(bench: Bench) -> dict[str, Any]:
    payment = paid_payment(bench)
    body = {"amount": 1000, "reason": "one item arrived damaged"}
    return bench.event("POST", f"/admin/orders/{payment['order_id']}/refunds", body, FULFILMENT_STAFF)


# --- consumers, schedule, relay -------------------------------------------------------------------------------------


@scenario("PaymentsOrderProjector", "OrderPlaced, 2 lines (a new order)", primary=True)
def project_placed(bench: Bench) -> dict[str, Any]:
    order = place_order(bench, shopper(bench), _regular(bench))
    detail = json.loads(OrderPlaced(order=Order.model_validate(order)).detail_json())
    return sqs_event(OrderPlaced.SOURCE, OrderPlaced.detail_type(), detail)


@scenario("PaymentRefunder", "PaymentRejected (order cancelled first): refund a paid card payment", primary=True)
def refund_rejected(bench: Bench) -> dict[str, Any]:
    payment = paid_payment(bench)
    rejected = PaymentRejected(order_id=payment["order_id"], payment_id=payment["payment_id"], reason="order_cancelled")
    return sqs_event(PaymentRejected.SOURCE, PaymentRejected.detail_type(), json.loads(rejected.detail_json()))


def return_received(bench: Bench, payment: dict[str, Any], amount: int) -> dict[str, Any]:
    """The shipping context's ReturnReceived for one line of a paid order, refunding ``amount``."""
    line = Line(sku=_regular(bench)[0], quantity=1)
    received = ReturnReceived(
        return_id=f"ret_{uuid.uuid4().hex[:20]}",
        order_id=payment["order_id"],
        user_id=payment["user_id"],
        kind="return",
        lines=[line],
        actor=str(FULFILMENT_STAFF["sub"]),
        restocked=[line],
        damaged=[],
        refund=Money(amount=amount, currency=payment["amount"]["currency"]),
    )
    return sqs_event(ReturnReceived.SOURCE, ReturnReceived.detail_type(), json.loads(received.detail_json()))


@scenario("ReturnRefunder", "ReturnReceived, 1 line: refund 1,000 fen of a paid card payment", primary=True)
def refund_received_return(bench: Bench) -> dict[str, Any]:
    return return_received(bench, paid_payment(bench), 1000)


@scenario("ReturnRefunder", "the same ReturnReceived again (already refunded: nothing sent, nothing written)")
def refund_received_return_again(bench: Bench) -> dict[str, Any]:
    event = return_received(bench, paid_payment(bench), 1000)
    deliver(bench, "ReturnRefunder", event)
    return event


@scenario("ReconcilePayments", "sweep with nothing pending for 3 minutes (the usual run)", primary=True)
def reconcile(bench: Bench) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": _iso(datetime.now(UTC)),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/bench-ReconcilePayments"],
        "detail": {},
    }


@scenario("PaymentsOutboxRelay", f"outbox relay, {BATCH} PaymentSucceeded events", primary=True)
def relay_payments(bench: Bench) -> dict[str, Any]:
    function = bench.function("PaymentsOutboxRelay")
    assert isinstance(function, StreamConsumer)
    now = datetime.now(UTC)
    events = [
        PaymentSucceeded(
            payment_id=f"pay_{uuid.uuid4().hex}",
            order_id=f"ord_{uuid.uuid4().hex}",
            user_id=str(uuid.uuid4()),
            method="card",
            amount=Money(amount=39800, currency="CNY"),
            provider_reference="pi_" + secrets.token_hex(12),
            succeeded_at=now,
        )
        for _ in range(BATCH)
    ]
    return stream_event(bench, function, [outbox_item(e) for e in events])
