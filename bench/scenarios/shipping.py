"""Shipping scenarios. Seed (through the catalogue's, the checkout's and the shipping context's own handlers): two
warehouses (``WH-SH`` in the shoppers' region, ``WH-BJ`` elsewhere), a product whose two SKUs both warehouses hold,
two SKUs held by one warehouse each (an order of both is split), a SKU for the waiting-for-stock schedule and one for
stock movements with a ledger of more than one page; every SKU projected into the checkout as its
CheckoutCatalogProjector would from ProductCreated, and made sellable there by delivering the StockMovementRecorded
of each inbound movement to CheckoutStockSync. The ``carriers`` secret holds ``{"sf-express": <secret>}``.

This context needs nothing from the other contexts' seeds. An order the shipping context handles is a real order:
a fresh shopper checks out through the checkout's handlers, and the builder delivers the checkout's OrderPaid for it
(the order as placed, marked paid) to OrderAllocator, as the event would. From there every step is the shipping
handlers' own, in-process: dispatch through CreateShipment, tracking through a carrier callback signed with
``carrier_signature``, returns through RequestReturn and ActOnReturn. Events other contexts would send (the payments
context's RefundSucceeded and RefundFailed) are built from their event classes.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import CATALOG_STAFF, Bench, Claims, ScenarioFailed, outcome
from bench.scenarios import scenario, seeder
from bench.scenarios.catalog import partner_event
from bench.scenarios.checkout import (
    FULFILMENT_STAFF,
    deliver,
    place_order,
    product_event,
    quiet_logs,
    shopper,
    sqs_event,
    with_headers,
)
from bench.scenarios.relay import BATCH, stream_event
from functions.checkout.events import OrderCancelled, OrderPaid
from functions.checkout.model import Order, OrderStatus
from functions.payments.events import RefundFailed, RefundSucceeded
from functions.shared.money import Money
from functions.shared.outbox import outbox_item
from functions.shared.wiring import StreamConsumer
from functions.shipping.events import Line, ShipmentDispatched, StockMovementRecorded, StockSnapshot, WarehouseStock

CARRIER = "sf-express"
NEAR, FAR = "WH-SH", "WH-BJ"
NEAR_REGION, FAR_REGION = "上海市", "北京市"  # the checkout scenarios' shoppers live in 上海市
STOCK = 100_000  # per SKU and warehouse: enough for every allocation of a run
LEDGER_ENTRIES = 25  # more than one page (20) of the movement SKU's ledger


def _seed(bench: Bench) -> dict[str, Any]:
    seed: dict[str, Any] = bench.seed["shipping"]
    return seed


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- seeding helpers ------------------------------------------------------------------------------------------------


def warehouse_body(code: str, region: str, priority: int) -> dict[str, Any]:
    return {
        "code": code,
        "name": f"Bench warehouse {code}",
        "address": {"region": region, "city": region, "street": "1 Depot Road", "postcode": "200000"},
        "priority": priority,
        "active": True,
    }


def movement_event(result: dict[str, Any], sellable_delta: int, reason: str) -> StockMovementRecorded:
    """The StockMovementRecorded the movement's transaction wrote, rebuilt from RecordStockMovement's answer."""
    stock = result["stock"]
    return StockMovementRecorded(
        movement_id=result["movement_id"],
        sku=result["sku"],
        type=result["type"],
        sellable_delta=sellable_delta,
        stock=StockSnapshot(
            sku=stock["sku"],
            version=stock["version"],
            warehouses=[WarehouseStock(**w) for w in stock["warehouses"]],
        ),
        reason=reason,
        actor=str(CATALOG_STAFF["sub"]),
    )


def move(bench: Bench, sku: str, body: dict[str, Any], sellable: bool = False) -> dict[str, Any]:
    """A stock movement through RecordStockMovement; with ``sellable`` its StockMovementRecorded is delivered to the
    checkout's CheckoutStockSync too (so the shop may sell the units), as the event would be."""
    result: dict[str, Any] = bench.api("POST", f"/admin/inventory/{sku}/movements", body, CATALOG_STAFF)
    if sellable and "CheckoutStockSync" in {f.name for f in bench.platform.functions}:
        delta = int(body.get("quantity") or 0) * (-1 if body["type"] == "outbound" else 1)
        event = movement_event(result, delta, body["reason"])
        deliver(
            bench, "CheckoutStockSync", sqs_event(event.SOURCE, event.detail_type(), json.loads(event.detail_json()))
        )
    return result


