"""Checkout fixtures: a catalogue product projected into the checkout (as its consumer would do from the event),
stock set as the shipping context's StockMovementRecorded would set it (through the checkout's consumer), and helpers
that deliver events to the checkout's consumers in-process."""

from __future__ import annotations

import importlib
import itertools
import json
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import pytest

from functions.shared.events import DomainEvent, utcnow
from functions.shipping.events import (
    Line,
    OrderAllocated,
    Parcel,
    ShipmentDelivered,
    ShipmentDispatched,
    StockMovementRecorded,
    StockSnapshot,
    WarehouseStock,
)
from local.apigw import LambdaContext
from tests.conftest import ADMIN, Api, Result

_snapshot_versions = itertools.count(1)  # every snapshot set_stock sends is newer than the one before


def sqs_event(detail_type: str, source: str, detail: dict[str, Any]) -> dict[str, Any]:
    envelope = {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source, "detail": detail}
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{uuid.uuid4()}",
                "body": json.dumps(envelope),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:shop-test",
                "awsRegion": "us-east-1",
            }
        ]
    }


def deliver(handler_module: str, function: str, event: DomainEvent, processed: bool = True) -> dict[str, Any]:
    """Deliver a domain event to a checkout consumer as its SQS queue would; asserts that it was processed (or,
    with ``processed=False``, that it was reported as failed, to be retried)."""
    module = importlib.import_module(f"functions.checkout.handlers.{handler_module}")
    detail = json.loads(event.detail_json())
    result: dict[str, Any] = module.handler(
        sqs_event(event.detail_type(), event.SOURCE, detail), LambdaContext(function)
    )
    assert (result == {"batchItemFailures": []}) is processed, result
    return result


def stock_sync(event: DomainEvent) -> dict[str, Any]:
    return deliver("stock_sync", "CheckoutStockSync", event)


def fulfilment(event: DomainEvent, processed: bool = True) -> dict[str, Any]:
    return deliver("fulfilment_recorder", "OrderFulfilmentRecorder", event, processed)


def pay(order: dict[str, Any]) -> None:
    """The payments context's PaymentSucceeded for the order's total, delivered to OrderPaymentRecorder."""
    from functions.checkout.handlers import payment_recorder

    detail = {
        "event_id": str(uuid.uuid4()),
        "payment_id": f"pay_{uuid.uuid4().hex[:12]}",
        "order_id": order["order_id"],
        "user_id": order["user_id"],
        "method": "card",
        "amount": order["totals"]["total"],
        "provider_reference": "pi_test",
        "succeeded_at": "2030-01-01T00:00:00Z",
    }
    result = payment_recorder.handler(
        sqs_event("PaymentSucceeded", "shop.payments", detail), LambdaContext("OrderPaymentRecorder")
    )
    assert result == {"batchItemFailures": []}, result


def outbox(aws: Any, detail_type: str) -> list[dict[str, Any]]:
    """The events of one type the checkout wrote to its outbox (scanning is fine in a test)."""
    import boto3

    items = boto3.client("dynamodb").scan(TableName=aws.env["CHECKOUT_TABLE_NAME"])["Items"]
    return [
        json.loads(i["detail"]["S"])
        for i in items
        if i["pk"]["S"].startswith("OUTBOX#") and i["detail_type"]["S"] == detail_type
    ]


def lines(*pairs: tuple[str, int]) -> list[Line]:
    return [Line(sku=sku, quantity=quantity) for sku, quantity in pairs]


def allocated(order: dict[str, Any], stock: Iterable[StockSnapshot] = ()) -> OrderAllocated:
    """The shipping context's OrderAllocated for all of an order's lines, in one parcel."""
    parcel = Parcel(
        parcel_id="pcl_1", warehouse="SH", lines=lines(*((li["sku"], li["quantity"]) for li in order["lines"]))
    )
    return OrderAllocated(order_id=order["order_id"], parcels=[parcel], stock=list(stock))


