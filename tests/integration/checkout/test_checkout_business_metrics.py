"""Business metrics: a placed order counts one OrdersPlaced (a replay counts nothing), a checkout refused for stock
counts one StockOuts, as CloudWatch embedded-metric lines in namespace Shop with the service dimension."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.conftest import SHOPPER
from tests.integration.checkout.conftest import checkout


def _metrics(out: str) -> list[dict[str, Any]]:
    found = []
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            found.append(json.loads(line))
    return found


def _count(out: str, name: str) -> float:
    total = 0.0
    for record in _metrics(out):
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        if any(m["Name"] == name for m in directive["Metrics"]):
            assert directive["Namespace"] == "ShopTests"  # POWERTOOLS_METRICS_NAMESPACE in tests/conftest.py
            assert directive["Dimensions"] == [["service"]]
            total += sum(record[name]) if isinstance(record[name], list) else record[name]
    return total


def test_a_placed_order_counts_once_and_its_replay_not_at_all(api, product, capsys: pytest.CaptureFixture[str]):
    product({"BM-A": 5000}, stock=5)
    api("POST", "/cart/items", {"sku": "BM-A", "quantity": 1}, user=SHOPPER)
    key = uuid.uuid4().hex
    capsys.readouterr()
    assert checkout(api, SHOPPER, key).status == 201
    assert checkout(api, SHOPPER, key).status == 200
    out = capsys.readouterr().out
    assert _count(out, "OrdersPlaced") == 1
    assert _count(out, "StockOuts") == 0


def test_a_checkout_refused_for_stock_counts_a_stock_out(api, product, capsys: pytest.CaptureFixture[str]):
    product({"BM-B": 5000}, stock=1)
    api("POST", "/cart/items", {"sku": "BM-B", "quantity": 1}, user=SHOPPER)
    capsys.readouterr()
    # Someone else buys the last unit first.
    from tests.conftest import OTHER_SHOPPER

    api("POST", "/cart/items", {"sku": "BM-B", "quantity": 1}, user=OTHER_SHOPPER)
    assert checkout(api, OTHER_SHOPPER).status == 201
    r = checkout(api, SHOPPER)
    assert r.status == 409 and r.body["error"]["code"] in ("OUT_OF_STOCK", "SOLD_OUT")
    out = capsys.readouterr().out
    assert _count(out, "StockOuts") == 1
    assert _count(out, "OrdersPlaced") == 1
