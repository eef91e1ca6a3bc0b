"""Every two minutes: payments pending longer than a callback should take (3 minutes) are settled by asking their
provider, exactly as if the lost callback had come."""

from __future__ import annotations

from typing import Any

from functions.payments.service import service
from functions.shared.logs import shop_logger

logger = shop_logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcomes = service().reconcile()
    if outcomes:
        logger.info("payments reconciled", extra={"outcomes": outcomes})
    return {"reconciled": outcomes}
