"""The back office's figures against a known sequence of events, some delivered twice (in one batch, in a later
batch, as an archive replay would): products catalogued, page views and add-to-cart counts, searches, four orders
placed of which three are paid (one with a coupon and shipping), a refund and a return. The shop is in
Asia/Shanghai (UTC+8): a view at 16:00 UTC on 2 November is on the 3rd there."""

from __future__ import annotations

from typing import Any

import pytest

from local.resources import Created
from tests.conftest import ADMIN, CATALOG_STAFF, SHOPPER, Api
from tests.integration.analytics.conftest import (
    ANALYST,
    CUP,
    TEA,
    additions,
    deliver,
    order,
    paid,
    placed,
    product_created,
    refund,
    returned,
    search,
    views,
)

O1 = order(
    "ord_1", "2026-11-03T03:00:00", [(TEA, "TEA-1", 2, 1000), (CUP, "CUP-1", 1, 500)], discount=300, shipping=1000
)
O2 = order("ord_2", "2026-11-03T15:00:00", [(TEA, "TEA-1", 1, 1000)])
O3 = order("ord_3", "2026-11-03T15:10:00", [(CUP, "CUP-1", 5, 500)])  # never paid
O4 = order("ord_4", "2026-11-09T00:50:00", [(CUP, "CUP-1", 3, 500)])

SEQUENCE: list[Any] = [
    product_created(TEA, "Green tea 250 g", "TEA-1"),
    product_created(CUP, "Tea cup", "CUP-1"),
    views("v1", TEA, "2026-11-02T15:00:00", 10, from_search=4),  # 23:00 on the 2nd in Shanghai
    views("v2", TEA, "2026-11-02T16:00:00", 6),  # 00:00 on the 3rd
    views("v3", CUP, "2026-11-03T02:00:00", 4),
    additions("c1", TEA, "2026-11-03T02:00:00", 5, 7),
    additions("c2", CUP, "2026-11-03T02:00:00", 2, 2),
    search("s1", "Green Tea", 3, "2026-11-03T01:00:00"),
    search("s2", "green  TEA ", 3, "2026-11-03T01:30:00"),
    search("s3", "xyzzy", 0, "2026-11-03T01:40:00"),
    placed(O1),
    placed(O2),
    placed(O3),
    placed(O4),
    paid(O1, "2026-11-03T03:05:00"),  # 11:05 on the 3rd
    paid(O2, "2026-11-03T15:30:00"),  # 23:30 on the 3rd
    paid(O4, "2026-11-09T01:00:00"),  # the 9th: a Monday, the next ISO week
    refund("rf_1", "ord_1", 500, "2026-11-04T02:00:00"),
    returned("rt_1", "ord_1", "CUP-1", 1, "2026-11-04T03:00:00"),
]
WEEK = {"from": "2026-11-02", "to": "2026-11-09"}


@pytest.fixture(scope="module")
def counted(module_aws: Created) -> Created:
    for i in range(0, len(SEQUENCE), 7):
        assert deliver(*SEQUENCE[i : i + 7]) == {"batchItemFailures": []}
    # Redeliveries: a duplicate within one batch, then a whole replay of the sequence later.
    assert deliver(paid(O1, "2026-11-03T03:05:00"), paid(O1, "2026-11-03T03:05:00")) == {"batchItemFailures": []}
    for i in range(0, len(SEQUENCE), 10):
        assert deliver(*SEQUENCE[i : i + 10]) == {"batchItemFailures": []}
    return module_aws


def get(path: str, user: Any = ANALYST, **query: Any) -> Any:
    r = Api()("GET", f"/admin/analytics/{path}", user=user, query=query)
    assert r.status == 200, r.body
    return r.body


def money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "CNY"}


def test_daily_sales_count_each_paid_order_once_in_the_shops_days(counted: Created) -> None:
    report = get("sales", **WEEK)
    assert report["period"] == {"first_day": "2026-11-02", "last_day": "2026-11-09", "timezone": "Asia/Shanghai"}
    by_day = {b["start"]: b for b in report["buckets"]}
    assert list(by_day) == [f"2026-11-{d:02d}" for d in range(2, 10)]
    third = by_day["2026-11-03"]
    assert (third["orders"], third["units"]) == (2, 4)
    assert (third["gross_sales"], third["discounts"], third["shipping"]) == (money(3500), money(300), money(1000))
    assert (third["net_sales"], third["average_order_value"]) == (money(3200), money(1600))
    fourth = by_day["2026-11-04"]
    assert (fourth["orders"], fourth["refunds"], fourth["net_sales"]) == (0, money(500), money(-500))
    assert fourth["average_order_value"] is None
    totals = report["totals"]
    assert (totals["orders"], totals["units"], totals["gross_sales"]) == (3, 7, money(5000))
    assert (totals["refunds"], totals["net_sales"]) == (money(500), money(4200))
    assert totals["average_order_value"] == money(1567)  # 4,700 / 3, rounded half up


