"""functions.payments.providers.card, events and API calls: verified webhook bodies become the right events, and
PaymentIntent, Search and Refund calls are built and parsed as Stripe's API expects. Bodies here are signed with our
own signer (its agreement with Stripe's library is ``test_payments_card.py``'s business)."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from functions.payments.providers.base import (
    CreateIntentRequest,
    EventKind,
    NextActionKind,
    PaymentStatus,
    ProviderError,
    ProviderEvent,
    ProviderRequest,
    ProviderResponse,
    QueryRequest,
    RefundRequest,
    RefundStatus,
    RejectReason,
    VerificationError,
)
from functions.payments.providers.card import sign_webhook
from functions.shared.money import Money
from tests.unit.payments.card_support import PAYMENT_ID, REFUND_ID, SECRET, event_body, provider

# --- events -----------------------------------------------------------------------------------------------------


def verified(body: bytes) -> ProviderEvent:
    return provider().verify_callback({"Stripe-Signature": sign_webhook(body, SECRET, int(time.time()))}, body)


def test_a_failed_payment_event_is_payment_failed() -> None:
    obj = {
        "id": "pi_3Nabc",
        "object": "payment_intent",
        "amount": 1999,
        "amount_received": 0,
        "currency": "cny",
        "status": "requires_payment_method",
        "metadata": {"payment_id": PAYMENT_ID},
    }
    event = verified(event_body("payment_intent.payment_failed", obj))
    assert event.kind is EventKind.PAYMENT_FAILED
    assert event.amount == Money(amount=1999, currency="CNY")


@pytest.mark.parametrize(
    ("status", "kind"),
    [("succeeded", EventKind.REFUND_SUCCEEDED), ("failed", EventKind.REFUND_FAILED), ("pending", EventKind.OTHER)],
)
def test_refund_events_follow_the_refunds_status(status: str, kind: EventKind) -> None:
    obj = {
        "id": "re_3Nxyz",
        "object": "refund",
        "amount": 500,
        "currency": "cny",
        "payment_intent": "pi_3Nabc",
        "status": status,
        "metadata": {"refund_id": REFUND_ID, "payment_id": PAYMENT_ID},
    }
    event = verified(event_body("refund.updated", obj))
    assert event.kind is kind
    assert event.refund_id == REFUND_ID
    assert event.provider_reference == "pi_3Nabc"
    assert event.provider_refund_reference == "re_3Nxyz"


def test_an_event_we_do_not_act_on_is_other_and_still_acknowledged() -> None:
    event = verified(event_body("customer.created", {"id": "cus_1", "object": "customer"}))
    assert event.kind is EventKind.OTHER
    answer = provider().acknowledge()
    assert (answer.status_code, answer.content_type, json.loads(answer.body)) == (
        200,
        "application/json",
        {"received": True},
    )


def test_a_genuinely_signed_body_that_is_not_an_event_is_malformed() -> None:
    for body in (b"not json", b"[]", b'{"object": "event", "id": "evt_1"}'):
        with pytest.raises(VerificationError) as caught:
            verified(body)
        assert caught.value.reason is RejectReason.MALFORMED


def test_a_payment_event_without_our_payment_id_is_malformed() -> None:
    obj = {"id": "pi_1", "object": "payment_intent", "amount": 1, "amount_received": 1, "currency": "cny"}
    body = event_body("payment_intent.succeeded", obj)
    with pytest.raises(VerificationError) as caught:
        verified(body)
    assert caught.value.reason is RejectReason.MALFORMED


# --- outgoing calls ---------------------------------------------------------------------------------------------

CREATE = CreateIntentRequest(
    payment_id=PAYMENT_ID,
    order_id="ord_01J9Z3K6Y8M2Q4R5S6T7V8W9X2",
    amount=Money(amount=1999, currency="CNY"),
    description="Order ord_01J9Z3K6Y8M2Q4R5S6T7V8W9X2",
)


def intent(**fields: object) -> dict[str, object]:
    return {
        "id": "pi_3Nabc",
        "object": "payment_intent",
        "amount": 1999,
        "amount_received": 0,
        "currency": "cny",
        "status": "requires_payment_method",
        "client_secret": "pi_3Nabc_secret_xyz",
        "metadata": {"payment_id": PAYMENT_ID},
        **fields,
    }


def answer(status: int, document: object) -> ProviderResponse:
    return ProviderResponse(status, {"Content-Type": "application/json"}, json.dumps(document).encode())


def test_creating_a_payment_intent_posts_a_form_with_an_idempotency_key() -> None:
    request = provider(api_version="2024-06-20").build_create_request(CREATE)
    assert (request.method, request.url) == ("POST", "https://api.stripe.com/v1/payment_intents")
    assert request.headers["Authorization"] == "Bearer sk_test_123"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Idempotency-Key"] == f"create-{PAYMENT_ID}"
    assert request.headers["Stripe-Version"] == "2024-06-20"
    form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    assert form == {
        "amount": "1999",
        "currency": "cny",
        "automatic_payment_methods[enabled]": "true",
        "description": CREATE.description,
        "metadata[payment_id]": PAYMENT_ID,
        "metadata[order_id]": CREATE.order_id,
    }


def test_the_created_intents_client_secret_is_the_next_action() -> None:
    sent = []

    def transport(request: ProviderRequest) -> ProviderResponse:
        sent.append(request)
        return answer(200, intent())

    result = provider().create_intent(CREATE, transport)
    assert len(sent) == 1
    assert result.provider_reference == "pi_3Nabc"
    assert result.status is PaymentStatus.REQUIRES_ACTION
    assert result.next_action.kind is NextActionKind.CLIENT_SECRET
    assert result.next_action.client_secret == "pi_3Nabc_secret_xyz"
    assert "secret_xyz" not in repr(result)


def test_an_intent_for_another_payment_or_an_error_is_a_provider_error() -> None:
    with pytest.raises(ProviderError) as caught:
        provider().parse_create_response(CREATE, answer(200, intent(metadata={"payment_id": "pay_other"})))
    assert caught.value.code == "MISMATCH"
    error = {"error": {"type": "invalid_request_error", "code": "amount_too_small", "message": "Amount too small"}}
    with pytest.raises(ProviderError) as caught:
        provider().parse_create_response(CREATE, answer(400, error))
    assert (caught.value.code, caught.value.retryable) == ("amount_too_small", False)
    with pytest.raises(ProviderError) as caught:
        provider().parse_create_response(CREATE, ProviderResponse(503, {}, b"upstream"))
    assert caught.value.retryable


def test_a_query_reads_the_intent_or_searches_by_our_payment_id_when_the_reference_was_lost() -> None:
    by_id = provider().build_query_request(QueryRequest(payment_id=PAYMENT_ID, provider_reference="pi_3Nabc"))
    assert (by_id.method, by_id.url, by_id.body) == ("GET", "https://api.stripe.com/v1/payment_intents/pi_3Nabc", b"")
    search = provider().build_query_request(QueryRequest(payment_id=PAYMENT_ID))
    parts = urlsplit(search.url)
    assert parts.path == "/v1/payment_intents/search"
    assert parse_qs(parts.query)["query"] == [f"metadata['payment_id']:'{PAYMENT_ID}'"]
    paid = intent(status="succeeded", amount_received=1999)
    result = provider().parse_query_response(QueryRequest(payment_id=PAYMENT_ID), answer(200, paid))
    assert (result.status, result.amount) == (PaymentStatus.SUCCEEDED, Money(amount=1999, currency="CNY"))
    empty = {"object": "search_result", "data": [], "has_more": False}
    missing = provider().parse_query_response(QueryRequest(payment_id=PAYMENT_ID), answer(200, empty))
    assert missing.status is PaymentStatus.NOT_FOUND
    gone = provider().parse_query_response(QueryRequest(payment_id=PAYMENT_ID), answer(404, {"error": {}}))
    assert gone.status is PaymentStatus.NOT_FOUND


def test_a_refund_posts_the_intent_and_amount_and_parses_the_refund() -> None:
    refund = RefundRequest(
        refund_id=REFUND_ID,
        payment_id=PAYMENT_ID,
        provider_reference="pi_3Nabc",
        amount=Money(amount=500, currency="CNY"),
        payment_amount=Money(amount=1999, currency="CNY"),
    )
    request = provider().build_refund_request(refund)
    assert request.url == "https://api.stripe.com/v1/refunds"
    assert request.headers["Idempotency-Key"] == f"refund-{REFUND_ID}"
    form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    assert form["payment_intent"] == "pi_3Nabc"
    assert form["amount"] == "500"
    assert form["metadata[refund_id]"] == REFUND_ID
    document = {
        "id": "re_1",
        "object": "refund",
        "amount": 500,
        "currency": "cny",
        "status": "succeeded",
        "metadata": {"refund_id": REFUND_ID},
    }
    result = provider().parse_refund_response(refund, answer(200, document))
    assert (result.status, result.provider_refund_reference) == (RefundStatus.SUCCEEDED, "re_1")
    with pytest.raises(ValueError, match="PaymentIntent"):
        provider().build_refund_request(refund.model_copy(update={"provider_reference": None}))


def test_the_config_never_shows_its_secrets() -> None:
    text = repr(provider().config)
    assert "sk_test_123" not in text
    assert SECRET not in text
