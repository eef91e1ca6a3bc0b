"""Consumer of the shipping context's StockMovementRecorded and AllocationReleased (``shop.shipping``): keeps the
checkout's sellable stock right when warehouses gain or lose units, and its copy of each SKU's per-warehouse stock.

* StockMovementRecorded: ``sellable_delta`` is applied to the SKU's sellable stock exactly once per ``movement_id``
  (a marker written in the same transaction; a redelivery changes nothing). A loss of units that open orders had
  reserved takes sellable stock below zero, which no checkout can pass; the inventory view shows it as ``short``.
* Both: the ``stock`` snapshot(s) replace the stored per-warehouse stock only when their ``version`` is newer, so
  late events never roll it back. A stale snapshot never holds up the delta (they are separate writes).

The events are read as a tolerant reader (the fields used here only)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict, Field

from functions.checkout.model import StockSnapshot
from functions.checkout.service import service
from functions.shared.events import detail_of
from functions.shared.logs import shop_logger

logger = shop_logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class MovementFacts(BaseModel):
    model_config = ConfigDict(extra="ignore")

    movement_id: str
    sku: str
    sellable_delta: int
    stock: StockSnapshot | None = None


class ReleaseFacts(BaseModel):
    model_config = ConfigDict(extra="ignore")

    order_id: str = ""
    stock: list[StockSnapshot] = Field(default_factory=list)


def on_stock_event(record: SQSRecord) -> None:
    envelope: dict[str, Any] = json.loads(record.body)
    detail_type = envelope.get("detail-type")
    detail = detail_of(envelope)
    if detail_type == "StockMovementRecorded":
        movement = MovementFacts.model_validate(detail)
        outcome = service().record_stock_movement(
            movement.movement_id, movement.sku, movement.sellable_delta, movement.stock
        )
        logger.info(
            "stock movement recorded",
            extra={"movement_id": movement.movement_id, "sku": movement.sku, "outcome": outcome},
        )
    elif detail_type == "AllocationReleased":
        released = ReleaseFacts.model_validate(detail)
        applied = service().apply_stock_snapshots(released.stock)
        logger.info("allocation released", extra={"order_id": released.order_id, "snapshots_applied": applied})
    else:
        logger.warning("event type not handled here", extra={"detail_type": detail_type})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=on_stock_event, processor=processor, context=context)
    )
