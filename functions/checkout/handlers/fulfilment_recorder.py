"""Consumer of the shipping context's OrderAllocated, ShipmentDispatched and ShipmentDelivered (``shop.shipping``):
moves the order forward, publishing OrderFulfilling, OrderShipped and OrderDelivered.

* OrderAllocated: ``paid`` -> ``fulfilling`` (an allocation of exchange parcels only changes nothing).
* ShipmentDispatched: ``shipped`` when ``order_shipped`` (every unit has left), else (a partial shipment) at least
  ``fulfilling``; the parcel's units of regular lines leave reserved stock once per ``shipment_id``.
* ShipmentDelivered: ``delivered`` (with ``delivered_at``, where the return window starts) when
  ``order_delivered``, else at least ``fulfilling``.

Events may come late, early or twice: an order goes forward through every step between in one write, never back,
and a duplicate changes nothing (CheckoutService.record_fulfilment). A parcel that replaces returned goods (an
exchange, ``replacement_for``) does not change the order's status, nor did the checkout reserve its units. A
cancelled order is left alone (logged as a warning: a parcel of it moved). The ``stock`` snapshots the allocation and
the dispatch carry update the checkout's copy of the warehouse stock when newer, whatever happens to the order.

The events are read as a tolerant reader (the fields used here only)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict, Field, field_validator

from functions.checkout.model import OrderStatus, StockSnapshot
from functions.checkout.service import service
from functions.shared.events import detail_of
from functions.shared.logs import shop_logger

logger = shop_logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LineFacts(_Tolerant):
    sku: str
    quantity: int


class ParcelFacts(_Tolerant):
    replacement_for: str | None = None


class AllocatedFacts(_Tolerant):
    order_id: str
    parcels: list[ParcelFacts] = Field(default_factory=list)
    stock: list[StockSnapshot] = Field(default_factory=list)


class DispatchedFacts(_Tolerant):
    order_id: str
    shipment_id: str
    lines: list[LineFacts] = Field(default_factory=list)
    order_shipped: bool
    replacement_for: str | None = None
    stock: list[StockSnapshot] = Field(default_factory=list)


class DeliveredFacts(_Tolerant):
    order_id: str
    shipment_id: str
    delivered_at: datetime
    order_delivered: bool
    replacement_for: str | None = None

    @field_validator("delivered_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return v if v.tzinfo else v.replace(tzinfo=UTC)  # a time without a zone is UTC (DESIGN.md §4)


def _apply(detail_type: str | None, detail: dict[str, Any]) -> tuple[str, str]:
    """(order id, outcome) of one event."""
    svc = service()
    if detail_type == "OrderAllocated":
        allocated = AllocatedFacts.model_validate(detail)
        svc.apply_stock_snapshots(allocated.stock)
        if allocated.parcels and all(p.replacement_for for p in allocated.parcels):
            return allocated.order_id, "replacement"
        return allocated.order_id, svc.record_fulfilment(allocated.order_id, OrderStatus.FULFILLING)
    if detail_type == "ShipmentDispatched":
        dispatched = DispatchedFacts.model_validate(detail)
        svc.apply_stock_snapshots(dispatched.stock)
        if dispatched.replacement_for:
            return dispatched.order_id, "replacement"
        target = OrderStatus.SHIPPED if dispatched.order_shipped else OrderStatus.FULFILLING
        shipped = [(line.sku, line.quantity) for line in dispatched.lines]
        return dispatched.order_id, svc.record_fulfilment(
            dispatched.order_id, target, shipment_id=dispatched.shipment_id, shipped=shipped
        )
    if detail_type == "ShipmentDelivered":
        delivered = DeliveredFacts.model_validate(detail)
        if delivered.replacement_for:
            return delivered.order_id, "replacement"
        target = OrderStatus.DELIVERED if delivered.order_delivered else OrderStatus.FULFILLING
        return delivered.order_id, svc.record_fulfilment(
            delivered.order_id, target, delivered_at=delivered.delivered_at
        )
    return str(detail.get("order_id", "")), "not_handled"


def on_fulfilment(record: SQSRecord) -> None:
    envelope: dict[str, Any] = json.loads(record.body)
    detail_type = envelope.get("detail-type")
    order_id, outcome = _apply(detail_type, detail_of(envelope))
    facts = {"order_id": order_id, "detail_type": detail_type, "outcome": outcome}
    if outcome == "cancelled":
        # Shipping moved a parcel of an order the checkout cancelled: worth a look (and an alarm on this line).
        logger.warning("shipping event for a cancelled order left unapplied", extra=facts)
    elif outcome == "not_handled":
        logger.warning("event type not handled here", extra=facts)
    else:
        logger.info("fulfilment recorded", extra=facts)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=on_fulfilment, processor=processor, context=context)
    )