def inbound(bench: Bench, sku: str, warehouse: str, quantity: int, sellable: bool = True) -> dict[str, Any]:
    body = {"type": "inbound", "warehouse": warehouse, "quantity": quantity, "reason": "bench goods received"}
    return move(bench, sku, body, sellable)


def new_skus(bench: Bench, prefixes: list[str], price: int = 19900) -> list[str]:
    """A product with one SKU per prefix in the catalogue (through its handler), projected into the checkout."""
    seed = _seed(bench)
    skus = [bench.unique(p).upper() for p in prefixes]
    body = {
        "name": bench.unique("Bench shipping product "),
        "description": "A product made by the benchmark",
        "brand_id": seed["brand"],
        "category_id": seed["category"],
        "status": "active",
        "variants": [
            {"sku": sku, "price": {"amount": price + 1000 * i, "currency": "CNY"}, "options": {"edition": sku[-4:]}}
            for i, sku in enumerate(skus)
        ],
    }
    product = bench.api("POST", "/admin/products", body, CATALOG_STAFF)
    deliver(bench, "CheckoutCatalogProjector", product_event(product))
    return skus


def put_carrier_secret(bench: Bench, secret: str) -> None:
    import os

    import boto3

    from functions.shipping import service as shipping_service

    arn = os.environ.get("CARRIERS_SECRET_ARN")
    if not arn:
        raise ScenarioFailed("the created resources have no CARRIERS_SECRET_ARN")
    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=json.dumps({CARRIER: secret}))
    shipping_service._carrier_cache.clear()  # in case anything read the (random) secret before


@seeder
def seed_shipping(bench: Bench) -> None:
    category = bench.api("POST", "/admin/categories", {"name": bench.unique("Shipping ")}, CATALOG_STAFF)
    brand = bench.api("POST", "/admin/brands", {"name": bench.unique("Shipping brand ")}, CATALOG_STAFF)
    bench.seed["shipping"] = {"category": category["category_id"], "brand": brand["brand_id"]}
    seed = _seed(bench)
    bench.api("POST", "/admin/warehouses", warehouse_body(NEAR, NEAR_REGION, 10), FULFILMENT_STAFF)
    bench.api("POST", "/admin/warehouses", warehouse_body(FAR, FAR_REGION, 20), FULFILMENT_STAFF)
    both = new_skus(bench, ["S-BOTH-A-", "S-BOTH-B-"])
    near_only, far_only = new_skus(bench, ["S-NEAR-", "S-FAR-"], price=9900)
    (waiting,) = new_skus(bench, ["S-WAIT-"], price=4900)
    (moving,) = new_skus(bench, ["S-MOVE-"], price=2900)
    for sku in both:
        inbound(bench, sku, NEAR, STOCK)
        inbound(bench, sku, FAR, STOCK)
    inbound(bench, near_only, NEAR, STOCK)
    inbound(bench, far_only, FAR, STOCK)
    # Sellable in the checkout, none in any warehouse: its orders wait for stock (AllocateWaitingOrders).
    inbound(bench, waiting, NEAR, STOCK)
    outbound = {"type": "outbound", "warehouse": NEAR, "quantity": STOCK, "reason": "bench: all sent back"}
    move(bench, waiting, outbound)
    for i in range(LEDGER_ENTRIES):
        inbound(bench, moving, NEAR if i % 2 else FAR, 100 + i, sellable=i == 0)
    carrier_secret = secrets.token_urlsafe(32)
    put_carrier_secret(bench, carrier_secret)
    seed.update(
        skus=both,
        split=[near_only, far_only],
        waiting=waiting,
        moving=moving,
        carrier_secret=carrier_secret,
    )


