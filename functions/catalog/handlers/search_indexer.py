"""Consumer of ProductCreated/Updated/Archived: keeps the search index in step with the catalogue.

Each SQS record carries one EventBridge event. ``SearchIndex.apply`` is guarded by the product version, so a
duplicate delivery or an event older than what is indexed changes nothing; a record whose product is being
indexed by another worker fails alone (partial batch response) and comes back after the visibility timeout.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.catalog.events import ProductEvent
from functions.catalog.search.service import search_index
from functions.shared.events import parse
from functions.shared.logs import shop_logger

logger = shop_logger()
# Report every failed record, even when all of them failed: the response names exactly what to retry either way.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def index_record(record: SQSRecord) -> None:
    envelope: dict[str, Any] = json.loads(record.body)
    event = parse(envelope["source"], envelope["detail-type"], envelope["detail"])
    if not isinstance(event, ProductEvent):
        raise TypeError(f"{envelope['detail-type']} is not a product event")
    product = event.product
    applied = search_index().apply(product)
    logger.info(
        "search index applied" if applied else "search index already newer",
        extra={"product_id": product.product_id, "version": product.version, "event_id": event.event_id},
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=index_record, processor=processor, context=context)
    )
