"""Events the checkout publishes (source ``shop.checkout``), each written through the checkout table's outbox in the
same transaction as the change it describes. Order events carry the order as it is after the change.

:class:`CartAdditionsCounted` is the exception: it describes no checkout state, so the CartLogForwarder publishes it
from AddCartItem's log lines (functions.checkout.cart_analytics) with PutEvents, at least once."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from functions.checkout.model import Order, Promotion
from functions.shared.events import DomainEvent


class OrderEvent(DomainEvent):
    order: Order


class OrderPlaced(OrderEvent):
    """A shopper checked out: stock is reserved and the order waits for payment until ``order.payment_due_at``."""

    SOURCE: ClassVar[str] = "shop.checkout"


class OrderCancelled(OrderEvent):
    """The order was cancelled before shipment; its reserved stock is back on sale. ``refund_due`` is true when it
    had been paid (the payments context refunds it in full)."""

    SOURCE: ClassVar[str] = "shop.checkout"

    cancelled_by: Literal["shopper", "staff", "payment_window"]
    refund_due: bool


class OrderPaid(OrderEvent):
    """A payment for the whole amount succeeded while the order waited for it; fulfilment may start."""

    SOURCE: ClassVar[str] = "shop.checkout"


class PaymentRejected(DomainEvent):
    """A payment succeeded that the order cannot take (it was cancelled or expired first, was already paid by
    another payment, or the amount differs): the payments context refunds it in full."""

    SOURCE: ClassVar[str] = "shop.checkout"

    order_id: str
    payment_id: str
    reason: Literal["order_cancelled", "already_paid", "amount_mismatch"]


class OrderFulfilling(OrderEvent):
    """The shipping context allocated the order's stock (or a parcel of it left): it is being fulfilled.

    An order that skips steps because the shipping events arrived out of order (a dispatch before the allocation)
    moves through every step in one write and publishes one event per step, in order, each carrying the order as
    written (so its status may already be further on; ``order.version`` tells the newest)."""

    SOURCE: ClassVar[str] = "shop.checkout"


class OrderShipped(OrderEvent):
    """Every unit of the order has left a warehouse (``order.shipped_at``)."""

    SOURCE: ClassVar[str] = "shop.checkout"


class OrderDelivered(OrderEvent):
    """The carrier delivered the order's last parcel (``order.delivered_at``); the return window runs from there."""

    SOURCE: ClassVar[str] = "shop.checkout"


class OrderCompleted(OrderEvent):
    """The return window of a delivered order has ended (``order.completed_at``)."""

    SOURCE: ClassVar[str] = "shop.checkout"


class PromotionCreated(DomainEvent):
    SOURCE: ClassVar[str] = "shop.checkout"

    promotion: Promotion


class PromotionSettled(DomainEvent):
    """A flash sale ended and its unsold units went back to the SKU's sellable stock."""

    SOURCE: ClassVar[str] = "shop.checkout"

    promotion_id: str
    sku: str
    sold: int
    returned: int


class CartAdditionsCounted(DomainEvent):
    """Successful add-to-cart requests (POST /cart/items) for one product in one UTC hour, from one delivery of the
    handler's log lines; ``event_id`` derived from those lines (a redelivery has the same)."""

    SOURCE: ClassVar[str] = "shop.checkout"

    product_id: str
    hour: datetime = Field(description="Start of the UTC hour the additions fall in")
    additions: int = Field(ge=1, description="Add-to-cart requests")
    units: int = Field(ge=1, description="Quantities added, summed")
