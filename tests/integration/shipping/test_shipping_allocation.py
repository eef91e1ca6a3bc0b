"""Allocation of paid orders (the OrderAllocator consumer and the AllocateWaitingOrders schedule): one warehouse
when one can fill the order, a split otherwise, a wait (OrderBackordered) when no combination can, and the wait
ends when stock arrives. Duplicates change nothing; a cancel gives the allocated units back, even when it arrives
before the payment."""

from __future__ import annotations

from typing import Any

from functions.shipping.handlers import allocate_waiting
from local.apigw import LambdaContext
from tests.conftest import OTHER_SHOPPER, SHOPPER
from tests.integration.shipping.conftest import (
    assert_ledger_matches_stock,
    cancel,
    levels,
    outbox,
    paid_order,
    pay,
    ship,
    shipments_of,
)


def run_schedule() -> dict[str, Any]:
    return allocate_waiting.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, LambdaContext("aw"))


def allocated_events(aws, order_id: str) -> list[dict[str, Any]]:
    return [e for e in outbox(aws, "OrderAllocated") if e["order_id"] == order_id]


def test_a_paid_order_one_warehouse_holds_is_allocated_there_as_one_parcel(aws, api, warehouse, inbound):
    warehouse("WH-SH", region="Shanghai", priority=200)
    warehouse("WH-BJ", region="Beijing", priority=1)
    inbound("SKU-A", "WH-SH", 5)
    inbound("SKU-A", "WH-BJ", 5)
    inbound("SKU-B", "WH-SH", 1)
    inbound("SKU-B", "WH-BJ", 5)

    order = pay(paid_order({"SKU-A": 2, "SKU-B": 1}, region="Shanghai"))

    view = shipments_of(api, order["order_id"], user=SHOPPER)
    assert view["status"] == "allocated"
    assert [(p["warehouse"], p["lines"]) for p in view["parcels"]] == [("WH-SH", {"SKU-A": 2, "SKU-B": 1})]
    assert view["items"] == []
    assert levels(api, "SKU-A") == {"WH-SH": (5, 2, 3), "WH-BJ": (5, 0, 5)}
    assert levels(api, "SKU-B") == {"WH-SH": (1, 1, 0), "WH-BJ": (5, 0, 5)}
    (event,) = allocated_events(aws, order["order_id"])
    assert [(p["warehouse"], p["lines"]) for p in event["parcels"]] == [
        ("WH-SH", [{"sku": "SKU-A", "quantity": 2}, {"sku": "SKU-B", "quantity": 1}])
    ]
    snapshot = {s["sku"]: {w["warehouse"]: w["allocated"] for w in s["warehouses"]} for s in event["stock"]}
    assert snapshot == {"SKU-A": {"WH-SH": 2, "WH-BJ": 0}, "SKU-B": {"WH-SH": 1, "WH-BJ": 0}}
    assert outbox(aws, "OrderBackordered") == []


def test_an_order_no_single_warehouse_can_fill_is_split_into_one_parcel_per_warehouse(aws, api, warehouse, inbound):
    warehouse("WH-SH", region="Shanghai")
    warehouse("WH-BJ", region="Beijing")
    inbound("SKU-A", "WH-SH", 2)
    inbound("SKU-B", "WH-BJ", 3)

    order = pay(paid_order({"SKU-A": 2, "SKU-B": 3}))

    view = shipments_of(api, order["order_id"])
    assert view["status"] == "allocated"
    assert sorted((p["warehouse"], p["lines"]) for p in view["parcels"]) == [
        ("WH-BJ", {"SKU-B": 3}),
        ("WH-SH", {"SKU-A": 2}),
    ]
    assert len({p["parcel_id"] for p in view["parcels"]}) == 2
    (event,) = allocated_events(aws, order["order_id"])
    assert len(event["parcels"]) == 2
    assert levels(api, "SKU-A") == {"WH-SH": (2, 2, 0)}
    assert levels(api, "SKU-B") == {"WH-BJ": (3, 3, 0)}


def test_an_order_without_enough_stock_waits_holds_nothing_and_is_backordered(aws, api, warehouse, inbound):
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 5)
    inbound("SKU-B", "WH-SH", 1)

    order = pay(paid_order({"SKU-A": 2, "SKU-B": 3}))

    view = shipments_of(api, order["order_id"], user=SHOPPER)
    assert (view["status"], view["parcels"]) == ("waiting", [])
    assert levels(api, "SKU-A") == {"WH-SH": (5, 0, 5)}  # no part of the order is held while the rest waits
    assert levels(api, "SKU-B") == {"WH-SH": (1, 0, 1)}
    (event,) = outbox(aws, "OrderBackordered")
    assert event["order_id"] == order["order_id"]
    assert event["shortages"] == [{"sku": "SKU-B", "quantity": 2}]
    assert allocated_events(aws, order["order_id"]) == []


