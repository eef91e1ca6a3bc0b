"""Analytics on the local platform over real HTTP: a shopper opens a product page three times, adds two units to
the cart, checks out and pays; the back office's reports for today (in the shop's time zone) then show the views
(from the product handler's log, delivered in the background), the add to cart (likewise), the order placed and
paid, and the sales. Everything is asynchronous, so the test polls."""

# ruff: noqa: F811 - the fixtures make_skus, new_shopper and refs come from test_checkout and are parameters here

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import RunningPlatform
from tests.e2e.support import Client, eventually
from tests.e2e.test_checkout import (  # noqa: F401 - fixtures
    MakeSkus,
    add,
    check_out,
    make_skus,
    new_shopper,
    refs,
)
from tests.e2e.test_payments import pay_in_sandbox, start_payment, wait_for_status

pytestmark = pytest.mark.e2e
PRICE = 987_600  # dearer than anything else the e2e tests sell: the product tops the revenue ranking


def test_views_cart_order_and_payment_show_up_in_the_reports(
    platform: RunningPlatform, make_skus: MakeSkus, new_shopper: Callable[[str], Client], admin: Client
) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    period = {"from": today, "to": today}
    (sku,) = make_skus(PRICE)
    shopper = new_shopper("analytics")
    product_id = add(shopper, sku, 2)["lines"][0]["product_id"]
    for _ in range(3):
        assert shopper("GET", f"/products/{product_id}").status_code == 200
    order = check_out(shopper).json()
    pay_in_sandbox(platform.sandbox_url, start_payment(shopper, order, "wechat_pay"))
    wait_for_status(shopper, order["order_id"], "paid")

    def ours() -> dict[str, Any] | None:
        r = admin("GET", "/admin/analytics/products", params={**period, "sort": "revenue", "limit": 100})
        assert r.status_code == 200, r.text
        row = next((p for p in r.json()["items"] if p["product_id"] == product_id), None)
        assert row is not None, "not counted yet"
        assert (row["views"], row["cart_additions"], row["units"], row["orders"]) == (3, 1, 2, 1), row
        return row

    row = eventually(ours, "the product's views, cart addition and sale counted")
    assert row["revenue"] == {"amount": 2 * PRICE, "currency": "CNY"}
    assert row["name"] == "结账测试商品 Checkout test product"

    # Other tests on this platform sell too: the shop's totals include at least this order.
    totals = admin("GET", "/admin/analytics/sales", params=period).json()["totals"]
    assert totals["orders"] >= 1 and totals["gross_sales"]["amount"] >= 2 * PRICE
    funnel = {s["step"]: s["count"] for s in admin("GET", "/admin/analytics/funnel", params=period).json()["steps"]}
    assert funnel["product_views"] >= 3 and funnel["orders_paid"] >= 1
