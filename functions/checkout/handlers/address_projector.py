"""Consumer of the accounts context's AddressSaved and AddressDeleted (``shop.accounts``): keeps the checkout's own
copy of each shopper's saved addresses, so a checkout can name an ``address_id`` without reading the accounts
table.

* AddressSaved: the address replaces the copy held only when its ``version`` is newer;
* AddressDeleted: a tombstone with the address's last ``version`` replaces it (same rule), so a late AddressSaved
  of an older version cannot bring it back, and a checkout naming it is refused.

Replays and out-of-order events change nothing. The events are read as a tolerant reader (the fields used here
only); nothing of the address itself is logged."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict

from functions.checkout.model import SavedAddress
from functions.checkout.service import service
from functions.shared.events import detail_of
from functions.shared.logs import shop_logger

logger = shop_logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Address(_Tolerant):
    address_id: str
    recipient: str
    phone: str
    region: str
    city: str
    district: str = ""
    street: str
    postcode: str
    country: str = "CN"
    is_default: bool = False
    version: int
    updated_at: datetime | None = None


class SavedFacts(_Tolerant):
    user_id: str
    address: _Address


class DeletedFacts(_Tolerant):
    user_id: str
    address_id: str
    version: int


def on_address_event(record: SQSRecord) -> None:
    envelope: dict[str, Any] = json.loads(record.body)
    detail_type = envelope.get("detail-type")
    detail = detail_of(envelope)
    if detail_type == "AddressSaved":
        saved = SavedFacts.model_validate(detail)
        user_id, address = saved.user_id, SavedAddress.model_validate(saved.address.model_dump())
    elif detail_type == "AddressDeleted":
        deleted = DeletedFacts.model_validate(detail)
        user_id = deleted.user_id
        address = SavedAddress(address_id=deleted.address_id, version=deleted.version, deleted=True)
    else:
        logger.warning("event type not handled here", extra={"detail_type": detail_type})
        return
    applied = service().project_address(user_id, address)
    logger.info(
        "saved address updated" if applied else "saved address already newer",
        extra={
            "user_id": user_id,
            "address_id": address.address_id,
            "version": address.version,
            "deleted": address.deleted,
        },
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=on_address_event, processor=processor, context=context)
    )
