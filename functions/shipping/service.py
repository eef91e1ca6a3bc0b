"""The shipping context's service layer: warehouses, stock movements, allocation, dispatch, carrier tracking and
returns. Every change is one transaction with its ledger entries and outbox events; a write that lost a race is
re-read and decided again, never half-applied."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from functions.shared import cursor
from functions.shared.errors import Conflict, NotFound, Unauthorized, Unprocessable
from functions.shared.idempotency import check_key, request_hash
from functions.shared.ids import new_id
from functions.shared.logs import shop_logger
from functions.shared.money import Money
from functions.shipping.events import (
    AllocationReleased,
    Line,
    OrderAllocated,
    OrderBackordered,
    Parcel,
    ReturnApproved,
    ReturnReceived,
    ReturnRefunded,
    ReturnRejected,
    ReturnRequested,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentStatusChanged,
    StockMovementRecorded,
    StockSnapshot,
    WarehouseStock,
)
from functions.shipping.model import (
    MAX_SHIPMENT_SKUS,
    MAX_WAREHOUSES,
    CarrierCallback,
    Fulfilment,
    FulfilmentStatus,
    LedgerEntry,
    LedgerKind,
    LedgerPage,
    Level,
    MovementInput,
    MovementResult,
    Need,
    OrderLine,
    ParcelPlan,
    ReturnActionInput,
    ReturnChange,
    ReturnInput,
    ReturnPage,
    ReturnRecord,
    ReturnStatus,
    Shipment,
    ShipmentInput,
    ShipmentList,
    ShipmentStatus,
    ShipTo,
    SkuStock,
    StockView,
    TrackingEvent,
    Warehouse,
    WarehouseInput,
    WarehouseList,
    WarehouseUpdate,
    apply_tracking,
    check_return_transition,
    plan_allocation,
    rank_warehouses,
    refund_for,
    return_window,
)
from functions.shipping.repository import DynamoShippingRepository

ATTEMPTS = 8
MAX_TRANSACTION_ITEMS = 100
logger = shop_logger()
SIGNATURE_TOLERANCE_S = 300
CARRIER_CONFIG_TTL_S = 300


def now() -> datetime:
    return datetime.now(UTC)


def snapshot(stock: SkuStock) -> StockSnapshot:
    return StockSnapshot(
        sku=stock.sku,
        version=stock.version,
        warehouses=[
            WarehouseStock(warehouse=w, on_hand=lv.on_hand, allocated=lv.allocated, available=lv.available)
            for w, lv in sorted(stock.levels.items())
        ],
    )


def _lines(quantities: dict[str, int]) -> list[Line]:
    return [Line(sku=s, quantity=q) for s, q in sorted(quantities.items()) if q]


def _backoff(attempt: int) -> None:
    if attempt:
        time.sleep(min(0.2, 0.005 * 2**attempt))


class WorkingStock:
    """Stock being changed in memory before one transaction: remembers the version each SKU was read at."""

    def __init__(self, stock: dict[str, SkuStock]) -> None:
        self.read = {s: st.version for s, st in stock.items()}
        self.stock = {s: st.model_copy(deep=True) for s, st in stock.items()}
        self.changed: set[str] = set()

    def level(self, sku: str, warehouse: str) -> Level:
        st = self.stock.setdefault(sku, SkuStock(sku=sku))
        self.read.setdefault(sku, st.version)
        return st.levels.setdefault(warehouse, Level())

    def change(self, sku: str, warehouse: str, on_hand: int = 0, allocated: int = 0) -> Level:
        lv = self.level(sku, warehouse)
        lv.on_hand += on_hand
        lv.allocated += allocated
        if lv.on_hand < 0 or lv.allocated < 0 or lv.available < 0:  # the caller checked; a bug if reached
            raise Conflict(f"stock of {sku} in {warehouse} would go negative", code="INSUFFICIENT_STOCK")
        if sku not in self.changed:
            self.changed.add(sku)
            self.stock[sku].version += 1
        return lv

    def available(self, sku: str, warehouse: str) -> int:
        st = self.stock.get(sku)
        return st.available(warehouse) if st else 0

    def writes(self, repo: DynamoShippingRepository) -> list[dict[str, Any]]:
        return [repo.put_stock(self.stock[s], self.read[s]) for s in sorted(self.changed)]

    def snapshots(self) -> list[StockSnapshot]:
        return [snapshot(self.stock[s]) for s in sorted(self.changed)]


class ShippingService:
    def __init__(self, repo: DynamoShippingRepository, clock: Callable[[], datetime] | None = None) -> None:
        self.repo = repo
        self.clock = clock or (lambda: now())  # noqa: PLW0108 - looked up per call, so tests can patch it

    def _commit(self, items: list[dict[str, Any]]) -> bool:
        return self.repo.commit(items)

    # --- warehouses ---------------------------------------------------------------------------------------------

    def list_warehouses(self) -> WarehouseList:
        houses, _version = self.repo.warehouses()
        return WarehouseList(items=houses)

    def create_warehouse(self, body: WarehouseInput) -> Warehouse:
        for attempt in range(ATTEMPTS):
            _backoff(attempt)
            houses, version = self.repo.warehouses()
            if any(w.code == body.code for w in houses):
                raise Conflict(f"warehouse {body.code} exists", code="WAREHOUSE_EXISTS")
            if len(houses) >= MAX_WAREHOUSES:
                raise Conflict(f"a shop has at most {MAX_WAREHOUSES} warehouses", code="TOO_MANY_WAREHOUSES")
            moment = self.clock()
            created = Warehouse(**body.model_dump(), created_at=moment, updated_at=moment)
            if self._commit([self.repo.put_warehouses([*houses, created], version)]):
                return created
        raise Conflict("warehouses are changing; try again", code="TRY_AGAIN")

    def update_warehouse(self, code: str, body: WarehouseUpdate) -> Warehouse:
        for attempt in range(ATTEMPTS):
            _backoff(attempt)
            houses, version = self.repo.warehouses()
            current = next((w for w in houses if w.code == code), None)
            if current is None:
                raise NotFound("no such warehouse", code="WAREHOUSE_NOT_FOUND")
            if current.version != body.version:
                raise Conflict(f"warehouse is at version {current.version}", code="VERSION_CONFLICT")
            changes = body.model_dump(exclude_none=True, exclude={"version"})
            if "address" in changes:
                changes["address"] = body.address
            new = current.model_copy(update={**changes, "updated_at": self.clock(), "version": current.version + 1})
            if self._commit([self.repo.put_warehouses([new if w.code == code else w for w in houses], version)]):
                return new
        raise Conflict("warehouses are changing; try again", code="TRY_AGAIN")

    # --- stock movements ----------------------------------------------------------------------------------------

    def stock_view(self, sku: str) -> StockView:
        return StockView.of(self.repo.stock(sku.upper()))

    def ledger(self, sku: str, limit: int, page: str | None) -> LedgerPage:
        sku = sku.upper()
        fp = cursor.fingerprint(list="ledger", sku=sku)
        items, last = self.repo.ledger(sku, limit, cursor.decode(page, fp))
        return LedgerPage(items=items, next_cursor=cursor.encode(last, fp))

    def record_movement(
        self, sku: str, body: MovementInput, actor: str, key: str | None = None
    ) -> tuple[MovementResult, bool]:
        """Inbound, outbound, a stock count or a transfer: the stock, its ledger entries and StockMovementRecorded
        in one transaction. With an Idempotency-Key a retry returns the first result instead of moving again."""
        sku = sku.upper()
        idem = self._idem(actor, key, {"sku": sku, **body.model_dump(mode="json")})
        if isinstance(idem, dict):
            return MovementResult.model_validate(idem), True
        for attempt in range(ATTEMPTS):
            _backoff(attempt)
            stock, houses, _ = self.repo.load([sku])
            known = {w.code for w in houses}
            for code in (body.warehouse, body.to_warehouse):
                if code is not None and code not in known:
                    raise Unprocessable(f"no warehouse {code}", code="WAREHOUSE_NOT_FOUND")
            work = WorkingStock(stock)
            movement_id = new_id()
            moment = self.clock()
            level = work.level(sku, body.warehouse)
            deltas: list[tuple[str, LedgerKind, int]] = []
            if body.type == "inbound":
                deltas.append((body.warehouse, "inbound", int(body.quantity or 0)))
                sellable = int(body.quantity or 0)
            elif body.type == "outbound":
                self._need_available(work, sku, body.warehouse, int(body.quantity or 0))
                deltas.append((body.warehouse, "outbound", -int(body.quantity or 0)))
                sellable = -int(body.quantity or 0)
            elif body.type == "adjustment":
                counted = int(body.counted or 0)
                if counted < level.allocated:
                    raise Conflict(
                        f"{level.allocated} units of {sku} in {body.warehouse} are allocated to orders; a count of "
                        f"{counted} is below that: cancel or reallocate those orders first",
                        code="STOCK_ALLOCATED",
                    )
                deltas.append((body.warehouse, "adjustment", counted - level.on_hand))
                sellable = counted - level.on_hand
            else:
                assert body.to_warehouse is not None
                self._need_available(work, sku, body.warehouse, int(body.quantity or 0))
                deltas.append((body.warehouse, "transfer_out", -int(body.quantity or 0)))
                deltas.append((body.to_warehouse, "transfer_in", int(body.quantity or 0)))
                sellable = 0
            entries = []
            for warehouse, kind, delta in deltas:
                lv = work.change(sku, warehouse, on_hand=delta)
                entries.append(
                    LedgerEntry(
                        entry_id=new_id(),
                        movement_id=movement_id,
                        sku=sku,
                        warehouse=warehouse,
                        kind=kind,
                        delta=delta,
                        on_hand_after=lv.on_hand,
                        reason=body.reason,
                        actor=actor,
                        reference=body.reference,
                        at=moment,
                    )
                )
            if not work.changed:  # a count that found exactly what was expected still bumps the version
                work.changed.add(sku)
                work.stock[sku].version += 1
            snap = work.snapshots()[0]
            event = StockMovementRecorded(
                movement_id=movement_id,
                sku=sku,
                type=body.type,
                sellable_delta=sellable,
                stock=snap,
                reason=body.reason,
                actor=actor,
            )
            result = MovementResult(
                movement_id=movement_id, sku=sku, type=body.type, entries=entries, stock=StockView.of(work.stock[sku])
            )
            items = [*work.writes(self.repo), *(self.repo.put_ledger(e) for e in entries), self.repo.outbox(event)]
            if idem is not None:
                items.append(self.repo.put_idempotency(actor, idem[0], idem[1], result.model_dump_json()))
            if self._commit(items):
                return result, False
            self._replayed(actor, idem)
        raise Conflict("the stock is changing; try again", code="TRY_AGAIN")

    @staticmethod
    def _need_available(work: WorkingStock, sku: str, warehouse: str, quantity: int) -> None:
        available = work.available(sku, warehouse)
        if quantity > available:
            raise Conflict(
                f"{warehouse} has {available} units of {sku} that are not allocated to orders; {quantity} asked",
                code="INSUFFICIENT_STOCK",
                details=[{"sku": sku, "warehouse": warehouse, "available": available}],
            )

    # --- idempotency ----------------------------------------------------------------------------------------------

    def _idem(self, actor: str, key: str | None, body: Any) -> dict[str, Any] | tuple[str, str] | None:
        """None without a key; the first result (a dict) when the key was used with this body; otherwise (key,
        digest) to be written in the change's own transaction."""
        if check_key(key, required=False) is None:
            return None
        assert key is not None
        digest = request_hash(body)
        earlier = self.repo.idempotency_record(actor, key)
        if earlier is None:
            return key, digest
        if earlier.get("request_hash") != digest:
            raise Unprocessable("this Idempotency-Key was used with another request", code="IDEMPOTENCY_KEY_REUSED")
        return dict(json.loads(str(earlier["result"])))

    def _replayed(self, actor: str, idem: dict[str, Any] | tuple[str, str] | None) -> None:
        """After a lost race: if the same key was written meanwhile, the other request won; say so (409)."""
        if isinstance(idem, tuple) and self.repo.idempotency_record(actor, idem[0]) is not None:
            raise Conflict("the same request is being processed", code="IDEMPOTENCY_IN_PROGRESS")

    # --- allocation -----------------------------------------------------------------------------------------------

    def order_paid(self, order: dict[str, Any]) -> str:
        """OrderPaid: remember the order and allocate it."""
        return self.allocate(str(order["order_id"]), order)

    def allocate(self, order_id: str, order: dict[str, Any] | None = None) -> str:
        """Allocate what the order (or an exchange of it) still needs. Returns what happened: allocated, waiting,
        cancelled or nothing (a duplicate)."""
        for attempt in range(ATTEMPTS):
            _backoff(attempt)
            skus = [str(ln["sku"]) for ln in order["lines"]] if order else []
            stock, houses, current = self.repo.load(skus, order_id)
            if current is not None and current.needs and not order:
                stock, houses, current = self.repo.load(sorted({s for n in current.needs for s in n.lines}), order_id)
            if current is None:
                if order is None:
                    return "nothing"
                fulfilment = self._new_fulfilment(order)
                version = 0
            else:
                fulfilment, version = current, current.version
            if fulfilment.status is FulfilmentStatus.CANCELLED:
                return "cancelled"
            if not fulfilment.needs:
                return "nothing"
            outcome = self._plan(fulfilment, stock, houses)
            if outcome is None:
                return "waiting"
            new, work, events = outcome
            items = [*work.writes(self.repo), self.repo.put_fulfilment(new, version)]
            items += [self.repo.outbox(e) for e in events]
            if self._commit(items):
                return new.status.value
        raise Conflict("the stock is changing; allocation will be retried", code="TRY_AGAIN")

    def _new_fulfilment(self, order: dict[str, Any]) -> Fulfilment:
        moment = self.clock()
        lines = [OrderLine.model_validate(ln) for ln in order["lines"]]
        need: dict[str, int] = {}
        for ln in lines:
            need[ln.sku] = need.get(ln.sku, 0) + ln.quantity
        totals = order.get("totals") or {}
        return Fulfilment(
            order_id=str(order["order_id"]),
            user_id=str(order.get("user_id", "")),
            status=FulfilmentStatus.WAITING,
            ship_to=ShipTo.model_validate(order["address"]),
            lines=lines,
            subtotal=totals.get("subtotal"),
            discount=totals.get("discount"),
            needs=[Need(lines=need)],
            paid_at=order.get("paid_at"),
            created_at=moment,
            updated_at=moment,
            version=0,
        )

    def _plan(
        self, fulfilment: Fulfilment, stock: dict[str, SkuStock], houses: list[Warehouse]
    ) -> tuple[Fulfilment, WorkingStock, list[Any]] | None:
        """The fulfilment after allocating every need that can be (each need all or nothing), the stock to write
        and the events; None when nothing changes (still waiting, already recorded as such)."""
        region = fulfilment.ship_to.region if fulfilment.ship_to else ""
        ranked = rank_warehouses(houses, region)
        work = WorkingStock(stock)
        parcels = list(fulfilment.parcels)
        remaining: list[Need] = []
        new_parcels: list[ParcelPlan] = []
        shortages: dict[str, int] = {}
        for need in fulfilment.needs:
            plan, short = plan_allocation(need.lines, work.stock, ranked)
            if short:
                remaining.append(need)
                for s, q in short.items():
                    shortages[s] = shortages.get(s, 0) + q
                continue
            for warehouse, lines in plan:
                for s, q in lines.items():
                    work.change(s, warehouse, allocated=q)
                parcel = ParcelPlan(
                    parcel_id=f"P{len(parcels) + 1}",
                    warehouse=warehouse,
                    lines=lines,
                    replacement_for=need.replacement_for,
                )
                parcels.append(parcel)
                new_parcels.append(parcel)
        first_time = fulfilment.version == 0
        if not new_parcels and not first_time:
            return None
        status = FulfilmentStatus.WAITING if remaining else FulfilmentStatus.ALLOCATED
        new = fulfilment.model_copy(
            update={
                "status": status,
                "needs": remaining,
                "parcels": parcels,
                "updated_at": self.clock(),
                "version": fulfilment.version + 1,
            }
        )
        events: list[Any] = []
        if new_parcels:
            events.append(
                OrderAllocated(
                    order_id=new.order_id,
                    parcels=[
                        Parcel(
                            parcel_id=p.parcel_id,
                            warehouse=p.warehouse,
                            lines=_lines(p.lines),
                            replacement_for=p.replacement_for,
                        )
                        for p in new_parcels
                    ],
                    stock=work.snapshots(),
                )
            )
        if remaining and first_time:
            events.append(OrderBackordered(order_id=new.order_id, shortages=_lines(shortages)))
        return new, work, events

    def allocate_waiting(self, limit: int = 1000) -> dict[str, str]:
        """The schedule: try every order still waiting for stock again (oldest first, up to ``limit``). One order
        that fails is logged and left for the next run; it never stops the others."""
        outcomes: dict[str, str] = {}
        for order_id in self.repo.waiting_orders(limit):
            try:
                outcomes[order_id] = self.allocate(order_id)
            except Exception:  # one bad order must not starve the rest
                logger.exception("allocation of a waiting order failed", extra={"order_id": order_id})
                outcomes[order_id] = "failed"
        return outcomes

    def order_cancelled(self, order_id: str) -> str:
        """OrderCancelled: release what is allocated and not yet shipped. If OrderPaid has not arrived yet, a
        cancelled record stops it from allocating later."""
        for attempt in range(ATTEMPTS):
            _backoff(attempt)
            _, _, current = self.repo.load([], order_id, warehouses=False)
            moment = self.clock()
            if current is None:
                tomb = Fulfilment(
                    order_id=order_id, status=FulfilmentStatus.CANCELLED, created_at=moment, updated_at=moment
                )
                if self._commit([self.repo.put_fulfilment(tomb, 0)]):
                    return "cancelled before payment arrived"
                continue
            if current.status is FulfilmentStatus.CANCELLED:
                return "nothing"
            release: dict[tuple[str, str], int] = {}
            gone: dict[str, int] = {}  # units that left before the cancel arrived
            for p in current.parcels:
                for s, q in p.left().items():
                    release[(s, p.warehouse)] = release.get((s, p.warehouse), 0) + q
                if p.replacement_for is None:
                    for s, q in p.shipped.items():
                        gone[s] = gone.get(s, 0) + q
            stock, _, _ = self.repo.load(sorted({s for s, _ in release} | set(gone)), warehouses=False)
            work = WorkingStock(stock)
            if any(work.level(s, w).allocated < q for (s, w), q in release.items()):
                continue  # a parcel left between the two reads: read both again
            for (s, w), q in release.items():
                work.change(s, w, allocated=-q)
            parcels = [p.model_copy(update={"lines": dict(p.shipped)}) for p in current.parcels]
            new = current.model_copy(
                update={
                    "status": FulfilmentStatus.CANCELLED,
                    "needs": [],
                    "parcels": parcels,
                    "updated_at": moment,
                    "version": current.version + 1,
                }
            )
            items = [*work.writes(self.repo), self.repo.put_fulfilment(new, current.version)]
            if release:
                released: dict[str, int] = {}
                for (s, _w), q in release.items():
                    released[s] = released.get(s, 0) + q
                event = AllocationReleased(order_id=order_id, released=_lines(released), stock=work.snapshots())
                items.append(self.repo.outbox(event))
            for s, q in sorted(gone.items()):
                # The checkout cancelled before it heard of the dispatch, and put these units back on sale; they
                # are on their way to the shopper (to be intercepted by hand), so they come off sale again.
                correction = StockMovementRecorded(
                    event_id=f"{order_id}-cad-{s}"[:120],
                    movement_id=f"{order_id}-cancelled-after-dispatch-{s}",
                    sku=s,
                    type="dispatch",
                    sellable_delta=-q,
                    stock=snapshot(work.stock[s]),
                    reason=f"order {order_id} cancelled after its parcel left",
                    actor="shipping",
                )
                items.append(self.repo.outbox(correction))
            if gone:
                logger.warning("order cancelled after dispatch", extra={"order_id": order_id, "shipped": gone})
            # A 50-SKU order cancelled half shipped can pass DynamoDB's 100 items per transaction: the stock and the
            # fulfilment go first, the corrections (outbox events, once each by their fixed ids) right after.
            main, later = items[:MAX_TRANSACTION_ITEMS], items[MAX_TRANSACTION_ITEMS:]
            if self._commit(main):
                for start in range(0, len(later), MAX_TRANSACTION_ITEMS):
                    self._commit(later[start : start + MAX_TRANSACTION_ITEMS])
                return "released" if release else "cancelled"
        raise Conflict("the stock is changing; the release will be retried", code="TRY_AGAIN")

    # --- shipments --------------------------------------------------------------------------------------------------

    def _owned(self, order_id: str, user_id: str | None) -> tuple[Fulfilment, list[Shipment]]:
        fulfilment, shipments = self.repo.order_partition(order_id)
        if fulfilment is None or (user_id is not None and fulfilment.user_id != user_id):
            raise NotFound("no such order, or it is not paid yet", code="ORDER_NOT_FOUND")
        return fulfilment, shipments

    def shipments(self, order_id: str, user_id: str | None) -> ShipmentList:
        fulfilment, shipments = self._owned(order_id, user_id)
        if user_id is not None:  # a shopper does not see which staff member packed the parcel
            shipments = [s.model_copy(update={"dispatched_by": ""}) for s in shipments]
        return ShipmentList(
            order_id=order_id, status=fulfilment.status.value, parcels=fulfilment.parcels, items=shipments
        )

    def dispatch(self, order_id: str, body: ShipmentInput, actor: str, key: str | None = None) -> tuple[Shipment, bool]:
        """A parcel leaves its warehouse: on hand and allocated go down (ledger ``dispatch``), the shipment and its
        tracking number are recorded, and ShipmentDispatched says whether the whole order has now left."""
        idem = self._idem(actor, key, {"order_id": order_id, **body.model_dump(mode="json")})
        if isinstance(idem, dict):
            return Shipment.model_validate(idem), True
        for attempt in range(ATTEMPTS):
            _backoff(attempt)
            fulfilment, _shipments = self._owned(order_id, None)
            if fulfilment.status is FulfilmentStatus.CANCELLED:
                raise Conflict("the order is cancelled", code="ORDER_CANCELLED")
            parcel, lines = self._parcel_for(fulfilment, body)
            stock, _, _ = self.repo.load(sorted(lines), warehouses=False)
            work = WorkingStock(stock)
            moment = self.clock()
            shipment_id = new_id()
            entries = []
            if any(work.level(s, parcel.warehouse).allocated < q for s, q in lines.items()):
                continue  # the fulfilment was read before another shipment of these units: read both again
            for s, q in sorted(lines.items()):
                lv = work.change(s, parcel.warehouse, on_hand=-q, allocated=-q)
                entries.append(
                    LedgerEntry(
                        entry_id=new_id(),
                        movement_id=shipment_id,
                        sku=s,
                        warehouse=parcel.warehouse,
                        kind="dispatch",
                        delta=-q,
                        on_hand_after=lv.on_hand,
                        reason=f"order {order_id}",
                        actor=actor,
                        reference=f"{body.carrier} {body.tracking_number}",
                        at=moment,
                    )
                )
            shipment = Shipment(
                shipment_id=shipment_id,
                order_id=order_id,
                parcel_id=parcel.parcel_id,
                warehouse=parcel.warehouse,
                carrier=body.carrier,
                tracking_number=body.tracking_number.upper(),
                lines=lines,
                status=ShipmentStatus.DISPATCHED,
                replacement_for=parcel.replacement_for,
                dispatched_by=actor,
                dispatched_at=moment,
                updated_at=moment,
            )
            shipped = {s: parcel.shipped.get(s, 0) + lines.get(s, 0) for s in {*parcel.shipped, *lines}}
            parcels = [
                p.model_copy(update={"shipped": shipped}) if p.parcel_id == parcel.parcel_id else p
                for p in fulfilment.parcels
            ]
            new = fulfilment.model_copy(
                update={
                    "parcels": parcels,
                    "shipments": {**fulfilment.shipments, shipment_id: ShipmentStatus.DISPATCHED.value},
                    "updated_at": moment,
                    "version": fulfilment.version + 1,
                }
            )
            event = ShipmentDispatched(
                order_id=order_id,
                shipment_id=shipment_id,
                warehouse=parcel.warehouse,
                carrier=shipment.carrier,
                tracking_number=shipment.tracking_number,
                lines=_lines(lines),
                order_shipped=new.all_shipped(),
                replacement_for=parcel.replacement_for,
                stock=work.snapshots(),
            )
            items = [
                *work.writes(self.repo),
                *(self.repo.put_ledger(e) for e in entries),
                self.repo.put_fulfilment(new, fulfilment.version),
                self.repo.put_shipment(shipment, 0),
                self.repo.put_tracking(shipment),
                self.repo.outbox(event),
            ]
            if idem is not None:
                items.append(self.repo.put_idempotency(actor, idem[0], idem[1], shipment.model_dump_json()))
            if self._commit(items):
                return shipment, False
            if self.repo.tracking(shipment.carrier, shipment.tracking_number) is not None:
                self._replayed(actor, idem)
                raise Conflict(
                    f"{shipment.carrier} tracking number {shipment.tracking_number} is already used",
                    code="TRACKING_NUMBER_IN_USE",
                )
            self._replayed(actor, idem)
        raise Conflict("the order is changing; try again", code="TRY_AGAIN")

    @staticmethod
    def _parcel_for(fulfilment: Fulfilment, body: ShipmentInput) -> tuple[ParcelPlan, dict[str, int]]:
        """The allocated parcel this shipment is, and its lines (SKU -> units)."""
        ordered = {ln.sku for ln in fulfilment.lines}
        wanted = {ln.sku.upper(): ln.quantity for ln in body.lines} if body.lines else None
        if wanted:
            strangers = sorted(s for s in wanted if s not in ordered)
            if strangers:
                raise Unprocessable(
                    "the order has no such line", code="LINE_NOT_IN_ORDER", details=[{"sku": s} for s in strangers]
                )
        open_parcels = [p for p in fulfilment.parcels if p.left()]
        if not fulfilment.parcels:
            raise Conflict("the order is not allocated yet (it waits for stock)", code="ORDER_NOT_ALLOCATED")
        if body.parcel_id is None and not open_parcels:
            if fulfilment.needs:
                raise Conflict("what is left of the order waits for stock", code="ORDER_NOT_ALLOCATED")
            raise Conflict("every parcel of the order has shipped", code="ORDER_SHIPPED")
        if body.parcel_id is not None:
            parcel = next((p for p in fulfilment.parcels if p.parcel_id == body.parcel_id), None)
            if parcel is None:
                raise Unprocessable("the order has no such parcel", code="PARCEL_NOT_FOUND")
            candidates = [parcel]
        elif wanted is None:
            if len(open_parcels) != 1:
                raise Unprocessable(
                    f"the order has {len(open_parcels)} parcels to ship; name `parcel_id` or `lines`",
                    code="PARCEL_REQUIRED",
                    details=[{"parcel_id": p.parcel_id, "warehouse": p.warehouse} for p in open_parcels],
                )
            candidates = open_parcels
        else:
            candidates = [p for p in open_parcels if all(p.left().get(s, 0) >= q for s, q in wanted.items())]
            if not candidates:
                left: dict[str, int] = {}
                for p in open_parcels:
                    for s, q in p.left().items():
                        left[s] = left.get(s, 0) + q
                raise Unprocessable(
                    "more units than the order has left to ship from one warehouse",
                    code="MORE_THAN_ORDERED",
                    details=[{"sku": s, "left_to_ship": left.get(s, 0)} for s in sorted(wanted)],
                )
        parcel = candidates[0]
        left_here = parcel.left()
        if not left_here:
            raise Conflict("that parcel has already shipped", code="PARCEL_SHIPPED")
        lines = wanted if wanted is not None else left_here
        if len(lines) > MAX_SHIPMENT_SKUS:
            raise Unprocessable(
                f"a shipment carries at most {MAX_SHIPMENT_SKUS} SKUs; ship this parcel in parts with `lines`",
                code="TOO_MANY_LINES",
            )
        over = [s for s, q in lines.items() if q > left_here.get(s, 0)]
        if over:
            raise Unprocessable(
                "more units than the parcel has left to ship",
                code="MORE_THAN_ORDERED",
                details=[{"sku": s, "left_to_ship": left_here.get(s, 0)} for s in over],
            )
        return parcel, lines

    # --- carrier tracking -------------------------------------------------------------------------------------------

    def carrier_update(self, carrier: str, raw: bytes, timestamp: str | None, signature: str | None) -> str:
        """A carrier's signed tracking callback. Duplicates and events that arrive out of order are absorbed by
        :func:`apply_tracking`; only a change of status is published."""
        verify_carrier_signature(carrier, raw, timestamp, signature, self.clock())
        try:
            body = CarrierCallback.model_validate_json(raw)
        except ValidationError as exc:
            raise Unprocessable(
                "the callback body is not a tracking update",
                code="INVALID_CALLBACK",
                details=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()[:10]],
            ) from None
        where = self.repo.tracking(carrier, body.tracking_number)
        if where is None:
            raise NotFound(f"{carrier} has no shipment {body.tracking_number} with us", code="SHIPMENT_NOT_FOUND")
        order_id, shipment_id = where
        for attempt in range(ATTEMPTS):
            _backoff(attempt)
            fulfilment, shipments = self.repo.order_partition(order_id)
            shipment = next((s for s in shipments if s.shipment_id == shipment_id), None)
            if fulfilment is None or shipment is None:
                raise NotFound("the shipment is not found", code="SHIPMENT_NOT_FOUND")
            moment = self.clock()
            incoming = [TrackingEvent(**e.model_dump(), received_at=moment) for e in body.events]
            new, fresh = apply_tracking(shipment, incoming)
            if not fresh:
                return "duplicate"
            items = [self.repo.put_shipment(new, shipment.version)]
            events: list[Any] = []
            if new.status is not shipment.status and new.status is not ShipmentStatus.DELIVERED:
                latest = new.timeline[-1]
                events.append(
                    ShipmentStatusChanged(
                        order_id=order_id,
                        shipment_id=shipment_id,
                        status=new.status.value,
                        occurred_at_carrier=latest.occurred_at,
                        location=latest.location,
                    )
                )
            if new.status is ShipmentStatus.DELIVERED and shipment.status is not ShipmentStatus.DELIVERED:
                assert new.delivered_at is not None
                updated = self._delivered(fulfilment, shipments, new)
                whole = updated.delivered_at is not None and fulfilment.delivered_at is None
                items.append(self.repo.put_fulfilment(updated, fulfilment.version))
                events.append(
                    ShipmentDelivered(
                        order_id=order_id,
                        shipment_id=shipment_id,
                        delivered_at=updated.delivered_at if whole and updated.delivered_at else new.delivered_at,
                        order_delivered=whole,
                        replacement_for=new.replacement_for,
                    )
                )
            items += [self.repo.outbox(e) for e in events]
            if self._commit(items):
                return new.status.value
        raise Conflict("the shipment is changing; send it again", code="TRY_AGAIN")

    def _delivered(self, fulfilment: Fulfilment, shipments: list[Shipment], shipment: Shipment) -> Fulfilment:
        assert shipment.delivered_at is not None
        delivered = dict(fulfilment.delivered)
        last = dict(fulfilment.last_delivery)
        for s, q in shipment.lines.items():
            delivered[s] = delivered.get(s, 0) + q
            last[s] = max(last.get(s, shipment.delivered_at), shipment.delivered_at)
        statuses = {**fulfilment.shipments, shipment.shipment_id: ShipmentStatus.DELIVERED.value}
        originals = [s for s in shipments if s.replacement_for is None]
        whole = (
            fulfilment.all_shipped()
            and shipment.replacement_for is None
            and all(statuses.get(s.shipment_id) == ShipmentStatus.DELIVERED.value for s in originals)
        )
        delivered_at = fulfilment.delivered_at
        if whole and delivered_at is None:
            delivered_at = max(
                [s.delivered_at for s in originals if s.delivered_at and s.shipment_id != shipment.shipment_id]
                + [shipment.delivered_at]
            )
        return fulfilment.model_copy(
            update={
                "delivered": delivered,
                "last_delivery": last,
                "shipments": statuses,
                "delivered_at": delivered_at,
                "updated_at": self.clock(),
                "version": fulfilment.version + 1,
            }
        )

    # --- returns ----------------------------------------------------------------------------------------------------

    def request_return(
        self, order_id: str, user_id: str, body: ReturnInput, key: str | None = None
    ) -> tuple[ReturnRecord, bool]:
        idem = self._idem(user_id, key, {"order_id": order_id, **body.model_dump(mode="json")})
        if isinstance(idem, dict):
            return ReturnRecord.model_validate(idem), True
        lines = {ln.sku.upper(): ln.quantity for ln in body.lines}
        for attempt in range(ATTEMPTS):
            _backoff(attempt)
            fulfilment, _ = self._owned(order_id, user_id)
            if fulfilment.status is FulfilmentStatus.CANCELLED:
                raise Conflict("the order was cancelled and refunded", code="ORDER_CANCELLED")
            moment = self.clock()
            window = return_window()
            problems: list[dict[str, Any]] = []
            closed: list[str] = []
            taken: list[str] = []
            for s, q in lines.items():
                delivered = fulfilment.delivered.get(s, 0)
                claimed = fulfilment.claimed.get(s, 0)
                if fulfilment.line(s) is None:
                    problems.append({"sku": s, "issue": "not in this order"})
                elif delivered == 0:
                    problems.append({"sku": s, "issue": "not delivered yet"})
                elif claimed >= delivered:
                    taken.append(s)
                elif q > delivered - claimed:
                    problems.append({"sku": s, "issue": "more than delivered", "returnable": delivered - claimed})
                elif moment > fulfilment.last_delivery[s] + window:
                    closed.append(s)
            if problems:
                raise Unprocessable("these lines cannot be returned", code="NOT_RETURNABLE", details=problems)
            if taken:
                raise Conflict(
                    "a return for these lines exists already",
                    code="RETURN_EXISTS",
                    details=[{"sku": s} for s in taken],
                )
            if closed:
                raise Conflict(
                    f"the return window ({window.days} days after delivery) has closed",
                    code="RETURN_WINDOW_CLOSED",
                    details=[{"sku": s} for s in closed],
                )
            record = ReturnRecord(
                return_id=new_id(),
                order_id=order_id,
                user_id=user_id,
                kind=body.kind,
                reason=body.reason,
                lines=lines,
                status=ReturnStatus.REQUESTED,
                refund=refund_for(fulfilment, lines) if body.kind == "return" else None,
                history=[ReturnChange(status=ReturnStatus.REQUESTED, at=moment, by=user_id)],
                created_at=moment,
                updated_at=moment,
            )
            claimed_after = {s: fulfilment.claimed.get(s, 0) + lines.get(s, 0) for s in {*fulfilment.claimed, *lines}}
            new = fulfilment.model_copy(
                update={"claimed": claimed_after, "updated_at": moment, "version": fulfilment.version + 1}
            )
            event = ReturnRequested(**self._return_facts(record), reason=record.reason)
            items = [
                self.repo.put_return(record, 0),
                self.repo.put_fulfilment(new, fulfilment.version),
                self.repo.outbox(event),
            ]
            if idem is not None:
                items.append(self.repo.put_idempotency(user_id, idem[0], idem[1], record.model_dump_json()))
            if self._commit(items):
                return record, False
            self._replayed(user_id, idem)
        raise Conflict("the order is changing; try again", code="TRY_AGAIN")

    @staticmethod
    def _return_facts(record: ReturnRecord) -> dict[str, Any]:
        return {
            "return_id": record.return_id,
            "order_id": record.order_id,
            "user_id": record.user_id,
            "kind": record.kind,
            "lines": _lines(record.lines),
        }

    def get_return(self, return_id: str, user_id: str | None) -> ReturnRecord:
        record = self.repo.return_record(return_id)
        if record is None or (user_id is not None and record.user_id != user_id):
            raise NotFound("no such return", code="RETURN_NOT_FOUND")
        if user_id is not None:  # staff ids are not the shopper's business
            history = [h if h.by == user_id else h.model_copy(update={"by": "shop"}) for h in record.history]
            record = record.model_copy(update={"history": history})
        return record

    def list_returns(self, status: str | None, limit: int, page: str | None) -> ReturnPage:
        fp = cursor.fingerprint(list="returns", status=status)
        items, last = self.repo.returns(status, limit, cursor.decode(page, fp))
        return ReturnPage(items=items, next_cursor=cursor.encode(last, fp))

    def act_on_return(self, return_id: str, action: str, body: ReturnActionInput, actor: str) -> ReturnRecord:
        for attempt in range(ATTEMPTS):
            _backoff(attempt)
            record = self.get_return(return_id, None)
            moment = self.clock()
            if action == "approve":
                check_return_transition(record.status, ReturnStatus.APPROVED)
                new = self._moved(record, ReturnStatus.APPROVED, actor, moment)
                items = [
                    self.repo.put_return(new, record.version),
                    self.repo.outbox(ReturnApproved(**self._return_facts(new), actor=actor)),
                ]
            elif action == "reject":
                if not body.reason:
                    raise Unprocessable("a rejection needs a reason", code="REASON_REQUIRED")
                check_return_transition(record.status, ReturnStatus.REJECTED)
                new = self._moved(record, ReturnStatus.REJECTED, actor, moment, body.reason)
                new = new.model_copy(update={"reject_reason": body.reason})
                fulfilment, _ = self._owned(record.order_id, None)
                claimed = {s: q - record.lines.get(s, 0) for s, q in fulfilment.claimed.items()}
                released = fulfilment.model_copy(
                    update={"claimed": claimed, "updated_at": moment, "version": fulfilment.version + 1}
                )
                items = [
                    self.repo.put_return(new, record.version),
                    self.repo.put_fulfilment(released, fulfilment.version),
                    self.repo.outbox(ReturnRejected(**self._return_facts(new), actor=actor, reason=body.reason)),
                ]
            elif action == "receive":
                check_return_transition(record.status, ReturnStatus.RECEIVED)
                new, items = self._receive(record, body, actor, moment)
            else:
                raise NotFound("no such action; use approve, reject or receive", code="ACTION_NOT_FOUND")
            if self._commit(items):
                if action == "receive" and record.kind == "exchange":
                    with contextlib.suppress(Conflict):  # the schedule tries again
                        self.allocate(record.order_id)
                return new
        raise Conflict("the return is changing; try again", code="TRY_AGAIN")

    @staticmethod
    def _moved(record: ReturnRecord, status: ReturnStatus, by: str, at: datetime, note: str = "") -> ReturnRecord:
        return record.model_copy(
            update={
                "status": status,
                "history": [*record.history, ReturnChange(status=status, at=at, by=by, note=note)],
                "updated_at": at,
                "version": record.version + 1,
            }
        )

    def _receive(
        self, record: ReturnRecord, body: ReturnActionInput, actor: str, moment: datetime
    ) -> tuple[ReturnRecord, list[dict[str, Any]]]:
        """Goods back: resellable units go on the shelf (ledger ``return``, and the shop may sell them again);
        damaged ones do not. A return is then refunded (payments, on ReturnReceived); an exchange needs its units
        allocated again."""
        resellable: dict[str, int] = {}
        damaged: dict[str, int] = {}
        if body.lines:
            for ln in body.lines:
                target = resellable if ln.condition == "resellable" else damaged
                target[ln.sku.upper()] = target.get(ln.sku.upper(), 0) + ln.quantity
            counted = {s: resellable.get(s, 0) + damaged.get(s, 0) for s in {*resellable, *damaged}}
            if counted != record.lines:
                raise Unprocessable(
                    "the received lines must add up to the return's lines",
                    code="RECEIVED_LINES_MISMATCH",
                    details=[{"sku": s, "returned": q} for s, q in sorted(record.lines.items())],
                )
        elif body.condition is not None:
            (resellable if body.condition == "resellable" else damaged).update(record.lines)
        else:
            raise Unprocessable("say the goods' `condition`, or `lines` with one each", code="CONDITION_REQUIRED")
        fulfilment, shipments = self._owned(record.order_id, None)
        houses, _ = self.repo.warehouses()
        known = {w.code for w in houses}
        if body.warehouse is not None and body.warehouse not in known:
            raise Unprocessable(f"no warehouse {body.warehouse}", code="WAREHOUSE_NOT_FOUND")

        def home(sku: str) -> str:
            if body.warehouse:
                return body.warehouse
            shipped = next((s.warehouse for s in shipments if sku in s.lines and s.warehouse in known), None)
            return shipped or next(iter(sorted(known)))

        stock, _, _ = self.repo.load(sorted(record.lines), warehouses=False)
        work = WorkingStock(stock)
        items: list[dict[str, Any]] = []
        movement_events: list[StockMovementRecorded] = []
        for s, q in sorted(resellable.items()):
            warehouse = home(s)
            lv = work.change(s, warehouse, on_hand=q)
            entry = LedgerEntry(
                entry_id=new_id(),
                movement_id=record.return_id,
                sku=s,
                warehouse=warehouse,
                kind="return",
                delta=q,
                on_hand_after=lv.on_hand,
                reason=f"return {record.return_id}",
                actor=actor,
                reference=record.order_id,
                at=moment,
            )
            items.append(self.repo.put_ledger(entry))
        for s in sorted(record.lines):
            # Resellable units are on sale again; an exchange's replacement units are promised to the shopper.
            delta = resellable.get(s, 0) - (record.lines[s] if record.kind == "exchange" else 0)
            if delta == 0 and s not in work.changed:
                continue
            movement_events.append(
                StockMovementRecorded(
                    movement_id=f"{record.return_id}-{s}",
                    sku=s,
                    type="return",
                    sellable_delta=delta,
                    stock=snapshot(work.stock[s]) if s in work.stock else snapshot(SkuStock(sku=s)),
                    reason=f"return {record.return_id}",
                    actor=actor,
                )
            )
        new = self._moved(record, ReturnStatus.RECEIVED, actor, moment)
        new = new.model_copy(update={"restocked": resellable, "damaged": damaged, "warehouse": body.warehouse or None})
        if record.kind == "exchange" and fulfilment.status is FulfilmentStatus.CANCELLED:
            raise Conflict("the order was cancelled and refunded: no replacement", code="ORDER_CANCELLED")
        if record.kind == "exchange":
            new = self._moved(new, ReturnStatus.EXCHANGED, actor, moment, "replacement allocated for shipping")
            needs = [*fulfilment.needs, Need(lines=dict(record.lines), replacement_for=record.return_id)]
            exchanged = fulfilment.model_copy(
                update={
                    "needs": needs,
                    "status": FulfilmentStatus.WAITING,
                    "updated_at": moment,
                    "version": fulfilment.version + 1,
                }
            )
            items.append(self.repo.put_fulfilment(exchanged, fulfilment.version))
        received = ReturnReceived(
            **self._return_facts(record),
            actor=actor,
            restocked=_lines(resellable),
            damaged=_lines(damaged),
            refund=record.refund if record.kind == "return" else None,
        )
        items = [
            *work.writes(self.repo),
            *items,
            self.repo.put_return(new, record.version),
            *(self.repo.outbox(e) for e in movement_events),
            self.repo.outbox(received),
        ]
        return new, items

    def refund_failed(self, reference: str | None, refund_id: str, reason: str) -> str:
        """RefundFailed from the payments context: the return stays ``received`` and shows why, for staff to act
        (refund by hand at POST /admin/orders/{id}/refunds)."""
        if not reference or not reference.startswith("return:"):
            return "not a return's refund"
        for attempt in range(ATTEMPTS):
            _backoff(attempt)
            record = self.repo.return_record(reference.removeprefix("return:"))
            if record is None:
                return "unknown return"
            if record.status is not ReturnStatus.RECEIVED or record.refund_error == reason:
                return "nothing"
            new = record.model_copy(
                update={
                    "refund_id": refund_id,
                    "refund_error": reason,
                    "updated_at": self.clock(),
                    "version": record.version + 1,
                }
            )
            if self._commit([self.repo.put_return(new, record.version)]):
                return "refund failed: recorded"
        raise Conflict("the return is changing", code="TRY_AGAIN")

    def refund_recorded(self, reference: str | None, refund_id: str, amount: dict[str, Any]) -> str:
        """RefundSucceeded from the payments context: a return's refund went through."""
        if not reference or not reference.startswith("return:"):
            return "not a return's refund"
        return_id = reference.removeprefix("return:")
        for attempt in range(ATTEMPTS):
            _backoff(attempt)
            record = self.repo.return_record(return_id)
            if record is None:
                return "unknown return"
            if record.status is ReturnStatus.REFUNDED:
                return "duplicate"
            check_return_transition(record.status, ReturnStatus.REFUNDED)
            new = self._moved(record, ReturnStatus.REFUNDED, "payments", self.clock())
            new = new.model_copy(
                update={"refund_id": refund_id, "refunded": Money.model_validate(amount), "refund_error": None}
            )
            event = ReturnRefunded(**self._return_facts(new), refund_id=refund_id, amount=amount)  # type: ignore[arg-type]
            if self._commit([self.repo.put_return(new, record.version), self.repo.outbox(event)]):
                return "refunded"
        raise Conflict("the return is changing", code="TRY_AGAIN")


