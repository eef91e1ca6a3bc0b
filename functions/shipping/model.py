"""The shipping context's domain: warehouses, physical stock and its ledger, allocation of paid orders, shipments
with carrier tracking, and returns. Plain pydantic and functions, no I/O.

Rules that live here:
* per warehouse, ``available = on_hand - allocated``; neither ``on_hand`` nor ``available`` ever goes below zero;
  every change of ``on_hand`` is one ledger entry, so the ledger's sum is the on-hand figure;
* :func:`plan_allocation` chooses warehouses for a paid order (the rule is in its docstring and docs/shipping.md);
* a shipment's status follows its carrier's events by *carrier time*, whatever order they arrive in; ``delivered``
  is final;
* a return is for units that were delivered, inside the return window, never twice for the same unit; its life
  cycle is :data:`RETURN_TRANSITIONS` (DESIGN.md §5a).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator

from functions.shared.errors import Conflict
from functions.shared.money import Money
from functions.shared.text import plain_line

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
WAREHOUSE_PATTERN = r"^[A-Z0-9][A-Z0-9_-]{1,31}$"
CARRIER_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,31}$"
TRACKING_PATTERN = r"^[A-Za-z0-9-]{4,40}$"
MAX_MOVEMENT_UNITS = 1_000_000
MAX_LINES = 50
# DynamoDB takes at most 100 items per transaction: a shipment writes 2 per SKU (stock, ledger) plus 5, a received
# return 3 per SKU (stock, ledger, event) plus 3, so a shipment carries at most 45 SKUs and a return 30.
MAX_SHIPMENT_SKUS = 45
MAX_RETURN_LINES = 30
MAX_WAREHOUSES = 200  # all warehouses live in one item (well under 400 KB at this count)
MAX_TIMELINE = 200  # tracking events kept per shipment (the newest, and every delivery)

Sku = Annotated[str, Field(pattern=SKU_PATTERN, examples=["HW-P60-BLK-256"])]
WarehouseCode = Annotated[str, Field(pattern=WAREHOUSE_PATTERN, examples=["WH-SH"])]
Units = Annotated[StrictInt, Field(ge=1, le=MAX_MOVEMENT_UNITS)]
Reason = Annotated[str, Field(min_length=1, max_length=200)]


def return_window() -> timedelta:
    return timedelta(days=int(os.environ.get("RETURN_WINDOW_DAYS", "7")))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- warehouses ---------------------------------------------------------------------------------------------------


class WarehouseAddress(Strict):
    region: Annotated[str, Field(min_length=1, max_length=100, description="Province / state; allocation prefers it")]
    city: Annotated[str, Field(min_length=1, max_length=100)]
    street: Annotated[str, Field(min_length=1, max_length=300)]
    postcode: Annotated[str, Field(pattern=r"^[A-Za-z0-9 -]{3,12}$")] = "000000"
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "CN"

    _clean = field_validator("region", "city", "street")(plain_line)


class WarehouseInput(Strict):
    code: WarehouseCode
    name: Annotated[str, Field(min_length=1, max_length=100)]
    address: WarehouseAddress
    priority: Annotated[StrictInt, Field(ge=0, le=1000, description="Lower ships first among equally near ones")] = 100
    active: StrictBool = True

    _clean = field_validator("name")(plain_line)


class WarehouseUpdate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    address: WarehouseAddress | None = None
    priority: Annotated[StrictInt, Field(ge=0, le=1000)] | None = None
    active: StrictBool | None = None
    version: StrictInt = Field(description="The version you read; a stale one is 409")

    _clean = field_validator("name")(plain_line)


class Warehouse(BaseModel):
    code: str
    name: str
    address: WarehouseAddress
    priority: int
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int = 1


class WarehouseList(BaseModel):
    items: list[Warehouse]
    next_cursor: str | None = None


# --- stock and its ledger -----------------------------------------------------------------------------------------


class Level(BaseModel):
    on_hand: int = 0
    allocated: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated


class SkuStock(BaseModel):
    """One SKU's physical stock in every warehouse (one item, so an order's allocation is one conditional write per
    SKU whatever the number of warehouses)."""

    sku: str
    levels: dict[str, Level] = Field(default_factory=dict)
    version: int = 0

    def level(self, warehouse: str) -> Level:
        return self.levels.get(warehouse, Level())

    def available(self, warehouse: str) -> int:
        return self.level(warehouse).available


MovementKind = Literal["inbound", "outbound", "adjustment", "transfer"]


class MovementInput(Strict):
    """A physical stock change staff enter. ``inbound`` (goods received), ``outbound`` (damaged, lost, sent back to
    the supplier) and ``transfer`` (to ``to_warehouse``) move ``quantity`` units; ``adjustment`` records a stock count:
    ``counted`` is what is on the shelf now, and the ledger gets the difference."""

    type: MovementKind
    warehouse: WarehouseCode
    quantity: Units | None = None
    counted: Annotated[StrictInt, Field(ge=0, le=MAX_MOVEMENT_UNITS)] | None = None
    to_warehouse: WarehouseCode | None = None
    reason: Reason
    reference: Annotated[str, Field(max_length=100, description="Purchase order, count sheet, ...")] = ""

    _clean = field_validator("reason", "reference")(plain_line)

    @model_validator(mode="after")
    def _fields_for_type(self) -> Self:
        _check_units(self.type, self.quantity, self.counted)
        if (self.type == "transfer") != (self.to_warehouse is not None):
            raise ValueError("`to_warehouse` is given for a transfer, and only for one")
        if self.type == "transfer" and self.to_warehouse == self.warehouse:
            raise ValueError("a transfer goes to another warehouse")
        return self


def _check_units(kind: str, quantity: int | None, counted: int | None) -> None:
    if kind == "adjustment":
        if counted is None or quantity is not None:
            raise ValueError("an adjustment gives `counted` (the units counted on the shelf), not `quantity`")
    elif quantity is None or counted is not None:
        raise ValueError(f"a movement of type {kind} gives `quantity`, not `counted`")


PartnerMovementKind = Literal["inbound", "outbound", "adjustment"]


class PartnerMovementInput(Strict):
    """A stock report from a supplier or WMS partner (POST /partner/v1/inventory/{sku}): the movements of the back
    office (:class:`MovementInput`) but a transfer, which is the shop's decision between two sites, not one site's
    report (a partner reports it as an outbound at one warehouse and an inbound at the other)."""

    type: PartnerMovementKind
    warehouse: WarehouseCode
    quantity: Units | None = Field(default=None, description="Units received (inbound) or gone (outbound)")
    counted: Annotated[StrictInt, Field(ge=0, le=MAX_MOVEMENT_UNITS)] | None = Field(
        default=None, description="An adjustment: the units counted on the shelf now"
    )
    reason: Reason
    reference: Annotated[str, Field(max_length=100, description="Delivery note, count sheet, ...")] = ""

    _clean = field_validator("reason", "reference")(plain_line)

    @model_validator(mode="after")
    def _fields_for_type(self) -> Self:
        _check_units(self.type, self.quantity, self.counted)
        return self

    def movement(self) -> MovementInput:
        """The same movement as staff would enter it, so every rule of :class:`MovementInput` applies."""
        return MovementInput.model_validate(self.model_dump())


LedgerKind = Literal["inbound", "outbound", "adjustment", "transfer_out", "transfer_in", "dispatch", "return"]


class LedgerEntry(BaseModel):
    """One change of one warehouse's on-hand units. Append-only."""

    entry_id: str
    movement_id: str
    sku: str
    warehouse: str
    kind: LedgerKind
    delta: int
    on_hand_after: int
    reason: str
    actor: str
    reference: str = ""
    at: datetime


