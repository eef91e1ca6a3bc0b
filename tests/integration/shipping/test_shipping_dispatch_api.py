"""POST /admin/orders/{order_id}/shipments: an allocated parcel leaves its warehouse with a carrier. On hand and
allocated go down (ledger ``dispatch``); ShipmentDispatched says when the whole order has left. Lines not in the
order, more than is left, an order not allocated or cancelled, a tracking number the carrier already used, or an
ambiguous parcel are refused and nothing moves."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import CATALOG_STAFF, SHOPPER
from tests.integration.shipping.conftest import (
    FULFILMENT_STAFF,
    assert_ledger_matches_stock,
    cancel,
    ledger,
    levels,
    outbox,
    paid_order,
    pay,
    ship,
    shipments_of,
)


def dispatched(aws) -> list[dict[str, Any]]:
    return outbox(aws, "ShipmentDispatched")


@pytest.fixture
def one_parcel(warehouse, inbound) -> dict[str, Any]:
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 5)
    inbound("SKU-B", "WH-SH", 5)
    return pay(paid_order({"SKU-A": 2, "SKU-B": 1}))


@pytest.fixture
def two_parcels(warehouse, inbound) -> dict[str, Any]:
    warehouse("WH-SH", region="Shanghai")
    warehouse("WH-BJ", region="Beijing")
    inbound("SKU-A", "WH-SH", 2)
    inbound("SKU-B", "WH-BJ", 3)
    return pay(paid_order({"SKU-A": 2, "SKU-B": 3}))


def parcel_in(api, order: dict[str, Any], warehouse: str) -> dict[str, Any]:
    return next(p for p in shipments_of(api, order["order_id"])["parcels"] if p["warehouse"] == warehouse)


def nothing_moved(aws, api, before: tuple[Any, ...]) -> None:
    assert (ledger(api, "SKU-A"), ledger(api, "SKU-B"), dispatched(aws)) == before


def snapshot(aws, api) -> tuple[Any, ...]:
    return ledger(api, "SKU-A"), ledger(api, "SKU-B"), dispatched(aws)


def test_shipping_the_only_parcel_ships_the_whole_order_and_takes_the_units_off_the_shelf(aws, api, one_parcel):
    order_id = one_parcel["order_id"]

    r = ship(api, order_id, "SF100200300", user=FULFILMENT_STAFF)

    assert r.status == 201, r.body
    assert (r.body["status"], r.body["warehouse"], r.body["carrier"]) == ("dispatched", "WH-SH", "sf-express")
    assert r.body["lines"] == {"SKU-A": 2, "SKU-B": 1}
    assert r.body["dispatched_by"] == FULFILMENT_STAFF.sub
    assert levels(api, "SKU-A") == {"WH-SH": (3, 0, 3)}
    assert levels(api, "SKU-B") == {"WH-SH": (4, 0, 4)}
    _, entries = ledger(api, "SKU-A")
    assert (entries[0]["kind"], entries[0]["delta"], entries[0]["movement_id"]) == (
        "dispatch",
        -2,
        r.body["shipment_id"],
    )
    assert_ledger_matches_stock(api, "SKU-A")
    assert_ledger_matches_stock(api, "SKU-B")
    (event,) = dispatched(aws)
    assert event["order_shipped"] is True
    assert (event["shipment_id"], event["tracking_number"]) == (r.body["shipment_id"], "SF100200300")
    assert event["lines"] == [{"sku": "SKU-A", "quantity": 2}, {"sku": "SKU-B", "quantity": 1}]
    assert {s["sku"]: s["warehouses"][0]["on_hand"] for s in event["stock"]} == {"SKU-A": 3, "SKU-B": 4}
    assert outbox(aws, "StockMovementRecorded")[-1]["type"] == "inbound"  # a dispatch is not a sellable change
    view = shipments_of(api, order_id, user=SHOPPER)
    assert [s["shipment_id"] for s in view["items"]] == [r.body["shipment_id"]]
    assert view["parcels"][0]["shipped"] == {"SKU-A": 2, "SKU-B": 1}


def test_a_split_order_ships_parcel_by_parcel_and_is_shipped_only_with_the_last(aws, api, two_parcels):
    order_id = two_parcels["order_id"]
    sh, bj = parcel_in(api, two_parcels, "WH-SH"), parcel_in(api, two_parcels, "WH-BJ")

    first = ship(api, order_id, "SF000000001", parcel_id=bj["parcel_id"])
    assert first.status == 201, first.body
    assert (first.body["warehouse"], first.body["lines"]) == ("WH-BJ", {"SKU-B": 3})
    assert [e["order_shipped"] for e in dispatched(aws)] == [False]
    assert levels(api, "SKU-B") == {"WH-BJ": (0, 0, 0)}
    assert levels(api, "SKU-A") == {"WH-SH": (2, 2, 0)}

    second = ship(api, order_id, "SF000000002", parcel_id=sh["parcel_id"])
    assert second.status == 201, second.body
    assert second.body["warehouse"] == "WH-SH"
    assert [e["order_shipped"] for e in dispatched(aws)] == [False, True]
    assert levels(api, "SKU-A") == {"WH-SH": (0, 0, 0)}
    assert len(shipments_of(api, order_id)["items"]) == 2
    assert_ledger_matches_stock(api, "SKU-A")
    assert_ledger_matches_stock(api, "SKU-B")


def test_the_lines_choose_the_parcel_when_no_parcel_is_named(api, two_parcels):
    r = ship(api, two_parcels["order_id"], "SF000000003", lines=[{"sku": "sku-b", "quantity": 3}])
    assert r.status == 201, r.body
    assert (r.body["warehouse"], r.body["lines"]) == ("WH-BJ", {"SKU-B": 3})


def test_a_parcel_may_leave_in_parts_and_the_order_is_shipped_with_the_last_part(aws, api, one_parcel):
    order_id = one_parcel["order_id"]

    part = ship(api, order_id, "SF000000010", lines=[{"sku": "SKU-A", "quantity": 1}])
    rest = ship(api, order_id, "SF000000011")

    assert (part.status, rest.status) == (201, 201), (part.body, rest.body)
    assert rest.body["lines"] == {"SKU-A": 1, "SKU-B": 1}
    assert [e["order_shipped"] for e in dispatched(aws)] == [False, True]
    assert levels(api, "SKU-A") == {"WH-SH": (3, 0, 3)}


def test_two_parcels_and_neither_lines_nor_a_parcel_named_is_refused(aws, api, two_parcels):
    before = snapshot(aws, api)

    r = ship(api, two_parcels["order_id"], "SF000000004")

    assert r.status == 422, r.body
    assert r.body["error"]["code"] == "PARCEL_REQUIRED"
    assert {d["warehouse"] for d in r.body["error"]["details"]} == {"WH-SH", "WH-BJ"}
    nothing_moved(aws, api, before)


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"lines": [{"sku": "SKU-Z", "quantity": 1}]}, 422, "LINE_NOT_IN_ORDER"),
        ({"lines": [{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-Z", "quantity": 1}]}, 422, "LINE_NOT_IN_ORDER"),
        ({"lines": [{"sku": "SKU-A", "quantity": 3}]}, 422, "MORE_THAN_ORDERED"),
        ({"lines": [{"sku": "SKU-A", "quantity": 2}, {"sku": "SKU-B", "quantity": 2}]}, 422, "MORE_THAN_ORDERED"),
        ({"parcel_id": "P9"}, 422, "PARCEL_NOT_FOUND"),
        ({"parcel_id": "P1", "lines": [{"sku": "SKU-B", "quantity": 2}]}, 422, "MORE_THAN_ORDERED"),
        ({"lines": [{"sku": "SKU-A", "quantity": -1}]}, 422, "VALIDATION_FAILED"),
        ({"lines": [{"sku": "SKU-A", "quantity": 1.5}]}, 422, "VALIDATION_FAILED"),
        ({"lines": [{"sku": "SKU-A", "quantity": 0}]}, 422, "VALIDATION_FAILED"),
        ({"carrier": "SF Express"}, 422, "VALIDATION_FAILED"),
        ({"tracking_number": "x"}, 422, "VALIDATION_FAILED"),
    ],
)
def test_a_shipment_the_order_cannot_have_is_refused_and_nothing_moves(aws, api, one_parcel, fields, status, code):
    before = snapshot(aws, api)

    r = ship(api, one_parcel["order_id"], fields.pop("tracking_number", "SF000000005"), **fields)

    assert r.status == status, r.body
    assert r.body["error"]["code"] == code
    nothing_moved(aws, api, before)
    assert shipments_of(api, one_parcel["order_id"])["items"] == []


def test_more_than_is_left_after_a_first_part_is_refused(api, one_parcel):
    assert ship(api, one_parcel["order_id"], "SF000000020", lines=[{"sku": "SKU-A", "quantity": 2}]).status == 201

    r = ship(api, one_parcel["order_id"], "SF000000021", lines=[{"sku": "SKU-A", "quantity": 1}])

    assert r.status == 422, r.body
    assert r.body["error"]["code"] == "MORE_THAN_ORDERED"
    assert levels(api, "SKU-A") == {"WH-SH": (3, 0, 3)}


def test_a_parcel_that_has_shipped_cannot_ship_again(aws, api, one_parcel):
    assert ship(api, one_parcel["order_id"], "SF000000030").status == 201
    before = snapshot(aws, api)

    named = ship(api, one_parcel["order_id"], "SF000000031", parcel_id="P1")

    assert named.status == 409, named.body
    assert named.body["error"]["code"] == "PARCEL_SHIPPED"
    nothing_moved(aws, api, before)


def test_shipping_an_order_that_has_wholly_shipped_is_a_conflict(aws, api, one_parcel):
    assert ship(api, one_parcel["order_id"], "SF000000032").status == 201
    before = snapshot(aws, api)

    again = ship(api, one_parcel["order_id"], "SF000000033")

    # The order's state forbids it (DESIGN.md §4: 409), as for a named parcel that shipped; not a 422 that asks
    # for a parcel id when there is no parcel left to name.
    assert again.status == 409, again.body
    nothing_moved(aws, api, before)


def test_an_order_that_waits_for_stock_cannot_ship(api, warehouse):
    warehouse("WH-SH")
    order = pay(paid_order({"SKU-A": 1}))

    r = ship(api, order["order_id"], "SF000000040")

    assert r.status == 409, r.body
    assert r.body["error"]["code"] == "ORDER_NOT_ALLOCATED"


def test_an_order_shipping_never_heard_of_is_not_found(api, warehouse):
    r = ship(api, "no-such-order", "SF000000041")
    assert r.status == 404, r.body
    assert r.body["error"]["code"] == "ORDER_NOT_FOUND"


def test_a_cancelled_order_cannot_ship(aws, api, one_parcel):
    cancel(one_parcel)
    before = snapshot(aws, api)

    r = ship(api, one_parcel["order_id"], "SF000000042")

    assert r.status == 409, r.body
    assert r.body["error"]["code"] == "ORDER_CANCELLED"
    nothing_moved(aws, api, before)


def test_a_tracking_number_the_carrier_already_used_is_a_conflict_and_nothing_moves(aws, api, warehouse, inbound):
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 5)
    first = pay(paid_order({"SKU-A": 1}))
    second = pay(paid_order({"SKU-A": 1}))
    assert ship(api, first["order_id"], "SF777000777").status == 201
    before = (ledger(api, "SKU-A"), dispatched(aws))

    again = ship(api, second["order_id"], "sf777000777")  # tracking numbers are the same whatever their case

    assert again.status == 409, again.body
    assert again.body["error"]["code"] == "TRACKING_NUMBER_IN_USE"
    assert (ledger(api, "SKU-A"), dispatched(aws)) == before
    assert shipments_of(api, second["order_id"])["items"] == []
    assert ship(api, second["order_id"], "SF777000777", carrier="yto").status == 201  # another carrier's number


def test_the_same_tracking_number_twice_on_one_order_is_a_conflict(api, two_parcels):
    assert ship(api, two_parcels["order_id"], "SF000000050", lines=[{"sku": "SKU-A", "quantity": 2}]).status == 201
    r = ship(api, two_parcels["order_id"], "SF000000050", lines=[{"sku": "SKU-B", "quantity": 3}])
    assert r.status == 409, r.body
    assert r.body["error"]["code"] == "TRACKING_NUMBER_IN_USE"
    assert levels(api, "SKU-B") == {"WH-BJ": (3, 3, 0)}


@pytest.mark.parametrize(("user", "status"), [(SHOPPER, 403), (CATALOG_STAFF, 403), (None, 401)])
def test_only_fulfilment_staff_and_admins_ship(aws, api, one_parcel, user, status):
    before = snapshot(aws, api)
    r = ship(api, one_parcel["order_id"], "SF000000060", user=user)
    assert r.status == status, r.body
    nothing_moved(aws, api, before)


def test_catalog_staff_cannot_see_an_orders_shipments(api, one_parcel):
    assert api("GET", f"/admin/orders/{one_parcel['order_id']}/shipments", user=CATALOG_STAFF).status == 403


# --- Idempotency-Key ----------------------------------------------------------------------------------------------


def test_a_shipment_retried_with_the_same_key_replays_the_first_and_ships_once(aws, api, one_parcel):
    key = {"Idempotency-Key": "ship-0001-abc"}

    first = ship(api, one_parcel["order_id"], "SF000000070", headers=key)
    again = ship(api, one_parcel["order_id"], "SF000000070", headers=key)

    assert first.status == 201, first.body
    assert again.status == 200, again.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.body == first.body
    assert len(dispatched(aws)) == 1
    assert levels(api, "SKU-A") == {"WH-SH": (3, 0, 3)}
    assert len(shipments_of(api, one_parcel["order_id"])["items"]) == 1


def test_a_shipment_key_reused_with_another_body_is_refused(aws, api, two_parcels):
    key = {"Idempotency-Key": "ship-0002-abc"}
    assert ship(api, two_parcels["order_id"], "SF000000071", headers=key, parcel_id="P1").status == 201

    other = ship(api, two_parcels["order_id"], "SF000000072", headers=key, parcel_id="P2")

    assert other.status == 422, other.body
    assert other.body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(dispatched(aws)) == 1


# --- a read that another request overtook -------------------------------------------------------------------------


def read_partition(order_id: str) -> Any:
    from functions.shipping.service import service

    return service().repo.order_partition(order_id)


def next_read_returns(monkeypatch: pytest.MonkeyPatch, stale: Any) -> None:
    """The next read of an order's partition returns ``stale``, as if this request had read it just before another
    request changed it; the reads after it see the truth."""
    from functions.shipping.repository import DynamoShippingRepository

    real = DynamoShippingRepository.order_partition
    pending = [stale]
    monkeypatch.setattr(
        DynamoShippingRepository, "order_partition", lambda self, oid: pending.pop() if pending else real(self, oid)
    )


def test_a_shipment_that_read_the_parcel_just_before_it_left_is_told_the_parcel_shipped(
    aws, api, one_parcel, monkeypatch
):
    """Two terminals ship the same parcel: the second read the order before the first committed, and the stock
    after. It must decide again on a fresh read (409 PARCEL_SHIPPED), not fail on the stock's arithmetic."""
    order_id = one_parcel["order_id"]
    before_first = read_partition(order_id)
    assert ship(api, order_id, "SF000000080", parcel_id="P1").status == 201
    before = snapshot(aws, api)
    next_read_returns(monkeypatch, before_first)

    late = ship(api, order_id, "SF000000081", parcel_id="P1")

    assert late.status == 409, late.body
    assert late.body["error"]["code"] == "PARCEL_SHIPPED"
    nothing_moved(aws, api, before)
