"""The interface every payment provider adapter implements, and the values that cross it.

An adapter speaks one provider's real protocol. It never opens a socket: it *builds* each outgoing API call as a
:class:`ProviderRequest` (method, URL, headers, body, already signed where the provider wants it) and *parses* the
:class:`ProviderResponse` a transport brings back. The transport is a plain callable passed in by the caller, so the
same adapter talks to the real provider, to a local sandbox or to a test fake; pointing it at the real provider is
configuration (base URL, keys), not code.

Callbacks go the other way: :meth:`PaymentProvider.verify_callback` takes the raw headers and the raw body bytes
exactly as received (a re-serialised body fails verification, by design), checks the provider's signature, and
returns one :class:`ProviderEvent`, or raises :class:`VerificationError` with a reason code. The handler answers
with :meth:`PaymentProvider.acknowledge` (what the provider needs to stop retrying) or
:meth:`PaymentProvider.reject`.

Money is always integer minor units plus an ISO-4217 code (:class:`~functions.shared.money.Money`). Card numbers
never pass through here: card payments are confirmed by the shopper's browser against the provider with the client
secret, and no model below has a field that could carry one (every request model forbids unknown fields).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from functions.shared.money import Money

# Our ids as the providers see them (out_trade_no, out_refund_no, metadata): WeChat allows 6-32 characters of
# [0-9A-Za-z_-|*]; Alipay 64; Stripe metadata values 500. The shop's prefixed ULIDs (30 characters) fit all three.
OUR_ID_PATTERN = r"^[0-9A-Za-z_-]{6,32}$"
OurId = Annotated[str, Field(pattern=OUR_ID_PATTERN, examples=["pay_01J9Z3K6Y8M2Q4R5S6T7V8W9X0"])]
# Sent to the provider exactly as given (a URL type would normalise it); WeChat allows 255 characters.
Url = Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=255)]


# --- verification failures -----------------------------------------------------------------------------------------


class RejectReason(StrEnum):
    MALFORMED = "MALFORMED"  # not the provider's format: missing header, bad base64, not JSON, duplicate field
    BAD_SIGNATURE = "BAD_SIGNATURE"  # the signature does not match the body (forged, tampered, re-serialised)
    STALE = "STALE"  # genuinely signed, but longer ago than the tolerance
    FUTURE = "FUTURE"  # signed with a timestamp further ahead than the tolerance
    UNKNOWN_KEY = "UNKNOWN_KEY"  # signed with a key or certificate we do not hold (or that has expired)
    UNSUPPORTED = "UNSUPPORTED"  # a signature or encryption scheme we refuse (RSA1, an unknown algorithm)
    DECRYPT_FAILED = "DECRYPT_FAILED"  # the encrypted resource does not open with our key (wrong APIv3 key)
    WRONG_RECIPIENT = "WRONG_RECIPIENT"  # a genuine message addressed to another merchant or app


_UNAUTHENTICATED = {
    RejectReason.BAD_SIGNATURE,
    RejectReason.STALE,
    RejectReason.FUTURE,
    RejectReason.UNKNOWN_KEY,
}


class VerificationError(Exception):
    """A callback that must not be acted on. ``status`` is what the callback handler answers: 401 when the sender
    could not be authenticated, 400 when the message is malformed or not for us. Every provider retries on non-2xx,
    which is what we want: a genuine callback refused by a configuration mistake is delivered again once it is fixed.
    The message is safe to log; it never contains the body or a secret."""

    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message

    @property
    def code(self) -> str:
        return str(self.reason)

    @property
    def status(self) -> int:
        return 401 if self.reason in _UNAUTHENTICATED else 400


class ProviderError(Exception):
    """An outgoing call that did not produce a usable answer: the provider said no (``code`` is the provider's own
    error code), the answer was not in the provider's format, or its signature did not verify
    (``BAD_RESPONSE_SIGNATURE``). ``retryable`` is true for throttling and the provider's own failures."""

    def __init__(self, code: str, message: str, *, status_code: int | None = None, retryable: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status_code = status_code
        self.retryable = retryable


# --- the wire: what a transport sends and brings back ----------------------------------------------------------------


@dataclass(frozen=True)
class ProviderRequest:
    """One HTTP request to a provider, complete and signed. ``send_from`` is ``"browser"`` for a request the shopper's
    browser must make (Alipay's page pay is a signed redirect), which a transport must not send itself."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    send_from: str = "server"


@dataclass(frozen=True)
class ProviderResponse:
    status_code: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return header(self.headers, name)


Transport = Callable[[ProviderRequest], ProviderResponse]


def header(headers: Mapping[str, str], name: str) -> str | None:
    """HTTP header names are case-insensitive (API Gateway lower-cases them, a sandbox may not)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


@dataclass(frozen=True)
class Acknowledgement:
    """The HTTP answer to a callback. ``content_type`` is None for an empty body."""

    status_code: int
    content_type: str | None
    body: str


# --- values ----------------------------------------------------------------------------------------------------------


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PaymentStatus(StrEnum):
    REQUIRES_ACTION = "requires_action"  # the shopper still has to pay (scan, confirm, authenticate)
    PENDING = "pending"  # paid or being paid, outcome not known yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"  # closed or cancelled before it was paid
    NOT_FOUND = "not_found"  # the provider has no such payment (a create whose answer was lost never arrived)


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class EventKind(StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    OTHER = "other"  # a genuine event we do not act on: acknowledge it so the provider stops sending it


class NextActionKind(StrEnum):
    CLIENT_SECRET = "client_secret"  # noqa: S105 - a kind, not a secret. card: the browser confirms the PaymentIntent with Stripe.js
    REDIRECT = "redirect"  # send the shopper's browser to redirect_url
    QR_CODE = "qr_code"  # show qr_code_url as a QR code to scan with the wallet app
    NONE = "none"


class NextAction(_Value):
    kind: NextActionKind
    client_secret: str | None = Field(default=None, repr=False)
    redirect_url: str | None = None
    qr_code_url: str | None = None

    @model_validator(mode="after")
    def _one_value(self) -> Self:
        values = {
            NextActionKind.CLIENT_SECRET: self.client_secret,
            NextActionKind.REDIRECT: self.redirect_url,
            NextActionKind.QR_CODE: self.qr_code_url,
        }
        present = {kind for kind, value in values.items() if value}
        if present != ({self.kind} if self.kind in values else set()):
            raise ValueError(f"a {self.kind} next action carries exactly its own value")
        return self


class CreateIntentRequest(_Value):
    payment_id: OurId
    order_id: str = Field(min_length=1, max_length=64)
    amount: Money
    description: str = Field(min_length=1, max_length=127)  # Alipay subject, WeChat description: both required
    return_url: Url | None = None  # where the shopper's browser comes back to (redirect flows)
    notify_url: Url | None = None  # our callback URL (Alipay, WeChat; Stripe's is set on the endpoint)
    expires_at: datetime | None = None  # when the provider should close the unpaid payment

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.amount.amount <= 0:
            raise ValueError("a payment is for a positive amount")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at must carry a time zone")
        return self


class CreateIntentResult(_Value):
    provider: str
    payment_id: str
    provider_reference: str | None  # Stripe pi_...; None where the provider only numbers a trade once it is paid
    status: PaymentStatus
    next_action: NextAction


class QueryRequest(_Value):
    payment_id: OurId
    provider_reference: str | None = None


class QueryResult(_Value):
    provider: str
    payment_id: str
    provider_reference: str | None
    status: PaymentStatus
    amount: Money | None
    provider_status: str  # the provider's own word, for logs and reconciliation


class RefundRequest(_Value):
    refund_id: OurId
    payment_id: OurId
    provider_reference: str | None = None  # required by Stripe (the PaymentIntent id)
    amount: Money
    payment_amount: Money  # the original payment's total (WeChat requires it)
    reason: str | None = Field(default=None, max_length=80)
    notify_url: Url | None = None

    @model_validator(mode="after")
    def _within_payment(self) -> Self:
        if self.amount.currency != self.payment_amount.currency:
            raise ValueError("a refund is in the payment's currency")
        if not 0 < self.amount.amount <= self.payment_amount.amount:
            raise ValueError("a refund is for a positive amount no larger than the payment")
        return self


class RefundResult(_Value):
    provider: str
    refund_id: str
    provider_refund_reference: str | None
    status: RefundStatus
    amount: Money | None
    provider_status: str


class ProviderEvent(_Value):
    """One verified callback, in our words. ``provider_event_id`` is stable across the provider's retries of the same
    notification, so ``(provider, provider_event_id)`` de-duplicates."""

    provider: str
    provider_event_id: str
    provider_event_type: str
    kind: EventKind
    payment_id: str | None  # ours (metadata / out_trade_no)
    refund_id: str | None = None  # ours, on refund events (metadata / out_refund_no / out_biz_no)
    provider_reference: str | None  # the provider's payment id (pi_..., trade_no, transaction_id)
    provider_refund_reference: str | None = None
    amount: Money | None
    occurred_at: datetime


# --- the interface ---------------------------------------------------------------------------------------------------


@runtime_checkable
class PaymentProvider(Protocol):
    """One provider. ``now`` is unix seconds, injectable so tests never depend on the clock; ``None`` is now."""

    @property
    def name(self) -> str: ...

    def create_intent(
        self, request: CreateIntentRequest, transport: Transport, *, now: float | None = None
    ) -> CreateIntentResult: ...

    def query(self, request: QueryRequest, transport: Transport, *, now: float | None = None) -> QueryResult: ...

    def refund(self, request: RefundRequest, transport: Transport, *, now: float | None = None) -> RefundResult: ...

    def verify_callback(
        self, headers: Mapping[str, str], body: bytes, *, now: float | None = None
    ) -> ProviderEvent: ...

    def acknowledge(self) -> Acknowledgement: ...

    def reject(self, error: VerificationError) -> Acknowledgement: ...


# --- small helpers the adapters share --------------------------------------------------------------------------------


def clock(now: float | None) -> float:
    return time.time() if now is None else now


def utc(unix_seconds: float) -> datetime:
    return datetime.fromtimestamp(unix_seconds, UTC)


def json_object(raw: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None. Strict UTF-8; deeply nested JSON raises RecursionError, not ValueError."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
