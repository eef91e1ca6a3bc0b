"""DynamoDB's and the business's limits: a shipment or a return that could not be written in one transaction is
refused up front, a chatty carrier cannot grow a shipment past an item's size, impossible carrier times are not
believed, and a cancelled order takes no returns."""

from __future__ import annotations

from typing import Any

from tests.conftest import ADMIN, SHOPPER
from tests.integration.shipping.conftest import cancel, carrier_time, paid_order, pay, ship, shipments_of


def test_a_parcel_of_more_than_45_skus_must_be_shipped_in_parts(api, warehouse, inbound) -> None:
    warehouse("WH-SH")
    lines = {f"SKU-{i:02d}": 1 for i in range(46)}
    for sku in lines:
        inbound(sku, "WH-SH", 1)
    order = pay(paid_order(lines))

    whole = ship(api, order["order_id"], "SF000000901")
    assert whole.status == 422, whole.body
    assert whole.body["error"]["code"] == "TOO_MANY_LINES"

    first = [{"sku": s, "quantity": 1} for s in list(lines)[:45]]
    assert ship(api, order["order_id"], "SF000000902", lines=first).status == 201
    assert ship(api, order["order_id"], "SF000000903").status == 201  # the one SKU left
    assert all(not p["lines"] or p["shipped"] == p["lines"] for p in shipments_of(api, order["order_id"])["parcels"])


def test_a_return_of_more_than_30_lines_is_refused_before_anything_is_written(api) -> None:
    body = {"kind": "return", "reason": "all of it", "lines": [{"sku": f"SKU-{i}", "quantity": 1} for i in range(31)]}
    r = api("POST", "/orders/ord_x/returns", body, user=SHOPPER)
    assert r.status == 422, r.body


def test_a_carrier_that_sends_thousands_of_scans_keeps_the_newest_and_the_delivery(
    api, warehouse, inbound, callback
) -> None:
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 1)
    order = pay(paid_order({"SKU-A": 1}))
    assert ship(api, order["order_id"], "SF000000910").status == 201
    assert callback("SF000000910", ("delivered", carrier_time(1))).status == 200
    for batch in range(3):
        scans = [("in_transit", carrier_time(5 + batch + i / 1000)) for i in range(100)]
        assert callback("SF000000910", *scans).status == 200

    shipment = shipments_of(api, order["order_id"])["items"][0]
    assert len(shipment["timeline"]) <= 201
    assert shipment["status"] == "delivered"
    assert any(e["status"] == "delivered" for e in shipment["timeline"])


def test_a_carrier_time_far_in_the_future_is_refused(api, warehouse, inbound, callback) -> None:
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 1)
    order = pay(paid_order({"SKU-A": 1}))
    assert ship(api, order["order_id"], "SF000000920").status == 201

    r = callback("SF000000920", ("delivered", "9999-12-31T23:00:00+00:00"))

    assert r.status == 422, r.body
    assert shipments_of(api, order["order_id"])["items"][0]["status"] == "dispatched"


def test_a_cancelled_order_takes_no_return(api, warehouse, inbound, callback) -> None:
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 1)
    order = pay(paid_order({"SKU-A": 1}))
    assert ship(api, order["order_id"], "SF000000930").status == 201
    cancel(order)  # the checkout cancelled (and refunded) before it heard of the dispatch
    assert callback("SF000000930", ("delivered", carrier_time(1))).status == 200

    body: dict[str, Any] = {"kind": "exchange", "reason": "free goods?", "lines": [{"sku": "SKU-A", "quantity": 1}]}
    r = api("POST", f"/orders/{order['order_id']}/returns", body, user=SHOPPER)

    assert r.status == 409, r.body
    assert r.body["error"]["code"] == "ORDER_CANCELLED"


def test_the_shopper_does_not_see_which_staff_member_shipped_the_parcel(api, warehouse, inbound) -> None:
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 1)
    order = pay(paid_order({"SKU-A": 1}))
    assert ship(api, order["order_id"], "SF000000940").status == 201

    mine = api("GET", f"/orders/{order['order_id']}/shipments", user=SHOPPER).body["items"][0]
    theirs = shipments_of(api, order["order_id"], user=ADMIN)["items"][0]

    assert mine["dispatched_by"] == ""
    assert theirs["dispatched_by"] != ""
