"""SearchLogForwarder: the destination of the CloudWatch Logs subscription on the search and product handlers' log
groups (a ``LogSubscription`` in the catalogue manifest). Stores each search and search view of the feed in the
``search`` table and publishes them as domain events, and counts product page views per product and UTC hour
(``ProductViewsCounted``); functions.catalog.search.analytics has the item design and why replays are safe.

Invoked asynchronously by CloudWatch Logs (locally, by the platform's log delivery): an error makes Lambda retry
the whole batch, which the idempotent writes and the derived event ids absorb."""

from __future__ import annotations

from typing import Any

from functions.catalog.search.analytics import EMPTY_OUTCOME, SearchLog, decode, forward, logger
from functions.shared.aws import client
from functions.shared.settings import env, table_name


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    records = decode(event)
    if not records:
        return dict(EMPTY_OUTCOME)
    outcome = forward(
        records, SearchLog(client("dynamodb"), table_name("search")), client("events"), env("EVENT_BUS_NAME")
    )
    logger.info("search feed forwarded", extra={"outcome": outcome})
    return outcome
