"""Shipping fixtures: warehouses and stock entered over the back-office API, paid orders delivered to the
allocator as the checkout's OrderPaid would be, signed carrier callbacks, and the outbox events shipping wrote."""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.shared.ids import new_id
from functions.shipping.service import carrier_signature
from local.apigw import LambdaContext
from tests.conftest import ADMIN, SHOPPER, Api, Result, User
from tests.integration.checkout.conftest import sqs_event

CARRIER = "sf-express"
CARRIER_SECRET = "carrier-test-secret"
FULFILMENT_STAFF = User("55555555-5555-4555-8555-555555555555", "fulfil@example.com", ("customer", "fulfilment"))
ADDRESS = {
    "recipient": "Li Lei",
    "phone": "+8613812345678",
    "region": "Shanghai",
    "city": "Shanghai",
    "district": "Pudong",
    "street": "1 Century Avenue",
    "postcode": "200120",
    "country": "CN",
}


def consume(module: str, detail_type: str, source: str, detail: dict[str, Any]) -> dict[str, Any]:
    handler = importlib.import_module(f"functions.shipping.handlers.{module}").handler
    result: dict[str, Any] = handler(sqs_event(detail_type, source, detail), LambdaContext(module))
    return result


def money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "CNY"}


def paid_order(
    lines: dict[str, int], user: User = SHOPPER, region: str = "Shanghai", discount: int = 0
) -> dict[str, Any]:
    """An order as the checkout's OrderPaid carries it (the fields shipping reads, and a few it ignores)."""
    order_lines = [
        {
            "sku": sku,
            "product_id": "p-" + sku.lower(),
            "name": f"Product {sku}",
            "quantity": q,
            "unit_price": money(1000),
            "line_total": money(1000 * q),
            "promotion_id": None,
        }
        for sku, q in lines.items()
    ]
    subtotal = sum(1000 * q for q in lines.values())
    now = datetime.now(UTC).isoformat()
    return {
        "order_id": new_id(),
        "user_id": user.sub,
        "status": "paid",
        "lines": order_lines,
        "totals": {
            "subtotal": money(subtotal),
            "discount": money(discount),
            "shipping": money(0),
            "total": money(subtotal - discount),
        },
        "address": {**ADDRESS, "region": region},
        "created_at": now,
        "updated_at": now,
        "payment_due_at": now,
        "paid_at": now,
        "version": 2,
    }


def pay(order: dict[str, Any]) -> dict[str, Any]:
    out = consume("order_allocator", "OrderPaid", "shop.checkout", {"event_id": new_id(), "order": order})
    assert out == {"batchItemFailures": []}, out
    return order


def cancel(order: dict[str, Any]) -> None:
    detail = {
        "event_id": new_id(),
        "order": {**order, "status": "cancelled"},
        "cancelled_by": "shopper",
        "refund_due": True,
    }
    out = consume("order_allocator", "OrderCancelled", "shop.checkout", detail)
    assert out == {"batchItemFailures": []}, out


@pytest.fixture
def carrier_secret(aws: Any) -> str:
    import boto3

    from functions.shipping import service as shipping_service

    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws.env["CARRIERS_SECRET_ARN"], SecretString=json.dumps({CARRIER: CARRIER_SECRET})
    )
    shipping_service._carrier_cache.clear()
    return CARRIER_SECRET


@pytest.fixture
def warehouse(api: Api) -> Callable[..., dict[str, Any]]:
    def make(code: str, region: str = "Shanghai", priority: int = 100, active: bool = True) -> dict[str, Any]:
        body = {
            "code": code,
            "name": f"Warehouse {code}",
            "address": {"region": region, "city": region, "street": "1 Depot Road"},
            "priority": priority,
            "active": active,
        }
        r = api("POST", "/admin/warehouses", body, user=ADMIN)
        assert r.status == 201, r.body
        return dict(r.body)

    return make


@pytest.fixture
def inbound(api: Api) -> Callable[[str, str, int], Result]:
    def move(sku: str, warehouse: str, quantity: int) -> Result:
        body = {"type": "inbound", "warehouse": warehouse, "quantity": quantity, "reason": "goods received"}
        r = api("POST", f"/admin/inventory/{sku}/movements", body, user=ADMIN)
        assert r.status == 201, r.body
        return r

    return move


