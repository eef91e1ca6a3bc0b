"""Consumer of the events the reports count (orders placed and paid, refunds, returns received, product views,
add-to-cart counts, searches) and of the catalogue's product events (names and SKUs). Each event is counted once
(functions.analytics.repository); one that fails stays on its queue and, in the end, in the dead-letter queue."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.analytics.service import service
from functions.shared.events import detail_of
from functions.shared.logs import shop_logger

logger = shop_logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def on_event(record: SQSRecord) -> None:
    envelope = json.loads(record.body)
    detail = detail_of(envelope)
    outcome = service().record(str(envelope["source"]), str(envelope["detail-type"]), detail)
    logger.info(
        f"analytics event {outcome}",
        extra={"detail_type": envelope["detail-type"], "event_id": detail.get("event_id")},
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=on_event, processor=processor, context=context))