class MovementResult(BaseModel):
    movement_id: str
    sku: str
    type: str
    entries: list[LedgerEntry]
    stock: StockView


class WarehouseLevel(BaseModel):
    warehouse: str
    on_hand: int
    allocated: int
    available: int


class StockView(BaseModel):
    sku: str
    version: int
    on_hand: int
    allocated: int
    available: int
    warehouses: list[WarehouseLevel]

    @classmethod
    def of(cls, stock: SkuStock) -> StockView:
        levels = [
            WarehouseLevel(warehouse=w, on_hand=lv.on_hand, allocated=lv.allocated, available=lv.available)
            for w, lv in sorted(stock.levels.items())
        ]
        return cls(
            sku=stock.sku,
            version=stock.version,
            on_hand=sum(lv.on_hand for lv in levels),
            allocated=sum(lv.allocated for lv in levels),
            available=sum(lv.available for lv in levels),
            warehouses=levels,
        )


class LedgerPage(BaseModel):
    items: list[LedgerEntry]
    next_cursor: str | None = None


# --- allocation ---------------------------------------------------------------------------------------------------


class OrderLine(BaseModel):
    """An order line as the checkout published it (what shipping needs of it)."""

    model_config = ConfigDict(extra="ignore")

    sku: str
    name: str = ""
    quantity: int
    unit_price: Money
    line_total: Money
    promotion_id: str | None = None


