"""The shipping context's stock events keep the checkout's sellable stock and its copy of the warehouse stock right:
a movement's delta counts once, a loss of reserved units shows as short and stops sales, an older snapshot never
replaces a newer one, and the inventory view shows both (GET /admin/inventory/{sku})."""

from __future__ import annotations

import uuid

from functions.checkout.repository import sku_key
from functions.checkout.service import service
from functions.shipping.events import AllocationReleased, Line, StockMovementRecorded, StockSnapshot, WarehouseStock
from tests.conftest import ADMIN, CATALOG_STAFF, SHOPPER
from tests.integration.checkout.conftest import checkout, stock_sync


def snapshot(sku, version, **warehouses):
    """``snapshot("A", 3, SH=(10, 2))``: warehouse SH holds 10, 2 of them allocated."""
    return StockSnapshot(
        sku=sku,
        version=version,
        warehouses=[
            WarehouseStock(warehouse=code, on_hand=on_hand, allocated=allocated, available=on_hand - allocated)
            for code, (on_hand, allocated) in warehouses.items()
        ],
    )


def movement(sku, delta, stock, kind="inbound", movement_id=None):
    return StockMovementRecorded(
        movement_id=movement_id or f"mv_{uuid.uuid4().hex}",
        sku=sku,
        type=kind,
        sellable_delta=delta,
        stock=stock,
        reason="test",
        actor="staff@example.com",
    )


def view(api, sku):
    r = api("GET", f"/admin/inventory/{sku}", user=ADMIN)
    assert r.status == 200, r.body
    return r.body


def test_a_stock_movement_adds_to_sellable_stock_once_however_often_it_is_delivered(api, product):
    product({"SYNC-1": 5000}, stock=0)
    received = movement("SYNC-1", 7, snapshot("SYNC-1", 1, SH=(7, 0)))
    stock_sync(received)
    stock_sync(received)  # redelivered
    stock_sync(movement("SYNC-1", 7, snapshot("SYNC-1", 1, SH=(7, 0)), movement_id=received.movement_id))
    assert view(api, "SYNC-1")["sellable"] == 7
    marker = service().repo.get(sku_key("SYNC-1", f"MOVEMENT#{received.movement_id}"))
    assert marker is not None
    # The marker is kept for good: an EventBridge archive replay months later must not apply the movement again.
    assert "expires_at" not in marker


def test_units_lost_by_the_warehouses_take_sellable_stock_away(api, product):
    product({"SYNC-2": 5000}, stock=10)
    stock_sync(movement("SYNC-2", -4, snapshot("SYNC-2", 50, SH=(6, 0)), kind="outbound"))
    assert view(api, "SYNC-2")["sellable"] == 6


def test_a_loss_of_units_open_orders_reserved_shows_as_short_and_stops_every_sale(api, product):
    product({"SHORT-1": 5000}, stock=3)
    api("POST", "/cart/items", {"sku": "SHORT-1", "quantity": 2}, user=SHOPPER)
    assert checkout(api, SHOPPER).status == 201  # 2 reserved, 1 sellable
    stock_sync(movement("SHORT-1", -3, snapshot("SHORT-1", 50, SH=(0, 0)), kind="outbound"))  # all 3 units lost

    stock = view(api, "SHORT-1")
    assert (stock["sellable"], stock["short"], stock["reserved"]) == (0, 2, 2)
    api("POST", "/cart/items", {"sku": "SHORT-1", "quantity": 1}, user=SHOPPER)
    line = api("GET", "/cart", user=SHOPPER).body["lines"][0]
    assert (line["availability"], line["max_quantity"]) == ("out_of_stock", 0)
    refused = checkout(api, SHOPPER)
    assert refused.status == 409 and refused.body["error"]["code"] == "OUT_OF_STOCK"

    stock_sync(movement("SHORT-1", 5, snapshot("SHORT-1", 51, SH=(5, 0))))  # goods received
    stock = view(api, "SHORT-1")
    assert (stock["sellable"], stock["short"]) == (3, 0)
    assert checkout(api, SHOPPER).status == 201


