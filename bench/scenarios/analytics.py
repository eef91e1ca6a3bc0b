"""Analytics scenarios. Seed: 60 days of a small shop's events, counted by the AnalyticsRecorder as their queues
would deliver them: per day three paid orders of two lines (of 20 products), their OrderPlaced, an hour of views
and of add-to-cart counts for five products, and four searches (one finding nothing).

Measured: the recorder (an order paid: one transaction over the totals and two products; a redelivery the dedup
item refuses; a view count) and the four reports over their usual periods: the reads are one Query per shard
for totals (8) and one per local day for products and queries.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import Bench, Claims
from bench.scenarios import scenario, seeder
from bench.scenarios.checkout import deliver, sqs_event

ANALYST: Claims = {
    "sub": "55555555-5555-4555-8555-555555555555",
    "email": "analyst@example.com",
    "cognito:groups": ["customer", "analyst"],
    "token_use": "id",
}
DAYS = 60
PRODUCTS = [f"prd_bench_analytics_{i:02d}" for i in range(20)]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "CNY"}


def order_paid(bench: Bench, at: datetime, event_id: str | None = None) -> dict[str, Any]:
    """OrderPaid's detail as far as analytics reads it (the checkout's event carries the whole order)."""
    first, second = PRODUCTS[at.day % 20], PRODUCTS[(at.day + at.hour) % 20]
    lines = [
        {"sku": f"{p}-SKU", "product_id": p, "name": p, "quantity": q, "line_total": _money(1999 * q)}
        for p, q in ((first, 2), (second, 1))
    ]
    order = {
        "order_id": bench.unique("ord_bench_analytics_"),
        "lines": lines,
        "totals": {
            "subtotal": _money(5997),
            "discount": _money(500),
            "shipping": _money(0),
            "total": _money(5497),
        },
        "created_at": _iso(at - timedelta(minutes=3)),
        "paid_at": _iso(at),
    }
    return {"event_id": event_id or bench.unique("evt_bench_paid_"), "occurred_at": _iso(at), "order": order}


def counted(bench: Bench, kind: str, product_id: str, hour: datetime, n: int) -> dict[str, Any]:
    hour = hour.replace(minute=0, second=0, microsecond=0)
    base = {"event_id": bench.unique(f"evt_bench_{kind}_"), "occurred_at": _iso(hour), "product_id": product_id}
    if kind == "views":
        return {**base, "hour": _iso(hour), "views": n, "from_search": n // 3}
    return {**base, "hour": _iso(hour), "additions": n, "units": n + 1}


def recorder_event(source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return sqs_event(source, detail_type, detail)


@seeder
def seed_analytics(bench: Bench) -> None:
    now = datetime.now(UTC)
    for day in range(DAYS):
        base = now - timedelta(days=day)
        for i in range(3):
            paid = order_paid(bench, base - timedelta(hours=3 * i))
            placed = {**paid, "event_id": bench.unique("evt_bench_placed_")}
            deliver(bench, "AnalyticsRecorder", recorder_event("shop.checkout", "OrderPlaced", placed))
            deliver(bench, "AnalyticsRecorder", recorder_event("shop.checkout", "OrderPaid", paid))
        for p in PRODUCTS[day % 4 : day % 4 + 5]:
            views = recorder_event("shop.catalog", "ProductViewsCounted", counted(bench, "views", p, base, 40))
            adds = recorder_event("shop.checkout", "CartAdditionsCounted", counted(bench, "additions", p, base, 6))
            deliver(bench, "AnalyticsRecorder", views)
            deliver(bench, "AnalyticsRecorder", adds)
        for j, (q, results) in enumerate((("green tea", 12), ("teapot", 4), ("Green Tea", 12), ("oolong x9", 0))):
            search_id = bench.unique("evt_bench_search_")
            detail = {
                "event_id": search_id,
                "occurred_at": _iso(base - timedelta(minutes=j)),
                "q": q,
                "results": results,
                "searched_at": _iso(base - timedelta(minutes=j)),
            }
            deliver(bench, "AnalyticsRecorder", recorder_event("shop.catalog", "SearchPerformed", detail))
    redelivered = order_paid(bench, now, event_id=bench.unique("evt_bench_paid_"))
    deliver(bench, "AnalyticsRecorder", recorder_event("shop.checkout", "OrderPaid", redelivered))
    bench.seed["analytics"] = {"redelivered": redelivered}


@scenario("AnalyticsRecorder", "OrderPaid of two lines: one transaction (dedup + 2 totals + 2 products)", primary=True)
def record_order_paid(bench: Bench) -> dict[str, Any]:
    return recorder_event("shop.checkout", "OrderPaid", order_paid(bench, datetime.now(UTC)))


@scenario("AnalyticsRecorder", "a redelivered OrderPaid (the dedup item's condition refuses it)")
def record_redelivered(bench: Bench) -> dict[str, Any]:
    return recorder_event("shop.checkout", "OrderPaid", bench.seed["analytics"]["redelivered"])


@scenario("AnalyticsRecorder", "ProductViewsCounted (an hour of one product's views from one log delivery)")
def record_views(bench: Bench) -> dict[str, Any]:
    detail = counted(bench, "views", PRODUCTS[0], datetime.now(UTC), 25)
    return recorder_event("shop.catalog", "ProductViewsCounted", detail)


def _days_back(days: int) -> dict[str, str]:
    today = datetime.now(UTC).date()  # near enough to the shop's day for a read's cost
    return {"from": (today - timedelta(days=days - 1)).isoformat(), "to": today.isoformat()}


@scenario("SalesReport", "the last 7 days by day (8 shard Queries)", primary=True)
def sales_week(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/admin/analytics/sales", claims=ANALYST)


@scenario("SalesReport", "a year by week (8 shard Queries over 366 days)")
def sales_year(bench: Bench) -> dict[str, Any]:
    query = {**_days_back(366), "interval": "week"}
    return bench.event("GET", "/admin/analytics/sales", claims=ANALYST, query=query)


@scenario("SalesReport", "one day by hour")
def sales_hours(bench: Bench) -> dict[str, Any]:
    query = {**_days_back(1), "interval": "hour"}
    return bench.event("GET", "/admin/analytics/sales", claims=ANALYST, query=query)


@scenario("ProductsReport", "top 20 by units over 30 days (a Query per day)", primary=True)
def products_month(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/admin/analytics/products", claims=ANALYST, query=_days_back(30))


@scenario("FunnelReport", "30 days (8 shard Queries)", primary=True)
def funnel_month(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/admin/analytics/funnel", claims=ANALYST, query=_days_back(30))


@scenario("TrafficReport", "30 days: days, top and zero-result queries (8 + 30 Queries)", primary=True)
def traffic_month(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/admin/analytics/traffic", claims=ANALYST, query=_days_back(30))