def dispatched(
    order: dict[str, Any],
    shipment_id: str = "shp_1",
    parcel: list[tuple[str, int]] | None = None,
    order_shipped: bool = True,
    replacement_for: str | None = None,
    stock: Iterable[StockSnapshot] = (),
) -> ShipmentDispatched:
    """The shipping context's ShipmentDispatched of ``parcel`` (SKU, units; by default every line of the order)."""
    parcel = parcel or [(li["sku"], li["quantity"]) for li in order["lines"]]
    return ShipmentDispatched(
        order_id=order["order_id"],
        shipment_id=shipment_id,
        warehouse="SH",
        carrier="sf-express",
        tracking_number=f"SF{shipment_id}",
        lines=lines(*parcel),
        order_shipped=order_shipped,
        replacement_for=replacement_for,
        stock=list(stock),
    )


def delivered(
    order: dict[str, Any],
    shipment_id: str = "shp_1",
    order_delivered: bool = True,
    at: datetime | None = None,
    replacement_for: str | None = None,
) -> ShipmentDelivered:
    """The shipping context's ShipmentDelivered of a parcel (by default: the order's last, now)."""
    return ShipmentDelivered(
        order_id=order["order_id"],
        shipment_id=shipment_id,
        delivered_at=at or utcnow(),
        order_delivered=order_delivered,
        replacement_for=replacement_for,
    )


def project(product: dict[str, Any], detail_type: str = "ProductCreated") -> dict[str, Any]:
    from functions.checkout.handlers import catalog_projector

    event = sqs_event(detail_type, "shop.catalog", {"event_id": str(uuid.uuid4()), "product": product})
    result: dict[str, Any] = catalog_projector.handler(event, LambdaContext("CheckoutCatalogProjector"))
    assert result == {"batchItemFailures": []}, result
    return result


def variant(sku: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {"sku": sku, "price": {"amount": amount, "currency": "CNY"}, **extra}


@pytest.fixture
def refs(api: Api) -> dict[str, str]:
    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = api("POST", path, body, user=ADMIN)
        assert r.status == 201, r.body
        return r.body  # type: ignore[no-any-return]

    electronics = post("/admin/categories", {"name": "电子 Electronics"})
    phones = post("/admin/categories", {"name": "手机 Phones", "parent_id": electronics["category_id"]})
    books = post("/admin/categories", {"name": "图书 Books"})
    brand = post("/admin/brands", {"name": "华为 Huawei"})
    return {
        "phones": phones["category_id"],
        "electronics": electronics["category_id"],
        "books": books["category_id"],
        "brand": brand["brand_id"],
    }


@pytest.fixture
def product(api: Api, refs: dict[str, str]) -> Callable[..., dict[str, Any]]:
    """Create an active product in the catalogue, project it into the checkout and give every SKU ``stock``."""

    def make(
        skus: dict[str, int] | None = None, stock: int = 10, category: str = "phones", name: str = "华为智能手机 P60"
    ) -> dict[str, Any]:
        skus = skus or {f"P{uuid.uuid4().hex[:8].upper()}": 10000}
        body = {
            "name": name,
            "brand_id": refs["brand"],
            "category_id": refs[category],
            "status": "active",
            "variants": [variant(s, amount, options={"v": s}) for s, amount in skus.items()],
        }
        r = api("POST", "/admin/products", body, user=ADMIN)
        assert r.status == 201, r.body
        project(r.body)
        for sku in skus:
            if stock:
                set_stock(sku, stock)
        return r.body  # type: ignore[no-any-return]

    return make


def set_stock(sku: str, quantity: int, warehouse: str = "WH-SH") -> StockMovementRecorded:
    """Goods received: the shipping context's StockMovementRecorded for ``quantity`` units of ``sku``, delivered to
    the checkout's CheckoutStockSync (so the SKU has that many more units to sell)."""
    event = StockMovementRecorded(
        movement_id=f"mv_{uuid.uuid4().hex}",
        sku=sku,
        type="inbound",
        sellable_delta=quantity,
        stock=StockSnapshot(
            sku=sku,
            version=next(_snapshot_versions),
            warehouses=[WarehouseStock(warehouse=warehouse, on_hand=quantity, allocated=0, available=quantity)],
        ),
        reason="initial count",
        actor="tests",
    )
    stock_sync(event)
    return event


ADDRESS = {
    "recipient": "李雷",
    "phone": "+8613812345678",
    "region": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "street": "世纪大道 100 号",
    "postcode": "200120",
}


def checkout(api: Api, user: Any, key: str | None = None, **body: Any) -> Result:
    headers = {"Idempotency-Key": key or uuid.uuid4().hex}
    return api("POST", "/checkout", {"address": ADDRESS, **body}, user=user, headers=headers)
