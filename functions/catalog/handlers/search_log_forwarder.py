"""SearchLogForwarder: the destination of the CloudWatch Logs subscription on the search handlers' log groups (a
``LogSubscription`` in the catalogue manifest). Stores each search and view of the feed in the ``search`` table and
publishes them as domain events; functions.catalog.search.analytics has the item design and why replays are safe.

Invoked asynchronously by CloudWatch Logs (locally, by the platform's log delivery): an error makes Lambda retry
the whole batch, which the idempotent writes absorb."""

from __future__ import annotations

from typing import Any

from functions.catalog.search.analytics import SearchLog, decode, forward, logger
from functions.shared.aws import client
from functions.shared.settings import env, table_name


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    records = decode(event)
    if not records:
        return {"searches": 0, "replayed": 0, "views": 0, "dropped_views": 0}
    outcome = forward(
        records, SearchLog(client("dynamodb"), table_name("search")), client("events"), env("EVENT_BUS_NAME")
    )
    logger.info("search feed forwarded", extra={"outcome": outcome})
    return outcome
