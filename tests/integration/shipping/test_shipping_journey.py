"""A paid order through allocation, dispatch, carrier events, delivery and a return, over the handlers."""

from __future__ import annotations

from typing import Any

from tests.conftest import ADMIN, OTHER_SHOPPER, SHOPPER
from tests.integration.shipping.conftest import outbox, paid_order, pay


def test_a_paid_order_is_allocated_shipped_delivered_and_returned(aws: Any, api, warehouse, inbound, callback) -> None:
    warehouse("WH-SH", region="Shanghai")
    warehouse("WH-BJ", region="Beijing", priority=10)
    inbound("SKU-A", "WH-SH", 5)
    inbound("SKU-A", "WH-BJ", 5)
    order = pay(paid_order({"SKU-A": 2}))

    view = api("GET", f"/orders/{order['order_id']}/shipments", user=SHOPPER)
    assert view.status == 200, view.body
    assert view.body["status"] == "allocated"
    assert [p["warehouse"] for p in view.body["parcels"]] == ["WH-SH"]  # same region beats better priority
    assert api("GET", f"/orders/{order['order_id']}/shipments", user=OTHER_SHOPPER).status == 404

    shipped = api(
        "POST",
        f"/admin/orders/{order['order_id']}/shipments",
        {"carrier": "sf-express", "tracking_number": "SF100200300"},
        user=ADMIN,
    )
    assert shipped.status == 201, shipped.body
    events = outbox(aws, "ShipmentDispatched")
    assert events[-1]["order_shipped"] is True
    stock = api("GET", "/admin/inventory/SKU-A/movements", user=ADMIN).body["stock"]
    assert {w["warehouse"]: w["on_hand"] for w in stock["warehouses"]} == {"WH-SH": 3, "WH-BJ": 5}

    r = callback("SF100200300", ("in_transit", "2026-12-01T10:00:00Z"))
    assert r.status == 200, r.body
    r = callback("SF100200300", ("delivered", "2026-12-02T10:00:00Z"), ("out_for_delivery", "2026-12-02T08:00:00Z"))
    assert r.status == 200, r.body
    assert callback("SF100200300", ("in_transit", "2026-12-01T10:00:00Z")).body["outcome"] == "duplicate"
    delivered = outbox(aws, "ShipmentDelivered")
    assert len(delivered) == 1 and delivered[0]["order_delivered"] is True

    ret = api(
        "POST",
        f"/orders/{order['order_id']}/returns",
        {"kind": "return", "reason": "too big", "lines": [{"sku": "SKU-A", "quantity": 1}]},
        user=SHOPPER,
    )
    assert ret.status == 201, ret.body
    assert ret.body["refund"] == {"amount": 1000, "currency": "CNY"}
    return_id = ret.body["return_id"]
    again = api(
        "POST",
        f"/orders/{order['order_id']}/returns",
        {"kind": "return", "reason": "again", "lines": [{"sku": "SKU-A", "quantity": 2}]},
        user=SHOPPER,
    )
    assert again.status == 422, again.body
    assert api("POST", f"/admin/returns/{return_id}/approve", {}, user=ADMIN).status == 200
    received = api("POST", f"/admin/returns/{return_id}/receive", {"condition": "resellable"}, user=ADMIN)
    assert received.status == 200, received.body
    assert received.body["status"] == "received"
    stock = api("GET", "/admin/inventory/SKU-A/movements", user=ADMIN).body
    assert {w["warehouse"]: w["on_hand"] for w in stock["stock"]["warehouses"]} == {"WH-SH": 4, "WH-BJ": 5}
    assert sum(e["delta"] for e in stock["items"]) == 9
    assert outbox(aws, "ReturnReceived")[-1]["refund"] == {"amount": 1000, "currency": "CNY"}
