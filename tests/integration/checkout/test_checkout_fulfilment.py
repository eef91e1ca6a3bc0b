"""The shipping context's OrderAllocated, ShipmentDispatched and ShipmentDelivered move a paid order forward through
fulfilling, shipped and delivered: late, early or repeated events never move it back or twice, a dispatched parcel's
units leave reserved stock once (regular lines only), and a cancelled order is left alone."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from functions.checkout.repository import sku_key
from functions.checkout.service import service
from functions.shipping.events import StockSnapshot, WarehouseStock
from tests.conftest import ADMIN, CATALOG_STAFF, SHOPPER
from tests.integration.checkout.conftest import allocated, checkout, delivered, dispatched, fulfilment, outbox, pay


def paid_order(api, product, skus, quantities=None, stock=5):
    """A paid order of ``skus`` (``quantities`` per SKU, 1 each by default), each SKU with ``stock`` units."""
    product(dict.fromkeys(skus, 5000), stock=stock)
    for sku in skus:
        quantity = (quantities or {}).get(sku, 1)
        assert api("POST", "/cart/items", {"sku": sku, "quantity": quantity}, user=SHOPPER).status == 200
    r = checkout(api, SHOPPER)
    assert r.status == 201, r.body
    pay(r.body)
    return order_of(api, r.body["order_id"])


def order_of(api, order_id):
    return api("GET", f"/admin/orders/{order_id}", user=ADMIN).body


def stock(sku):
    data = service().repo.get(sku_key(sku, "STOCK")) or {}
    return {k: int(data.get(k, 0)) for k in ("sellable", "reserved", "in_promotions")}


def statuses(order):
    return [h["status"] for h in order["history"]]


def test_an_allocated_paid_order_becomes_fulfilling(api, aws, product):
    order = paid_order(api, product, ["FUL-1"])
    fulfilment(allocated(order))
    got = order_of(api, order["order_id"])
    assert got["status"] == "fulfilling" and got["version"] == order["version"] + 1
    assert statuses(got) == ["pending_payment", "paid", "fulfilling"]
    assert [(e["order"]["order_id"], e["order"]["status"]) for e in outbox(aws, "OrderFulfilling")] == [
        (order["order_id"], "fulfilling")
    ]


def test_a_dispatch_that_arrives_before_the_allocation_moves_the_order_through_both_steps_in_one_write(
    api, aws, product
):
    order = paid_order(api, product, ["EARLY-1"])
    fulfilment(dispatched(order))
    got = order_of(api, order["order_id"])
    assert got["status"] == "shipped" and got["version"] == order["version"] + 1
    assert statuses(got) == ["pending_payment", "paid", "fulfilling", "shipped"]
    assert got["shipped_at"] is not None and got["shipment_ids"] == ["shp_1"]
    # One event per step, each carrying the order as written.
    for detail_type in ("OrderFulfilling", "OrderShipped"):
        assert [(e["order"]["status"], e["order"]["version"]) for e in outbox(aws, detail_type)] == [
            ("shipped", got["version"])
        ]

    fulfilment(allocated(order))  # the allocation, late
    assert order_of(api, order["order_id"]) == got
    assert len(outbox(aws, "OrderFulfilling")) == 1


def test_repeated_shipping_events_change_nothing_and_take_the_units_out_of_reserved_stock_once(api, aws, product):
    order = paid_order(api, product, ["DUP-1"], {"DUP-1": 2}, stock=5)
    assert stock("DUP-1") == {"sellable": 3, "reserved": 2, "in_promotions": 0}
    for event in (allocated(order), dispatched(order), delivered(order)):
        fulfilment(event)
        fulfilment(event)
    got = order_of(api, order["order_id"])
    assert got["status"] == "delivered" and got["version"] == order["version"] + 3
    assert statuses(got) == ["pending_payment", "paid", "fulfilling", "shipped", "delivered"]
    assert stock("DUP-1") == {"sellable": 3, "reserved": 0, "in_promotions": 0}
    for detail_type in ("OrderFulfilling", "OrderShipped", "OrderDelivered"):
        assert len(outbox(aws, detail_type)) == 1, detail_type


def test_a_partial_shipment_leaves_the_order_fulfilling_until_its_last_parcel_leaves(api, aws, product):
    order = paid_order(api, product, ["PART-A", "PART-B"], {"PART-A": 2}, stock=5)
    fulfilment(allocated(order))
    fulfilment(dispatched(order, "shp_a", [("PART-A", 2)], order_shipped=False))
    got = order_of(api, order["order_id"])
    assert got["status"] == "fulfilling" and got["shipped_at"] is None and got["shipment_ids"] == ["shp_a"]
    assert stock("PART-A") == {"sellable": 3, "reserved": 0, "in_promotions": 0}
    assert stock("PART-B") == {"sellable": 4, "reserved": 1, "in_promotions": 0}
    assert outbox(aws, "OrderShipped") == []

    fulfilment(dispatched(order, "shp_b", [("PART-B", 1)], order_shipped=True))
    got = order_of(api, order["order_id"])
    assert got["status"] == "shipped" and got["shipment_ids"] == ["shp_a", "shp_b"]
    assert stock("PART-B") == {"sellable": 4, "reserved": 0, "in_promotions": 0}
    assert len(outbox(aws, "OrderShipped")) == 1


def test_a_parcel_reported_after_the_delivery_still_leaves_reserved_stock_once(api, product):
    order = paid_order(api, product, ["LATE-A", "LATE-B"], stock=5)
    fulfilment(dispatched(order, "shp_a", [("LATE-A", 1)], order_shipped=False))
    fulfilment(delivered(order, "shp_b", order_delivered=True))  # parcel b delivered before its dispatch is heard
    got = order_of(api, order["order_id"])
    assert got["status"] == "delivered" and statuses(got)[-2:] == ["shipped", "delivered"]
    assert stock("LATE-B")["reserved"] == 1

    late = dispatched(order, "shp_b", [("LATE-B", 1)], order_shipped=True)
    fulfilment(late)
    fulfilment(late)
    after = order_of(api, order["order_id"])
    assert after["status"] == "delivered" and after["shipment_ids"] == ["shp_a", "shp_b"]
    assert after["version"] == got["version"] + 1 and after["history"] == got["history"]
    assert stock("LATE-A")["reserved"] == 0 and stock("LATE-B") == {"sellable": 4, "reserved": 0, "in_promotions": 0}


def test_flash_sale_units_are_not_taken_out_of_reserved_stock_when_they_ship(api, product):
    product({"FL-REG": 5000}, stock=5)
    product({"FL-SALE": 9900}, stock=10)
    now = datetime.now(UTC)
    sale = {
        "name": "秒杀",
        "sku": "FL-SALE",
        "price": {"amount": 1000, "currency": "CNY"},
        "quantity": 4,
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
    }
    assert api("POST", "/admin/promotions", sale, user=CATALOG_STAFF).status == 201
    for sku in ("FL-REG", "FL-SALE"):
        assert api("POST", "/cart/items", {"sku": sku, "quantity": 1}, user=SHOPPER).status == 200
    placed = checkout(api, SHOPPER)
    assert placed.status == 201, placed.body
    pay(placed.body)
    order = order_of(api, placed.body["order_id"])
    assert [li["promotion_id"] is not None for li in order["lines"]] == [False, True]
    assert stock("FL-SALE") == {"sellable": 6, "reserved": 0, "in_promotions": 4}

    fulfilment(dispatched(order))
    assert order_of(api, order["order_id"])["status"] == "shipped"
    assert stock("FL-REG") == {"sellable": 4, "reserved": 0, "in_promotions": 0}
    assert stock("FL-SALE") == {"sellable": 6, "reserved": 0, "in_promotions": 4}


def test_a_cancelled_order_is_left_alone_by_shipping_events(api, aws, product, caplog):
    order = paid_order(api, product, ["CXL-1"], stock=3)
    assert api("POST", f"/orders/{order['order_id']}/cancel", {}, user=SHOPPER).status == 200
    cancelled = order_of(api, order["order_id"])
    with caplog.at_level(logging.WARNING):
        for event in (allocated(order), dispatched(order), delivered(order)):
            fulfilment(event)
    assert order_of(api, order["order_id"]) == cancelled
    assert stock("CXL-1") == {"sellable": 3, "reserved": 0, "in_promotions": 0}
    assert outbox(aws, "OrderFulfilling") == outbox(aws, "OrderShipped") == outbox(aws, "OrderDelivered") == []
    warned = [getattr(r, "outcome", None) for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == ["cancelled"] * 3


def test_an_order_with_a_parcel_on_its_way_can_no_longer_be_cancelled(api, product):
    order = paid_order(api, product, ["ONWAY-A", "ONWAY-B"], stock=3)
    fulfilment(dispatched(order, "shp_a", [("ONWAY-A", 1)], order_shipped=False))
    r = api("POST", f"/orders/{order['order_id']}/cancel", {}, user=SHOPPER)
    assert r.status == 409 and r.body["error"]["code"] == "ORDER_PARTLY_SHIPPED"
    assert order_of(api, order["order_id"])["status"] == "fulfilling"
    assert stock("ONWAY-B") == {"sellable": 2, "reserved": 1, "in_promotions": 0}


def test_delivery_records_when_the_carrier_delivered(api, aws, product):
    order = paid_order(api, product, ["DLV-1"])
    at = datetime(2030, 5, 1, 9, 30, tzinfo=UTC)
    fulfilment(dispatched(order))
    fulfilment(delivered(order, at=at))
    got = order_of(api, order["order_id"])
    assert got["status"] == "delivered" and got["delivered_at"] == "2030-05-01T09:30:00Z"
    assert [e["order"]["delivered_at"] for e in outbox(aws, "OrderDelivered")] == ["2030-05-01T09:30:00Z"]


def test_a_partial_delivery_does_not_deliver_the_order(api, product):
    order = paid_order(api, product, ["PDLV-A", "PDLV-B"])
    fulfilment(dispatched(order, "shp_a", [("PDLV-A", 1)], order_shipped=False))
    fulfilment(delivered(order, "shp_a", order_delivered=False))
    got = order_of(api, order["order_id"])
    assert got["status"] == "fulfilling" and got["delivered_at"] is None


def test_an_exchange_parcel_does_not_change_the_order(api, product):
    order = paid_order(api, product, ["EXCH-1"], stock=3)
    fulfilment(dispatched(order))
    fulfilment(delivered(order))
    before = order_of(api, order["order_id"])
    fulfilment(dispatched(order, "shp_repl", order_shipped=True, replacement_for="ret_1"))
    fulfilment(delivered(order, "shp_repl", order_delivered=True, replacement_for="ret_1"))
    assert order_of(api, order["order_id"]) == before
    assert stock("EXCH-1") == {"sellable": 2, "reserved": 0, "in_promotions": 0}


def test_the_stock_snapshots_of_an_allocation_and_a_dispatch_update_the_warehouse_copy(api, product):
    order = paid_order(api, product, ["SNAP-1"], stock=5)  # the stock's snapshot has some small version

    def snap(version, on_hand, allocated_units):
        wh = WarehouseStock(
            warehouse="SH", on_hand=on_hand, allocated=allocated_units, available=on_hand - allocated_units
        )
        return StockSnapshot(sku="SNAP-1", version=version, warehouses=[wh])

    fulfilment(allocated(order, stock=[snap(1000, 5, 1)]))
    view = api("GET", "/admin/inventory/SNAP-1", user=ADMIN).body
    assert (view["on_hand"], view["allocated"], view["warehouse_version"]) == (5, 1, 1000)
    fulfilment(dispatched(order, stock=[snap(1001, 4, 0)]))
    fulfilment(allocated(order, stock=[snap(1000, 5, 1)]))  # the allocation again, late
    view = api("GET", "/admin/inventory/SNAP-1", user=ADMIN).body
    assert (view["on_hand"], view["allocated"], view["available"], view["warehouse_version"]) == (4, 0, 4, 1001)
    assert (view["sellable"], view["reserved"]) == (4, 0)


def test_an_order_not_paid_yet_is_not_moved_and_the_event_is_retried(api, product):
    product({"UNPAID-1": 5000}, stock=2)
    api("POST", "/cart/items", {"sku": "UNPAID-1", "quantity": 1}, user=SHOPPER)
    order = checkout(api, SHOPPER).body
    fulfilment(allocated(order), processed=False)
    assert order_of(api, order["order_id"])["status"] == "pending_payment"
