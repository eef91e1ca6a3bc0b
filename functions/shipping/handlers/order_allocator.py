"""Consumer of the checkout's OrderPaid and OrderCancelled: a paid order is allocated to warehouses (one parcel
per warehouse; docs/shipping.md has the rule), or waits for stock (OrderBackordered); a cancelled one gets its
undispatched units back in available stock. Both are idempotent; a cancel that arrives before the payment leaves a
record that stops the late OrderPaid. The event is read as a tolerant reader."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.shared.events import detail_of
from functions.shared.logs import shop_logger
from functions.shipping.service import service

logger = shop_logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def on_order(record: SQSRecord) -> None:
    envelope: dict[str, Any] = json.loads(record.body)
    order = dict(detail_of(envelope)["order"])
    if envelope.get("detail-type") == "OrderCancelled":
        outcome = service().order_cancelled(str(order["order_id"]))
    else:
        outcome = service().order_paid(order)
    logger.info("order handled", extra={"order_id": order["order_id"], "outcome": outcome})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=on_order, processor=processor, context=context))