class ShipTo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    recipient: str
    phone: str
    region: str
    city: str
    district: str = ""
    street: str
    postcode: str
    country: str = "CN"


class ParcelPlan(BaseModel):
    parcel_id: str
    warehouse: str
    lines: dict[str, int] = Field(description="SKU -> units to ship from this warehouse")
    shipped: dict[str, int] = Field(default_factory=dict)
    replacement_for: str | None = Field(default=None, description="The exchange (return id) this parcel replaces")

    def left(self) -> dict[str, int]:
        return {s: q - self.shipped.get(s, 0) for s, q in self.lines.items() if q > self.shipped.get(s, 0)}


class Need(BaseModel):
    """Units an order still needs allocated: the order itself once paid, or an exchange's replacement."""

    lines: dict[str, int]
    replacement_for: str | None = None


class FulfilmentStatus(StrEnum):
    WAITING = "waiting"  # paid, not (yet) allocated: no stock
    ALLOCATED = "allocated"
    CANCELLED = "cancelled"


class Fulfilment(BaseModel):
    """Shipping's record of one order: what it contains (from OrderPaid), where its units are allocated, what has
    been shipped, delivered and claimed by returns."""

    order_id: str
    user_id: str = ""
    status: FulfilmentStatus
    ship_to: ShipTo | None = None
    lines: list[OrderLine] = Field(default_factory=list)
    subtotal: Money | None = None
    discount: Money | None = None
    needs: list[Need] = Field(default_factory=list)
    parcels: list[ParcelPlan] = Field(default_factory=list)
    shipments: dict[str, str] = Field(default_factory=dict, description="shipment id -> status")
    delivered: dict[str, int] = Field(default_factory=dict, description="SKU -> units delivered")
    last_delivery: dict[str, datetime] = Field(default_factory=dict, description="SKU -> its latest delivery")
    claimed: dict[str, int] = Field(default_factory=dict, description="SKU -> units in returns not rejected")
    delivered_at: datetime | None = None
    paid_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    version: int = 1

    def original_parcels(self) -> list[ParcelPlan]:
        return [p for p in self.parcels if p.replacement_for is None]

    def all_shipped(self) -> bool:
        """Every unit of the order (not counting exchanges' replacements) has left a warehouse."""
        original = [n for n in self.needs if n.replacement_for is None]
        return not original and all(not p.left() for p in self.original_parcels())

    def line(self, sku: str) -> OrderLine | None:
        return next((ln for ln in self.lines if ln.sku == sku), None)


def rank_warehouses(warehouses: list[Warehouse], region: str) -> list[Warehouse]:
    """Active warehouses, nearest first: the delivery address's own region (province), then by priority, then code."""
    active = [w for w in warehouses if w.active]
    return sorted(active, key=lambda w: (w.address.region.casefold() != region.casefold(), w.priority, w.code))


