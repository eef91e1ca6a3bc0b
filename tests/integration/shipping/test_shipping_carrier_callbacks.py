"""POST /callbacks/carriers/{carrier}: signed tracking events. A bad or stale signature is 401 and an unknown
carrier or tracking number 404, before anything changes; duplicates and events out of order are absorbed (carrier
time decides, ``delivered`` is final); the shopper sees the timeline in carrier time; the order is delivered only
when every parcel is."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from functions.shipping import service as shipping_service
from functions.shipping.service import carrier_signature
from tests.conftest import SHOPPER
from tests.integration.shipping.conftest import (
    CARRIER,
    CARRIER_SECRET,
    carrier_time,
    outbox,
    paid_order,
    pay,
    ship,
    shipments_of,
)

TRACKING = "SF100200300"


@pytest.fixture
def shipped(api, warehouse, inbound, carrier_secret) -> dict[str, Any]:
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 5)
    order = pay(paid_order({"SKU-A": 1}))
    assert ship(api, order["order_id"], TRACKING).status == 201
    return order


@pytest.fixture
def split_shipped(api, warehouse, inbound, carrier_secret) -> dict[str, Any]:
    warehouse("WH-SH", region="Shanghai")
    warehouse("WH-BJ", region="Beijing")
    inbound("SKU-A", "WH-SH", 1)
    inbound("SKU-B", "WH-BJ", 1)
    order = pay(paid_order({"SKU-A": 1, "SKU-B": 1}))
    assert ship(api, order["order_id"], "SF000000001", lines=[{"sku": "SKU-A", "quantity": 1}]).status == 201
    assert ship(api, order["order_id"], "SF000000002", lines=[{"sku": "SKU-B", "quantity": 1}]).status == 201
    return order


def signed(api, body: str, carrier: str = CARRIER, secret: str = CARRIER_SECRET, ts: str | None = None, **headers):
    ts = ts if ts is not None else str(int(time.time()))
    sent = {"X-Carrier-Timestamp": ts, "X-Carrier-Signature": carrier_signature(secret, ts, body.encode()), **headers}
    return api("POST", f"/callbacks/carriers/{carrier}", headers=sent, raw_body=body)


def one_event(tracking: str = TRACKING, status: str = "in_transit", at: str | None = None) -> str:
    event = {"event_id": f"ev-{status}", "status": status, "occurred_at": at or carrier_time(1), "location": "Hub"}
    return json.dumps({"tracking_number": tracking, "events": [event]})


def the_shipment(api, order: dict[str, Any], n: int = 0) -> dict[str, Any]:
    return dict(shipments_of(api, order["order_id"])["items"][n])


def tracking_events(aws) -> list[dict[str, Any]]:
    return outbox(aws, "ShipmentStatusChanged") + outbox(aws, "ShipmentDelivered")


def test_a_signed_in_transit_scan_moves_the_shipment_and_is_published_with_carrier_time(aws, api, shipped, callback):
    at = carrier_time(3)

    r = callback(TRACKING, ("in_transit", at))

    assert r.status == 200, r.body
    assert r.body == {"received": True, "outcome": "in_transit"}
    shipment = the_shipment(api, shipped)
    assert shipment["status"] == "in_transit"
    assert [(e["status"], e["location"]) for e in shipment["timeline"]] == [("in_transit", "Hub")]
    (event,) = outbox(aws, "ShipmentStatusChanged")
    assert (event["order_id"], event["shipment_id"], event["status"]) == (
        shipped["order_id"],
        shipment["shipment_id"],
        "in_transit",
    )
    assert event["occurred_at_carrier"] == shipment["timeline"][0]["occurred_at"]
    assert event["location"] == "Hub"


def test_a_callback_signed_with_another_secret_is_refused_and_changes_nothing(aws, api, shipped):
    r = signed(api, one_event(), secret="not-the-secret")

    assert r.status == 401, r.body
    assert r.body["error"]["code"] == "SIGNATURE_INVALID"
    assert the_shipment(api, shipped)["status"] == "dispatched"
    assert tracking_events(aws) == []


def test_a_callback_whose_body_was_changed_after_signing_is_refused(aws, api, shipped):
    ts = str(int(time.time()))
    body = one_event()
    headers = {"X-Carrier-Timestamp": ts, "X-Carrier-Signature": carrier_signature(CARRIER_SECRET, ts, body.encode())}

    r = api("POST", f"/callbacks/carriers/{CARRIER}", headers=headers, raw_body=one_event(status="delivered"))

    assert r.status == 401, r.body
    assert the_shipment(api, shipped)["status"] == "dispatched"


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_a_callback_with_a_stale_timestamp_is_refused_even_when_correctly_signed(aws, api, shipped, offset):
    r = signed(api, one_event(), ts=str(int(time.time()) + offset))

    assert r.status == 401, r.body
    assert r.body["error"]["code"] == "SIGNATURE_EXPIRED"
    assert the_shipment(api, shipped)["status"] == "dispatched"
    assert tracking_events(aws) == []


@pytest.mark.parametrize("missing", ["X-Carrier-Timestamp", "X-Carrier-Signature"])
def test_a_callback_without_its_signature_headers_is_refused(aws, api, shipped, missing):
    ts = str(int(time.time()))
    body = one_event()
    headers = {"X-Carrier-Timestamp": ts, "X-Carrier-Signature": carrier_signature(CARRIER_SECRET, ts, body.encode())}
    del headers[missing]

    r = api("POST", f"/callbacks/carriers/{CARRIER}", headers=headers, raw_body=body)

    assert r.status == 401, r.body
    assert r.body["error"]["code"] == "SIGNATURE_MISSING"
    assert the_shipment(api, shipped)["status"] == "dispatched"


def test_a_timestamp_header_of_non_ascii_digits_is_refused_not_a_server_error(aws, api, shipped):
    body = one_event()
    headers = {"X-Carrier-Timestamp": "\u00b2", "X-Carrier-Signature": carrier_signature(CARRIER_SECRET, "\u00b2", b"")}

    r = api("POST", f"/callbacks/carriers/{CARRIER}", headers=headers, raw_body=body)

    assert r.status == 401, r.body
    assert the_shipment(api, shipped)["status"] == "dispatched"


def test_a_signature_header_that_is_not_ascii_is_refused_not_a_server_error(aws, api, shipped):
    body = one_event()
    headers = {"X-Carrier-Timestamp": str(int(time.time())), "X-Carrier-Signature": "\u00e9" * 64}

    r = api("POST", f"/callbacks/carriers/{CARRIER}", headers=headers, raw_body=body)

    assert r.status == 401, r.body
    assert the_shipment(api, shipped)["status"] == "dispatched"


def test_a_callback_from_a_carrier_we_do_not_work_with_is_not_found(aws, api, shipped):
    r = signed(api, one_event(), carrier="dhl")

    assert r.status == 404, r.body
    assert r.body["error"]["code"] == "CARRIER_NOT_FOUND"
    assert the_shipment(api, shipped)["status"] == "dispatched"


def test_a_callback_for_a_tracking_number_we_never_shipped_is_not_found(aws, api, shipped):
    r = signed(api, one_event(tracking="SF999999999"))

    assert r.status == 404, r.body
    assert r.body["error"]["code"] == "SHIPMENT_NOT_FOUND"
    assert tracking_events(aws) == []


def test_a_carrier_cannot_report_on_another_carriers_tracking_number(aws, api, warehouse, inbound, carrier_secret):
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws.env["CARRIERS_SECRET_ARN"], SecretString=json.dumps({CARRIER: CARRIER_SECRET, "yto": "yto-key"})
    )
    shipping_service._carrier_cache.clear()
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 1)
    order = pay(paid_order({"SKU-A": 1}))
    assert ship(api, order["order_id"], "YT123456789", carrier="yto").status == 201

    theirs = signed(api, one_event(tracking="YT123456789"))
    own = signed(api, one_event(tracking="YT123456789"), carrier="yto", secret="yto-key")

    assert theirs.status == 404, theirs.body
    assert own.status == 200, own.body
    assert the_shipment(api, order)["status"] == "in_transit"


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        "[]",
        json.dumps({"tracking_number": TRACKING}),
        json.dumps({"tracking_number": TRACKING, "events": []}),
        json.dumps(
            {
                "tracking_number": TRACKING,
                "events": [{"event_id": "e", "status": "lost", "occurred_at": "2026-01-01T10:00:00Z"}],
            }
        ),
        json.dumps(
            {"tracking_number": TRACKING, "events": [{"event_id": "e", "status": "in_transit", "occurred_at": "x"}]}
        ),
        json.dumps(
            {
                "tracking_number": TRACKING,
                "events": [{"event_id": "e", "status": "in_transit", "occurred_at": "2026-01-01T10:00:00"}],
            }
        ),
    ],
    ids=["not-json", "a-list", "no-events", "empty-events", "unknown-status", "bad-time", "no-time-zone"],
)
def test_a_correctly_signed_callback_that_is_not_a_tracking_update_is_invalid(aws, api, shipped, body):
    r = signed(api, body)

    assert r.status == 422, r.body
    assert r.body["error"]["code"] == "INVALID_CALLBACK"
    assert the_shipment(api, shipped)["status"] == "dispatched"
    assert tracking_events(aws) == []


def test_a_duplicate_callback_is_acknowledged_as_such_and_publishes_nothing_new(aws, api, shipped, callback):
    at = carrier_time(2)
    assert callback(TRACKING, ("in_transit", at)).body["outcome"] == "in_transit"
    before = (the_shipment(api, shipped), tracking_events(aws))

    again = callback(TRACKING, ("in_transit", at))

    assert again.status == 200, again.body
    assert again.body["outcome"] == "duplicate"
    assert (the_shipment(api, shipped), tracking_events(aws)) == before


def test_a_delivery_reported_before_the_in_transit_scan_stays_delivered(aws, api, shipped, callback):
    delivered_at, in_transit_at = carrier_time(1), carrier_time(20)

    first = callback(TRACKING, ("delivered", delivered_at))
    late = callback(TRACKING, ("in_transit", in_transit_at))

    assert first.body["outcome"] == late.body["outcome"] == "delivered"
    shipment = the_shipment(api, shipped)
    assert shipment["status"] == "delivered"
    assert [e["status"] for e in shipment["timeline"]] == ["in_transit", "delivered"]
    (delivered,) = outbox(aws, "ShipmentDelivered")
    assert delivered["order_delivered"] is True
    assert outbox(aws, "ShipmentStatusChanged") == []  # a late scan is history, not news


def test_events_in_one_callback_out_of_order_are_applied_by_carrier_time(aws, api, shipped, callback):
    r = callback(
        TRACKING,
        ("delivered", carrier_time(1)),
        ("in_transit", carrier_time(30)),
        ("out_for_delivery", carrier_time(4)),
    )

    assert r.body["outcome"] == "delivered"
    shipment = the_shipment(api, shipped)
    assert [e["status"] for e in shipment["timeline"]] == ["in_transit", "out_for_delivery", "delivered"]
    assert len(outbox(aws, "ShipmentDelivered")) == 1


def test_an_exception_is_a_status_of_its_own_and_a_later_delivery_still_delivers(aws, api, shipped, callback):
    exception = callback(TRACKING, ("in_transit", carrier_time(30)), ("exception", carrier_time(20)))
    assert exception.body["outcome"] == "exception"
    assert the_shipment(api, shipped)["status"] == "exception"
    assert [e["status"] for e in outbox(aws, "ShipmentStatusChanged")] == ["exception"]

    delivered = callback(TRACKING, ("delivered", carrier_time(2)))

    assert delivered.body["outcome"] == "delivered"
    assert the_shipment(api, shipped)["status"] == "delivered"
    (event,) = outbox(aws, "ShipmentDelivered")
    assert event["order_delivered"] is True


def test_a_scan_after_the_delivery_does_not_undo_it(aws, api, shipped, callback):
    callback(TRACKING, ("delivered", carrier_time(5)))

    later = callback(TRACKING, ("exception", carrier_time(1)))

    assert later.body["outcome"] == "delivered"
    assert the_shipment(api, shipped)["status"] == "delivered"
    assert outbox(aws, "ShipmentStatusChanged") == []
    assert len(outbox(aws, "ShipmentDelivered")) == 1


def test_the_shopper_sees_the_timeline_in_carrier_time_whatever_order_it_arrived_in(api, shipped, callback):
    times = {"in_transit": carrier_time(30), "out_for_delivery": carrier_time(6), "delivered": carrier_time(2)}
    callback(TRACKING, ("out_for_delivery", times["out_for_delivery"]))
    callback(TRACKING, ("delivered", times["delivered"]))
    callback(TRACKING, ("in_transit", times["in_transit"]))

    view = shipments_of(api, shipped["order_id"], user=SHOPPER)

    (shipment,) = view["items"]
    assert [e["status"] for e in shipment["timeline"]] == ["in_transit", "out_for_delivery", "delivered"]
    occurred = [e["occurred_at"] for e in shipment["timeline"]]
    assert occurred == sorted(occurred)
    assert shipment["status"] == "delivered"
    assert shipment["delivered_at"] == shipment["timeline"][-1]["occurred_at"]


def test_the_order_is_delivered_only_when_its_last_parcel_is(aws, api, split_shipped, callback):
    first = callback("SF000000001", ("delivered", carrier_time(5)))
    assert first.body["outcome"] == "delivered"
    assert [e["order_delivered"] for e in outbox(aws, "ShipmentDelivered")] == [False]

    second = callback("SF000000002", ("delivered", carrier_time(1)))

    assert second.body["outcome"] == "delivered"
    assert [e["order_delivered"] for e in outbox(aws, "ShipmentDelivered")] == [False, True]
    callback("SF000000002", ("delivered", carrier_time(1)))  # a duplicate
    callback("SF000000001", ("in_transit", carrier_time(9)))  # a late scan
    assert [e["order_delivered"] for e in outbox(aws, "ShipmentDelivered")] == [False, True]


def test_a_parcel_delivered_while_another_has_not_shipped_does_not_deliver_the_order(
    aws, api, warehouse, inbound, callback
):
    warehouse("WH-SH", region="Shanghai")
    warehouse("WH-BJ", region="Beijing")
    inbound("SKU-A", "WH-SH", 1)
    inbound("SKU-B", "WH-BJ", 1)
    order = pay(paid_order({"SKU-A": 1, "SKU-B": 1}))
    assert ship(api, order["order_id"], "SF000000003", lines=[{"sku": "SKU-A", "quantity": 1}]).status == 201

    callback("SF000000003", ("delivered", carrier_time(1)))

    assert [e["order_delivered"] for e in outbox(aws, "ShipmentDelivered")] == [False]
    assert ship(api, order["order_id"], "SF000000004").status == 201
    callback("SF000000004", ("delivered", carrier_time(0.5)))
    assert [e["order_delivered"] for e in outbox(aws, "ShipmentDelivered")] == [False, True]
