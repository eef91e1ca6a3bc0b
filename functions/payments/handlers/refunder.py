"""Consumer of the checkout's PaymentRejected (a success the order could not take: cancelled or expired first,
already paid, wrong amount) and OrderCancelled with ``refund_due`` (a paid order cancelled before shipment): the
payment is refunded in full through its provider, once (nothing is left to refund the second time)."""

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


def refund(record: SQSRecord) -> None:
    envelope: dict[str, Any] = json.loads(record.body)
    detail = detail_of(envelope)
    if envelope.get("detail-type") == "PaymentRejected":
        payment_id, reason = str(detail["payment_id"]), f"payment rejected: {detail['reason']}"
    else:
        order = detail["order"]
        if not detail.get("refund_due") or not order.get("payment_id"):
            return  # an unpaid order was cancelled: nothing was captured
        payment_id, reason = str(order["payment_id"]), "order cancelled before shipment"
    done = service().refund_in_full(payment_id, reason)
    logger.info(
        "refund requested" if done else "nothing left to refund",
        extra={"payment_id": payment_id, "refund_id": done.refund_id if done else None},
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=refund, processor=processor, context=context))
