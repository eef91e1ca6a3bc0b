"""Every five minutes: the payment-window timer's backstop. Orders still unpaid well after their window (their timer
message dead-lettered, or the event was delayed) are expired exactly as the timer would, releasing their stock."""

from __future__ import annotations

from typing import Any

from functions.checkout.service import service
from functions.shared.logs import shop_logger

logger = shop_logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    expired = service().expire_overdue()
    if expired:
        # Each one is a timer message that did not do its job: worth an alarm on this line.
        logger.warning("overdue unpaid orders expired by the backstop", extra={"order_ids": expired})
    return {"expired": expired}
