"""The search analytics feed, producer side: one structured log line per search and per product view from a search.

Nothing the response waits on: the handler writes a line to its log (local to the execution environment), and a
CloudWatch Logs subscription (``LogSubscription`` in the catalogue manifest; the local platform imitates it) delivers
the lines to the SearchLogForwarder, which stores and publishes them (functions.catalog.search.analytics).

The lines go through a logger of their own, fixed at INFO: the functions' ``POWERTOOLS_LOG_LEVEL`` is an operator's
verbosity knob (WARNING locally, maybe WARNING in prod one day), and turning it must not silently switch analytics
off. Its Powertools service name differs from the functions' own so that it gets a separate standard-library
logger (Powertools names the logger after the service) and leaves their level alone.

No pydantic here: the search and product handlers import this on their cold start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from functions.shared.ids import new_id
from functions.shared.logs import shop_logger

SEARCH_KEY = "search_event"
VIEW_KEY = "search_view"
FEED_KEYS = (SEARCH_KEY, VIEW_KEY)

_feed = shop_logger(service="catalog-search-feed", level="INFO")


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_search_id() -> tuple[str, int]:
    """A search id (a time-sortable id: its first 48 bits are the search's time) and that time in milliseconds."""
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    return new_id(now_ms), now_ms


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


def emit_view(search_id: str, product_id: str) -> None:
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    _feed.info(
        "search result viewed", extra={VIEW_KEY: {"search_id": search_id, "product_id": product_id, "at": iso(now_ms)}}
    )
