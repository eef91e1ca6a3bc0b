"""Two allocations never take the same unit: paid orders allocated at once from many threads, racing each other,
staff movements and the waiting-orders schedule, against the serialised moto server the local platform uses
(in-process moto is not atomic across threads, DESIGN.md §8).

Threads drive :class:`functions.shipping.service.ShippingService` directly (what the OrderAllocator consumer and
the schedule call), never the handler modules, whose Powertools resolvers keep per-request state in module globals.
A call that gives up after its retries (409 TRY_AGAIN) is what SQS would deliver again; the test delivers it again.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from functions.manifest import PLATFORM
from functions.shared import aws as shared_aws
from functions.shared.aws import client
from functions.shared.errors import AppError, Conflict
from functions.shipping import service as shipping_service
from functions.shipping.model import MovementInput, ReturnInput, ShipmentInput, WarehouseAddress, WarehouseInput
from functions.shipping.service import ShippingService, carrier_signature, service
from local.moto_server import MotoServer
from local.resources import Created, create_all
from tests.integration.shipping.conftest import CARRIER, CARRIER_SECRET, carrier_time, paid_order

STAFF = "staff-concurrency"
REDELIVERIES = 20


@pytest.fixture(scope="module")
def local_aws() -> Iterator[Created]:
    """A serialised moto server with every manifest resource; boto3 (and the functions' clients) pointed at it."""
    server = MotoServer()
    endpoint = server.start()
    saved = {"AWS_ENDPOINT_URL": os.environ.get("AWS_ENDPOINT_URL")}
    try:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        shared_aws.reset()
        created = create_all(PLATFORM, prefix=f"shipconc-{uuid.uuid4().hex[:6]}")
        saved.update({k: os.environ.get(k) for k in created.env})
        os.environ.update(created.env)
        svc = service()  # create the shared boto3 client here, not racing in many threads
        client("secretsmanager").put_secret_value(
            SecretId=created.env["CARRIERS_SECRET_ARN"], SecretString=json.dumps({CARRIER: CARRIER_SECRET})
        )
        shipping_service._carrier_cache.clear()
        for code, region, priority in (("WH-SH", "Shanghai", 10), ("WH-BJ", "Beijing", 20)):
            address = WarehouseAddress(region=region, city=region, street="1 Depot Road")
            svc.create_warehouse(WarehouseInput(code=code, name=code, address=address, priority=priority))
        yield created
    finally:
        client("dynamodb").close()  # pooled keep-alive connections would hold the server's threads at shutdown
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shared_aws.reset()
        shipping_service._carrier_cache.clear()
        server.stop()


@pytest.fixture
def svc(local_aws: Created) -> Callable[[], ShippingService]:
    """A fresh service per call, sharing the (thread-safe) boto3 client."""
    return lambda: ShippingService(service().repo)


# --- helpers ----------------------------------------------------------------------------------------------------


def race(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, released together; each outcome is the result or the exception raised."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def redelivered(call: Callable[[], Any]) -> Callable[[], Any]:
    """The call as SQS would run it: again after a TRY_AGAIN (the message goes back to the queue)."""

    def run() -> Any:
        for _ in range(REDELIVERIES):
            try:
                return call()
            except Conflict as exc:
                if exc.code != "TRY_AGAIN":
                    raise
        raise AssertionError("still TRY_AGAIN after every redelivery")

    return run


def unexpected(outcomes: list[Any]) -> None:
    """Anything raised that is not a clean AppError is a bug."""
    bad = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, AppError)]
    if bad:
        raise bad[0]


def new_sku() -> str:
    return f"C{uuid.uuid4().hex[:10].upper()}"


def inbound(svc: Callable[[], ShippingService], sku: str, warehouse: str, quantity: int) -> None:
    body = MovementInput(type="inbound", warehouse=warehouse, quantity=quantity, reason="goods received")
    svc().record_movement(sku, body, STAFF)


