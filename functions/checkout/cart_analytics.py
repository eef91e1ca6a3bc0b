"""The checkout's activity feed, consumer side: AddCartItem's ``cart_addition`` lines (functions.checkout.cart_feed),
delivered by a CloudWatch Logs subscription, counted per product and UTC hour into ``CartAdditionsCounted`` events
(decoding, counting and publishing: functions.shared.forwarding).

Nothing is stored. A delivery's lines become one event per product and hour, whose ``event_id`` is a digest of the
lines counted: a batch delivered again (Lambda retrying the same payload after a failed invocation) publishes the
same ids, and consumers de-duplicate on them. If a publish fails, the invocation fails and the batch is retried.
"""

from __future__ import annotations

from typing import Any

from functions.checkout.cart_feed import CART_ADDITION_KEY
from functions.checkout.events import CartAdditionsCounted
from functions.shared.forwarding import (
    FeedLine,
    ProductActivity,
    count_by_product_hour,
    feed_lines,
    parse_each,
    parse_time,
    publish,
)
from functions.shared.logs import shop_logger

logger = shop_logger()
ADDITIONS_ID_PREFIX = "cac"  # CartAdditionsCounted event ids


def parse(line: FeedLine) -> ProductActivity:
    """One addition (its units as the amount); raises KeyError, TypeError or ValueError for a malformed line."""
    units = int(line.record["quantity"])
    if units < 1:
        raise ValueError("quantity below 1")
    return ProductActivity(line.log_id, str(line.record["product_id"]), parse_time(line.record["at"]), amount=units)


def decode(event: dict[str, Any]) -> list[ProductActivity]:
    """The additions of one CloudWatch Logs subscription event, in log order (malformed lines skipped, loudly)."""
    return parse_each(feed_lines(event, (CART_ADDITION_KEY,)), parse)


def counts(additions: list[ProductActivity]) -> list[CartAdditionsCounted]:
    return [
        CartAdditionsCounted(
            event_id=c.event_id, product_id=c.product_id, hour=c.hour, additions=c.facts, units=c.amount
        )
        for c in count_by_product_hour(additions, ADDITIONS_ID_PREFIX)
    ]


def forward(additions: list[ProductActivity], events_client: Any, bus: str) -> dict[str, int]:
    events = publish(events_client, bus, counts(additions))
    return {"additions": len(additions), "units": sum(a.amount for a in additions), "events": events}
