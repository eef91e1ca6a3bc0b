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
    SOURCE: ClassVar[str] = "shop.payments"

    refund_id: str
    payment_id: str
    order_id: str
    amount: Money
    refunded_total: Money = Field(description="Everything refunded on the payment so far")


class RefundFailed(DomainEvent):
    SOURCE: ClassVar[str] = "shop.payments"

    refund_id: str
    payment_id: str
    order_id: str
    amount: Money
    reason: str
