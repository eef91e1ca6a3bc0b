"""Payments fixtures: the provider configuration in the payments secret, a stand-in for Stripe's API behind the
transport (the adapter's requests are answered as Stripe answers them), and a placed checkout order projected into
the payments context as its consumer would."""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from typing import Any

import boto3
import pytest

from functions.payments.providers.base import ProviderRequest, ProviderResponse
from functions.payments.providers.card import sign_webhook
from local.apigw import LambdaContext
from tests.conftest import SHOPPER
from tests.integration.checkout.conftest import checkout, product, refs, sqs_event  # noqa: F401 - fixtures

WEBHOOK_SECRET = "whsec_test_secret"
CONFIG = {
    "notify_base_url": "https://shop.example.test",
    "card": {"secret_key": "sk_test_123", "webhook_secrets": [WEBHOOK_SECRET], "api_base": "https://stripe.test"},
}


class FakeStripe:
    """Answers PaymentIntent create/retrieve and refund create as Stripe's API does (the parts the adapter uses)."""

    def __init__(self) -> None:
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: list[dict[str, Any]] = []
        self.requests: list[ProviderRequest] = []
        self.refund_status = "succeeded"
        self.down = False

    def __call__(self, request: ProviderRequest) -> ProviderResponse:
        self.requests.append(request)
        assert request.headers["Authorization"] == "Bearer sk_test_123"
        if self.down:
            from functions.payments.providers.base import ProviderError

            raise ProviderError("UNREACHABLE", "down", retryable=True)
        path = urllib.parse.urlsplit(request.url).path
        form = dict(urllib.parse.parse_qsl(request.body.decode())) if request.body else {}
        if request.method == "POST" and path == "/v1/payment_intents":
            intent_id = f"pi_{uuid.uuid4().hex[:14]}"
            intent = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": int(form["amount"]),
                "amount_received": 0,
                "currency": form["currency"],
                "status": "requires_payment_method",
                "client_secret": f"{intent_id}_secret_abc",
                "metadata": {"payment_id": form["metadata[payment_id]"], "order_id": form["metadata[order_id]"]},
            }
            self.intents[intent_id] = intent
            return self._json(intent)
        if request.method == "GET" and path.startswith("/v1/payment_intents/"):
            intent = self.intents.get(path.rsplit("/", 1)[1])
            return self._json(intent) if intent else self._json({"error": {"type": "invalid_request_error"}}, 404)
        if request.method == "POST" and path == "/v1/refunds":
            refund = {
                "id": f"re_{uuid.uuid4().hex[:14]}",
                "object": "refund",
                "amount": int(form["amount"]),
                "currency": "cny",
                "payment_intent": form["payment_intent"],
                "status": self.refund_status,
                "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            }
            self.refunds.append(refund)
            return self._json(refund)
        raise AssertionError(f"unexpected {request.method} {path}")

    @staticmethod
    def _json(body: dict[str, Any], status: int = 200) -> ProviderResponse:
        return ProviderResponse(status, {"Content-Type": "application/json"}, json.dumps(body).encode())

    def pay(self, intent_id: str) -> dict[str, Any]:
        intent = self.intents[intent_id]
        intent.update(status="succeeded", amount_received=intent["amount"])
        return intent


def webhook(
    event_type: str,
    obj: dict[str, Any],
    event_id: str | None = None,
    at: int | None = None,
    secret: str = WEBHOOK_SECRET,
) -> tuple[str, dict[str, str]]:
    created = int(at if at is not None else time.time())
    body = json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:14]}",
            "object": "event",
            "type": event_type,
            "created": created,
            "data": {"object": obj},
        }
    )
    return body, {"Stripe-Signature": sign_webhook(body.encode(), secret, created), "Content-Type": "application/json"}


