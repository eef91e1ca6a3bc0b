"""CartLogForwarder: the destination of the CloudWatch Logs subscription on AddCartItem's log group (a
``LogSubscription`` in the checkout manifest). Counts the successful add-to-cart requests per product and UTC hour
and publishes one ``CartAdditionsCounted`` each (functions.checkout.cart_analytics).

Invoked asynchronously by CloudWatch Logs (locally, by the platform's log delivery): an error makes Lambda retry the
whole batch, which publishes the same event ids again."""

from __future__ import annotations

from typing import Any

from functions.checkout.cart_analytics import decode, forward, logger
from functions.shared.aws import client
from functions.shared.settings import env


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    additions = decode(event)
    if not additions:
        return {"additions": 0, "units": 0, "events": 0}
    outcome = forward(additions, client("events"), env("EVENT_BUS_NAME"))
    logger.info("cart feed forwarded", extra={"outcome": outcome})
    return outcome