def plan_allocation(
    need: dict[str, int], stock: dict[str, SkuStock], ranked: list[Warehouse]
) -> tuple[list[tuple[str, dict[str, int]]], dict[str, int]]:
    """Where to ship ``need`` (SKU -> units) from. Returns ``(parcels, shortages)``: parcels as (warehouse, SKU ->
    units), or no parcels and the units missing across all active warehouses.

    The rule:
    1. the first warehouse in ``ranked`` order (nearest region, then priority) that holds every unit ships it all
       (one parcel);
    2. otherwise the order is split: the best-ranked pair of warehouses that together hold every unit (two
       parcels; the better-ranked one ships all it can); failing that, repeatedly take the warehouse that can ship
       the most of what is still needed (ties: the nearer in ``ranked`` order), and take from it all it has of each
       line;
    3. if all active warehouses together cannot cover a line, nothing is allocated (no part of the order is held
       while the rest waits); the order waits for stock.
    """
    codes = [w.code for w in ranked]

    def avail(code: str, sku: str) -> int:
        s = stock.get(sku)
        return max(0, s.available(code)) if s else 0

    shortages = {sku: q - sum(avail(c, sku) for c in codes) for sku, q in need.items()}
    shortages = {sku: q for sku, q in shortages.items() if q > 0}
    if shortages:
        return [], shortages
    for code in codes:
        if all(avail(code, sku) >= q for sku, q in need.items()):
            return [(code, dict(need))], {}
    pairs = sorted(
        ((i, j) for i in range(len(codes)) for j in range(i + 1, len(codes))), key=lambda p: (p[0] + p[1], p)
    )
    for i, j in pairs:
        a, b = codes[i], codes[j]
        if all(avail(a, sku) + avail(b, sku) >= q for sku, q in need.items()):
            first = {sku: min(avail(a, sku), q) for sku, q in need.items() if avail(a, sku) > 0}
            second = {sku: q - first.get(sku, 0) for sku, q in need.items() if q > first.get(sku, 0)}
            return [(a, first), (b, second)], {}
    left = dict(need)
    parcels: list[tuple[str, dict[str, int]]] = []
    unused = list(codes)
    while left:
        best = max(unused, key=lambda c: (sum(min(avail(c, s), q) for s, q in left.items()), -unused.index(c)))
        take = {s: min(avail(best, s), q) for s, q in left.items() if avail(best, s) > 0}
        parcels.append((best, take))
        unused.remove(best)
        for s, q in take.items():
            left[s] -= q
            if left[s] == 0:
                del left[s]
    return parcels, {}


# --- shipments and tracking ---------------------------------------------------------------------------------------


class ShipmentStatus(StrEnum):
    DISPATCHED = "dispatched"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    EXCEPTION = "exception"
    DELIVERED = "delivered"


TrackingStatus = Literal["in_transit", "out_for_delivery", "delivered", "exception"]


class ShipmentLineInput(Strict):
    sku: Sku
    quantity: Units


class ShipmentInput(Strict):
    carrier: Annotated[str, Field(pattern=CARRIER_PATTERN, examples=["sf-express"])]
    tracking_number: Annotated[str, Field(pattern=TRACKING_PATTERN, examples=["SF1234567890"])]
    parcel_id: Annotated[str, Field(max_length=16)] | None = Field(
        default=None, description="Which allocated parcel ships; may be left out when only one fits the lines"
    )
    lines: Annotated[list[ShipmentLineInput], Field(min_length=1, max_length=MAX_SHIPMENT_SKUS)] | None = Field(
        default=None, description="Units in this parcel; left out: everything the parcel still has to ship"
    )

    @field_validator("lines")
    @classmethod
    def _distinct(cls, v: list[ShipmentLineInput] | None) -> list[ShipmentLineInput] | None:
        if v is not None and len({ln.sku.upper() for ln in v}) != len(v):
            raise ValueError("each SKU once")
        return v