def outbound(sku: str, warehouse: str, quantity: int) -> MovementInput:
    return MovementInput(type="outbound", warehouse=warehouse, quantity=quantity, reason="damaged")


def status_of(svc: Callable[[], ShippingService], order_id: str) -> str:
    return svc().shipments(order_id, None).status


def assert_stock_consistent(svc: Callable[[], ShippingService], sku: str) -> dict[str, tuple[int, int]]:
    """No level negative or over-allocated; the ledger adds up to on hand in every warehouse; returns warehouse ->
    (on hand, allocated)."""
    stock = svc().repo.stock(sku)
    entries, start = [], None
    while True:
        page, start = svc().repo.ledger(sku, 100, start)
        entries += page
        if not start:
            break
    summed: Counter[str] = Counter()
    for entry in entries:
        summed[entry.warehouse] += entry.delta
    for warehouse, level in stock.levels.items():
        assert 0 <= level.allocated <= level.on_hand, (warehouse, level)
        assert summed[warehouse] == level.on_hand, (warehouse, summed, level)
    return {w: (lv.on_hand, lv.allocated) for w, lv in stock.levels.items()}


def outbox_events(local_aws: Created, detail_type: str, order_ids: set[str] | None = None) -> list[dict[str, Any]]:
    ddb = client("dynamodb")
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": local_aws.env["SHIPPING_TABLE_NAME"],
        "FilterExpression": "begins_with(pk, :p) AND detail_type = :t",
        "ExpressionAttributeValues": {":p": {"S": "OUTBOX#"}, ":t": {"S": detail_type}},
    }
    while True:
        page = ddb.scan(**kwargs)
        found += [json.loads(item["detail"]["S"]) for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return [e for e in found if order_ids is None or e.get("order_id") in order_ids]


class StockWatcher:
    """Reads the SKU's stock over and over while a race runs: what any other reader could have seen."""

    def __init__(self, svc: Callable[[], ShippingService], sku: str) -> None:
        self.svc, self.sku = svc, sku
        self.seen: list[tuple[int, int]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch)

    def _watch(self) -> None:
        while not self._done.is_set():
            stock = self.svc().repo.stock(self.sku)
            self.seen += [(lv.on_hand, lv.allocated) for lv in stock.levels.values()]

    def __enter__(self) -> StockWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


# --- the race -----------------------------------------------------------------------------------------------------

UNITS = 10


def test_twice_as_many_paid_orders_as_units_allocate_each_unit_exactly_once(svc, local_aws):
    sku = new_sku()
    inbound(svc, sku, "WH-SH", UNITS)
    orders = [paid_order({sku: 1}) for _ in range(2 * UNITS)]

    with StockWatcher(svc, sku) as watcher:
        outcomes = race([redelivered(lambda o=o: svc().order_paid(o)) for o in orders])

    unexpected(outcomes)
    assert Counter(outcomes) == {"allocated": UNITS, "waiting": UNITS}
    statuses = Counter(status_of(svc, o["order_id"]) for o in orders)
    assert statuses == {"allocated": UNITS, "waiting": UNITS}
    assert assert_stock_consistent(svc, sku) == {"WH-SH": (UNITS, UNITS)}
    assert watcher.seen
    assert all(0 <= allocated <= on_hand for on_hand, allocated in watcher.seen)
    ids = {o["order_id"] for o in orders}
    allocated = outbox_events(local_aws, "OrderAllocated", ids)
    assert len(allocated) == UNITS
    assert len({e["order_id"] for e in allocated}) == UNITS
    assert len(outbox_events(local_aws, "OrderBackordered", ids)) == UNITS
    # Every allocation's snapshot is the stock right after it: ten different versions, allocated 1..10.
    snapshots = sorted((s["version"], s["warehouses"][0]["allocated"]) for e in allocated for s in e["stock"])
    assert [a for _, a in snapshots] == list(range(1, UNITS + 1))
    assert len({v for v, _ in snapshots}) == UNITS


def test_orders_split_over_two_warehouses_at_once_never_overallocate_either(svc, local_aws):
    sku = new_sku()
    inbound(svc, sku, "WH-SH", 5)
    inbound(svc, sku, "WH-BJ", 7)
    orders = [paid_order({sku: 2}) for _ in range(10)]  # 20 units asked, 12 there

    outcomes = race([redelivered(lambda o=o: svc().order_paid(o)) for o in orders])

    unexpected(outcomes)
    assert Counter(outcomes) == {"allocated": 6, "waiting": 4}
    levels = assert_stock_consistent(svc, sku)
    assert levels == {"WH-SH": (5, 5), "WH-BJ": (7, 7)}
    planned = Counter()
    for o in orders:
        for parcel in svc().shipments(o["order_id"], None).parcels:
            planned[parcel.warehouse] += parcel.lines[sku]
    assert planned == {"WH-SH": 5, "WH-BJ": 7}


def test_staff_taking_stock_out_while_orders_allocate_never_take_an_allocated_unit(svc, local_aws):
    sku = new_sku()
    inbound(svc, sku, "WH-SH", UNITS)
    orders = [paid_order({sku: 1}) for _ in range(UNITS)]
    removals = [outbound(sku, "WH-SH", 1) for _ in range(UNITS // 2)]

    with StockWatcher(svc, sku) as watcher:
        outcomes = race(
            [redelivered(lambda o=o: svc().order_paid(o)) for o in orders]
            + [redelivered(lambda m=m: svc().record_movement(sku, m, STAFF)) for m in removals]
        )

    unexpected(outcomes)
    allocated = sum(1 for o in outcomes[: len(orders)] if o == "allocated")
    removed = sum(1 for o in outcomes[len(orders) :] if not isinstance(o, BaseException))
    refused = [o for o in outcomes[len(orders) :] if isinstance(o, AppError)]
    assert all(e.code == "INSUFFICIENT_STOCK" for e in refused)
    assert allocated + removed == UNITS  # every unit went exactly one way
    assert assert_stock_consistent(svc, sku) == {"WH-SH": (UNITS - removed, allocated)}
    assert all(0 <= a <= on_hand for on_hand, a in watcher.seen)


def test_a_stock_count_racing_allocations_never_counts_below_what_is_allocated(svc, local_aws):
    sku = new_sku()
    inbound(svc, sku, "WH-SH", UNITS)
    orders = [paid_order({sku: 1}) for _ in range(UNITS)]
    count = MovementInput(type="adjustment", warehouse="WH-SH", counted=UNITS // 2, reason="stock count")

    outcomes = race(
        [redelivered(lambda o=o: svc().order_paid(o)) for o in orders]
        + [redelivered(lambda: svc().record_movement(sku, count, STAFF))]
    )

    unexpected(outcomes)
    levels = assert_stock_consistent(svc, sku)
    on_hand, allocated = levels["WH-SH"]
    assert allocated == sum(1 for o in outcomes[:-1] if o == "allocated")
    assert on_hand in (UNITS, UNITS // 2)
    if on_hand == UNITS // 2:  # the count went through: it was at or above what was allocated at that moment
        assert not isinstance(outcomes[-1], BaseException)
    else:
        assert isinstance(outcomes[-1], AppError) and outcomes[-1].code == "STOCK_ALLOCATED"


def test_the_same_order_paid_delivered_many_times_at_once_is_allocated_once(svc, local_aws):
    sku = new_sku()
    inbound(svc, sku, "WH-SH", 5)
    order = paid_order({sku: 2})

    outcomes = race([redelivered(lambda: svc().order_paid(order)) for _ in range(8)])

    unexpected(outcomes)
    assert Counter(outcomes) == {"allocated": 1, "nothing": 7}
    assert assert_stock_consistent(svc, sku) == {"WH-SH": (5, 2)}
    assert len(outbox_events(local_aws, "OrderAllocated", {order["order_id"]})) == 1


def test_overlapping_runs_of_the_schedule_allocate_each_waiting_order_once(svc, local_aws):
    sku = new_sku()
    orders = [paid_order({sku: 1}) for _ in range(6)]
    for o in orders:
        assert svc().order_paid(o) == "waiting"
    inbound(svc, sku, "WH-SH", 4)

    runs = race([redelivered(lambda: svc().allocate_waiting()) for _ in range(3)])

    unexpected(runs)
    ids = {o["order_id"] for o in orders}
    statuses = Counter(status_of(svc, o["order_id"]) for o in orders)
    assert statuses == {"allocated": 4, "waiting": 2}
    assert assert_stock_consistent(svc, sku) == {"WH-SH": (4, 4)}
    assert len(outbox_events(local_aws, "OrderAllocated", ids)) == 4


def test_a_cancel_racing_the_allocation_of_the_same_order_leaves_no_unit_allocated(svc, local_aws):
    sku = new_sku()
    inbound(svc, sku, "WH-SH", 20)
    orders = [paid_order({sku: 2}) for _ in range(8)]

    calls: list[Callable[[], Any]] = []
    for o in orders:
        calls += [
            redelivered(lambda o=o: svc().order_paid(o)),
            redelivered(lambda o=o: svc().order_cancelled(o["order_id"])),
        ]
    outcomes = race(calls)

    unexpected(outcomes)
    assert all(status_of(svc, o["order_id"]) == "cancelled" for o in orders)
    assert assert_stock_consistent(svc, sku) == {"WH-SH": (20, 0)}
    ids = {o["order_id"] for o in orders}
    allocated = {e["order_id"] for e in outbox_events(local_aws, "OrderAllocated", ids)}
    released = [e["order_id"] for e in outbox_events(local_aws, "AllocationReleased", ids)]
    assert sorted(released) == sorted(allocated)  # each allocation that happened was released, once


# --- shipments, tracking and returns ------------------------------------------------------------------------------


def shipment(tracking: str, **fields: Any) -> ShipmentInput:
    return ShipmentInput.model_validate({"carrier": CARRIER, "tracking_number": tracking, **fields})


def tracking_number() -> str:
    return f"SF{uuid.uuid4().int % 10**12:012d}"


def report(svc: Callable[[], ShippingService], tracking: str, status: str, hours_ago: float) -> str:
    """A signed carrier callback, as the handler passes it to the service."""
    at = carrier_time(hours_ago)
    event = {"event_id": f"{tracking}-{status}-{at}", "status": status, "occurred_at": at}
    raw = json.dumps({"tracking_number": tracking, "events": [event]}).encode()
    ts = str(int(time.time()))
    return svc().carrier_update(CARRIER, raw, ts, carrier_signature(CARRIER_SECRET, ts, raw))


def test_the_same_parcel_shipped_from_several_terminals_at_once_leaves_once(svc, local_aws):
    sku = new_sku()
    inbound(svc, sku, "WH-SH", 5)
    order = paid_order({sku: 2})
    assert svc().order_paid(order) == "allocated"

    outcomes = race(
        [
            redelivered(lambda: svc().dispatch(order["order_id"], shipment(tracking_number(), parcel_id="P1"), STAFF))
            for _ in range(6)
        ]
    )

    unexpected(outcomes)
    shipped = [o for o in outcomes if isinstance(o, tuple)]
    assert len(shipped) == 1
    # Every other one is a clean 409 (which one, after a stale read, is pinned in test_shipping_dispatch_api.py).
    assert {o.status for o in outcomes if isinstance(o, AppError)} == {409}
    assert assert_stock_consistent(svc, sku) == {"WH-SH": (3, 0)}
    assert len(svc().shipments(order["order_id"], None).items) == 1
    assert len(outbox_events(local_aws, "ShipmentDispatched", {order["order_id"]})) == 1


def test_parcels_of_several_orders_racing_for_one_tracking_number_give_it_to_one(svc, local_aws):
    sku = new_sku()
    inbound(svc, sku, "WH-SH", 5)
    orders = [paid_order({sku: 1}) for _ in range(5)]
    for o in orders:
        assert svc().order_paid(o) == "allocated"
    number = tracking_number()

    outcomes = race([redelivered(lambda o=o: svc().dispatch(o["order_id"], shipment(number), STAFF)) for o in orders])

    unexpected(outcomes)
    assert sum(1 for o in outcomes if isinstance(o, tuple)) == 1
    assert Counter(o.code for o in outcomes if isinstance(o, AppError)) == {"TRACKING_NUMBER_IN_USE": 4}
    assert assert_stock_consistent(svc, sku) == {"WH-SH": (4, 4)}


def test_the_last_two_parcels_delivered_at_once_deliver_the_order_exactly_once(svc, local_aws):
    a, b = new_sku(), new_sku()
    inbound(svc, a, "WH-SH", 1)
    inbound(svc, b, "WH-BJ", 1)
    order = paid_order({a: 1, b: 1})
    assert svc().order_paid(order) == "allocated"
    numbers = [tracking_number(), tracking_number()]
    for number, sku in zip(numbers, (a, b), strict=True):
        svc().dispatch(order["order_id"], shipment(number, lines=[{"sku": sku, "quantity": 1}]), STAFF)

    outcomes = race([redelivered(lambda n=n: report(svc, n, "delivered", 1)) for n in numbers])

    unexpected(outcomes)
    assert outcomes == ["delivered", "delivered"]
    delivered = outbox_events(local_aws, "ShipmentDelivered", {order["order_id"]})
    assert sorted(e["order_delivered"] for e in delivered) == [False, True]


def test_a_carrier_retrying_the_same_event_at_once_applies_it_once(svc, local_aws):
    sku = new_sku()
    inbound(svc, sku, "WH-SH", 1)
    order = paid_order({sku: 1})
    svc().order_paid(order)
    number = tracking_number()
    svc().dispatch(order["order_id"], shipment(number), STAFF)
    at = carrier_time(1)

    def same_event() -> str:
        event = {"event_id": "one-and-the-same", "status": "delivered", "occurred_at": at}
        raw = json.dumps({"tracking_number": number, "events": [event]}).encode()
        ts = str(int(time.time()))
        return svc().carrier_update(CARRIER, raw, ts, carrier_signature(CARRIER_SECRET, ts, raw))

    outcomes = race([redelivered(same_event) for _ in range(6)])

    unexpected(outcomes)
    assert Counter(outcomes) == {"delivered": 1, "duplicate": 5}
    assert len(outbox_events(local_aws, "ShipmentDelivered", {order["order_id"]})) == 1
    (shipped,) = svc().shipments(order["order_id"], None).items
    assert len(shipped.timeline) == 1


def test_a_shopper_asking_to_return_the_same_unit_from_several_devices_at_once_gets_one_return(svc, local_aws):
    sku = new_sku()
    inbound(svc, sku, "WH-SH", 1)
    order = paid_order({sku: 1})
    svc().order_paid(order)
    number = tracking_number()
    svc().dispatch(order["order_id"], shipment(number), STAFF)
    assert report(svc, number, "delivered", 1) == "delivered"
    body = ReturnInput.model_validate({"kind": "return", "reason": "too big", "lines": [{"sku": sku, "quantity": 1}]})

    outcomes = race(
        [redelivered(lambda: svc().request_return(order["order_id"], order["user_id"], body)) for _ in range(6)]
    )

    unexpected(outcomes)
    assert sum(1 for o in outcomes if isinstance(o, tuple)) == 1
    assert Counter(o.code for o in outcomes if isinstance(o, AppError)) == {"RETURN_EXISTS": 5}
    fulfilment, _ = svc().repo.order_partition(order["order_id"])
    assert fulfilment is not None
    assert fulfilment.claimed == {sku: 1}
    assert len(outbox_events(local_aws, "ReturnRequested", {order["order_id"]})) == 1
