"""functions.payments.providers.card, webhook signatures: verified exactly as Stripe specifies, with the ``stripe``
package as the oracle in both directions (what Stripe's library signs we accept; what we sign Stripe's library
accepts). The whole module is skipped, with the reason, when ``stripe`` is not installed; the rest of the card tests
(``test_payments_card_api.py``) do not need it."""

from __future__ import annotations

import json
import time

import pytest

from functions.payments.providers.base import EventKind, RejectReason, VerificationError
from functions.payments.providers.card import sign_webhook
from functions.shared.money import Money
from tests.unit.payments.card_support import OLD_SECRET, PAYMENT_ID, SECRET, event_body, provider

stripe = pytest.importorskip(
    "stripe",
    reason="the stripe package is the oracle for card webhook signatures: add it to the dev extras "
    '("stripe==16.1.0" in pyproject.toml [project.optional-dependencies] dev) so these tests always run',
)


def stripe_header(payload: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    return str(stripe.WebhookSignature.generate_signature_header(payload.decode(), secret, timestamp=timestamp))


def stripe_accepts(payload: bytes, signature_header: str) -> bool:
    try:
        stripe.WebhookSignature.verify_header(payload.decode(), signature_header, SECRET, tolerance=300)
    except stripe.SignatureVerificationError:
        return False
    return True


def refused(payload: bytes, signature_header: str | None, *, now: float | None = None) -> RejectReason:
    headers = {"Stripe-Signature": signature_header} if signature_header is not None else {}
    with pytest.raises(VerificationError) as caught:
        provider().verify_callback(headers, payload, now=now)
    return caught.value.reason


# --- the oracle, both ways ------------------------------------------------------------------------------------------


def test_a_signature_made_by_stripes_library_is_accepted() -> None:
    payload = event_body()
    event = provider().verify_callback({"stripe-signature": stripe_header(payload)}, payload)
    assert event.kind is EventKind.PAYMENT_SUCCEEDED
    assert event.provider_event_id == "evt_1Nabc"
    assert event.payment_id == PAYMENT_ID
    assert event.provider_reference == "pi_3Nabc"
    assert event.amount == Money(amount=1999, currency="CNY")
    assert event.occurred_at.timestamp() == 1_700_000_000


def test_our_signature_is_accepted_by_stripes_verifier_and_construct_event() -> None:
    payload = event_body()
    signature_header = sign_webhook(payload, SECRET, int(time.time()))
    assert stripe_accepts(payload, signature_header)
    event = stripe.Webhook.construct_event(payload, signature_header, SECRET)
    assert event.id == "evt_1Nabc"
    assert signature_header == stripe_header(payload, timestamp=int(signature_header.split(",")[0][2:]))


def test_any_one_of_several_v1_entries_may_match() -> None:
    payload = event_body()
    now = int(time.time())
    good = stripe_header(payload, timestamp=now).split(",v1=")[1]
    rolled = stripe_header(payload, OLD_SECRET, timestamp=now).split(",v1=")[1]
    header = f"t={now},v1={'0' * 64},v1={rolled},v0={'f' * 64},v1={good}"
    assert stripe_accepts(payload, header)
    assert provider().verify_callback({"Stripe-Signature": header}, payload).kind is EventKind.PAYMENT_SUCCEEDED


def test_while_a_secret_is_rolled_a_signature_with_the_old_secret_is_accepted() -> None:
    payload = event_body()
    header = stripe_header(payload, OLD_SECRET)
    assert refused(payload, header) is RejectReason.BAD_SIGNATURE
    both = provider(webhook_secrets=(SECRET, OLD_SECRET))
    assert both.verify_callback({"Stripe-Signature": header}, payload).provider_event_id == "evt_1Nabc"


def test_within_the_tolerance_is_accepted_and_beyond_it_is_stale_for_both_libraries() -> None:
    payload = event_body()
    now = int(time.time())
    recent = stripe_header(payload, timestamp=now - 299)
    assert stripe_accepts(payload, recent)
    provider().verify_callback({"Stripe-Signature": recent}, payload, now=now)
    old = stripe_header(payload, timestamp=now - 301)
    assert not stripe_accepts(payload, old)
    assert refused(payload, old, now=now) is RejectReason.STALE


def test_a_future_dated_signature_is_refused_although_stripes_library_would_accept_it() -> None:
    payload = event_body()
    now = int(time.time())
    future = stripe_header(payload, timestamp=now + 301)
    assert stripe_accepts(payload, future)  # Stripe's libraries only check age; we are stricter on purpose
    assert refused(payload, future, now=now) is RejectReason.FUTURE
    provider().verify_callback({"Stripe-Signature": stripe_header(payload, timestamp=now + 299)}, payload, now=now)


def test_a_tampered_payload_is_refused_by_both() -> None:
    payload = event_body()
    header = stripe_header(payload)
    tampered = payload.replace(b'"amount_received": 1999', b'"amount_received": 1')
    assert tampered != payload
    assert not stripe_accepts(tampered, header)
    assert refused(tampered, header) is RejectReason.BAD_SIGNATURE


def test_a_re_serialised_body_is_refused_even_though_it_means_the_same() -> None:
    payload = event_body()
    header = stripe_header(payload)
    compact = json.dumps(json.loads(payload), separators=(",", ":")).encode()
    assert json.loads(compact) == json.loads(payload)
    assert not stripe_accepts(compact, header)
    assert refused(compact, header) is RejectReason.BAD_SIGNATURE


def test_a_signature_with_another_secret_is_forged() -> None:
    payload = event_body()
    forged = stripe_header(payload, "whsec_attacker")
    assert not stripe_accepts(payload, forged)
    assert refused(payload, forged) is RejectReason.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("signature_header", "reason"),
    [
        (None, RejectReason.MALFORMED),
        ("", RejectReason.MALFORMED),
        ("garbage", RejectReason.MALFORMED),
        ("v1=" + "0" * 64, RejectReason.MALFORMED),  # no timestamp
        ("t=12ab,v1=" + "0" * 64, RejectReason.MALFORMED),
        ("t=1,t=2,v1=" + "0" * 64, RejectReason.MALFORMED),
        ("t=1700000000,v0=" + "0" * 64, RejectReason.BAD_SIGNATURE),  # no v1 entry
        ("t=1700000000," + ",".join(["v1=00"] * 17), RejectReason.MALFORMED),
        ("t=1700000000,v1=é", RejectReason.BAD_SIGNATURE),
    ],
)
def test_malformed_or_unsigned_headers_are_refused(signature_header: str | None, reason: RejectReason) -> None:
    assert refused(event_body(), signature_header, now=1_700_000_000) is reason


def test_the_rejection_reasons_map_to_401_and_400() -> None:
    assert VerificationError(RejectReason.BAD_SIGNATURE, "x").status == 401
    assert VerificationError(RejectReason.STALE, "x").status == 401
    assert VerificationError(RejectReason.MALFORMED, "x").status == 400
    answer = provider().reject(VerificationError(RejectReason.BAD_SIGNATURE, "no signature matches"))
    assert answer.status_code == 401
    assert json.loads(answer.body)["error"]["code"] == "BAD_SIGNATURE"
