"""Shared pieces of the card (Stripe) tests: a provider with test secrets, and webhook bodies as Stripe sends them."""

from __future__ import annotations

import json

from functions.payments.providers.card import StripeCardProvider, StripeConfig

SECRET = "whsec_test_0123456789abcdefghijklmnopqrstuv"
OLD_SECRET = "whsec_test_previous_secret_before_the_roll"
PAYMENT_ID = "pay_01J9Z3K6Y8M2Q4R5S6T7V8W9X0"
REFUND_ID = "ref_01J9Z3K6Y8M2Q4R5S6T7V8W9X1"


def provider(**overrides: object) -> StripeCardProvider:
    config = {"secret_key": "sk_test_123", "webhook_secrets": (SECRET,), **overrides}
    return StripeCardProvider(StripeConfig(**config))  # type: ignore[arg-type]


def event_body(event_type: str = "payment_intent.succeeded", obj: dict[str, object] | None = None) -> bytes:
    """A webhook body as Stripe sends it: pretty-printed JSON, two-space indent."""
    obj = obj or {
        "id": "pi_3Nabc",
        "object": "payment_intent",
        "amount": 1999,
        "amount_received": 1999,
        "currency": "cny",
        "status": "succeeded",
        "metadata": {"payment_id": PAYMENT_ID, "order_id": "ord_1"},
    }
    event = {
        "id": "evt_1Nabc",
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1_700_000_000,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
    }
    return json.dumps(event, indent=2).encode()
