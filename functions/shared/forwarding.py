"""Activity feeds, consumer side: what the log forwarders share (the ``LogSubscription`` functions that turn the feed
lines of functions.shared.activity into domain events).

* :func:`feed_lines` decodes a CloudWatch Logs subscription event into the feed records it carries, each with the id
  CloudWatch Logs gave its log event (the same when Lambda retries the same payload);
* :func:`count_by_product_hour` aggregates facts about products into one count per product and UTC hour: under a
  flash sale a product page is opened thousands of times a second, and one event per view would be as many
  PutEvents entries. A count's ``event_id`` is derived from the ids of the log events it counts (and its product and
  hour), so a redelivered batch yields the same ids and consumers drop the repeat as they drop any duplicate;
* :func:`publish` puts events on the bus ten (and at most 256 KB) at a time and raises if any entry was refused, so
  that Lambda retries the whole batch: at least once, de-duplicated downstream on ``event_id``.

Events go out with PutEvents directly rather than through an outbox: a forwarder writes no state the event would
have to agree with, and CloudWatch Logs invokes it asynchronously, so a failed invocation is retried (twice) with the
same payload.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent

from functions.shared.activity import utc_hour
from functions.shared.logs import shop_logger
from functions.shared.outbox import Publishable, bus_entry
from functions.shared.relay import chunks

logger = shop_logger()
T = TypeVar("T")
_ID_DIGEST_CHARS = 32


@dataclass(frozen=True)
class FeedLine:
    log_id: str  # CloudWatch Logs' id of the log event that carried it
    key: str  # which of the subscription's keys
    record: dict[str, Any]


def feed_lines(event: dict[str, Any], keys: Sequence[str]) -> list[FeedLine]:
    """The feed records under ``keys`` in one CloudWatch Logs subscription event, in log order. A CONTROL_MESSAGE
    (CloudWatch checking that the destination is reachable) carries none."""
    data = CloudWatchLogsEvent(event).parse_logs_data()
    if data.message_type != "DATA_MESSAGE":
        return []
    found: list[FeedLine] = []
    for log_event in sorted(data.log_events, key=lambda e: (e.timestamp, e.get_id)):
        try:
            parsed = json.loads(log_event.message)
        except ValueError:
            parsed = None
        line: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        carried = [key for key in keys if key in line]
        if not carried:
            # The subscription filter passes only JSON objects with one of the keys: this is a bug, not load.
            logger.warning("log line without a feed record skipped", extra={"log_event_id": log_event.get_id})
        for key in carried:
            if isinstance(line[key], dict):
                found.append(FeedLine(log_event.get_id, key, line[key]))
            else:
                logger.warning("malformed feed line skipped", extra={"feed_key": key, "problem": "not an object"})
    return found


def parse_each(lines: Iterable[FeedLine], parse: Callable[[FeedLine], T]) -> list[T]:
    """``parse`` of every line. A line it cannot read (KeyError, TypeError, ValueError) is skipped, loudly: a line
    this code wrote cannot be repaired by retrying the batch, and one bad line must not hold back the rest."""
    parsed: list[T] = []
    for line in lines:
        try:
            parsed.append(parse(line))
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("malformed feed line skipped", extra={"feed_key": line.key, "problem": str(exc)})
    return parsed


def parse_time(raw: Any) -> datetime:
    """A feed line's ISO 8601 moment, tz-aware (UTC when it names no zone)."""
    at = datetime.fromisoformat(str(raw))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ProductActivity:
    """One fact of a feed about a product: a page view, an addition to a cart."""

    log_id: str
    product_id: str
    at: datetime
    amount: int = 1  # what a count sums besides the facts themselves (a view from a search: 1; units added)


@dataclass(frozen=True)
class HourlyCount:
    event_id: str
    product_id: str
    hour: datetime  # start of the UTC hour
    facts: int
    amount: int  # the facts' amounts, summed


def count_id(prefix: str, product_id: str, hour: datetime, log_ids: Iterable[str]) -> str:
    """``<prefix>_<32 hex>``: a digest of the product, the hour and the (sorted) log event ids counted."""
    text = "\n".join((product_id, hour.isoformat(), *sorted(log_ids)))
    return f"{prefix}_{hashlib.sha256(text.encode('utf-8')).hexdigest()[:_ID_DIGEST_CHARS]}"


def count_by_product_hour(activities: Iterable[ProductActivity], id_prefix: str) -> list[HourlyCount]:
    """One count per (product, UTC hour) of ``activities``, in the order each was first seen."""
    groups: dict[tuple[str, datetime], list[ProductActivity]] = {}
    for activity in activities:
        groups.setdefault((activity.product_id, utc_hour(activity.at)), []).append(activity)
    return [
        HourlyCount(
            event_id=count_id(id_prefix, product_id, hour, (a.log_id for a in group)),
            product_id=product_id,
            hour=hour,
            facts=len(group),
            amount=sum(a.amount for a in group),
        )
        for (product_id, hour), group in groups.items()
    ]


def publish(events_client: Any, bus: str, events: Iterable[Publishable]) -> int:
    """PutEvents ten (and at most 256 KB) at a time; raise if any entry was refused, so the batch is retried.
    Returns how many events were published."""
    pending = [(e.event_id, bus_entry(bus, e.SOURCE, e.detail_type(), e.detail_json())) for e in events]
    refused = 0
    for chunk in chunks(pending):
        result = events_client.put_events(Entries=[entry for _, entry in chunk])
        refused += int(result.get("FailedEntryCount", 0))
    if refused:
        raise RuntimeError(f"EventBridge refused {refused} of {len(pending)} events")
    return len(pending)
