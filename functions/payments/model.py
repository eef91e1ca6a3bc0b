"""The payments context's domain: payments (one attempt to pay one order with one method), refunds, and the
payments context's own copy of each order (amount, owner, status), projected from the checkout's events.

Rules held here:
* the amount of a payment always comes from the order, never from the client;
* a payment moves ``creating`` -> ``pending`` -> ``succeeded`` | ``failed`` (a late success after a failure is still
  a success: the provider took the money); a succeeded payment can be refunded up to what it captured, in total;
* one order can have several attempts; the checkout decides which success pays it (the others are refunded).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from functions.shared.money import Money
from functions.shared.text import plain_line

Method = Literal["card", "alipay", "wechat_pay"]
METHODS: tuple[str, ...] = ("card", "alipay", "wechat_pay")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PaymentStatus(StrEnum):
    CREATING = "creating"  # recorded, the provider not yet asked
    PENDING = "pending"  # the provider has it; waiting for the shopper
    SUCCEEDED = "succeeded"
    FAILED = "failed"


SETTLED = (PaymentStatus.SUCCEEDED,)


class NextAction(BaseModel):
    """What the shopper's client does next: confirm a card payment with the client secret (Stripe.js), go to a
    redirect URL (Alipay page pay) or show a QR code URL to scan (Alipay precreate, WeChat Native)."""

    kind: Literal["client_secret", "redirect", "qr_code", "none"]
    client_secret: str | None = None
    redirect_url: str | None = None
    qr_code_url: str | None = None


class PaymentInput(Strict):
    method: Method = Field(description="card, alipay or wechat_pay")


class Payment(BaseModel):
    payment_id: str
    order_id: str
    user_id: str
    method: Method
    amount: Money
    status: PaymentStatus
    provider_reference: str | None = None
    next_action: NextAction | None = None
    refunded: Money
    failure: str | None = None
    created_at: datetime
    updated_at: datetime
    version: int = 1


class PaymentPage(BaseModel):
    items: list[Payment]


class OrderFacts(BaseModel):
    """The payments context's copy of a checkout order: enough to price a payment and to know who may pay it."""

    order_id: str
    user_id: str
    total: Money
    status: str
    version: int
    payment_due_at: datetime | None = None
    paid_by: str | None = None


class RefundInput(Strict):
    amount: Annotated[StrictInt, Field(ge=1)] | None = Field(
        default=None, description="Minor units; leave out for everything still refundable"
    )
    reason: Annotated[str, Field(min_length=1, max_length=200)]

    _clean = field_validator("reason")(plain_line)


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Refund(BaseModel):
    refund_id: str
    payment_id: str
    order_id: str
    amount: Money
    status: RefundStatus
    reason: str
    provider_refund_reference: str | None = None
    requested_by: str
    reference: str | None = Field(
        default=None, description="What the refund is for, e.g. return:<return_id>; null for a back-office refund"
    )
    created_at: datetime
    updated_at: datetime


class PaymentIntentResponse(BaseModel):
    payment: Payment
    next_action: NextAction | None