def test_weekly_and_hourly_buckets_follow_the_shops_calendar(counted: Created) -> None:
    weeks = get("sales", interval="week", **WEEK)["buckets"]
    assert [(w["start"], w["end"], w["orders"]) for w in weeks] == [
        ("2026-11-02", "2026-11-08", 2),
        ("2026-11-09", "2026-11-09", 1),
    ]
    hours = get("sales", interval="hour", **{"from": "2026-11-03", "to": "2026-11-03"})["buckets"]
    assert len(hours) == 24
    assert hours[0]["start"] == "2026-11-03T00:00:00+08:00"
    paid_hours = {h["start"][11:16]: h["orders"] for h in hours if h["orders"]}
    assert paid_hours == {"11:00": 1, "23:00": 1}


def test_the_funnel_runs_from_views_to_paid_orders(counted: Created) -> None:
    funnel = get("funnel", **WEEK)
    assert [(s["step"], s["count"], s["rate_from_previous"]) for s in funnel["steps"]] == [
        ("product_views", 20, None),
        ("cart_additions", 7, 0.35),
        ("orders_placed", 4, 0.5714),
        ("orders_paid", 3, 0.75),
    ]
    assert funnel["overall_rate"] == 0.15
    # The 2nd alone: only the late-evening views.
    only_second = get("funnel", **{"from": "2026-11-02", "to": "2026-11-02"})
    assert [s["count"] for s in only_second["steps"]] == [10, 0, 0, 0]


def test_top_products_by_units_and_revenue_with_return_rates(counted: Created) -> None:
    by_units = get("products", **WEEK)["items"]
    assert [(p["product_id"], p["units"], p["orders"], p["revenue"]) for p in by_units] == [
        (CUP, 4, 2, money(2000)),
        (TEA, 3, 2, money(3000)),
    ]
    cup, tea = by_units
    assert (cup["name"], cup["views"], cup["cart_additions"], cup["returned_units"]) == ("Cup", 4, 2, 1)
    assert (cup["return_rate"], tea["return_rate"], tea["views"]) == (0.25, 0.0, 16)
    assert tea["view_to_order_rate"] == 0.125
    by_revenue = get("products", sort="revenue", limit=1, **WEEK)["items"]
    assert [p["product_id"] for p in by_revenue] == [TEA]


def test_traffic_per_day_with_top_and_zero_result_queries(counted: Created) -> None:
    traffic = get("traffic", **WEEK)
    days = {d["day"]: d for d in traffic["days"]}
    assert (days["2026-11-02"]["product_views"], days["2026-11-03"]["product_views"]) == (10, 10)
    assert (days["2026-11-03"]["searches"], days["2026-11-03"]["zero_result_searches"]) == (3, 1)
    assert [(q["q"], q["searches"]) for q in traffic["top_queries"]] == [("Green Tea", 2), ("xyzzy", 1)]
    assert [(q["q"], q["zero_result_searches"]) for q in traffic["zero_result_queries"]] == [("xyzzy", 1)]


@pytest.mark.parametrize(
    ("path", "query", "code"),
    [
        ("sales", {"from": "2026-11-09", "to": "2026-11-02"}, "INVALID_DATE_RANGE"),
        ("funnel", {"from": "2025-01-01", "to": "2026-01-02"}, "RANGE_TOO_LONG"),
        ("sales", {"from": "2026-01-01", "to": "2026-03-01", "interval": "hour"}, "RANGE_TOO_LONG"),
        ("sales", {"from": "2026-11-2"}, "VALIDATION_FAILED"),
        ("traffic", {"to": "2026-11-02T00:00:00Z"}, "VALIDATION_FAILED"),
        ("products", {"from": "yesterday"}, "VALIDATION_FAILED"),
        ("sales", {"interval": "month"}, "VALIDATION_FAILED"),
        ("products", {"sort": "price"}, "VALIDATION_FAILED"),
        ("sales", {"currency": "yuan"}, "VALIDATION_FAILED"),
    ],
)
def test_bad_ranges_and_options_get_a_clean_4xx(counted: Created, path: str, query: dict[str, str], code: str) -> None:
    r = Api()("GET", f"/admin/analytics/{path}", user=ANALYST, query=query)
    assert (r.status, r.body["error"]["code"]) == (422, code), r.body
    assert set(r.body["error"]) == {"code", "message", "details"}


def test_analysts_and_admins_read_the_figures_nobody_else(counted: Created) -> None:
    api = Api()
    assert api("GET", "/admin/analytics/funnel", user=ADMIN, query=WEEK).status == 200
    for user in (SHOPPER, CATALOG_STAFF):
        assert api("GET", "/admin/analytics/sales", user=user, query=WEEK).status == 403
    assert api("GET", "/admin/analytics/sales", query=WEEK).status == 401


def test_an_event_that_cannot_be_counted_fails_alone_and_changes_nothing(counted: Created) -> None:
    before = get("sales", **WEEK)["totals"]
    broken = ("shop.checkout", "OrderPaid", {"event_id": "paid_broken", "occurred_at": "2026-11-03T00:00:00Z"})
    result = deliver(paid(O2, "2026-11-03T15:30:00"), broken)
    assert len(result["batchItemFailures"]) == 1
    assert get("sales", **WEEK)["totals"] == before
