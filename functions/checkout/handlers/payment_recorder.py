"""Consumer of PaymentSucceeded (``shop.payments``): an order waiting for payment becomes ``paid`` (OrderPaid);
a payment the order cannot take — it was cancelled or expired first, another payment paid it, or the amount differs
— is answered with PaymentRejected, which the payments context refunds. Duplicates change nothing.

The event is read as a tolerant reader (the fields used here only)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict

from functions.checkout.service import service
from functions.shared.events import detail_of
from functions.shared.logs import shop_logger
from functions.shared.money import Money

logger = shop_logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class PaymentFacts(BaseModel):
    model_config = ConfigDict(extra="ignore")

    payment_id: str
    order_id: str
    amount: Money
    succeeded_at: datetime


def on_payment(record: SQSRecord) -> None:
    envelope: dict[str, Any] = json.loads(record.body)
    facts = PaymentFacts.model_validate(detail_of(envelope))
    outcome = service().record_payment(
        facts.order_id, facts.payment_id, facts.amount.amount, facts.amount.currency, facts.succeeded_at
    )
    log = logger.info if outcome in ("paid", "duplicate") else logger.warning
    log("payment recorded", extra={"order_id": facts.order_id, "payment_id": facts.payment_id, "outcome": outcome})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=on_payment, processor=processor, context=context))
