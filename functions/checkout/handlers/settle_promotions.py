"""Every minute: close the flash sales that have ended, returning their unsold units to sellable stock."""

from __future__ import annotations

from typing import Any

from functions.checkout.service import service
from functions.shared.logs import shop_logger

logger = shop_logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settled = service().settle_promotions()
    if settled:
        logger.info("flash sales settled", extra={"promotion_ids": settled})
    return {"settled": settled}
