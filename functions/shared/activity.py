"""Activity feeds, producer side: a hot handler records what a shopper did by writing one structured log line, and
the request waits on nothing for it (no AWS call: a log line is a local write).

A ``LogSubscription`` in the context's manifest (a CloudWatch Logs subscription filter in AWS; the local platform
imitates it, local.logs) delivers the lines that carry one of its keys to a forwarder function, which turns them
into domain events (functions.shared.forwarding). The feeds: the catalogue's searches and product views
(functions.catalog.search.feed) and the checkout's cart additions (functions.checkout.cart_feed).

Each feed writes through a logger of its own, fixed at INFO: the functions' ``POWERTOOLS_LOG_LEVEL`` is an operator's
verbosity knob (WARNING locally, maybe WARNING in prod one day), and turning it must not silently switch a feed off.
Its Powertools service name differs from the functions' own so that it gets a separate standard-library logger
(Powertools names the logger after the service) and leaves their level alone.

No pydantic here, nor anything else heavy: the hot handlers import this on their cold start.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aws_lambda_powertools import Logger

from functions.shared.logs import shop_logger


def feed_logger(service: str) -> Logger:
    """The logger of one feed (``service`` names it, e.g. ``catalog-search-feed``): INFO whatever the function's
    level, masked like every other line."""
    return shop_logger(service=service, level="INFO")


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def iso(ms: int) -> str:
    """``2026-11-22T10:15:30.123Z``: how feed lines write a moment (epoch milliseconds)."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_hour(moment: datetime) -> datetime:
    """The start of the UTC hour ``moment`` falls in (a naive moment is taken as UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