def test_a_waiting_order_is_allocated_by_the_schedule_once_stock_arrives(aws, api, warehouse, inbound):
    warehouse("WH-SH")
    order = pay(paid_order({"SKU-A": 2}))
    assert run_schedule() == {"tried": 1, "allocated": []}  # still nothing to allocate
    assert shipments_of(api, order["order_id"])["status"] == "waiting"

    inbound("SKU-A", "WH-SH", 3)
    out = run_schedule()

    assert out == {"tried": 1, "allocated": [order["order_id"]]}
    view = shipments_of(api, order["order_id"])
    assert view["status"] == "allocated"
    assert [(p["warehouse"], p["lines"]) for p in view["parcels"]] == [("WH-SH", {"SKU-A": 2})]
    assert levels(api, "SKU-A") == {"WH-SH": (3, 2, 1)}
    assert len(allocated_events(aws, order["order_id"])) == 1
    assert len(outbox(aws, "OrderBackordered")) == 1  # backordered once, not again on every try
    assert run_schedule() == {"tried": 0, "allocated": []}  # it no longer waits


def test_the_schedule_allocates_waiting_orders_oldest_first_while_stock_lasts(api, warehouse, inbound):
    warehouse("WH-SH")
    first = pay(paid_order({"SKU-A": 1}))
    second = pay(paid_order({"SKU-A": 1}))
    inbound("SKU-A", "WH-SH", 1)

    out = run_schedule()

    assert out["allocated"] == [first["order_id"]]
    assert shipments_of(api, first["order_id"])["status"] == "allocated"
    assert shipments_of(api, second["order_id"])["status"] == "waiting"
    assert levels(api, "SKU-A") == {"WH-SH": (1, 1, 0)}


def test_a_duplicate_order_paid_changes_nothing(aws, api, warehouse, inbound):
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 5)
    order = pay(paid_order({"SKU-A": 2}))
    before = shipments_of(api, order["order_id"])

    pay(order)
    pay(order)

    assert shipments_of(api, order["order_id"]) == before
    assert levels(api, "SKU-A") == {"WH-SH": (5, 2, 3)}
    assert len(allocated_events(aws, order["order_id"])) == 1


def test_a_duplicate_order_paid_of_a_waiting_order_backorders_it_once(aws, api, warehouse):
    warehouse("WH-SH")
    order = pay(paid_order({"SKU-A": 2}))
    pay(order)
    assert shipments_of(api, order["order_id"])["status"] == "waiting"
    assert len(outbox(aws, "OrderBackordered")) == 1


def test_a_cancelled_order_gives_its_allocated_units_back_once(aws, api, warehouse, inbound):
    warehouse("WH-SH", region="Shanghai")
    warehouse("WH-BJ", region="Beijing")
    inbound("SKU-A", "WH-SH", 2)
    inbound("SKU-B", "WH-BJ", 3)
    order = pay(paid_order({"SKU-A": 2, "SKU-B": 3}))

    cancel(order)
    cancel(order)

    assert shipments_of(api, order["order_id"])["status"] == "cancelled"
    assert levels(api, "SKU-A") == {"WH-SH": (2, 0, 2)}
    assert levels(api, "SKU-B") == {"WH-BJ": (3, 0, 3)}
    (released,) = outbox(aws, "AllocationReleased")
    assert released["order_id"] == order["order_id"]
    assert released["released"] == [{"sku": "SKU-A", "quantity": 2}, {"sku": "SKU-B", "quantity": 3}]
    assert {s["sku"]: s["warehouses"][0]["available"] for s in released["stock"]} == {"SKU-A": 2, "SKU-B": 3}
    assert_ledger_matches_stock(api, "SKU-A")
    # The units are free for the next order.
    other = pay(paid_order({"SKU-A": 2}))
    assert shipments_of(api, other["order_id"])["status"] == "allocated"


def test_a_cancelled_order_is_not_allocated_by_a_late_duplicate_order_paid(aws, api, warehouse, inbound):
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 5)
    order = pay(paid_order({"SKU-A": 2}))
    cancel(order)

    pay(order)

    assert shipments_of(api, order["order_id"])["status"] == "cancelled"
    assert levels(api, "SKU-A") == {"WH-SH": (5, 0, 5)}
    assert len(allocated_events(aws, order["order_id"])) == 1


def test_an_order_cancelled_before_its_payment_arrives_is_never_allocated(aws, api, warehouse, inbound):
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 5)
    order = paid_order({"SKU-A": 2})

    cancel(order)
    pay(order)

    assert levels(api, "SKU-A") == {"WH-SH": (5, 0, 5)}
    assert allocated_events(aws, order["order_id"]) == []
    assert outbox(aws, "AllocationReleased") == []
    assert run_schedule() == {"tried": 0, "allocated": []}


def test_a_cancelled_waiting_order_is_not_allocated_when_stock_arrives(aws, api, warehouse, inbound):
    warehouse("WH-SH")
    order = pay(paid_order({"SKU-A": 2}))
    cancel(order)
    inbound("SKU-A", "WH-SH", 5)

    assert run_schedule() == {"tried": 0, "allocated": []}
    pay(order)

    assert shipments_of(api, order["order_id"])["status"] == "cancelled"
    assert levels(api, "SKU-A") == {"WH-SH": (5, 0, 5)}
    assert outbox(aws, "AllocationReleased") == []  # nothing was held


