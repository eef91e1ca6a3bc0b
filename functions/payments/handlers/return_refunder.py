"""Consumer of the shipping context's ReturnReceived (``shop.shipping``): a received ``return`` with a ``refund`` is
refunded that amount of the order's paying payment through its provider, with ``return:<return_id>`` as the
refund's reference, once per return (the idempotency record is written in the refund's own transaction, so a
redelivered event finds it and refunds nothing). An ``exchange``, or a return with nothing to refund, is ignored.

Outcomes: more than is left refundable is refunded up to what is left (a warning); an order with no captured payment
is logged as an error and acknowledged (retrying cannot help); an order the payments context does not know yet, or
whose paying payment is not settled yet, is raised, so the queue delivers it again.

The event is read as a tolerant reader (the fields used here only)."""

from __future__ import annotations

import json
from typing import Any, Literal

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict

from functions.payments.service import service
from functions.shared.events import detail_of
from functions.shared.logs import shop_logger
from functions.shared.money import Money

logger = shop_logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class ReceivedReturn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    return_id: str
    order_id: str
    kind: Literal["return", "exchange"]
    actor: str
    refund: Money | None = None


def refund_return(record: SQSRecord) -> None:
    envelope: dict[str, Any] = json.loads(record.body)
    received = ReceivedReturn.model_validate(detail_of(envelope))
    ids = {"return_id": received.return_id, "order_id": received.order_id}
    if received.kind != "return" or received.refund is None or received.refund.amount <= 0:
        logger.info("nothing to refund", extra={**ids, "kind": received.kind})
        return
    done = service().refund_return(received.return_id, received.order_id, received.refund, received.actor)
    extra = {
        **ids,
        "outcome": done.outcome,
        "requested": done.requested,
        "refund_id": done.refund.refund_id if done.refund else None,
        "amount": done.refund.amount.amount if done.refund else 0,
    }
    if done.outcome == "not_paid":
        logger.error("a received return's order has no captured payment: not refunded", extra=extra)
    elif done.outcome in ("capped", "nothing_left"):
        logger.warning("a received return asked more than is left refundable: refunded what was left", extra=extra)
    elif not done.same_request:
        logger.warning("a received return came again with another amount: refunded once, as first asked", extra=extra)
    else:
        logger.info("return refund requested" if done.outcome == "refunded" else "return already refunded", extra=extra)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=refund_return, processor=processor, context=context)
    )