@pytest.fixture
def stripe(aws, monkeypatch) -> FakeStripe:
    from functions.payments import gateway

    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws.env["PAYMENTS_SECRET_ARN"], SecretString=json.dumps(CONFIG)
    )
    gateway.providers.cache_clear()
    fake = FakeStripe()
    monkeypatch.setattr("functions.payments.service.send", fake)
    yield fake
    gateway.providers.cache_clear()


def outbox(aws, table_env: str, detail_type: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=aws.env[table_env])["Items"]
    return [
        json.loads(i["detail"]["S"])
        for i in items
        if i["pk"]["S"].startswith("OUTBOX#") and i["detail_type"]["S"] == detail_type
    ]


def to_payments(detail_type: str, detail: dict[str, Any]) -> None:
    """Deliver a checkout event to the payments consumers that subscribe to it."""
    from functions.payments.handlers import order_projector, refunder

    event = sqs_event(detail_type, "shop.checkout", detail)
    if detail_type in ("OrderPlaced", "OrderPaid", "OrderCancelled"):
        assert order_projector.handler(event, LambdaContext("PaymentsOrderProjector")) == {"batchItemFailures": []}
    if detail_type in ("PaymentRejected", "OrderCancelled"):
        assert refunder.handler(event, LambdaContext("PaymentRefunder")) == {"batchItemFailures": []}


def to_return_refunder(received: dict[str, Any], times: int = 1) -> list[dict[str, Any]]:
    """Deliver a shipping ``ReturnReceived`` detail to the ReturnRefunder ``times`` times (each a new SQS message, as
    a redelivery is); returns each batch response."""
    from functions.payments.handlers import return_refunder

    return [
        return_refunder.handler(sqs_event("ReturnReceived", "shop.shipping", received), LambdaContext("ReturnRefunder"))
        for _ in range(times)
    ]


def to_checkout(detail: dict[str, Any]) -> None:
    from functions.checkout.handlers import payment_recorder

    result = payment_recorder.handler(
        sqs_event("PaymentSucceeded", "shop.payments", detail), LambdaContext("OrderPaymentRecorder")
    )
    assert result == {"batchItemFailures": []}


@pytest.fixture
def placed(api, aws, product, stripe):  # noqa: F811 - the checkout fixture, imported above
    """An order placed by SHOPPER (free shipping from 9,900 fen) and known to the payments context."""

    def place(amount: int = 20000, user=SHOPPER) -> dict[str, Any]:
        sku = f"PAY{uuid.uuid4().hex[:8].upper()}"
        product({sku: amount}, stock=5)
        assert api("POST", "/cart/items", {"sku": sku, "quantity": 1}, user=user).status == 200
        r = checkout(api, user)
        assert r.status == 201, r.body
        to_payments("OrderPlaced", {"event_id": str(uuid.uuid4()), "order": r.body})
        return r.body

    return place


@pytest.fixture
def paid(api, aws, placed, stripe):
    """An order placed by SHOPPER and paid by card: the verified webhook applied, the checkout's OrderPaid projected
    back into payments. Returns ``(order, payment)``."""

    def pay(amount: int = 30000) -> tuple[dict[str, Any], dict[str, Any]]:
        order = placed(amount)
        r = api(
            "POST",
            f"/orders/{order['order_id']}/payments",
            {"method": "card"},
            user=SHOPPER,
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status == 201, r.body
        payment = r.body["payment"]
        intent = stripe.pay(payment["provider_reference"])
        body, headers = webhook("payment_intent.succeeded", intent)
        assert api("POST", "/callbacks/payments/card", raw_body=body, headers=headers).status == 200
        succeeded = [
            e for e in outbox(aws, "PAYMENTS_TABLE_NAME", "PaymentSucceeded") if e["order_id"] == order["order_id"]
        ]
        to_checkout(succeeded[0])
        for order_paid in outbox(aws, "CHECKOUT_TABLE_NAME", "OrderPaid"):
            if order_paid["order"]["order_id"] == order["order_id"]:
                to_payments("OrderPaid", order_paid)
        return order, payment

    return pay
