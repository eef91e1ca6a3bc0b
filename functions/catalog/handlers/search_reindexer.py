"""Consumer of SearchReindexPageRequested: one page of a search reindex job per record (see
functions.catalog.search.reindex). A redelivered page is recognised and skipped; a page that fails (a product
locked by a live event, throttling) fails its record alone and SQS brings it back after the visibility timeout."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.catalog.events import SearchReindexPageRequested
from functions.catalog.search.reindex import reindex_jobs
from functions.catalog.search.service import search_index
from functions.shared.events import parse
from functions.shared.logs import shop_logger

logger = shop_logger()
# Report every failed record, even when all of them failed: the response names exactly what to retry either way.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def reindex_record(record: SQSRecord) -> None:
    envelope: dict[str, Any] = json.loads(record.body)
    event = parse(envelope["source"], envelope["detail-type"], envelope["detail"])
    if not isinstance(event, SearchReindexPageRequested):
        raise TypeError(f"{envelope['detail-type']} is not a reindex page request")
    result = reindex_jobs().run_page(event, search_index())
    logger.info(
        "search reindex page",
        extra={
            "job_id": event.job_id,
            "page": event.page,
            "outcome": result.outcome,
            "products": result.products,
            "applied": result.applied,
        },
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=reindex_record, processor=processor, context=context)
    )
