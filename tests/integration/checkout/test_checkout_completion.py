"""A delivered order becomes completed once its return window (RETURN_WINDOW_DAYS after the carrier delivered it)
has passed, by the CompleteDeliveredOrders schedule, which finds it on the ``by_due`` index, not by a scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3

from functions.checkout.handlers import complete_delivered_orders
from local.apigw import LambdaContext
from tests.conftest import ADMIN, SHOPPER
from tests.integration.checkout.conftest import checkout, delivered, dispatched, fulfilment, outbox, pay

DELIVERED_AT = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)


def delivered_order(api, product, sku, at=DELIVERED_AT):
    product({sku: 5000}, stock=3)
    api("POST", "/cart/items", {"sku": sku, "quantity": 1}, user=SHOPPER)
    r = checkout(api, SHOPPER)
    assert r.status == 201, r.body
    pay(r.body)
    fulfilment(dispatched(r.body))
    fulfilment(delivered(r.body, at=at))
    return order_of(api, r.body["order_id"])


def order_of(api, order_id):
    return api("GET", f"/admin/orders/{order_id}", user=ADMIN).body


def run_schedule_at(monkeypatch, moment):
    monkeypatch.setattr("functions.checkout.service.now", lambda: moment)
    result = complete_delivered_orders.handler({}, LambdaContext("CompleteDeliveredOrders"))
    return result["completed"]


def due_listing(aws):
    """Every order listed on the by_due index as delivered (all shards)."""
    ddb = boto3.client("dynamodb")
    found = []
    for shard in range(8):
        found += ddb.query(
            TableName=aws.env["CHECKOUT_TABLE_NAME"],
            IndexName="by_due",
            KeyConditionExpression="due_pk = :p",
            ExpressionAttributeValues={":p": {"S": f"DELIVERED#{shard}"}},
        )["Items"]
    return [item["order_id"]["S"] for item in found]


def test_a_delivered_order_completes_once_its_return_window_has_passed(api, aws, product, monkeypatch):
    order = delivered_order(api, product, "DONE-1")
    assert run_schedule_at(monkeypatch, DELIVERED_AT + timedelta(days=7, minutes=-1)) == []
    assert order_of(api, order["order_id"])["status"] == "delivered"

    later = DELIVERED_AT + timedelta(days=7, minutes=1)
    assert run_schedule_at(monkeypatch, later) == [order["order_id"]]
    done = order_of(api, order["order_id"])
    assert done["status"] == "completed" and done["version"] == order["version"] + 1
    assert done["completed_at"] == later.isoformat().replace("+00:00", "Z")
    assert [h["status"] for h in done["history"]][-2:] == ["delivered", "completed"]
    assert [e["order"]["status"] for e in outbox(aws, "OrderCompleted")] == ["completed"]

    assert run_schedule_at(monkeypatch, later + timedelta(hours=1)) == []  # the next run finds nothing to do
    assert len(outbox(aws, "OrderCompleted")) == 1


def test_the_return_window_is_a_shop_setting(api, product, monkeypatch):
    monkeypatch.setenv("RETURN_WINDOW_DAYS", "2")
    order = delivered_order(api, product, "DONE-2")
    assert run_schedule_at(monkeypatch, DELIVERED_AT + timedelta(days=1, hours=23)) == []
    assert run_schedule_at(monkeypatch, DELIVERED_AT + timedelta(days=2, minutes=1)) == [order["order_id"]]


def test_the_window_runs_from_when_the_carrier_delivered_not_from_when_the_shop_heard(api, product, monkeypatch):
    heard = DELIVERED_AT + timedelta(days=8)
    monkeypatch.setattr("functions.checkout.service.now", lambda: heard)
    order = delivered_order(api, product, "DONE-3")  # the delivery event arrives eight days late
    assert run_schedule_at(monkeypatch, heard) == [order["order_id"]]


def test_a_delivered_order_is_listed_for_completion_until_it_completes(api, aws, product, monkeypatch):
    order = delivered_order(api, product, "DONE-4")
    assert due_listing(aws) == [order["order_id"]]
    run_schedule_at(monkeypatch, DELIVERED_AT + timedelta(days=8))
    assert due_listing(aws) == []


def test_orders_not_delivered_are_never_completed(api, product, monkeypatch):
    product({"NOTYET-1": 5000}, stock=3)
    api("POST", "/cart/items", {"sku": "NOTYET-1", "quantity": 1}, user=SHOPPER)
    placed = checkout(api, SHOPPER).body
    pay(placed)
    fulfilment(dispatched(placed))
    assert run_schedule_at(monkeypatch, DELIVERED_AT + timedelta(days=400)) == []
    assert order_of(api, placed["order_id"])["status"] == "shipped"


def test_a_late_shipping_event_does_not_reopen_a_completed_order(api, product, monkeypatch):
    order = delivered_order(api, product, "DONE-5")
    run_schedule_at(monkeypatch, DELIVERED_AT + timedelta(days=8))
    done = order_of(api, order["order_id"])
    fulfilment(delivered(order, at=DELIVERED_AT + timedelta(days=9)))
    fulfilment(dispatched(order))
    assert order_of(api, order["order_id"]) == done
