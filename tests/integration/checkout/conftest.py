"""Checkout fixtures: a catalogue product projected into the checkout (as its consumer would do from the event),
stock set through the back-office route, and helpers that deliver events to the checkout's consumers in-process."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from local.apigw import LambdaContext
from tests.conftest import ADMIN, Api, Result


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
                set_stock(api, sku, stock)
        return r.body  # type: ignore[no-any-return]

    return make


def set_stock(api: Api, sku: str, quantity: int) -> Result:
    r = api("POST", f"/admin/inventory/{sku}/movements", {"quantity": quantity, "reason": "initial count"}, user=ADMIN)
    assert r.status == 201, r.body
    return r


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
