"""The analytics periods and buckets in the shop's time zone, and the counting rules, without AWS."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from functions.analytics.counting import count, query_key
from functions.analytics.model import (
    ConfigurationError,
    Interval,
    Period,
    RangeProblem,
    average,
    buckets,
    local_day,
    shard_of,
    timezone_named,
)

SHANGHAI = timezone_named("Asia/Shanghai")


def test_a_period_defaults_to_the_last_seven_local_days_and_refuses_bad_ranges() -> None:
    period = Period.resolve(None, None, date(2026, 12, 12), SHANGHAI)
    assert (period.first, period.last, len(period.days)) == (date(2026, 12, 6), date(2026, 12, 12), 7)
    assert period.start_utc() == datetime(2026, 12, 5, 16, tzinfo=UTC)
    assert Period.resolve("2025-01-01", "2025-12-31", date(2026, 1, 1), SHANGHAI).days[-1] == date(2025, 12, 31)
    for start, end, code in [
        ("2026-12-02", "2026-12-01", "INVALID_DATE_RANGE"),
        ("2024-01-01", "2025-01-01", "RANGE_TOO_LONG"),  # 367 days
        ("12/01/2026", None, "VALIDATION_FAILED"),
        ("1999-12-31", None, "VALIDATION_FAILED"),
    ]:
        with pytest.raises(RangeProblem) as problem:
            Period.resolve(start, end, date(2026, 12, 12), SHANGHAI)
        assert problem.value.code == code


def test_hours_are_utc_hours_labelled_in_local_time_even_in_a_half_hour_zone() -> None:
    kolkata = timezone_named("Asia/Kolkata")  # UTC+05:30
    day = Period.resolve("2026-12-01", "2026-12-01", date(2026, 12, 1), kolkata)
    hours = buckets(day, Interval.HOUR)
    assert len(hours) == 25  # the local day straddles 25 UTC hours
    assert (hours[0].keys, hours[0].start) == (("2026-11-30T18",), "2026-11-30T23:30:00+05:30")
    with pytest.raises(RangeProblem):
        buckets(Period.resolve("2026-01-01", "2026-02-01", date(2026, 3, 1), SHANGHAI), Interval.HOUR)


def test_weeks_are_iso_weeks_clipped_to_the_period() -> None:
    weeks = buckets(Period.resolve("2026-12-02", "2026-12-14", date(2026, 12, 14), SHANGHAI), Interval.WEEK)
    assert [(w.start, w.end, len(w.keys)) for w in weeks] == [
        ("2026-12-02", "2026-12-06", 5),
        ("2026-12-07", "2026-12-13", 7),
        ("2026-12-14", "2026-12-14", 1),
    ]


def test_the_time_zone_setting_takes_iana_names_and_fixed_offsets() -> None:
    late = datetime(2026, 12, 11, 16, 30, tzinfo=UTC)
    assert local_day(late, SHANGHAI) == date(2026, 12, 12)
    assert local_day(late, timezone_named("UTC-03:00")) == date(2026, 12, 11)
    assert local_day(late, timezone_named("UTC")) == date(2026, 12, 11)
    for bad in ("Mars/Olympus", "UTC+8", "../etc/passwd"):
        with pytest.raises(ConfigurationError):
            timezone_named(bad)


def test_averages_round_half_up_and_shards_are_stable() -> None:
    assert (average(4700, 3), average(5, 2), average(0, 0)) == (1567, 3, None)
    assert shard_of("evt_1", 8) == shard_of("evt_1", 8)
    assert len({shard_of(f"evt_{i}", 8) for i in range(200)}) == 8
    assert query_key("  \uff27reen   TEA ") == "green tea"


def test_an_unknown_event_or_one_missing_a_counted_field_is_refused() -> None:
    with pytest.raises(KeyError):
        count("shop.checkout", "OrderShipped", {})
    with pytest.raises(ValueError, match="views"):
        count("shop.catalog", "ProductViewsCounted", {"event_id": "e", "occurred_at": "2026-12-01T00:00:00Z"})
