"""Small builders for the shipping context's domain objects, so each test states only what it is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.shared.money import Money
from functions.shipping.model import (
    Fulfilment,
    FulfilmentStatus,
    Level,
    OrderLine,
    Shipment,
    ShipmentStatus,
    SkuStock,
    TrackingEvent,
    Warehouse,
    WarehouseAddress,
)

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def cny(amount: int) -> Money:
    return Money(amount=amount, currency="CNY")


def warehouse(code: str, region: str = "Shanghai", priority: int = 100, active: bool = True) -> Warehouse:
    return Warehouse(
        code=code,
        name=f"Warehouse {code}",
        address=WarehouseAddress(region=region, city=region, street="1 Depot Road"),
        priority=priority,
        active=active,
        created_at=NOW,
        updated_at=NOW,
    )


def stock(**per_sku: dict[str, int]) -> dict[str, SkuStock]:
    """``stock(A={"WH-1": 3})``: SKU -> warehouse -> units available (nothing allocated)."""
    return {
        sku: SkuStock(sku=sku, levels={w: Level(on_hand=q) for w, q in levels.items()}, version=1)
        for sku, levels in per_sku.items()
    }


def fulfilment(lines: dict[str, tuple[int, int]], discount: int = 0) -> Fulfilment:
    """``lines``: SKU -> (quantity, unit price)."""
    order_lines = [
        OrderLine(sku=s, name=s, quantity=q, unit_price=cny(p), line_total=cny(p * q)) for s, (q, p) in lines.items()
    ]
    subtotal = sum(q * p for q, p in lines.values())
    return Fulfilment(
        order_id="ord-1",
        user_id="user-1",
        status=FulfilmentStatus.ALLOCATED,
        lines=order_lines,
        subtotal=cny(subtotal),
        discount=cny(discount),
        created_at=NOW,
        updated_at=NOW,
    )


def shipment(status: ShipmentStatus = ShipmentStatus.DISPATCHED) -> Shipment:
    return Shipment(
        shipment_id="shp-1",
        order_id="ord-1",
        parcel_id="P1",
        warehouse="WH-SH",
        carrier="sf-express",
        tracking_number="SF100",
        lines={"SKU-A": 1},
        status=status,
        dispatched_by="staff",
        dispatched_at=NOW,
        updated_at=NOW,
    )


def scan(event_id: str, status: str, hours: float, received_after: float = 0) -> TrackingEvent:
    """A carrier event ``hours`` after dispatch (carrier time), received ``received_after`` hours after that."""
    at = NOW + timedelta(hours=hours)
    return TrackingEvent(
        event_id=event_id,
        status=status,  # type: ignore[arg-type]
        occurred_at=at,
        location="Hub",
        received_at=at + timedelta(hours=received_after),
    )
