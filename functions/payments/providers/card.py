"""Card payments through Stripe: the PaymentIntents API out, signed webhook events in.

(The module is ``card`` rather than ``stripe`` so that it can never shadow the ``stripe`` package that the tests use
as an oracle.)

Outgoing (https://docs.stripe.com/api): form-encoded requests with ``Authorization: Bearer <secret key>``,
nested parameters written ``metadata[payment_id]=...``, an ``Idempotency-Key`` on every POST (our payment or refund
id, so a retried create never makes a second PaymentIntent), and ``Stripe-Version`` when the config pins one.

* create: ``POST /v1/payment_intents`` (amount in the currency's smallest unit, lower-case currency,
  ``automatic_payment_methods[enabled]=true``, our ids in ``metadata``); the next action is the PaymentIntent's
  ``client_secret``, which the shopper's browser confirms with Stripe.js. Card details go from the browser to Stripe
  and never through us.
* query: ``GET /v1/payment_intents/{id}``, or, when the create's answer was lost and we have no id,
  ``GET /v1/payment_intents/search?query=metadata['payment_id']:'<ours>'`` (search is eventually consistent: a
  PaymentIntent can take up to a minute to appear, so "not found" right after a create is not final).
* refund: ``POST /v1/refunds`` with ``payment_intent`` and ``amount``; our ids in ``metadata``.

Incoming (https://stripe.com/docs/webhooks/signatures#verify-manually):
``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`` where each ``v1`` is HMAC-SHA256, keyed with the endpoint's
signing secret (the whole ``whsec_...`` string), of ``<t>.<raw body>``. Several ``v1`` entries appear while a secret
is being rolled; any one matching any of our secrets is enough; other schemes (``v0``) are ignored. The comparison
is constant-time. The timestamp must be within 300 s of now in *both* directions: Stripe's own libraries only refuse
old timestamps, we also refuse future ones (a signature "from the future" means a clock is wrong or a secret leaked;
either way it is not to be trusted).
Acknowledged with any 2xx; we answer ``200 {"received": true}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from functions.payments.providers.base import (
    Acknowledgement,
    CreateIntentRequest,
    CreateIntentResult,
    EventKind,
    NextAction,
    NextActionKind,
    PaymentStatus,
    ProviderError,
    ProviderEvent,
    ProviderRequest,
    ProviderResponse,
    QueryRequest,
    QueryResult,
    RefundRequest,
    RefundResult,
    RefundStatus,
    RejectReason,
    Transport,
    VerificationError,
    clock,
    header,
    json_object,
    utc,
)
from functions.shared.money import Money

SIGNATURE_HEADER = "Stripe-Signature"
DEFAULT_TOLERANCE_S = 300
MAX_SIGNATURES = 16  # a header is a handful of entries; more is an attempt to make us compute

_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")

_INTENT_STATUS = {
    "requires_payment_method": PaymentStatus.REQUIRES_ACTION,
    "requires_confirmation": PaymentStatus.REQUIRES_ACTION,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "processing": PaymentStatus.PENDING,
    "requires_capture": PaymentStatus.PENDING,
    "succeeded": PaymentStatus.SUCCEEDED,
    "canceled": PaymentStatus.CANCELLED,
}
_REFUND_STATUS = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}
_PAYMENT_EVENTS = {
    "payment_intent.succeeded": EventKind.PAYMENT_SUCCEEDED,
    "payment_intent.payment_failed": EventKind.PAYMENT_FAILED,
    "payment_intent.canceled": EventKind.PAYMENT_FAILED,
}
_REFUND_EVENTS = {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}


@dataclass(frozen=True)
class StripeConfig:
    secret_key: str = field(repr=False)
    webhook_secrets: tuple[str, ...] = field(repr=False)  # the endpoint's current secret, plus the old one mid-roll
    api_base: str = "https://api.stripe.com"
    api_version: str | None = None  # e.g. "2024-06-20"; None uses the account's default
    tolerance_s: int = DEFAULT_TOLERANCE_S


def compute_signature(payload: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()


def sign_webhook(payload: bytes, secret: str, timestamp: int) -> str:
    """A ``Stripe-Signature`` header value, as Stripe writes it (for a local sandbox and tests)."""
    return f"t={timestamp},v1={compute_signature(payload, secret, timestamp)}"


def _reject(reason: RejectReason, message: str) -> VerificationError:
    return VerificationError(reason, message)


def parse_signature_header(value: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in value.split(","):
        key, separator, entry = item.strip().partition("=")
        if not separator:
            raise _reject(RejectReason.MALFORMED, "the Stripe-Signature header is not a list of key=value")
        if key == "t":
            if timestamp is not None or not _TIMESTAMP_RE.fullmatch(entry):
                raise _reject(RejectReason.MALFORMED, "the Stripe-Signature header needs one integer timestamp")
            timestamp = int(entry)
        elif key == "v1":
            signatures.append(entry)
    if timestamp is None:
        raise _reject(RejectReason.MALFORMED, "the Stripe-Signature header has no timestamp")
    if len(signatures) > MAX_SIGNATURES:
        raise _reject(RejectReason.MALFORMED, "the Stripe-Signature header has too many signatures")
    return timestamp, signatures


class StripeCardProvider:
    name = "card"

    def __init__(self, config: StripeConfig) -> None:
        if not config.secret_key or not config.webhook_secrets or not all(s.strip() for s in config.webhook_secrets):
            raise ValueError("Stripe needs a secret key and at least one webhook signing secret")
        self.config = config

    # --- outgoing -----------------------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, form: dict[str, str] | None = None, *, key: str | None = None
    ) -> ProviderRequest:
        headers = {"Authorization": f"Bearer {self.config.secret_key}", "Accept": "application/json"}
        if self.config.api_version:
            headers["Stripe-Version"] = self.config.api_version
        body = b""
        if method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(form or {}).encode()
        if key:
            headers["Idempotency-Key"] = key
        return ProviderRequest(method=method, url=self.config.api_base.rstrip("/") + path, headers=headers, body=body)

    def build_create_request(self, request: CreateIntentRequest) -> ProviderRequest:
        form = {
            "amount": str(request.amount.amount),
            "currency": request.amount.currency.lower(),
            "automatic_payment_methods[enabled]": "true",
            "description": request.description,
            "metadata[payment_id]": request.payment_id,
            "metadata[order_id]": request.order_id,
        }
        return self._request("POST", "/v1/payment_intents", form, key=f"create-{request.payment_id}")

    def parse_create_response(self, request: CreateIntentRequest, response: ProviderResponse) -> CreateIntentResult:
        intent = self._object(response, "payment_intent")
        self._check_ours(intent, request.payment_id)
        secret = intent.get("client_secret")
        if not isinstance(secret, str) or not secret:
            raise ProviderError("BAD_RESPONSE", "the PaymentIntent has no client_secret")
        return CreateIntentResult(
            provider=self.name,
            payment_id=request.payment_id,
            provider_reference=_str(intent, "id"),
            status=_INTENT_STATUS.get(str(intent.get("status")), PaymentStatus.PENDING),
            next_action=NextAction(kind=NextActionKind.CLIENT_SECRET, client_secret=secret),
        )

    def build_query_request(self, request: QueryRequest) -> ProviderRequest:
        if request.provider_reference:
            return self._request("GET", f"/v1/payment_intents/{quote(request.provider_reference, safe='')}")
        query = urlencode({"query": f"metadata['payment_id']:'{request.payment_id}'"})
        return self._request("GET", f"/v1/payment_intents/search?{query}")

    def parse_query_response(self, request: QueryRequest, response: ProviderResponse) -> QueryResult:
        if response.status_code == 404:
            return self._not_found(request)
        document = self._document(response)
        if document.get("object") == "search_result":
            found = [
                item
                for item in document.get("data") or []
                if isinstance(item, dict) and _metadata(item).get("payment_id") == request.payment_id
            ]
            if not found:
                return self._not_found(request)
            intent = found[0]
        else:
            intent = self._object(response, "payment_intent")
            self._check_ours(intent, request.payment_id)
        status = str(intent.get("status"))
        return QueryResult(
            provider=self.name,
            payment_id=request.payment_id,
            provider_reference=_str(intent, "id"),
            status=_INTENT_STATUS.get(status, PaymentStatus.PENDING),
            amount=_money(intent, "amount_received" if status == "succeeded" else "amount"),
            provider_status=status,
        )

    def _not_found(self, request: QueryRequest) -> QueryResult:
        return QueryResult(
            provider=self.name,
            payment_id=request.payment_id,
            provider_reference=request.provider_reference,
            status=PaymentStatus.NOT_FOUND,
            amount=None,
            provider_status="not_found",
        )

    def build_refund_request(self, request: RefundRequest) -> ProviderRequest:
        if not request.provider_reference:
            raise ValueError("a Stripe refund names the PaymentIntent (provider_reference)")
        form = {
            "payment_intent": request.provider_reference,
            "amount": str(request.amount.amount),
            "metadata[refund_id]": request.refund_id,
            "metadata[payment_id]": request.payment_id,
        }
        if request.reason:
            form["metadata[reason]"] = request.reason
        return self._request("POST", "/v1/refunds", form, key=f"refund-{request.refund_id}")

    def parse_refund_response(self, request: RefundRequest, response: ProviderResponse) -> RefundResult:
        refund = self._object(response, "refund")
        if _metadata(refund).get("refund_id") != request.refund_id:
            raise ProviderError("MISMATCH", "the refund Stripe returned is not the one asked for")
        status = str(refund.get("status"))
        return RefundResult(
            provider=self.name,
            refund_id=request.refund_id,
            provider_refund_reference=_str(refund, "id"),
            status=_REFUND_STATUS.get(status, RefundStatus.PENDING),
            amount=_money(refund, "amount"),
            provider_status=status,
        )

    def _document(self, response: ProviderResponse) -> dict[str, Any]:
        document = json_object(response.body)
        if not 200 <= response.status_code < 300:
            error = (document or {}).get("error")
            error = error if isinstance(error, dict) else {}
            raise ProviderError(
                str(error.get("code") or error.get("type") or f"HTTP_{response.status_code}"),
                str(error.get("message") or "Stripe refused the request"),
                status_code=response.status_code,
                retryable=response.status_code in (409, 429) or response.status_code >= 500,
            )
        if document is None:
            raise ProviderError(
                "BAD_RESPONSE", "Stripe's answer is not a JSON object", status_code=response.status_code
            )
        return document

    def _object(self, response: ProviderResponse, kind: str) -> dict[str, Any]:
        document = self._document(response)
        if document.get("object") != kind or not isinstance(document.get("id"), str):
            raise ProviderError("BAD_RESPONSE", f"Stripe's answer is not a {kind}")
        return document

    @staticmethod
    def _check_ours(intent: dict[str, Any], payment_id: str) -> None:
        if _metadata(intent).get("payment_id") != payment_id:
            raise ProviderError("MISMATCH", "the PaymentIntent Stripe returned is for another payment")

    def create_intent(
        self, request: CreateIntentRequest, transport: Transport, *, now: float | None = None
    ) -> CreateIntentResult:
        return self.parse_create_response(request, transport(self.build_create_request(request)))

    def query(self, request: QueryRequest, transport: Transport, *, now: float | None = None) -> QueryResult:
        return self.parse_query_response(request, transport(self.build_query_request(request)))

    def refund(self, request: RefundRequest, transport: Transport, *, now: float | None = None) -> RefundResult:
        return self.parse_refund_response(request, transport(self.build_refund_request(request)))

    # --- incoming -----------------------------------------------------------------------------------------------

    def verify_signature(self, signature_header: str | None, body: bytes, *, now: float | None = None) -> int:
        """Check ``Stripe-Signature`` against the raw body; returns the signed timestamp."""
        if not signature_header:
            raise _reject(RejectReason.MALFORMED, "no Stripe-Signature header")
        timestamp, signatures = parse_signature_header(signature_header)
        if not signatures:
            raise _reject(RejectReason.BAD_SIGNATURE, "no v1 signature in the Stripe-Signature header")
        candidates = [s.encode("utf-8", "replace") for s in signatures]
        matched = False
        for secret in self.config.webhook_secrets:
            expected = compute_signature(body, secret, timestamp).encode()
            for candidate in candidates:  # no early exit: the time taken says nothing about which one matched
                matched |= hmac.compare_digest(expected, candidate)
        if not matched:
            raise _reject(RejectReason.BAD_SIGNATURE, "no signature matches the payload")
        age = clock(now) - timestamp
        if age > self.config.tolerance_s:
            raise _reject(RejectReason.STALE, f"signed {int(age)} s ago, more than {self.config.tolerance_s} s")
        if -age > self.config.tolerance_s:
            raise _reject(RejectReason.FUTURE, "the signature's timestamp is in the future")
        return timestamp

    def verify_callback(self, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> ProviderEvent:
        self.verify_signature(header(headers, SIGNATURE_HEADER), body, now=now)
        event = json_object(body)
        if event is None or event.get("object") != "event":
            raise _reject(RejectReason.MALFORMED, "the body is not a Stripe event")
        event_id, event_type, created = event.get("id"), event.get("type"), event.get("created")
        data = event.get("data")
        obj = data.get("object") if isinstance(data, dict) else None
        if not (isinstance(event_id, str) and event_id and isinstance(event_type, str)):
            raise _reject(RejectReason.MALFORMED, "the event has no id or type")
        if not isinstance(created, int) or isinstance(created, bool) or not isinstance(obj, dict):
            raise _reject(RejectReason.MALFORMED, "the event has no creation time or object")
        return self._event(event_id, event_type, created, obj)

    def _event(self, event_id: str, event_type: str, created: int, obj: dict[str, Any]) -> ProviderEvent:
        kind = EventKind.OTHER
        refund_id = refund_reference = None
        reference = _str(obj, "id")
        metadata = _metadata(obj)
        amount = None
        if event_type in _PAYMENT_EVENTS and obj.get("object") == "payment_intent":
            kind = _PAYMENT_EVENTS[event_type]
            amount = _money(obj, "amount_received" if kind is EventKind.PAYMENT_SUCCEEDED else "amount")
        elif event_type in _REFUND_EVENTS and obj.get("object") == "refund":
            status = _REFUND_STATUS.get(str(obj.get("status")))
            if status is RefundStatus.SUCCEEDED:
                kind = EventKind.REFUND_SUCCEEDED
            elif status is RefundStatus.FAILED:
                kind = EventKind.REFUND_FAILED
            refund_id, refund_reference = metadata.get("refund_id"), reference
            reference = _str(obj, "payment_intent")
            amount = _money(obj, "amount")
        payment_id = metadata.get("payment_id")
        if kind is not EventKind.OTHER and (amount is None or not payment_id):
            raise _reject(RejectReason.MALFORMED, f"a {event_type} event without our payment id or an amount")
        return ProviderEvent(
            provider=self.name,
            provider_event_id=event_id,
            provider_event_type=event_type,
            kind=kind,
            payment_id=payment_id,
            refund_id=refund_id,
            provider_reference=reference,
            provider_refund_reference=refund_reference,
            amount=amount,
            occurred_at=utc(created),
        )

    def acknowledge(self) -> Acknowledgement:
        return Acknowledgement(200, "application/json", json.dumps({"received": True}))

    def reject(self, error: VerificationError) -> Acknowledgement:
        body = {"error": {"code": error.code, "message": error.message, "details": []}}
        return Acknowledgement(error.status, "application/json", json.dumps(body))


def _str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def _metadata(obj: dict[str, Any]) -> dict[str, str]:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return {}
    return {str(k): v for k, v in metadata.items() if isinstance(v, str)}


def _money(obj: dict[str, Any], key: str) -> Money | None:
    amount, currency = obj.get(key), obj.get("currency")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        return None
    try:
        return Money(amount=amount, currency=currency.upper())
    except ValueError:
        return None
