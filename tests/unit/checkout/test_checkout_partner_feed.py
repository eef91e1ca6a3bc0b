"""The partner change feed's pure rules (functions.checkout.feed): an in-memory index with the real shard merge and
day walk behind it, so paging is checked over many orders, shards, days and changes between pages, without AWS."""

from __future__ import annotations

import random
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from functions.checkout.feed import (
    MAX_AGE_DAYS,
    DayPage,
    ShardPage,
    feed_keys,
    merge_shards,
    next_updated_at,
    parse_since,
    position_since,
    position_until,
    walk_feed,
)
from functions.checkout.partner import customer_ref
from functions.shared.errors import Unprocessable

NOW = datetime(2031, 1, 2, 0, 0, 30, tzinfo=UTC)  # just after a new year: walks cross a month and a year
SHARDS = 4


class FakeIndex:
    """The ``by_update`` index in memory: order id -> its one entry (partition, sort key), and a Query per shard
    that stops at its Limit and says whether there is more, as DynamoDB does."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, str]] = {}
        self.queries = 0

    def change(self, order_id: str, at: datetime) -> None:
        self.entries[order_id] = feed_keys(order_id, at, zlib.crc32(order_id.encode()) % SHARDS)

    def read_day(self, day, after, until, want):
        pages = []
        for shard in range(SHARDS):
            self.queries += 1
            pk = f"UPD#{day.isoformat()}#{shard}"
            keys = sorted(sk for p, sk in self.entries.values() if p == pk and after <= sk <= until)
            taken = keys[: want + 1]
            pages.append(ShardPage([(sk, sk.rsplit("#", 1)[1]) for sk in taken], more=len(keys) > len(taken)))
        return merge_shards(pages, after, want)


def page_through(index, position, horizon, limit, between=None):
    """Every entry handed out following positions until caught up with ``horizon()`` (the settle horizon, read per
    page as the service reads its clock); ``between`` runs after each page (orders changing meanwhile)."""
    seen = []
    while True:
        page = walk_feed(position, position_until(horizon()), limit, index.read_day)
        seen += [key for key, _order in page.entries]
        assert page.position >= position  # never goes back
        position = page.position
        if between:
            between()
        if not page.more:
            return seen, position


def test_paging_hands_out_every_change_once_in_order_across_shards_and_days():
    rng = random.Random(7)
    index = FakeIndex()
    for n in range(60):
        index.change(f"ord_{n:03d}", NOW - timedelta(days=3) + timedelta(seconds=rng.randrange(3 * 86400 - 10)))
    expected = sorted(sk for _p, sk in index.entries.values())
    for limit in (1, 7, 100):
        seen, end = page_through(index, position_since(NOW - timedelta(days=4)), lambda: NOW, limit)
        assert seen == expected, limit
        assert end == position_until(NOW)


def test_changes_between_pages_are_neither_missed_nor_repeated():
    rng = random.Random(11)
    index = FakeIndex()
    clock = [NOW - timedelta(days=3)]
    for n in range(40):
        clock[0] += timedelta(minutes=rng.randrange(1, 90))
        index.change(f"ord_{n:03d}", clock[0])
    clock[0] += timedelta(hours=1)

    def change_some():  # two orders change "now", that is after the settle horizon of the page just read
        for _ in range(2):
            clock[0] += timedelta(seconds=1)
            index.change(f"ord_{rng.randrange(40):03d}", clock[0])

    def horizon():
        return clock[0] - timedelta(seconds=5)

    start = position_since(NOW - timedelta(days=4))
    seen, position = page_through(index, start, horizon, 3, between=change_some)
    clock[0] += timedelta(minutes=1)
    rest, _end = page_through(index, position, horizon, 3)  # nothing changes any more: the last changes settle
    seen += rest
    assert seen == sorted(seen) and len(seen) == len(set(seen))  # in order, no entry twice
    assert {sk for _p, sk in index.entries.values()} <= set(seen)  # every order's latest state was handed out
    assert len(seen) > 40  # orders that changed after they were handed out came again


def test_a_shard_with_more_bounds_the_merge():
    a = ShardPage([("T1#a", "a"), ("T5#a2", "a2")], more=True)  # more after T5 in this shard: T6 could be next
    b = ShardPage([("T2#b", "b"), ("T7#b", "b")], more=False)
    page = merge_shards([a, b], "T0", want=10)
    assert [k for k, _ in page.entries] == ["T1#a", "T2#b", "T5#a2"] and not page.complete
    done = merge_shards([ShardPage([("T1#a", "a")], more=False), b], "T1#a", want=10)  # ``after`` is dropped
    assert [k for k, _ in done.entries] == ["T2#b", "T7#b"] and done.complete


def test_quiet_days_are_walked_a_few_at_a_time_and_the_position_moves_on():
    index = FakeIndex()
    index.change("ord_late", NOW - timedelta(minutes=5))
    start = position_since(NOW - timedelta(days=20))
    first = walk_feed(start, position_until(NOW), 10, index.read_day, max_days=7)
    assert first.entries == [] and first.more
    assert first.position == position_since(datetime(2030, 12, 20, tzinfo=UTC))  # the 7 days before it are done
    assert index.queries == 7 * SHARDS
    seen, _end = page_through(index, first.position, lambda: NOW, 10)
    assert [k.rsplit("#", 1)[1] for k in seen] == ["ord_late"]


def test_nothing_is_read_past_the_settle_horizon():
    index = FakeIndex()
    index.change("ord_old", NOW - timedelta(seconds=10))
    index.change("ord_new", NOW - timedelta(seconds=2))
    horizon = position_until(NOW - timedelta(seconds=5))
    page = walk_feed(position_since(NOW - timedelta(hours=1)), horizon, 10, index.read_day)
    assert [o for _k, o in page.entries] == ["ord_old"] and page.position == horizon and not page.more
    assert walk_feed(horizon, horizon, 10, index.read_day).entries == []  # caught up: no read at all


def test_an_orders_next_change_is_always_later_even_from_a_clock_behind():
    class Seen:
        updated_at = NOW

    assert next_updated_at(Seen(), NOW + timedelta(seconds=1)) == NOW + timedelta(seconds=1)  # type: ignore[arg-type]
    assert next_updated_at(Seen(), NOW - timedelta(seconds=1)) == NOW + timedelta(microseconds=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw",
    ["", "soon", "2031-01-02", "2031-01-02T00:00:00", "2031-01-02T00:01:00Z", "1999-01-01T00:00:00Z", "91 days"],
)
def test_updated_since_must_be_a_zoned_iso_time_in_the_last_90_days(raw):
    with pytest.raises(Unprocessable):
        parse_since(raw, NOW)


def test_updated_since_accepts_any_zone_and_the_oldest_allowed_moment():
    assert parse_since("2031-01-02T08:00:00+08:00", NOW) == datetime(2031, 1, 2, tzinfo=UTC)
    oldest = NOW - timedelta(days=MAX_AGE_DAYS)
    assert parse_since(oldest.isoformat(), NOW) == oldest


def test_a_customer_reference_is_stable_per_app_and_does_not_carry_the_account_id():
    sub = "11111111-1111-4111-8111-111111111111"
    ref = customer_ref("app_a", sub)
    assert ref == customer_ref("app_a", sub) and ref.startswith("cus_") and len(ref) == 36
    assert ref != customer_ref("app_b", sub) and ref != customer_ref("app_a", sub.replace("1", "2"))
    assert sub not in ref and sub.replace("-", "")[:8] not in ref


def test_an_empty_day_page_is_complete():
    assert merge_shards([ShardPage([], more=False)] * 3, "T0", 5).complete
    assert isinstance(merge_shards([], "T0", 5), DayPage)
