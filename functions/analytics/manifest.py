"""Wiring of the analytics context: the counters table, the recorder that counts the other contexts' events and
the back office's four reports (analysts and admins). Figures come from events only, never from another context's
tables (docs/analytics.md)."""

from functions.shared.wiring import (
    Consumer,
    ContextManifest,
    EventPattern,
    Route,
    Table,
    reads,
    roles,
    writes,
)

TABLE = Table(name="analytics", ttl_attribute="expires_at")

_H = "functions.analytics.handlers"
_AUTH = roles("analyst")  # and admin (DESIGN.md §4)
_READ = (reads(TABLE.ref),)

MANIFEST = ContextManifest(
    name="analytics",
    description="Sales, product, funnel and traffic figures for the back office, counted from events",
    tables=(TABLE,),
    settings=("SHOP_TIMEZONE", "SHOP_CURRENCY"),
    routes=(
        Route(
            name="SalesReport",
            handler=f"{_H}.sales.handler",
            method="GET",
            path="/admin/analytics/sales",
            auth=_AUTH,
            uses=_READ,
            summary="Orders, units, gross and net sales, discounts, refunds and average order value per hour, day "
            "or week",
        ),
        Route(
            name="ProductsReport",
            handler=f"{_H}.products.handler",
            method="GET",
            path="/admin/analytics/products",
            auth=_AUTH,
            uses=_READ,
            summary="Top products by units, revenue, views or return rate",
        ),
        Route(
            name="FunnelReport",
            handler=f"{_H}.funnel.handler",
            method="GET",
            path="/admin/analytics/funnel",
            auth=_AUTH,
            uses=_READ,
            summary="Product views, add to cart, orders placed and paid, with conversion rates",
        ),
        Route(
            name="TrafficReport",
            handler=f"{_H}.traffic.handler",
            method="GET",
            path="/admin/analytics/traffic",
            auth=_AUTH,
            uses=_READ,
            summary="Product views and searches per day, top queries and zero-result queries",
        ),
    ),
    consumers=(
        Consumer(
            name="AnalyticsRecorder",
            handler=f"{_H}.recorder.handler",
            uses=(writes(TABLE.ref),),
            patterns=(
                EventPattern("shop.checkout", ("OrderPlaced", "OrderPaid", "CartAdditionsCounted")),
                EventPattern("shop.payments", ("RefundSucceeded",)),
                EventPattern("shop.shipping", ("ReturnReceived",)),
                EventPattern(
                    "shop.catalog", ("ProductViewsCounted", "SearchPerformed", "ProductCreated", "ProductUpdated")
                ),
            ),
            # Counting is a transaction per event; contended counters are retried in-process (repository), and
            # a record that still fails comes back after the visibility timeout.
            timeout_s=30,
            visibility_timeout_s=60,
            max_receive_count=10,
        ),
    ),
)
