"""Events the payments context publishes (source ``shop.payments``). The contract comes first: the checkout's
``OrderPaymentRecorder`` consumes PaymentSucceeded; the payments issue builds the publisher (intents, provider
callbacks, reconciliation) on it."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from functions.shared.events import DomainEvent
from functions.shared.money import Money

Method = Literal["card", "alipay", "wechat_pay"]
_REFERENCE = "What the refund is for, e.g. return:<return_id> (the shipping context's return); null otherwise"


class PaymentSucceeded(DomainEvent):
    """A provider confirmed (signed callback or query) that the shopper paid ``amount`` for ``order_id``."""

    SOURCE: ClassVar[str] = "shop.payments"

    payment_id: str
    order_id: str
    user_id: str
    method: Method
    amount: Money
    provider_reference: str = Field(description="The provider's id of the charge (PaymentIntent, trade_no, ...)")
    succeeded_at: datetime


class PaymentFailed(DomainEvent):
    """The provider declined or closed the payment; the order stays waiting for another attempt."""

    SOURCE: ClassVar[str] = "shop.payments"

    payment_id: str
    order_id: str
    method: Method
    reason: str


class RefundSucceeded(DomainEvent):
    """The provider paid a refund out. A refund with ``reference`` ``return:<return_id>`` is a received return's
    (the shipping context's ``ReturnReceived``); the back office's refunds carry none."""

    SOURCE: ClassVar[str] = "shop.payments"

    refund_id: str
    payment_id: str
    order_id: str
    amount: Money
    refunded_total: Money = Field(description="Everything refunded on the payment so far")
    reference: str | None = Field(default=None, description=_REFERENCE)


class RefundFailed(DomainEvent):
    """The provider refused a refund; its amount is refundable again."""

    SOURCE: ClassVar[str] = "shop.payments"

    refund_id: str
    payment_id: str
    order_id: str
    amount: Money
    reason: str
    reference: str | None = Field(default=None, description=_REFERENCE)