# --- carrier signatures -----------------------------------------------------------------------------------------

_carrier_cache: dict[str, tuple[float, dict[str, str]]] = {}


def carrier_secrets() -> dict[str, str]:
    """The carriers' callback secrets ({carrier: secret}) from the ``carriers`` secret, cached for five minutes so
    that a rotated secret is picked up without new containers."""
    cached = _carrier_cache.get("config")
    if cached is not None and time.monotonic() - cached[0] < CARRIER_CONFIG_TTL_S:
        return cached[1]
    from functions.shared.aws import client

    raw = client("secretsmanager").get_secret_value(SecretId=os.environ["CARRIERS_SECRET_ARN"])["SecretString"]
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = {}
    secrets = {str(k): str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else {}
    _carrier_cache["config"] = (time.monotonic(), secrets)
    return secrets


def carrier_signature(secret: str, timestamp: str, raw: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``<timestamp>.<body>`` keyed with the carrier's secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()


def verify_carrier_signature(
    carrier: str, raw: bytes, timestamp: str | None, signature: str | None, moment: datetime
) -> None:
    secret = carrier_secrets().get(carrier)
    if secret is None:
        raise NotFound(f"no carrier {carrier} is configured", code="CARRIER_NOT_FOUND")
    if not timestamp or not signature:
        raise Unauthorized("X-Carrier-Timestamp and X-Carrier-Signature are required", code="SIGNATURE_MISSING")
    if (
        not (timestamp.isascii() and timestamp.isdecimal())
        or abs(int(timestamp) - moment.timestamp()) > SIGNATURE_TOLERANCE_S
    ):
        raise Unauthorized("the timestamp is missing or more than 300 s off", code="SIGNATURE_EXPIRED")
    expected = carrier_signature(secret, timestamp, raw)
    given = signature.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", given) or not hmac.compare_digest(expected, given):
        raise Unauthorized("the signature does not match the body", code="SIGNATURE_INVALID")


def service() -> ShippingService:
    from functions.shared.aws import client
    from functions.shared.settings import table_name

    return ShippingService(DynamoShippingRepository(client("dynamodb"), table_name("shipping")))