class TrackingEvent(BaseModel):
    event_id: str
    status: TrackingStatus
    occurred_at: datetime
    location: str = ""
    description: str = ""
    received_at: datetime


class Shipment(BaseModel):
    shipment_id: str
    order_id: str
    parcel_id: str
    warehouse: str
    carrier: str
    tracking_number: str
    lines: dict[str, int]
    status: ShipmentStatus
    timeline: list[TrackingEvent] = Field(default_factory=list)
    replacement_for: str | None = None
    dispatched_by: str
    dispatched_at: datetime
    delivered_at: datetime | None = None
    updated_at: datetime
    version: int = 1


def apply_tracking(shipment: Shipment, events: list[TrackingEvent]) -> tuple[Shipment, list[TrackingEvent]]:
    """The shipment after ``events``: duplicates (same carrier event id) are dropped, the timeline is kept in carrier
    time, and the status is that of the latest event by carrier time, except that once delivered it stays
    delivered (a late "in transit" scan cannot undo a delivery). Returns the new shipment and the events that were
    new."""
    seen = {e.event_id for e in shipment.timeline}
    fresh: list[TrackingEvent] = []
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            fresh.append(event)
    if not fresh:
        return shipment, []
    timeline = sorted([*shipment.timeline, *fresh], key=lambda e: (e.occurred_at, e.event_id))
    if len(timeline) > MAX_TIMELINE:  # a chatty carrier: keep the newest scans, and every delivery
        keep = {e.event_id for e in timeline[-MAX_TIMELINE:]} | {
            e.event_id for e in timeline if e.status == "delivered"
        }
        timeline = [e for e in timeline if e.event_id in keep]
    deliveries = [e for e in timeline if e.status == "delivered"]
    if deliveries:
        # The return window starts at the delivery as the carrier reports it, but never more than a day before the
        # parcel left, nor more than a few minutes after we heard of it (clocks differ a little, not by days).
        first = deliveries[0]
        earliest = shipment.dispatched_at - timedelta(days=1)
        latest = first.received_at + timedelta(minutes=10)
        delivered_at = min(max(first.occurred_at, earliest), latest)
        status = ShipmentStatus.DELIVERED
    else:
        status, delivered_at = ShipmentStatus(timeline[-1].status), None
    new = shipment.model_copy(
        update={
            "timeline": timeline,
            "status": status,
            "delivered_at": delivered_at,
            "updated_at": max(e.received_at for e in fresh),
            "version": shipment.version + 1,
        }
    )
    return new, fresh


class ShipmentList(BaseModel):
    order_id: str
    status: str = Field(description="allocated, waiting (no stock yet) or cancelled")
    parcels: list[ParcelPlan]
    items: list[Shipment]


