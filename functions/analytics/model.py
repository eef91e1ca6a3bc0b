"""The analytics domain, plain Python: the shop's time zone, report periods and buckets, what each event adds to
the counters (a :class:`Tally`), and the reports' shapes.

Counting rules (docs/analytics.md has them for readers of the reports):

* a sale is counted when it is paid (``OrderPaid``, at ``paid_at``): orders, units, gross sales (the lines' totals,
  flash-sale prices included), discounts (coupons) and shipping;
* refunds are counted when the provider paid them out (``RefundSucceeded``), in full, shipping included;
* net sales = gross - discounts - refunds; average order value = (gross - discounts) / orders, rounded half up;
* the funnel counts events, not shoppers: product page views, add-to-cart requests, orders placed
  (``OrderPlaced``), orders paid;
* a product's returned units are those received back (``ReturnReceived``, returns and exchanges alike); its
  return rate is returned units / units sold over the same period.

Money is integer minor units per currency: counters are kept per currency and a report shows one currency.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field

from functions.shared.activity import utc_hour
from functions.shared.money import Money

DEFAULT_TIMEZONE = "Asia/Shanghai"
MAX_RANGE_DAYS = 366  # "a year": a leap year's days
MAX_HOURLY_DAYS = 31  # an hourly report is at most 744 buckets
DEFAULT_RANGE_DAYS = 7
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)

# Write shards of the counters every event touches (docs/analytics.md: sized against a flash sale's order rate)
# and of the per-product and per-query counters (one hot product, one hot query).
TOTAL_SHARDS = 8
ITEM_SHARDS = 4


class ConfigurationError(RuntimeError):
    pass


@cache
def timezone_named(name: str) -> tzinfo:
    """An IANA zone (``Asia/Shanghai``) or a fixed offset (``UTC+08:00``, ``UTC-03:30``, ``UTC``)."""
    if name.upper() == "UTC":
        return UTC
    if name.upper().startswith("UTC") and len(name) == 9 and name[3] in "+-" and name[6] == ":":
        try:
            hours, minutes = int(name[4:6]), int(name[7:9])
        except ValueError:
            raise ConfigurationError(f"SHOP_TIMEZONE {name!r} is not UTC+HH:MM") from None
        offset = timedelta(hours=hours, minutes=minutes)
        return timezone(offset if name[3] == "+" else -offset, name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"SHOP_TIMEZONE {name!r} is not a time zone this runtime knows (an IANA name or UTC+HH:MM)"
        ) from None


def shop_timezone() -> tzinfo:
    from functions.shared.settings import env

    return timezone_named(env("SHOP_TIMEZONE", DEFAULT_TIMEZONE))


def hour_key(moment: datetime) -> str:
    """The UTC hour a moment falls in: ``2026-12-11T16``."""
    return utc_hour(moment).strftime("%Y-%m-%dT%H")


def local_day(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def shard_of(event_id: str, shards: int) -> int:
    """A stable shard per event: a redelivery lands on the same counter items (and its dedup item stops it)."""
    return int(hashlib.sha256(event_id.encode()).hexdigest()[:8], 16) % shards


# --- what an event adds -----------------------------------------------------------------------------------------


@dataclass
class Tally:
    """The counter increments of one event: the shop totals of its hour and day, per product and per query (both
    on the event's local day). ``at`` decides the buckets."""

    at: datetime
    totals: dict[str, int] = field(default_factory=dict)
    products: dict[str, dict[str, int]] = field(default_factory=dict)
    product_names: dict[str, str] = field(default_factory=dict)
    queries: dict[str, tuple[str, dict[str, int]]] = field(default_factory=dict)  # key -> (as typed, increments)

    def add(self, name: str, amount: int) -> None:
        if amount:
            self.totals[name] = self.totals.get(name, 0) + amount

    def add_product(self, product_id: str, name: str, amount: int) -> None:
        if amount:
            counters = self.products.setdefault(product_id, {})
            counters[name] = counters.get(name, 0) + amount

    @property
    def empty(self) -> bool:
        return not (self.totals or self.products or self.queries)


def money_counter(name: str, currency: str) -> str:
    """Money counters are per currency: ``gross_CNY``."""
    return f"{name}_{currency}"


# --- periods and buckets ----------------------------------------------------------------------------------------


class Interval(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


class RangeProblem(ValueError):
    def __init__(self, code: str, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field_name = field_name


def parse_day(raw: str | None, name: str) -> date | None:
    if raw is None:
        return None
    try:
        if len(raw) != 10:
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        message = f"{name} must be a date, YYYY-MM-DD (in the shop's time zone)"
        raise RangeProblem("VALIDATION_FAILED", message, name) from None
    if not EARLIEST <= day <= LATEST:
        raise RangeProblem("VALIDATION_FAILED", f"{name} must be between {EARLIEST} and {LATEST}", name)
    return day


@dataclass(frozen=True)
class Period:
    """Local days ``first``..``last``, both included, in the shop's time zone ``tz``."""

    first: date
    last: date
    tz: tzinfo

    @classmethod
    def resolve(cls, start: str | None, end: str | None, today: date, tz: tzinfo) -> Period:
        """``from``/``to`` as asked, defaults filled (to = today, from = to - 6 days). Raises :class:`RangeProblem`."""
        last = parse_day(end, "to") or today
        first = parse_day(start, "from") or last - timedelta(days=DEFAULT_RANGE_DAYS - 1)
        if last < first:
            raise RangeProblem("INVALID_DATE_RANGE", "to is before from")
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise RangeProblem("RANGE_TOO_LONG", f"ask for at most {MAX_RANGE_DAYS} days at a time")
        return cls(first, last, tz)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def start_utc(self) -> datetime:
        return datetime.combine(self.first, time(), self.tz).astimezone(UTC)

    def end_utc(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(), self.tz).astimezone(UTC)

    def utc_hours(self) -> list[datetime]:
        """Every UTC hour the period overlaps (with a half-hour zone, the first and last straddle its edges)."""
        hour, end, out = utc_hour(self.start_utc()), self.end_utc(), []
        while hour < end:
            out.append(hour)
            hour += timedelta(hours=1)
        return out


@dataclass(frozen=True)
class Bucket:
    start: str
    end: str
    keys: tuple[str, ...]  # the stored buckets it adds up: UTC hour keys or local days


def buckets(period: Period, interval: Interval) -> list[Bucket]:
    if interval is Interval.HOUR:
        if len(period.days) > MAX_HOURLY_DAYS:
            raise RangeProblem("RANGE_TOO_LONG", f"an hourly report covers at most {MAX_HOURLY_DAYS} days")
        return [
            Bucket(
                start=hour.astimezone(period.tz).isoformat(),
                end=(hour + timedelta(hours=1)).astimezone(period.tz).isoformat(),
                keys=(hour_key(hour),),
            )
            for hour in period.utc_hours()
        ]
    if interval is Interval.DAY:
        return [Bucket(d.isoformat(), d.isoformat(), (d.isoformat(),)) for d in period.days]
    weeks: dict[date, list[date]] = {}
    for d in period.days:
        weeks.setdefault(d - timedelta(days=d.weekday()), []).append(d)  # ISO weeks start on Monday
    return [
        Bucket(days[0].isoformat(), days[-1].isoformat(), tuple(d.isoformat() for d in days)) for days in weeks.values()
    ]


def rate(part: int, whole: int) -> float | None:
    """A share, to four decimals (a ratio of counts, not money); None when there is nothing to divide by."""
    return round(part / whole, 4) if whole else None


def average(total: int, count: int) -> int | None:
    """Integer minor units, rounded half up."""
    return (2 * total + count) // (2 * count) if count > 0 else None


def summed(rows: Iterable[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        for name, amount in row.items():
            out[name] = out.get(name, 0) + amount
    return out


# --- reports ----------------------------------------------------------------------------------------------------


class ReportPeriod(BaseModel):
    first_day: str = Field(description="``from``: the first local day, included")
    last_day: str = Field(description="``to``: the last local day, included")
    timezone: str = Field(description="The shop's time zone the days are in (SHOP_TIMEZONE)")


class SignedMoney(BaseModel):
    """Money that may be below zero (net sales of a bucket whose refunds outweigh its sales)."""

    amount: int
    currency: str


class SalesFigures(BaseModel):
    orders: int = Field(description="Orders paid")
    units: int = Field(description="Units in the orders paid")
    gross_sales: Money = Field(description="Line totals of the orders paid (flash-sale prices, before coupons)")
    discounts: Money = Field(description="Coupon discounts of the orders paid")
    refunds: Money = Field(description="Refunds paid out (shipping included)")
    net_sales: SignedMoney = Field(description="gross_sales - discounts - refunds (below zero when refunds outweigh)")
    shipping: Money = Field(description="Shipping charged on the orders paid (not in net_sales)")
    average_order_value: Money | None = Field(description="(gross_sales - discounts) / orders; null without orders")


class SalesBucket(SalesFigures):
    start: str = Field(description="Local time (hour) or day the bucket starts")
    end: str = Field(description="Local time the hour ends, or the bucket's last day")


class SalesReport(BaseModel):
    period: ReportPeriod
    interval: Interval
    currency: str
    totals: SalesFigures
    buckets: list[SalesBucket]


class ProductRow(BaseModel):
    product_id: str
    name: str | None = Field(description="As last seen in the catalogue or an order")
    units: int = Field(description="Units sold (orders paid)")
    orders: int = Field(description="Orders paid with this product")
    revenue: Money = Field(description="Line totals of those orders, before coupons")
    views: int
    cart_additions: int
    returned_units: int
    return_rate: float | None = Field(description="returned_units / units; null when none sold")
    view_to_order_rate: float | None = Field(description="orders / views; null without views")


class ProductSort(StrEnum):
    UNITS = "units"
    REVENUE = "revenue"
    VIEWS = "views"
    RETURN_RATE = "return_rate"


class ProductsReport(BaseModel):
    period: ReportPeriod
    sort: ProductSort
    currency: str
    items: list[ProductRow]


class FunnelStep(BaseModel):
    step: str
    count: int
    rate_from_previous: float | None = Field(description="This step's count / the previous step's")


class FunnelReport(BaseModel):
    period: ReportPeriod
    steps: list[FunnelStep]
    overall_rate: float | None = Field(description="paid / product_views")


class TrafficDay(BaseModel):
    day: str
    product_views: int
    searches: int
    zero_result_searches: int


class QueryCount(BaseModel):
    q: str = Field(description="As first typed that day (queries are grouped case- and space-insensitively)")
    searches: int
    zero_result_searches: int


class TrafficReport(BaseModel):
    period: ReportPeriod
    days: list[TrafficDay]
    top_queries: list[QueryCount]
    zero_result_queries: list[QueryCount]