# --- orders through the shipping steps ----------------------------------------------------------------------------


def placed(bench: Bench, skus: list[str] | None = None) -> tuple[Claims, dict[str, Any]]:
    """A fresh shopper's unpaid order (one unit of each SKU), through the checkout's handlers."""
    claims = shopper(bench)
    with quiet_logs():
        order = place_order(bench, claims, skus or _seed(bench)["skus"])
    return claims, order


def order_paid(order: dict[str, Any]) -> dict[str, Any]:
    """The checkout's OrderPaid for an order as it was placed (now paid), as the allocator's queue delivers it."""
    now = datetime.now(UTC)
    paid = Order.model_validate(order).model_copy(
        update={"status": OrderStatus.PAID, "paid_at": now, "updated_at": now, "payment_id": f"pay_{uuid.uuid4().hex}"}
    )
    event = OrderPaid(order=paid)
    return sqs_event(event.SOURCE, event.detail_type(), json.loads(event.detail_json()))


def order_cancelled(order: dict[str, Any]) -> dict[str, Any]:
    cancelled = Order.model_validate(order).model_copy(update={"status": OrderStatus.CANCELLED})
    event = OrderCancelled(order=cancelled, cancelled_by="staff", refund_due=True)
    return sqs_event(event.SOURCE, event.detail_type(), json.loads(event.detail_json()))


def allocated(bench: Bench, skus: list[str] | None = None) -> tuple[Claims, dict[str, Any]]:
    claims, order = placed(bench, skus)
    deliver(bench, "OrderAllocator", order_paid(order))
    return claims, order


def shipment_event(bench: Bench, order_id: str, key: str | None = None, **extra: Any) -> dict[str, Any]:
    body = {"carrier": CARRIER, "tracking_number": bench.unique("SF").upper(), **extra}
    event = bench.event("POST", f"/admin/orders/{order_id}/shipments", body, FULFILMENT_STAFF)
    return with_headers(event, {"Idempotency-Key": key}) if key else event


def invoke_ok(bench: Bench, event: dict[str, Any]) -> dict[str, Any]:
    """Call a route in-process (preparation); anything but a 2xx is a ScenarioFailed."""
    with quiet_logs():
        response = bench.invoke(bench.route_for(event), event)
    problem = outcome(response)
    if problem is not None:
        raise ScenarioFailed(f"{event['httpMethod']} {event['path']}: {problem}")
    raw = response.get("body") or ""
    body: dict[str, Any] = json.loads(raw) if raw else {}
    return body


def dispatched(bench: Bench) -> tuple[Claims, dict[str, Any], dict[str, Any]]:
    """An allocated order of one parcel, shipped (CreateShipment in-process): ``(claims, order, shipment)``."""
    claims, order = allocated(bench)
    shipment = invoke_ok(bench, shipment_event(bench, order["order_id"]))
    return claims, order, shipment


def carrier_event(bench: Bench, tracking_number: str, statuses: list[str], secret: str | None = None) -> dict[str, Any]:
    """The API Gateway event of a carrier's signed callback with one tracking event per status (a minute apart)."""
    start = datetime.now(UTC) - timedelta(minutes=len(statuses))
    body = json.dumps(
        {
            "tracking_number": tracking_number,
            "events": [
                {
                    "event_id": f"{tracking_number}-{status}",
                    "status": status,
                    "occurred_at": _iso(start + timedelta(minutes=i)),
                    "location": "上海市浦东新区",
                    "description": status.replace("_", " "),
                }
                for i, status in enumerate(statuses)
            ],
        },
        ensure_ascii=False,
    )
    timestamp = str(int(time.time()))
    from functions.shipping.service import carrier_signature

    signature = carrier_signature(secret or _seed(bench)["carrier_secret"], timestamp, body.encode())
    event = bench.event("POST", f"/callbacks/carriers/{CARRIER}")
    event["body"] = body
    event["isBase64Encoded"] = False
    return with_headers(event, {"X-Carrier-Timestamp": timestamp, "X-Carrier-Signature": signature})


