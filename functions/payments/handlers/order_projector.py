"""Consumer of the checkout's OrderPlaced/OrderPaid/OrderCancelled: keeps the payments context's copy of each order
(owner, total, status), guarded by the checkout's order version (replays and late events change nothing)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.payments.service import service
from functions.shared.events import detail_of
from functions.shared.logs import shop_logger

logger = shop_logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def project(record: SQSRecord) -> None:
    envelope: dict[str, Any] = json.loads(record.body)
    order = detail_of(envelope)["order"]
    applied = service().project_order(order)
    logger.info("order projected" if applied else "order already newer", extra={"order_id": order.get("order_id")})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=project, processor=processor, context=context))
