"""The payment window's timer: a consumer of OrderPlaced that cancels the order, releasing its stock and coupon,
when the window ends unpaid.

A message for an order that is not due yet is postponed on its own queue (ChangeMessageVisibility to the seconds
left, at most SQS's 12 hours) and reported as a batch item failure, so SQS hands it back when it is due: a real
timer, the same in AWS and on the local platform. Expiry is a conditional transition from ``pending_payment`` at the
version read, in one transaction with the stock release, so it happens exactly once however it races a cancel or a
payment; an order paid or cancelled meanwhile is simply left alone."""

from __future__ import annotations

import json
import math
import os
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.checkout.service import service
from functions.shared.aws import client
from functions.shared.events import detail_of
from functions.shared.logs import shop_logger

logger = shop_logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# SQS refuses a visibility that reaches past 12 hours from the receive, and time since the receive counts.
MAX_VISIBILITY_S = 43_200 - 300


class NotDueYet(Exception):
    """Reported as a failure so the message stays queued; its visibility was set to come back when due."""


def on_record(record: SQSRecord) -> None:
    envelope: dict[str, Any] = json.loads(record.body)
    order_id = str(detail_of(envelope)["order"]["order_id"])
    wait = service().expire(order_id)
    if wait is None:
        logger.info("payment window closed", extra={"order_id": order_id})
        return
    seconds = max(1, min(MAX_VISIBILITY_S, math.ceil(wait)))
    client("sqs").change_message_visibility(
        QueueUrl=os.environ["CONSUMER_QUEUE_URL"], ReceiptHandle=record.receipt_handle, VisibilityTimeout=seconds
    )
    raise NotDueYet(f"order {order_id} is due in {seconds} s")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=on_record, processor=processor, context=context))
