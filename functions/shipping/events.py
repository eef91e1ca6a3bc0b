"""Events the shipping context publishes (source ``shop.shipping``), each written through the shipping table's
outbox in the same transaction as the change it describes.

Who listens:
* the checkout keeps its sellable stock right from ``StockMovementRecorded`` (``sellable_delta``, exactly once per
  ``movement_id``) and its copy of the warehouse stock from the ``stock`` snapshots every event here carries
  (applied only when newer, by ``version``); it moves the order through ``fulfilling`` / ``shipped`` / ``delivered``
  on ``OrderAllocated``, ``ShipmentDispatched`` and ``ShipmentDelivered``;
* the payments context refunds a received return (``ReturnReceived`` with ``refund``) through the order's provider;
* analytics and partners follow all of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from functions.shared.events import DomainEvent
from functions.shared.money import Money

MovementType = Literal["inbound", "outbound", "adjustment", "transfer", "dispatch", "return"]
ReturnKind = Literal["return", "exchange"]


class WarehouseStock(BaseModel):
    warehouse: str
    on_hand: int
    allocated: int
    available: int = Field(description="on_hand - allocated: what can still be allocated to paid orders")


class StockSnapshot(BaseModel):
    """A SKU's physical stock in every warehouse after a change; ``version`` grows with every change."""

    sku: str
    version: int
    warehouses: list[WarehouseStock]


class Line(BaseModel):
    sku: str
    quantity: int


class StockMovementRecorded(DomainEvent):
    """A physical stock change entered by staff or a partner (inbound, outbound, adjustment, transfer) or a return
    put back on the shelf. ``sellable_delta`` is what the shop may sell more (negative: less); a transfer is 0."""

    SOURCE: ClassVar[str] = "shop.shipping"

    movement_id: str
    sku: str
    type: MovementType
    sellable_delta: int
    stock: StockSnapshot
    reason: str
    actor: str


class OrderAllocated(DomainEvent):
    """A paid order's stock was allocated in one or more warehouses (one parcel each)."""

    SOURCE: ClassVar[str] = "shop.shipping"

    order_id: str
    parcels: list[Parcel]
    stock: list[StockSnapshot]


class Parcel(BaseModel):
    parcel_id: str
    warehouse: str
    lines: list[Line]
    replacement_for: str | None = Field(default=None, description="The exchange (return id) this parcel replaces")


class OrderBackordered(DomainEvent):
    """A paid order could not be allocated: no combination of active warehouses holds its lines. The
    AllocateWaitingOrders schedule tries it again (every 5 minutes), so it ships once stock arrives; staff may cancel
    it instead, which refunds it."""

    SOURCE: ClassVar[str] = "shop.shipping"

    order_id: str
    shortages: list[Line] = Field(description="Units missing across all warehouses, per SKU")


class AllocationReleased(DomainEvent):
    """A cancelled order's undispatched allocation went back to available stock."""

    SOURCE: ClassVar[str] = "shop.shipping"

    order_id: str
    released: list[Line]
    stock: list[StockSnapshot]


class ShipmentDispatched(DomainEvent):
    """A parcel left a warehouse with a carrier. ``order_shipped`` is true when every unit of the order has left
    (the order becomes ``shipped``); ``lines`` are the units in this parcel."""

    SOURCE: ClassVar[str] = "shop.shipping"

    order_id: str
    shipment_id: str
    warehouse: str
    carrier: str
    tracking_number: str
    lines: list[Line]
    order_shipped: bool
    replacement_for: str | None = Field(default=None, description="The exchange (return id) this parcel replaces")
    stock: list[StockSnapshot]


class ShipmentStatusChanged(DomainEvent):
    """A carrier reported progress that changed a shipment's status (in transit, out for delivery, exception)."""

    SOURCE: ClassVar[str] = "shop.shipping"

    order_id: str
    shipment_id: str
    status: str
    occurred_at_carrier: datetime
    location: str = ""


class ShipmentDelivered(DomainEvent):
    """The carrier delivered a parcel. ``order_delivered`` is true when every unit of the order has been delivered
    (the order becomes ``delivered``, and its return window starts at ``delivered_at``)."""

    SOURCE: ClassVar[str] = "shop.shipping"

    order_id: str
    shipment_id: str
    delivered_at: datetime
    order_delivered: bool
    replacement_for: str | None = None


class ReturnEvent(DomainEvent):
    return_id: str
    order_id: str
    user_id: str
    kind: ReturnKind
    lines: list[Line]


class ReturnRequested(ReturnEvent):
    SOURCE: ClassVar[str] = "shop.shipping"

    reason: str


class ReturnApproved(ReturnEvent):
    SOURCE: ClassVar[str] = "shop.shipping"

    actor: str


class ReturnRejected(ReturnEvent):
    SOURCE: ClassVar[str] = "shop.shipping"

    actor: str
    reason: str


class ReturnReceived(ReturnEvent):
    """The goods came back. Resellable units are on the shelf again (see ``restocked``; the matching
    ``StockMovementRecorded`` events follow). A ``return`` is refunded ``refund`` through the payments context, with
    ``return:<return_id>`` as the refund's reference; an ``exchange`` gets a replacement allocation instead."""

    SOURCE: ClassVar[str] = "shop.shipping"

    actor: str
    restocked: list[Line]
    damaged: list[Line]
    refund: Money | None


class ReturnRefunded(ReturnEvent):
    SOURCE: ClassVar[str] = "shop.shipping"

    refund_id: str
    amount: Money


OrderAllocated.model_rebuild()
