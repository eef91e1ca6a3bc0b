"""Schedule: orders (and exchanges) that wait for stock are tried again, oldest first, so an inbound movement
gets them shipped without anyone re-entering them."""

from __future__ import annotations

from typing import Any

from functions.shared.logs import shop_logger
from functions.shipping.service import service

logger = shop_logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcomes = service().allocate_waiting()
    allocated = sorted(o for o, what in outcomes.items() if what == "allocated")
    logger.info("waiting orders tried", extra={"tried": len(outcomes), "allocated": len(allocated)})
    return {"tried": len(outcomes), "allocated": allocated}
