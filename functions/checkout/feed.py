"""The order change feed behind ``GET /partner/v1/orders?updated_since=``: index keys, positions, and how a page
merges shards and walks days. Plain Python, no I/O (the repository reads; the service decides the horizon).

**Index.** Every write of an order (placement, payment, cancellation, expiry, each fulfilment step, a parcel
dispatched, completion) goes through one function (``DynamoCheckoutRepository._order_item``), which sets the
``by_update`` keys from the order's ``updated_at``: partition ``UPD#<yyyy-mm-dd>#<s>`` (the UTC day of
``updated_at``; ``s`` one of ORDER_INDEX_SHARDS, from the order id), sort ``<updated_at>#<order_id>``. An order sits
in the feed once, at its latest change; a later change moves it further on. No Scan anywhere.

**Why days, and why shards.** A single constant partition would take every order write of the shop, forever: a
flash sale placing 2,000 orders a second is twice what one partition takes (~1,000 writes a second), and a throttled
index throttles the table's own writes, so the checkout itself would fail. A partition per day bounds a partition's
size and spreads history, but all of today's writes still land in today's partition, so each day is sharded like the
shop-wide ``by_status``/``by_kind`` indexes (the same shards: the same capacity envelope as the writes checkout
already makes). The price is on the read side: a page queries every shard of a day and merges them
(:func:`merge_shards`), and walks the days forward (:func:`walk_feed`), at most MAX_DAYS_PER_PAGE per request.

**Positions.** A position is a sort-key string meaning "every entry at or before it has been handed out". A page
returns the entries after it in (updated_at, order_id) order, so following positions never skips nor repeats one.

**Settling.** Index entries become visible late: the index is eventually consistent, writers' clocks differ a little,
and a write commits a moment after its ``updated_at`` was taken. An entry that appeared behind a position already
handed out would be skipped for good, so a page never goes past ``now - SETTLE_S``: an entry is handed out, and the
position moves past it, only once it has had time to show up. And ``updated_at`` only grows for one order
(:func:`next_updated_at`), so a newer state of an order is always later in the feed than an older one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from functions.checkout.model import check_time
from functions.shared.dynamo import sortable
from functions.shared.errors import Unprocessable

if TYPE_CHECKING:
    from functions.checkout.model import Order

SETTLE_S = 5  # changes newer than this are not handed out yet (index propagation, clock skew, commit latency)
MAX_AGE_DAYS = 90  # how far back a sync may start (or resume)
MAX_DAYS_PER_PAGE = 7  # day partitions one page reads at most (each: one Query per shard)
FEED_INDEX = "by_update"
_AFTER_ALL = "#~"  # sorts after "#<order_id>": "<time>#~" is past every entry of that instant

Entry = tuple[str, "Order"]  # (sort key, the order as indexed)


def next_updated_at(order: Order, now: datetime) -> datetime:
    """The ``updated_at`` of the order's next state: now, but always after the current one (a writer whose clock is
    behind must not put a newer state of the order before an older one in the feed)."""
    return max(now, order.updated_at + timedelta(microseconds=1))


def feed_keys(order_id: str, updated_at: datetime, shard: int) -> tuple[str, str]:
    """The order's ``by_update`` partition and sort key."""
    at = sortable(updated_at)
    return f"UPD#{at[:10]}#{shard}", f"{at}#{order_id}"


def position_since(moment: datetime) -> str:
    """The position just before every change at or after ``moment`` (the sort keys of that instant are
    ``<time>#<id>``, which sort after ``<time>``)."""
    return sortable(moment)


def position_until(moment: datetime) -> str:
    """The position just after every change at or before ``moment``."""
    return sortable(moment) + _AFTER_ALL


def _day(position: str) -> date:
    return date.fromisoformat(position[:10])


def _day_start(day: date) -> str:
    return sortable(datetime(day.year, day.month, day.day, tzinfo=UTC))


def _invalid(issue: str) -> Unprocessable:
    return Unprocessable("request is invalid", details=[{"field": "updated_since", "issue": issue}])


def parse_since(raw: str, now: datetime) -> datetime:
    """``updated_since`` as sent: ISO-8601 with a zone, not in the future, at most MAX_AGE_DAYS back (422 otherwise)."""
    try:
        moment = check_time(datetime.fromisoformat(raw.strip().replace("Z", "+00:00")), "updated_since")
    except ValueError as exc:
        text = str(exc)
        raise _invalid(text if text.startswith("updated_since") else "updated_since is not an ISO-8601 time") from None
    if moment > now:
        raise _invalid("updated_since is in the future")
    if moment < now - timedelta(days=MAX_AGE_DAYS):
        raise _invalid(f"updated_since is more than {MAX_AGE_DAYS} days ago")
    return moment


def check_resumable(position: str, now: datetime) -> None:
    """A stored cursor resumes the feed for MAX_AGE_DAYS; an older one must start again from ``updated_since``."""
    if position < position_since(now - timedelta(days=MAX_AGE_DAYS)):
        raise Unprocessable(
            f"this cursor is more than {MAX_AGE_DAYS} days old: start again with updated_since", code="CURSOR_TOO_OLD"
        )


# eq/repr are not generated: each generated method costs cold-start time in every checkout function.
@dataclass(eq=False, repr=False)
class ShardPage:
    """What one Query of one shard of a day returned: entries in sort-key order, and whether the shard has more
    after the last of them (the Query stopped at its Limit, or at 1 MB)."""

    entries: list[Entry]
    more: bool


@dataclass(eq=False, repr=False)
class DayPage:
    entries: list[Entry]
    complete: bool  # nothing of the day between the position and the horizon was left out


def merge_shards(pages: Sequence[ShardPage], after: str, want: int) -> DayPage:
    """The first ``want`` entries after ``after`` across a day's shards. A shard that has more is only known up to
    its last entry, so nothing beyond the lowest such entry is taken: the shard's next one could come before it."""
    bound: str | None = None
    merged: list[Entry] = []
    for page in pages:
        merged += [e for e in page.entries if e[0] > after]
        if page.more and page.entries:
            last = page.entries[-1][0]
            bound = last if bound is None else min(bound, last)
    merged.sort(key=lambda e: e[0])
    if bound is not None:
        merged = [e for e in merged if e[0] <= bound]
    return DayPage(merged[:want], complete=bound is None and len(merged) <= want)


@dataclass(eq=False, repr=False)
class FeedPage:
    entries: list[Entry]
    position: str  # every entry at or before it has been handed out
    more: bool  # entries may be waiting after ``position`` already (fetch again now)


ReadDay = Callable[[date, str, str, int], DayPage]  # (day, after, until, want) -> that day's next entries


def walk_feed(position: str, until: str, limit: int, read_day: ReadDay, max_days: int = MAX_DAYS_PER_PAGE) -> FeedPage:
    """Up to ``limit`` entries after ``position`` and not after ``until`` (the settle horizon), walking the day
    partitions forward from the position's day, at most ``max_days`` of them. The position never goes back; a
    stretch of days without changes may give a page with no entries that still has ``more``."""
    if position >= until:
        return FeedPage([], position, more=False)
    last_day = _day(until)
    day = _day(position)
    found: list[Entry] = []
    for _walked in range(max_days):
        page = read_day(day, position, until, limit - len(found))
        found += page.entries
        if not page.complete:
            return FeedPage(found, found[-1][0] if found else position, more=True)
        if day >= last_day:
            return FeedPage(found, until, more=False)
        day += timedelta(days=1)
        position = _day_start(day)  # every entry of the days before is out
        if len(found) >= limit:
            return FeedPage(found, position, more=True)
    return FeedPage(found, position, more=True)
