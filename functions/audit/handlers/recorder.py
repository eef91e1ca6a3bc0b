"""Consumer of ``shop.audit`` / ``ActionRecorded`` (published by every audited call's own function,
functions.shared.audit): appends each entry to the audit table, once. A redelivery finds its entry there and
changes nothing; an entry that cannot be written fails its record, which SQS redelivers and, in the end, keeps in
the dead-letter queue: an audit entry is never dropped here."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.audit.events import ActionRecorded
from functions.audit.service import service
from functions.shared.events import detail_of
from functions.shared.logs import shop_logger

logger = shop_logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def on_action(record: SQSRecord) -> None:
    entry = ActionRecorded.model_validate(detail_of(json.loads(record.body)))
    written = service().record(entry)
    logger.info(
        "audit entry written" if written else "audit entry already written",
        extra={"entry_id": entry.entry_id, "action": entry.action, "outcome": entry.outcome},
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=on_action, processor=processor, context=context))
