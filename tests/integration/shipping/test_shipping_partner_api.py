"""The partner routes of shipping: a logistics partner dispatches an allocated parcel
(POST /partner/v1/orders/{order_id}/shipments, scope ``shipments:write``) and a supplier or WMS reports stock
(POST /partner/v1/inventory/{sku}, scope ``inventory:write``). Same service, rules, ledger and events as the back
office, with the app as the actor; an Idempotency-Key is required, and a retry moves nothing twice."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import ADMIN, PARTNER_APP, App
from tests.integration.shipping.conftest import (
    ADDRESS,
    CARRIER,
    FULFILMENT_STAFF,
    assert_ledger_matches_stock,
    ledger,
    levels,
    outbox,
    paid_order,
    pay,
    shipments_of,
)

ACTOR = f"app:{PARTNER_APP.app_key}"
SHIPPER = App("app_01M8SXN5K8V9NXKHF8QBXSHIPS", ("shipments:write",))
READER = App("app_01M8SXN5K8V9NXKHF8QBXREADS", ("products:read", "orders:read"))


def key(n: int) -> dict[str, str]:
    return {"Idempotency-Key": f"partner-key-{n:04d}"}


def ship(api, order_id: str, tracking: str, app: App = PARTNER_APP, headers=None, **fields: Any):
    body = {"carrier": CARRIER, "tracking_number": tracking, **fields}
    return api("POST", f"/partner/v1/orders/{order_id}/shipments", body, app=app, headers=headers)


def report(api, sku: str = "SKU-A", app: App = PARTNER_APP, headers=None, **fields: Any):
    body = {"warehouse": "WH-SH", "reason": "WMS report", **fields}
    return api("POST", f"/partner/v1/inventory/{sku}", body, app=app, headers=headers)


def written(aws, api) -> tuple[Any, ...]:
    return ledger(api, "SKU-A"), ledger(api, "SKU-B"), outbox(aws)


@pytest.fixture
def allocated(warehouse, inbound) -> dict[str, Any]:
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 5)
    inbound("SKU-B", "WH-SH", 5)
    return pay(paid_order({"SKU-A": 2, "SKU-B": 1}))


# --- shipments ----------------------------------------------------------------------------------------------------


def test_a_partner_ships_an_allocated_order_as_staff_do_and_is_recorded_as_its_sender(aws, api, allocated):
    r = ship(api, allocated["order_id"], "SF500000001", headers=key(1))

    assert r.status == 201, r.body
    assert (r.body["status"], r.body["warehouse"], r.body["lines"]) == ("dispatched", "WH-SH", {"SKU-A": 2, "SKU-B": 1})
    assert r.body["dispatched_by"] == ACTOR
    assert levels(api, "SKU-A") == {"WH-SH": (3, 0, 3)}
    _, entries = ledger(api, "SKU-A")
    assert (entries[0]["kind"], entries[0]["delta"], entries[0]["actor"]) == ("dispatch", -2, ACTOR)
    assert_ledger_matches_stock(api, "SKU-A")
    assert_ledger_matches_stock(api, "SKU-B")
    (event,) = outbox(aws, "ShipmentDispatched")
    assert event["order_shipped"] is True and event["shipment_id"] == r.body["shipment_id"]
    staff_view = shipments_of(api, allocated["order_id"])
    assert [s["dispatched_by"] for s in staff_view["items"]] == [ACTOR]
    # A shipment carries none of the recipient's personal data.
    text = json.dumps(r.body, ensure_ascii=False)
    assert not any(ADDRESS[f] in text for f in ("recipient", "phone", "street"))


def test_a_retry_with_the_same_key_replays_the_first_shipment_and_another_body_writes_nothing(aws, api, allocated):
    order_id = allocated["order_id"]
    first = ship(api, order_id, "SF500000002", headers=key(2), lines=[{"sku": "SKU-A", "quantity": 1}])
    again = ship(api, order_id, "SF500000002", headers=key(2), lines=[{"sku": "SKU-A", "quantity": 1}])

    assert first.status == 201, first.body
    assert (again.status, again.headers.get("Idempotent-Replayed")) == (200, "true")
    assert again.body == first.body
    before = written(aws, api)
    other = ship(api, order_id, "SF500000003", headers=key(2), lines=[{"sku": "SKU-B", "quantity": 1}])
    assert other.status == 422 and other.body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert written(aws, api) == before
    assert len(outbox(aws, "ShipmentDispatched")) == 1
    assert levels(api, "SKU-A") == {"WH-SH": (4, 1, 3)}


def test_both_partner_writes_need_a_well_formed_idempotency_key(aws, api, allocated):
    before = written(aws, api)
    for headers in (None, {"Idempotency-Key": "short"}, {"Idempotency-Key": "bad key with spaces"}):
        shipped = ship(api, allocated["order_id"], "SF500000004", headers=headers)
        reported = report(api, type="inbound", quantity=1, headers=headers)
        assert (shipped.status, reported.status) == (400, 400), (headers, shipped.body, reported.body)
    assert written(aws, api) == before


def test_the_back_office_rules_hold_for_partners(aws, api, allocated):
    order_id = allocated["order_id"]
    before = written(aws, api)
    unknown = ship(api, "01M8SXN5K8V9NXKHF8QBX988RT", "SF500000005", headers=key(5))
    stranger = ship(api, order_id, "SF500000006", headers=key(6), lines=[{"sku": "SKU-Z", "quantity": 1}])
    too_many = ship(api, order_id, "SF500000007", headers=key(7), lines=[{"sku": "SKU-A", "quantity": 3}])
    assert (unknown.status, unknown.body["error"]["code"]) == (404, "ORDER_NOT_FOUND")
    assert (stranger.status, stranger.body["error"]["code"]) == (422, "LINE_NOT_IN_ORDER")
    assert (too_many.status, too_many.body["error"]["code"]) == (422, "MORE_THAN_ORDERED")
    assert written(aws, api) == before
    assert ship(api, order_id, "SF500000008", headers=key(8)).status == 201
    used = ship(api, pay(paid_order({"SKU-A": 1}))["order_id"], "SF500000008", headers=key(9))
    assert (used.status, used.body["error"]["code"]) == (409, "TRACKING_NUMBER_IN_USE")
    assert len(outbox(aws, "ShipmentDispatched")) == 1


def test_a_malformed_shipment_is_422_and_writes_nothing(aws, api, allocated):
    before = written(aws, api)
    bad = [
        {"tracking_number": "<script>alert(1)</script>"},
        {"tracking_number": "SF" + "1" * 60},
        {"tracking_number": "SF5000\u000000009"},
        {"carrier": "SF Express!"},
        {"carrier": "x" * 40},
        {"lines": [{"sku": "SKU-A", "quantity": -1}]},
        {"lines": [{"sku": "SKU-A", "quantity": "1"}]},
        {"lines": [{"sku": "SKU-A", "quantity": 1.5}]},
        {"lines": []},
        {"parcel_id": "P" * 40},
        {"shipped_by": "someone else"},
    ]
    for n, fields in enumerate(bad, start=10):
        r = ship(api, allocated["order_id"], "SF500000009", headers=key(n), **fields)
        assert r.status == 422, (fields, r.body)
        assert r.body["error"]["code"] == "VALIDATION_FAILED", fields
    assert written(aws, api) == before


# --- stock reports ------------------------------------------------------------------------------------------------


def test_partner_stock_reports_write_the_same_ledger_and_events_and_the_ledger_adds_up(aws, api, warehouse):
    warehouse("WH-SH")
    received = report(api, type="inbound", quantity=10, reference="DN-1", headers=key(30))
    gone = report(api, type="outbound", quantity=3, headers=key(31))
    counted = report(api, type="adjustment", counted=9, headers=key(32))

    assert (received.status, gone.status, counted.status) == (201, 201, 201), (received.body, gone.body, counted.body)
    assert [e["delta"] for r in (received, gone, counted) for e in r.body["entries"]] == [10, -3, 2]
    assert {e["actor"] for r in (received, gone, counted) for e in r.body["entries"]} == {ACTOR}
    assert received.body["entries"][0]["reference"] == "DN-1"
    assert assert_ledger_matches_stock(api, "SKU-A")["on_hand"] == 9
    events = outbox(aws, "StockMovementRecorded")
    assert [(e["type"], e["sellable_delta"], e["actor"]) for e in events[-3:]] == [
        ("inbound", 10, ACTOR),
        ("outbound", -3, ACTOR),
        ("adjustment", 2, ACTOR),
    ]


def test_a_stock_report_retried_replays_and_moves_once_and_another_body_moves_nothing(aws, api, warehouse):
    warehouse("WH-SH")
    first = report(api, type="inbound", quantity=4, headers=key(40))
    again = report(api, type="inbound", quantity=4, headers=key(40))
    other = report(api, type="inbound", quantity=5, headers=key(40))

    assert first.status == 201, first.body
    assert (again.status, again.headers.get("Idempotent-Replayed"), again.body) == (200, "true", first.body)
    assert other.status == 422 and other.body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert levels(api, "SKU-A") == {"WH-SH": (4, 0, 4)}
    assert len(outbox(aws, "StockMovementRecorded")) == 1
    assert_ledger_matches_stock(api, "SKU-A")


def test_stock_rules_hold_for_partners_and_refusals_move_nothing(aws, api, warehouse, allocated):
    before = written(aws, api)
    beyond = report(api, type="outbound", quantity=4, headers=key(50))  # 5 on hand, 2 allocated
    below = report(api, type="adjustment", counted=1, headers=key(51))
    unknown = report(api, type="inbound", quantity=1, warehouse="WH-NOPE", headers=key(52))
    assert (beyond.status, beyond.body["error"]["code"]) == (409, "INSUFFICIENT_STOCK")
    assert (below.status, below.body["error"]["code"]) == (409, "STOCK_ALLOCATED")
    assert (unknown.status, unknown.body["error"]["code"]) == (422, "WAREHOUSE_NOT_FOUND")
    assert written(aws, api) == before


def test_a_malformed_stock_report_is_422_and_moves_nothing(aws, api, warehouse):
    warehouse("WH-SH")
    warehouse("WH-BJ", region="Beijing")
    before = written(aws, api)
    bad = [
        {"type": "transfer", "quantity": 1, "to_warehouse": "WH-BJ"},  # transfers stay with staff
        {"type": "inbound", "quantity": 1, "to_warehouse": "WH-BJ"},
        {"type": "inbound", "quantity": -3},
        {"type": "inbound", "quantity": 0},
        {"type": "inbound", "quantity": "3"},
        {"type": "inbound", "quantity": 2_000_000},
        {"type": "adjustment", "counted": -1},
        {"type": "adjustment", "quantity": 2},
        {"type": "inbound", "quantity": 1, "warehouse": "wh sh"},
        {"type": "inbound", "quantity": 1, "reason": "r" * 201},
        {"type": "inbound", "quantity": 1, "reason": "<b>received</b>"},
        {"type": "inbound", "quantity": 1, "reference": "DN\u202e1"},
        {"type": "inbound", "quantity": 1, "reference": "DN\x071"},
        {"type": "inbound", "quantity": 1, "actor": "someone else"},
    ]
    for n, fields in enumerate(bad, start=60):
        r = report(api, headers=key(n), **fields)
        assert r.status == 422, (fields, r.body)
        assert r.body["error"]["code"] == "VALIDATION_FAILED", fields
    bad_sku = report(api, sku="SKU%20A", type="inbound", quantity=1, headers=key(99))
    assert bad_sku.status == 422, bad_sku.body
    assert written(aws, api) == before


# --- who may call -------------------------------------------------------------------------------------------------


def test_only_a_signed_app_with_the_routes_scope_gets_in_and_nothing_is_written(aws, api, allocated):
    before = written(aws, api)
    order_id = allocated["order_id"]
    assert ship(api, order_id, "SF500000100", app=None, headers=key(100)).status == 401
    assert report(api, type="inbound", quantity=1, app=None, headers=key(101)).status == 401
    # A staff token is no signature: 401, as API Gateway's partner authorizer answers (test_role_matrix.py).
    for user in (ADMIN, FULFILMENT_STAFF):
        body = {"carrier": CARRIER, "tracking_number": "SF500000101"}
        path = f"/partner/v1/orders/{order_id}/shipments"
        assert api("POST", path, body, user=user, headers=key(105)).status == 401
        body = {"type": "inbound", "warehouse": "WH-SH", "quantity": 1, "reason": "x"}
        assert api("POST", "/partner/v1/inventory/SKU-A", body, user=user, headers=key(106)).status == 401
    for r in (
        ship(api, order_id, "SF500000102", app=READER, headers=key(102)),
        report(api, type="inbound", quantity=1, app=READER, headers=key(103)),
        report(api, type="inbound", quantity=1, app=SHIPPER, headers=key(104)),
    ):
        assert r.status == 403 and r.body["error"]["code"] == "FORBIDDEN", r.body
    assert written(aws, api) == before