def delivered(bench: Bench) -> tuple[Claims, dict[str, Any], dict[str, Any]]:
    """A dispatched order whose carrier reported it delivered: ``(claims, order, shipment)``."""
    claims, order, shipment = dispatched(bench)
    invoke_ok(bench, carrier_event(bench, shipment["tracking_number"], ["in_transit", "delivered"]))
    return claims, order, shipment


def return_event(bench: Bench, claims: Claims, order: dict[str, Any]) -> dict[str, Any]:
    line = order["lines"][0]
    body = {"kind": "return", "reason": "does not fit", "lines": [{"sku": line["sku"], "quantity": 1}]}
    return bench.event("POST", f"/orders/{order['order_id']}/returns", body, claims)


def requested(bench: Bench) -> tuple[Claims, dict[str, Any]]:
    """A return of one line of a delivered order, requested by its shopper: ``(claims, return)``."""
    claims, order, _ = delivered(bench)
    return claims, invoke_ok(bench, return_event(bench, claims, order))


def act_event(bench: Bench, return_id: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return bench.event("POST", f"/admin/returns/{return_id}/{action}", body or {}, FULFILMENT_STAFF)


def approved(bench: Bench) -> dict[str, Any]:
    _claims, record = requested(bench)
    return invoke_ok(bench, act_event(bench, record["return_id"], "approve"))


def received(bench: Bench) -> dict[str, Any]:
    record = approved(bench)
    return invoke_ok(bench, act_event(bench, record["return_id"], "receive", {"condition": "resellable"}))


# --- routes: warehouses and stock ---------------------------------------------------------------------------------


@scenario("ListWarehouses", "every warehouse (one item)", primary=True)
def list_warehouses(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/admin/warehouses", claims=FULFILMENT_STAFF)


@scenario("CreateWarehouse", "add a warehouse (a fresh code)", primary=True)
def create_warehouse(bench: Bench) -> dict[str, Any]:
    body = warehouse_body(bench.unique("WH-NEW-").upper(), "广东省", 50)
    return bench.event("POST", "/admin/warehouses", body, FULFILMENT_STAFF)


@scenario("UpdateWarehouse", "change a warehouse's priority (with its version)", primary=True)
def update_warehouse(bench: Bench) -> dict[str, Any]:
    code = bench.unique("WH-UPD-").upper()
    created = bench.api("POST", "/admin/warehouses", warehouse_body(code, "广东省", 60), FULFILMENT_STAFF)
    body = {"priority": 70, "version": created["version"]}
    return bench.event("PUT", f"/admin/warehouses/{code}", body, FULFILMENT_STAFF)


def _movement(bench: Bench, body: dict[str, Any], key: bool = False) -> dict[str, Any]:
    event = bench.event("POST", f"/admin/inventory/{_seed(bench)['moving']}/movements", body, CATALOG_STAFF)
    return with_headers(event, {"Idempotency-Key": uuid.uuid4().hex}) if key else event


@scenario("RecordStockMovement", "inbound: 50 units of a SKU into a warehouse", primary=True)
def record_inbound(bench: Bench) -> dict[str, Any]:
    return _movement(bench, {"type": "inbound", "warehouse": NEAR, "quantity": 50, "reason": "goods received"})


@scenario("RecordStockMovement", "inbound with an Idempotency-Key")
def record_inbound_keyed(bench: Bench) -> dict[str, Any]:
    body = {"type": "inbound", "warehouse": NEAR, "quantity": 50, "reason": "goods received", "reference": "PO-1"}
    return _movement(bench, body, key=True)


@scenario("RecordStockMovement", "transfer: 5 units to the other warehouse (two ledger entries)")
def record_transfer(bench: Bench) -> dict[str, Any]:
    body = {"type": "transfer", "warehouse": NEAR, "to_warehouse": FAR, "quantity": 5, "reason": "rebalance"}
    return _movement(bench, body)


@scenario("RecordStockMovement", "adjustment: a stock count that found 2 more units")
def record_count(bench: Bench) -> dict[str, Any]:
    sku = _seed(bench)["moving"]
    view = bench.api("GET", f"/admin/inventory/{sku}/movements", claims=CATALOG_STAFF, query={"limit": 1})
    on_hand = next(w["on_hand"] for w in view["stock"]["warehouses"] if w["warehouse"] == FAR)
    return _movement(bench, {"type": "adjustment", "warehouse": FAR, "counted": on_hand + 2, "reason": "count"})


def _partner_report(bench: Bench, body: dict[str, Any]) -> dict[str, Any]:
    path = f"/partner/v1/inventory/{_seed(bench)['moving']}"
    return partner_event(bench, "POST", path, body, headers={"Idempotency-Key": uuid.uuid4().hex})


@scenario("PartnerRecordStock", "a supplier reports 50 units received", primary=True)
def partner_inbound(bench: Bench) -> dict[str, Any]:
    body = {"type": "inbound", "warehouse": NEAR, "quantity": 50, "reason": "delivery", "reference": "DN-1"}
    return _partner_report(bench, body)


@scenario("PartnerRecordStock", "a WMS reports a stock count that found 1 unit more")
def partner_count(bench: Bench) -> dict[str, Any]:
    sku = _seed(bench)["moving"]
    view = bench.api("GET", f"/admin/inventory/{sku}/movements", claims=CATALOG_STAFF, query={"limit": 1})
    on_hand = next(w["on_hand"] for w in view["stock"]["warehouses"] if w["warehouse"] == NEAR)
    return _partner_report(bench, {"type": "adjustment", "warehouse": NEAR, "counted": on_hand + 1, "reason": "count"})


@scenario("ListStockMovements", f"a SKU's stock and first ledger page (20 of {LEDGER_ENTRIES}+: a signed cursor)")
def list_movements(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", f"/admin/inventory/{_seed(bench)['moving']}/movements", claims=CATALOG_STAFF)


# --- routes: shipments and tracking -------------------------------------------------------------------------------


@scenario("CreateShipment", "ship the one allocated parcel of an order of 2 lines", primary=True)
def create_shipment(bench: Bench) -> dict[str, Any]:
    _claims, order = allocated(bench)
    return shipment_event(bench, order["order_id"])


@scenario("CreateShipment", "the same with an Idempotency-Key")
def create_shipment_keyed(bench: Bench) -> dict[str, Any]:
    _claims, order = allocated(bench)
    return shipment_event(bench, order["order_id"], key=uuid.uuid4().hex)


@scenario("CreateShipment", "one parcel of an order split over two warehouses")
def create_split_shipment(bench: Bench) -> dict[str, Any]:
    _claims, order = allocated(bench, _seed(bench)["split"])
    return shipment_event(bench, order["order_id"], parcel_id="P1")


@scenario("PartnerCreateShipment", "a partner ships the one allocated parcel (Idempotency-Key)", primary=True)
def partner_create_shipment(bench: Bench) -> dict[str, Any]:
    _claims, order = allocated(bench)
    body = {"carrier": CARRIER, "tracking_number": bench.unique("SF").upper()}
    path = f"/partner/v1/orders/{order['order_id']}/shipments"
    return partner_event(bench, "POST", path, body, headers={"Idempotency-Key": uuid.uuid4().hex})


@scenario("PartnerCreateShipment", "the same request again (replayed: nothing written)")
def partner_create_shipment_replay(bench: Bench) -> dict[str, Any]:
    event = partner_create_shipment(bench)
    invoke_ok(bench, event)
    return event


@scenario("AdminListShipments", "an order with one dispatched parcel", primary=True)
def admin_list_shipments(bench: Bench) -> dict[str, Any]:
    _claims, order, _shipment = dispatched(bench)
    return bench.event("GET", f"/admin/orders/{order['order_id']}/shipments", claims=FULFILMENT_STAFF)


@scenario("ListShipments", "my delivered order: one parcel and its timeline", primary=True)
def list_shipments(bench: Bench) -> dict[str, Any]:
    claims, order, _shipment = delivered(bench)
    return bench.event("GET", f"/orders/{order['order_id']}/shipments", claims=claims)


@scenario("CarrierCallback", "delivered: the order's only parcel (the order is delivered)", primary=True)
def carrier_delivered(bench: Bench) -> dict[str, Any]:
    _claims, _order, shipment = dispatched(bench)
    return carrier_event(bench, shipment["tracking_number"], ["delivered"])


@scenario("CarrierCallback", "in_transit: a parcel left the hub")
def carrier_in_transit(bench: Bench) -> dict[str, Any]:
    _claims, _order, shipment = dispatched(bench)
    return carrier_event(bench, shipment["tracking_number"], ["in_transit"])


@scenario("CarrierCallback", "the same delivered callback again (duplicate: nothing written)")
def carrier_duplicate(bench: Bench) -> dict[str, Any]:
    _claims, _order, shipment = dispatched(bench)
    event = carrier_event(bench, shipment["tracking_number"], ["delivered"])
    invoke_ok(bench, event)
    return event


# --- routes: returns ------------------------------------------------------------------------------------------------


@scenario("RequestReturn", "return 1 unit of a delivered order of 2 lines", primary=True)
def request_return(bench: Bench) -> dict[str, Any]:
    claims, order, _shipment = delivered(bench)
    return return_event(bench, claims, order)


@scenario("GetReturn", "one of my returns", primary=True)
def get_return(bench: Bench) -> dict[str, Any]:
    claims, record = requested(bench)
    return bench.event("GET", f"/returns/{record['return_id']}", claims=claims)


@scenario("AdminListReturns", "requested returns, newest first (by_status)", primary=True)
def admin_list_requested(bench: Bench) -> dict[str, Any]:
    requested(bench)
    return bench.event("GET", "/admin/returns", claims=FULFILMENT_STAFF, query={"status": "requested"})


@scenario("AdminListReturns", "all returns, newest first (by_kind)")
def admin_list_returns(bench: Bench) -> dict[str, Any]:
    requested(bench)
    return bench.event("GET", "/admin/returns", claims=FULFILMENT_STAFF)


@scenario("ActOnReturn", "approve a requested return", primary=True)
def approve_return(bench: Bench) -> dict[str, Any]:
    _claims, record = requested(bench)
    return act_event(bench, record["return_id"], "approve")


@scenario("ActOnReturn", "reject a requested return (with a reason)")
def reject_return(bench: Bench) -> dict[str, Any]:
    _claims, record = requested(bench)
    return act_event(bench, record["return_id"], "reject", {"reason": "worn"})


@scenario("ActOnReturn", "receive an approved return, resellable (back on the shelf; refund follows)")
def receive_return(bench: Bench) -> dict[str, Any]:
    record = approved(bench)
    return act_event(bench, record["return_id"], "receive", {"condition": "resellable"})


# --- consumers, schedule, relay -------------------------------------------------------------------------------------


@scenario("OrderAllocator", "OrderPaid, 2 lines, one warehouse holds both", primary=True)
def allocate_paid(bench: Bench) -> dict[str, Any]:
    _claims, order = placed(bench)
    return order_paid(order)


@scenario("OrderAllocator", "OrderPaid, 2 lines split over two warehouses (two parcels)")
def allocate_split(bench: Bench) -> dict[str, Any]:
    _claims, order = placed(bench, _seed(bench)["split"])
    return order_paid(order)


@scenario("OrderAllocator", "OrderPaid again (already allocated: nothing written)")
def allocate_duplicate(bench: Bench) -> dict[str, Any]:
    _claims, order = placed(bench)
    event = order_paid(order)
    deliver(bench, "OrderAllocator", event)
    return event


@scenario("OrderAllocator", "OrderCancelled of an allocated order (its units back to available)")
def release_cancelled(bench: Bench) -> dict[str, Any]:
    _claims, order = allocated(bench)
    return order_cancelled(order)


def return_refund(bench: Bench, failed: bool = False) -> dict[str, Any]:
    """The payments context's RefundSucceeded (or RefundFailed) of a received return's refund (``return:<id>``)."""
    record = received(bench)
    refund = Money.model_validate(record["refund"])
    refund_id, payment_id, order_id = f"rfd_{uuid.uuid4().hex}", f"pay_{uuid.uuid4().hex}", record["order_id"]
    reference = f"return:{record['return_id']}"
    event: RefundSucceeded | RefundFailed
    if failed:
        reason = "the provider refused the refund"
        event = RefundFailed(
            refund_id=refund_id,
            payment_id=payment_id,
            order_id=order_id,
            amount=refund,
            reason=reason,
            reference=reference,
        )
    else:
        event = RefundSucceeded(
            refund_id=refund_id,
            payment_id=payment_id,
            order_id=order_id,
            amount=refund,
            refunded_total=refund,
            reference=reference,
        )
    return sqs_event(event.SOURCE, event.detail_type(), json.loads(event.detail_json()))


@scenario("ReturnRefundRecorder", "RefundSucceeded of a received return's refund", primary=True)
def record_return_refund(bench: Bench) -> dict[str, Any]:
    return return_refund(bench)


@scenario("ReturnRefundRecorder", "RefundFailed of a received return's refund (recorded on the return)")
def record_failed_return_refund(bench: Bench) -> dict[str, Any]:
    return return_refund(bench, failed=True)


@scenario("ReturnRefundRecorder", "RefundSucceeded of a back-office refund (not a return's: nothing read)")
def record_other_refund(bench: Bench) -> dict[str, Any]:
    amount = Money(amount=1000, currency="CNY")
    event = RefundSucceeded(
        refund_id=f"rfd_{uuid.uuid4().hex}",
        payment_id=f"pay_{uuid.uuid4().hex}",
        order_id=f"ord_{uuid.uuid4().hex}",
        amount=amount,
        refunded_total=amount,
    )
    return sqs_event(event.SOURCE, event.detail_type(), json.loads(event.detail_json()))


@scenario("AllocateWaitingOrders", "1 order waiting for stock that has arrived (warm call: none left)", primary=True)
def allocate_waiting(bench: Bench) -> dict[str, Any]:
    """calls.py builds its cold and warm events before either runs: when an order is still waiting, no second one
    is made, so the warm call finds none (the usual five minutes)."""
    from functions.shipping.service import service

    seed = _seed(bench)
    if not service().repo.waiting_orders(1):
        _claims, order = placed(bench, [seed["waiting"]])
        deliver(bench, "OrderAllocator", order_paid(order))  # no stock anywhere: it waits (OrderBackordered)
        inbound(bench, seed["waiting"], NEAR, 1, sellable=False)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": _iso(datetime.now(UTC)),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/bench-AllocateWaitingOrders"],
        "detail": {},
    }


@scenario("ShippingOutboxRelay", f"outbox relay, {BATCH} ShipmentDispatched events", primary=True)
def relay_shipping(bench: Bench) -> dict[str, Any]:
    function = bench.function("ShippingOutboxRelay")
    assert isinstance(function, StreamConsumer)
    skus = _seed(bench)["skus"]
    events = [
        ShipmentDispatched(
            order_id=f"ord_{uuid.uuid4().hex}",
            shipment_id=f"shp_{uuid.uuid4().hex}",
            warehouse=NEAR,
            carrier=CARRIER,
            tracking_number=bench.unique("SF").upper(),
            lines=[Line(sku=s, quantity=1) for s in skus],
            order_shipped=True,
            stock=[
                StockSnapshot(
                    sku=s,
                    version=1000,
                    warehouses=[WarehouseStock(warehouse=NEAR, on_hand=STOCK, allocated=10, available=STOCK - 10)],
                )
                for s in skus
            ],
        )
        for _ in range(BATCH)
    ]
    return stream_event(bench, function, [outbox_item(e) for e in events])
