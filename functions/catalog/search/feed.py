"""The catalogue's activity feed, producer side (functions.shared.activity): one structured log line per search, per
product view from a search, and per product page view.

Nothing the response waits on: the handler writes a line to its log (local to the execution environment), and a
CloudWatch Logs subscription (``SearchLogForwarder``, a ``LogSubscription`` in the catalogue manifest; the local
platform imitates it) delivers the lines to the forwarder, which stores the searches and publishes the events
(functions.catalog.search.analytics).

A product page writes ``product_view`` for every product it shows, so page views are counted whatever led to them;
opened from a search, it also writes ``search_view``, which attributes the view to that search.

No pydantic here: the search and product handlers import this on their cold start.
"""

from __future__ import annotations

from typing import Any

from functions.shared.activity import feed_logger, iso, now_ms
from functions.shared.ids import new_id

SEARCH_KEY = "search_event"
VIEW_KEY = "search_view"
PRODUCT_VIEW_KEY = "product_view"
FEED_KEYS = (SEARCH_KEY, VIEW_KEY, PRODUCT_VIEW_KEY)

_feed = feed_logger("catalog-search-feed")


def new_search_id() -> tuple[str, int]:
    """A search id (a time-sortable id: its first 48 bits are the search's time) and that time in milliseconds."""
    at_ms = now_ms()
    return new_id(at_ms), at_ms


def emit_search(search_id: str, at_ms: int, q: str, filters: dict[str, Any], results: int, exact: bool) -> None:
    record = {
        "search_id": search_id,
        "q": q,
        "filters": filters,
        "results": results,
        "exact": exact,
        "at": iso(at_ms),
    }
    _feed.info("search", extra={SEARCH_KEY: record})


def emit_views(product_id: str, search_id: str | None) -> None:
    """A product page was shown: its ``product_view`` line and, opened from a search, the ``search_view`` line.
    ``search_id`` has passed the route's validation (an id's shape); whether a search could have issued it is the
    forwarder's to judge."""
    at = iso(now_ms())
    if search_id is not None:
        view = {"search_id": search_id, "product_id": product_id, "at": at}
        _feed.info("search result viewed", extra={VIEW_KEY: view})
    page_view = {"product_id": product_id, "search_id": search_id, "at": at}
    _feed.info("product viewed", extra={PRODUCT_VIEW_KEY: page_view})