class CarrierEventInput(BaseModel):
    """One tracking event as a carrier sends it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    event_id: Annotated[str, Field(min_length=1, max_length=100)]
    status: TrackingStatus
    occurred_at: datetime
    location: Annotated[str, Field(max_length=200)] = ""
    description: Annotated[str, Field(max_length=500)] = ""

    _clean = field_validator("location", "description")(plain_line)

    @field_validator("occurred_at")
    @classmethod
    def _zoned(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("occurred_at needs a time zone")
        if not 2000 <= v.year <= 2100:
            raise ValueError("occurred_at must be between the years 2000 and 2100")
        return v


class CarrierCallback(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    tracking_number: Annotated[str, Field(pattern=TRACKING_PATTERN)]
    events: Annotated[list[CarrierEventInput], Field(min_length=1, max_length=100)]


# --- returns ------------------------------------------------------------------------------------------------------


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    RECEIVED = "received"
    REFUNDED = "refunded"
    EXCHANGED = "exchanged"


RETURN_TRANSITIONS: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    ReturnStatus.REQUESTED: frozenset({ReturnStatus.APPROVED, ReturnStatus.REJECTED}),
    ReturnStatus.APPROVED: frozenset({ReturnStatus.RECEIVED}),
    ReturnStatus.RECEIVED: frozenset({ReturnStatus.REFUNDED, ReturnStatus.EXCHANGED}),
    ReturnStatus.REJECTED: frozenset(),
    ReturnStatus.REFUNDED: frozenset(),
    ReturnStatus.EXCHANGED: frozenset(),
}


def check_return_transition(current: ReturnStatus, target: ReturnStatus) -> None:
    if target not in RETURN_TRANSITIONS[current]:
        raise Conflict(f"a return that is {current.value} cannot become {target.value}", code="INVALID_RETURN_STATE")


class ReturnLineInput(Strict):
    sku: Sku
    quantity: Units


class ReturnInput(Strict):
    kind: Literal["return", "exchange"] = Field(description="return: refund; exchange: the same SKU sent again")
    reason: Reason
    lines: Annotated[list[ReturnLineInput], Field(min_length=1, max_length=MAX_RETURN_LINES)]

    _clean = field_validator("reason")(plain_line)

    @field_validator("lines")
    @classmethod
    def _distinct(cls, v: list[ReturnLineInput]) -> list[ReturnLineInput]:
        if len({ln.sku.upper() for ln in v}) != len(v):
            raise ValueError("each SKU once")
        return v


Condition = Literal["resellable", "damaged"]


class ReceivedLineInput(Strict):
    sku: Sku
    quantity: Units
    condition: Condition


class ReturnActionInput(Strict):
    """``reject`` needs ``reason``; ``receive`` needs ``condition`` (for every unit) or ``lines`` (per SKU and
    condition, adding up to the return); ``warehouse`` is where the goods came back (default: where they shipped
    from)."""

    reason: Annotated[str, Field(max_length=200)] = ""
    condition: Condition | None = None
    lines: Annotated[list[ReceivedLineInput], Field(max_length=2 * MAX_RETURN_LINES)] | None = None
    warehouse: WarehouseCode | None = None

    _clean = field_validator("reason")(plain_line)


class ReturnChange(BaseModel):
    status: ReturnStatus
    at: datetime
    by: str = ""
    note: str = ""


class ReturnRecord(BaseModel):
    return_id: str
    order_id: str
    user_id: str
    kind: Literal["return", "exchange"]
    reason: str
    lines: dict[str, int]
    status: ReturnStatus
    refund: Money | None = Field(default=None, description="What a return refunds (lines' share of what was paid)")
    refund_id: str | None = None
    refunded: Money | None = Field(default=None, description="What the payments context refunded")
    refund_error: str | None = Field(default=None, description="Why the refund failed (staff refund by hand)")
    restocked: dict[str, int] = Field(default_factory=dict)
    damaged: dict[str, int] = Field(default_factory=dict)
    warehouse: str | None = None
    reject_reason: str | None = None
    history: list[ReturnChange] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    version: int = 1


class ReturnPage(BaseModel):
    items: list[ReturnRecord]
    next_cursor: str | None = None


def refund_for(fulfilment: Fulfilment, lines: dict[str, int]) -> Money | None:
    """What returning ``lines`` refunds: their price as ordered, less their share of the order's discount (rounded
    down, so the shop never refunds more than was paid for them). Shipping is not refunded."""
    if fulfilment.subtotal is None or not fulfilment.lines:
        return None
    currency = fulfilment.subtotal.currency
    discount = fulfilment.discount.amount if fulfilment.discount else 0
    # Coupons never apply to flash-sale lines: the discount is shared among the other lines only.
    base = sum(ln.line_total.amount for ln in fulfilment.lines if ln.promotion_id is None)
    value = 0
    for sku, qty in lines.items():
        line = fulfilment.line(sku)
        if line is None:
            continue
        share = line.line_total.amount * qty // max(1, line.quantity)
        if discount and base > 0 and line.promotion_id is None:
            share = share * (base - min(discount, base)) // base
        value += share
    return Money(amount=value, currency=currency)


MovementResult.model_rebuild()