def test_stock_for_a_sku_the_checkout_does_not_know_yet_waits_for_it(api, product):
    stock_sync(movement("LATE-1", 5, snapshot("LATE-1", 1, SH=(5, 0))))
    stock = service().repo.get(sku_key("LATE-1", "STOCK"))
    assert {k: stock[k] for k in ("sellable", "reserved", "in_promotions", "warehouse_version")} == {
        "sellable": 5,
        "reserved": 0,
        "in_promotions": 0,
        "warehouse_version": 1,
    }
    assert api("GET", "/admin/inventory/LATE-1", user=ADMIN).status == 404  # not in the catalogue yet

    product({"LATE-1": 5000}, stock=0)  # the catalogue's product arrives
    assert view(api, "LATE-1")["sellable"] == 5
    api("POST", "/cart/items", {"sku": "LATE-1", "quantity": 2}, user=SHOPPER)
    assert checkout(api, SHOPPER).status == 201
    assert (view(api, "LATE-1")["sellable"], view(api, "LATE-1")["reserved"]) == (3, 2)


def test_an_older_warehouse_snapshot_never_replaces_a_newer_one_but_its_movement_still_counts(api, product):
    product({"VER-1": 5000}, stock=0)
    stock_sync(movement("VER-1", 4, snapshot("VER-1", 2, SH=(5, 0))))
    stock_sync(movement("VER-1", 1, snapshot("VER-1", 1, SH=(1, 0))))  # recorded first, delivered late
    stock = view(api, "VER-1")
    assert stock["sellable"] == 5
    assert stock["warehouse_version"] == 2
    assert stock["warehouses"] == [{"warehouse": "SH", "on_hand": 5, "allocated": 0, "available": 5}]


def test_a_transfer_changes_where_the_units_are_but_not_how_many_can_be_sold(api, product):
    product({"XFER-1": 5000}, stock=0)
    stock_sync(movement("XFER-1", 10, snapshot("XFER-1", 1, SH=(10, 0))))
    stock_sync(movement("XFER-1", 0, snapshot("XFER-1", 2, SH=(6, 0), BJ=(4, 0)), kind="transfer"))
    stock = view(api, "XFER-1")
    assert stock["sellable"] == 10
    assert {w["warehouse"]: w["on_hand"] for w in stock["warehouses"]} == {"SH": 6, "BJ": 4}


def test_a_released_allocation_updates_the_warehouse_copy_only(api, product):
    product({"REL-1": 5000}, stock=0)
    stock_sync(movement("REL-1", 8, snapshot("REL-1", 1, SH=(8, 3))))
    released = AllocationReleased(order_id="ord_x", released=[Line(sku="REL-1", quantity=3)], stock=[])
    stock_sync(released.model_copy(update={"stock": [snapshot("REL-1", 2, SH=(8, 0))]}))
    stock = view(api, "REL-1")
    assert stock["sellable"] == 8  # the checkout released the order's reservation when it was cancelled
    assert (stock["allocated"], stock["available"], stock["warehouse_version"]) == (0, 8, 2)
    stock_sync(released.model_copy(update={"stock": [snapshot("REL-1", 1, SH=(8, 3))]}))  # an older one, late
    assert view(api, "REL-1")["allocated"] == 0


def test_the_inventory_view_sums_the_warehouses_and_says_when_it_has_no_copy_yet(api, product):
    product({"VIEW-1": 5000}, stock=0)
    assert view(api, "VIEW-1") == {
        "sku": "VIEW-1",
        "sellable": 0,
        "reserved": 0,
        "in_promotions": 0,
        "short": 0,
        "warehouses": [],
        "on_hand": 0,
        "allocated": 0,
        "available": 0,
        "warehouse_version": None,
    }
    stock_sync(movement("VIEW-1", 9, snapshot("VIEW-1", 7, SH=(10, 3), BJ=(4, 2))))
    stock = view(api, "VIEW-1")
    assert stock["warehouses"] == [
        {"warehouse": "SH", "on_hand": 10, "allocated": 3, "available": 7},
        {"warehouse": "BJ", "on_hand": 4, "allocated": 2, "available": 2},
    ]
    assert (stock["on_hand"], stock["allocated"], stock["available"], stock["warehouse_version"]) == (14, 5, 9, 7)
    assert api("GET", "/admin/inventory/VIEW-1", user=CATALOG_STAFF).status == 200


def test_the_inventory_view_is_for_staff_and_stock_movements_are_no_longer_a_checkout_route(api, product):
    product({"VIEW-2": 5000}, stock=1)
    assert api("GET", "/admin/inventory/VIEW-2", user=SHOPPER).status == 403
    from functions.manifest import PLATFORM

    owners = [c.name for c in PLATFORM.contexts for r in c.routes if r.path == "/admin/inventory/{sku}/movements"]
    assert "checkout" not in owners