@pytest.fixture
def callback(api: Api, carrier_secret: str) -> Callable[..., Result]:
    def send(tracking: str, *events: tuple[str, str], carrier: str = CARRIER, secret: str | None = None) -> Result:
        body = json.dumps(
            {
                "tracking_number": tracking,
                "events": [
                    {"event_id": f"{tracking}-{status}-{at}", "status": status, "occurred_at": at, "location": "Hub"}
                    for status, at in events
                ],
            }
        )
        ts = str(int(time.time()))
        sig = carrier_signature(secret or carrier_secret, ts, body.encode())
        headers = {"X-Carrier-Timestamp": ts, "X-Carrier-Signature": sig}
        return api("POST", f"/callbacks/carriers/{carrier}", headers=headers, raw_body=body)

    return send


def outbox(aws: Any, detail_type: str | None = None) -> list[dict[str, Any]]:
    """Events the shipping table's outbox holds (what the relay would publish), oldest first."""
    import boto3

    from functions.shared.dynamo import from_item

    items = boto3.client("dynamodb").scan(TableName=aws.env["SHIPPING_TABLE_NAME"])["Items"]
    found = [from_item(i) for i in items if i["pk"]["S"].startswith("OUTBOX#")]
    found = [f for f in found if detail_type is None or f["detail_type"] == detail_type]
    return [json.loads(f["detail"]) | {"detail_type": f["detail_type"]} for f in sorted(found, key=lambda f: f["pk"])]


# --- helpers the shipping tests share ---------------------------------------------------------------------------


def carrier_time(hours_ago: float) -> str:
    """A carrier's event time, ``hours_ago`` before now (ISO-8601 UTC)."""
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()


def ledger(api: Api, sku: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The SKU's stock view and its whole ledger (newest first), read over the back-office API."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        r = api("GET", f"/admin/inventory/{sku}/movements", user=ADMIN, query=query)
        assert r.status == 200, r.body
        items += r.body["items"]
        cursor = r.body["next_cursor"]
        if not cursor:
            return r.body["stock"], items


def levels(api: Api, sku: str) -> dict[str, tuple[int, int, int]]:
    """Warehouse -> (on hand, allocated, available) of a SKU."""
    stock, _ = ledger(api, sku)
    return {w["warehouse"]: (w["on_hand"], w["allocated"], w["available"]) for w in stock["warehouses"]}


def assert_ledger_matches_stock(api: Api, sku: str) -> dict[str, Any]:
    """The ledger's deltas add up to on hand, per warehouse and in total; nothing is negative; each entry's
    ``on_hand_after`` is the running sum of its warehouse's deltas."""
    stock, entries = ledger(api, sku)
    per_warehouse: dict[str, int] = {}
    for entry in reversed(entries):  # oldest first
        per_warehouse[entry["warehouse"]] = per_warehouse.get(entry["warehouse"], 0) + entry["delta"]
        assert entry["on_hand_after"] == per_warehouse[entry["warehouse"]], entry
    on_hand = {w["warehouse"]: w["on_hand"] for w in stock["warehouses"]}
    assert {w: q for w, q in per_warehouse.items() if q or w in on_hand} == {
        w: q for w, q in on_hand.items() if q or w in per_warehouse
    }
    assert sum(e["delta"] for e in entries) == stock["on_hand"]
    for w in stock["warehouses"]:
        assert w["on_hand"] >= 0 and w["allocated"] >= 0 and w["available"] >= 0, w
        assert w["available"] == w["on_hand"] - w["allocated"]
    return stock


def ship(
    api: Api, order_id: str, tracking: str, user: User = ADMIN, headers: dict[str, str] | None = None, **fields: Any
) -> Result:
    """Staff dispatch a parcel with sf-express (``fields``: ``lines``, ``parcel_id``, another ``carrier``)."""
    body = {"carrier": CARRIER, "tracking_number": tracking, **fields}
    return api("POST", f"/admin/orders/{order_id}/shipments", body, user=user, headers=headers)


def shipments_of(api: Api, order_id: str, user: User = ADMIN) -> dict[str, Any]:
    path = f"/admin/orders/{order_id}/shipments" if user is ADMIN else f"/orders/{order_id}/shipments"
    r = api("GET", path, user=user)
    assert r.status == 200, r.body
    return dict(r.body)