def test_a_cancel_after_one_of_two_parcels_shipped_releases_only_the_other(aws, api, warehouse, inbound):
    warehouse("WH-SH", region="Shanghai")
    warehouse("WH-BJ", region="Beijing")
    inbound("SKU-A", "WH-SH", 2)
    inbound("SKU-B", "WH-BJ", 3)
    order = pay(paid_order({"SKU-A": 2, "SKU-B": 3}))
    assert ship(api, order["order_id"], "SF000111", lines=[{"sku": "SKU-A", "quantity": 2}]).status == 201

    cancel(order)

    assert levels(api, "SKU-A") == {"WH-SH": (0, 0, 0)}
    assert levels(api, "SKU-B") == {"WH-BJ": (3, 0, 3)}
    (released,) = outbox(aws, "AllocationReleased")
    assert released["released"] == [{"sku": "SKU-B", "quantity": 3}]


def test_units_that_left_before_a_late_cancel_come_off_sale_again_once(aws, api, warehouse, inbound):
    """The checkout accepted the cancel before it heard of the dispatch and put every unit back on sale; the ones
    on their way to the shopper are taken off sale again, exactly once."""
    warehouse("WH-SH", region="Shanghai")
    warehouse("WH-BJ", region="Beijing")
    inbound("SKU-A", "WH-SH", 2)
    inbound("SKU-B", "WH-BJ", 3)
    order = pay(paid_order({"SKU-A": 2, "SKU-B": 3}))
    assert ship(api, order["order_id"], "SF000000112", lines=[{"sku": "SKU-A", "quantity": 2}]).status == 201
    movements_before = len(outbox(aws, "StockMovementRecorded"))

    cancel(order)
    cancel(order)

    (correction,) = outbox(aws, "StockMovementRecorded")[movements_before:]
    assert (correction["sku"], correction["type"], correction["sellable_delta"]) == ("SKU-A", "dispatch", -2)
    assert correction["stock"]["warehouses"] == [{"warehouse": "WH-SH", "on_hand": 0, "allocated": 0, "available": 0}]


def test_a_cancel_of_an_order_nothing_of_which_has_left_takes_nothing_off_sale(aws, api, warehouse, inbound):
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 2)
    order = pay(paid_order({"SKU-A": 2}))
    movements_before = len(outbox(aws, "StockMovementRecorded"))

    cancel(order)

    assert outbox(aws, "StockMovementRecorded")[movements_before:] == []


def test_stock_of_an_inactive_warehouse_does_not_allocate_an_order(api, warehouse, inbound):
    warehouse("WH-SH", active=False)
    inbound("SKU-A", "WH-SH", 5)
    order = pay(paid_order({"SKU-A": 1}))
    assert shipments_of(api, order["order_id"])["status"] == "waiting"
    assert levels(api, "SKU-A") == {"WH-SH": (5, 0, 5)}


def test_a_shopper_sees_only_their_own_paid_orders_shipments(api, warehouse, inbound):
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 5)
    order = pay(paid_order({"SKU-A": 1}, user=SHOPPER))

    assert api("GET", f"/orders/{order['order_id']}/shipments", user=OTHER_SHOPPER).status == 404
    assert api("GET", "/orders/unknown-order/shipments", user=SHOPPER).status == 404
    assert api("GET", f"/orders/{order['order_id']}/shipments", user=None).status == 401
    assert api("GET", f"/admin/orders/{order['order_id']}/shipments", user=SHOPPER).status == 403


def test_a_cancel_that_read_the_order_just_before_its_parcel_left_releases_nothing_and_does_not_fail(
    aws, api, warehouse, inbound, monkeypatch
):
    """The cancel read the order while its parcel was still allocated, and the stock after the dispatch: it must
    decide again on a fresh read (nothing left to release), not fail on the stock's arithmetic and be retried."""
    from functions.shipping.repository import DynamoShippingRepository
    from functions.shipping.service import service

    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 5)
    order = pay(paid_order({"SKU-A": 2}))
    stale = service().repo.load([], order["order_id"], warehouses=False)
    assert ship(api, order["order_id"], "SF000000090").status == 201
    real = DynamoShippingRepository.load
    pending = [stale]

    def load(self, skus, order_id=None, warehouses=True):
        if pending and order_id == order["order_id"] and not skus:
            return pending.pop()
        return real(self, skus, order_id, warehouses)

    monkeypatch.setattr(DynamoShippingRepository, "load", load)

    cancel(order)  # asserts the consumer reported no failure

    assert levels(api, "SKU-A") == {"WH-SH": (3, 0, 3)}
    assert outbox(aws, "AllocationReleased") == []
    assert_ledger_matches_stock(api, "SKU-A")
