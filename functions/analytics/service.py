"""The analytics service layer: count each event once (functions.analytics.counting has the rules) and answer the
back office's reports from the counters, in the shop's time zone. Never reads another context's table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Literal

from functions.analytics.counting import count
from functions.analytics.model import (
    ITEM_SHARDS,
    TOTAL_SHARDS,
    Bucket,
    FunnelReport,
    FunnelStep,
    Interval,
    Period,
    ProductRow,
    ProductSort,
    ProductsReport,
    QueryCount,
    RangeProblem,
    ReportPeriod,
    SalesBucket,
    SalesFigures,
    SalesReport,
    SignedMoney,
    TrafficDay,
    TrafficReport,
    average,
    buckets,
    hour_key,
    local_day,
    money_counter,
    rate,
    shard_of,
    shop_timezone,
    summed,
)
from functions.analytics.repository import Counters, DynamoAnalyticsRepository
from functions.shared.errors import Unprocessable
from functions.shared.events import utcnow
from functions.shared.logs import shop_logger
from functions.shared.money import Money

logger = shop_logger()

Outcome = Literal["counted", "already counted", "catalogued", "nothing to count"]


def _problem(exc: RangeProblem) -> Unprocessable:
    details = [{"field": exc.field_name}] if exc.field_name else None
    return Unprocessable(str(exc), code=exc.code, details=details)


def _figures(c: Counters, currency: str) -> SalesFigures:
    orders = c.get("orders_paid", 0)
    gross = c.get(money_counter("gross", currency), 0)
    discounts = c.get(money_counter("discounts", currency), 0)
    refunds = c.get(money_counter("refunds", currency), 0)
    aov = average(gross - discounts, orders)
    return SalesFigures(
        orders=orders,
        units=c.get("units", 0),
        gross_sales=Money(amount=gross, currency=currency),
        discounts=Money(amount=discounts, currency=currency),
        refunds=Money(amount=refunds, currency=currency),
        net_sales=SignedMoney(amount=gross - discounts - refunds, currency=currency),
        shipping=Money(amount=c.get(money_counter("shipping", currency), 0), currency=currency),
        average_order_value=None if aov is None else Money(amount=aov, currency=currency),
    )


class Analytics:
    def __init__(
        self,
        repo: DynamoAnalyticsRepository,
        tz: tzinfo | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.repo = repo
        self._tz = tz
        self.clock = clock

    @property
    def tz(self) -> tzinfo:
        if self._tz is None:
            self._tz = shop_timezone()
        return self._tz

    # --- counting ---------------------------------------------------------------------------------------------

    def record(self, source: str, detail_type: str, detail: dict[str, object]) -> Outcome:
        counted = count(source, detail_type, dict(detail))
        if counted.product is not None:
            p = counted.product
            self.repo.keep_product(p.product_id, p.name, p.version, (v.sku for v in p.variants))
            return "catalogued"
        tally = counted.tally
        if tally is None:
            return "nothing to count"
        if counted.returned:
            products = self.repo.products_of(counted.returned)
            for sku, units in counted.returned.items():
                if sku in products:
                    tally.add_product(products[sku], "returned_units", units)
                else:
                    logger.warning("returned SKU of no known product", extra={"sku": sku})
        if tally.empty:
            return "nothing to count"
        applied = self.repo.apply(
            counted.event_id,
            tally,
            hour_key(tally.at),
            local_day(tally.at, self.tz).isoformat(),
            shard_of(counted.event_id, TOTAL_SHARDS),
            shard_of(counted.event_id, ITEM_SHARDS),
        )
        return "counted" if applied else "already counted"

    # --- reports ----------------------------------------------------------------------------------------------

    def period(self, start: str | None, end: str | None) -> Period:
        try:
            return Period.resolve(start, end, local_day(self.clock(), self.tz), self.tz)
        except RangeProblem as exc:
            raise _problem(exc) from None

    def _report_period(self, period: Period) -> ReportPeriod:
        return ReportPeriod(first_day=period.first.isoformat(), last_day=period.last.isoformat(), timezone=str(self.tz))

    def sales(self, start: str | None, end: str | None, interval: Interval, currency: str) -> SalesReport:
        period = self.period(start, end)
        try:
            planned: list[Bucket] = buckets(period, interval)
        except RangeProblem as exc:
            raise _problem(exc) from None
        keys = [k for b in planned for k in b.keys]
        stored = self.repo.totals("HOUR" if interval is Interval.HOUR else "DAY", keys[0], keys[-1])
        rows = []
        for bucket in planned:
            counters = summed(stored.get(k, {}) for k in bucket.keys)
            rows.append(SalesBucket(start=bucket.start, end=bucket.end, **_figures(counters, currency).model_dump()))
        everything = summed(stored.get(k, {}) for k in keys)
        return SalesReport(
            period=self._report_period(period),
            interval=interval,
            currency=currency,
            totals=_figures(everything, currency),
            buckets=rows,
        )

    def products(
        self, start: str | None, end: str | None, sort: ProductSort, limit: int, currency: str
    ) -> ProductsReport:
        period = self.period(start, end)
        counters, names = self.repo.products([d.isoformat() for d in period.days])
        missing = [p for p in counters if p not in names]
        if missing:
            names.update(self.repo.names(missing))
        rows = [
            ProductRow(
                product_id=product_id,
                name=names.get(product_id),
                units=c.get("units", 0),
                orders=c.get("orders", 0),
                revenue=Money(amount=c.get(money_counter("revenue", currency), 0), currency=currency),
                views=c.get("views", 0),
                cart_additions=c.get("cart_additions", 0),
                returned_units=c.get("returned_units", 0),
                return_rate=rate(c.get("returned_units", 0), c.get("units", 0)),
                view_to_order_rate=rate(c.get("orders", 0), c.get("views", 0)),
            )
            for product_id, c in counters.items()
        ]

        def key(row: ProductRow) -> tuple[float, int, str]:
            primary = {
                ProductSort.UNITS: float(row.units),
                ProductSort.REVENUE: float(row.revenue.amount),
                ProductSort.VIEWS: float(row.views),
                ProductSort.RETURN_RATE: row.return_rate or 0.0,
            }[sort]
            return (-primary, -row.units, row.product_id)

        rows.sort(key=key)
        return ProductsReport(period=self._report_period(period), sort=sort, currency=currency, items=rows[:limit])

    def funnel(self, start: str | None, end: str | None) -> FunnelReport:
        period = self.period(start, end)
        c = summed(self.repo.totals("DAY", period.first.isoformat(), period.last.isoformat()).values())
        counts = [
            ("product_views", c.get("views", 0)),
            ("cart_additions", c.get("cart_additions", 0)),
            ("orders_placed", c.get("orders_placed", 0)),
            ("orders_paid", c.get("orders_paid", 0)),
        ]
        steps = [
            FunnelStep(step=name, count=n, rate_from_previous=None if i == 0 else rate(n, counts[i - 1][1]))
            for i, (name, n) in enumerate(counts)
        ]
        return FunnelReport(
            period=self._report_period(period), steps=steps, overall_rate=rate(counts[-1][1], counts[0][1])
        )

    def traffic(self, start: str | None, end: str | None, limit: int) -> TrafficReport:
        period = self.period(start, end)
        days = [d.isoformat() for d in period.days]
        stored = self.repo.totals("DAY", days[0], days[-1])
        queries = [
            QueryCount(q=typed, searches=c.get("searches", 0), zero_result_searches=c.get("zero_result_searches", 0))
            for typed, c in self.repo.queries(days).values()
        ]
        top = sorted(queries, key=lambda q: (-q.searches, q.q))[:limit]
        zero = sorted((q for q in queries if q.zero_result_searches), key=lambda q: (-q.zero_result_searches, q.q))[
            :limit
        ]
        return TrafficReport(
            period=self._report_period(period),
            days=[
                TrafficDay(
                    day=d,
                    product_views=stored.get(d, {}).get("views", 0),
                    searches=stored.get(d, {}).get("searches", 0),
                    zero_result_searches=stored.get(d, {}).get("zero_result_searches", 0),
                )
                for d in days
            ],
            top_queries=top,
            zero_result_queries=zero,
        )


def service() -> Analytics:
    from functions.shared.aws import client
    from functions.shared.settings import table_name

    return Analytics(DynamoAnalyticsRepository(client("dynamodb"), table_name("analytics")))
