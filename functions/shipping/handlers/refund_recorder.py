"""Consumer of the payments context's RefundSucceeded and RefundFailed: a refund whose reference is
``return:<id>`` marks that return ``refunded`` (ReturnRefunded), or records why it failed (the return stays
``received`` for staff to refund by hand). Other refunds are not ours; duplicates change nothing."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict

from functions.shared.events import detail_of
from functions.shared.logs import shop_logger
from functions.shared.money import Money
from functions.shipping.service import service

logger = shop_logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class RefundFacts(BaseModel):
    model_config = ConfigDict(extra="ignore")

    refund_id: str
    amount: Money
    reference: str | None = None
    reason: str = ""


def on_refund(record: SQSRecord) -> None:
    envelope = json.loads(record.body)
    facts = RefundFacts.model_validate(detail_of(envelope))
    if envelope.get("detail-type") == "RefundFailed":
        outcome = service().refund_failed(facts.reference, facts.refund_id, facts.reason or "refund failed")
    else:
        outcome = service().refund_recorded(facts.reference, facts.refund_id, facts.amount.model_dump())
    logger.info("refund seen", extra={"refund_id": facts.refund_id, "outcome": outcome})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=on_refund, processor=processor, context=context))
