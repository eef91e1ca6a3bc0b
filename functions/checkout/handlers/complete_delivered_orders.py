"""Every hour: delivered orders whose return window (RETURN_WINDOW_DAYS after ``delivered_at``) has ended become
completed, with OrderCompleted. They are found on the ``by_due`` index (written while an order is delivered), never
by a scan; each is re-read and moved with a version-conditioned write, so a run racing another changes it once."""

from __future__ import annotations

from typing import Any

from functions.checkout.service import service
from functions.shared.logs import shop_logger

logger = shop_logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    completed = service().complete_delivered()
    if completed:
        logger.info("delivered orders completed", extra={"count": len(completed), "order_ids": completed})
    return {"completed": completed}
