"""Consumer of the catalogue's ProductCreated/Updated/Archived: keeps the checkout's own copy of each SKU (price,
name, options, image, scope for coupons, on sale or not), so the checkout never reads the catalogue's table.

The event is read as a tolerant reader: only the fields used here, whatever else the catalogue adds. Applying a
product version is guarded by that version, so a replay or an older event arriving late changes nothing; a variant
an update dropped, and every SKU of an archived or draft product, is taken off sale (carts show it unavailable)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict, Field

from functions.checkout.model import SkuInfo
from functions.checkout.service import service
from functions.shared.events import detail_of
from functions.shared.logs import shop_logger
from functions.shared.money import Money

logger = shop_logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Image(_Tolerant):
    image_id: str
    url: str


class _Variant(_Tolerant):
    sku: str
    options: dict[str, str] = Field(default_factory=dict)
    price: Money
    image_id: str | None = None


class ProductFacts(_Tolerant):
    """What the checkout reads of a catalogue product event's ``product``."""

    product_id: str
    name: str
    status: str
    brand_id: str = ""
    category_path: list[str] = Field(default_factory=list)
    variants: list[_Variant]
    images: list[_Image] = Field(default_factory=list)
    version: int


def sku_infos(product: ProductFacts) -> list[SkuInfo]:
    images = {i.image_id: i.url for i in product.images}
    first = product.images[0].url if product.images else None
    return [
        SkuInfo(
            sku=v.sku.upper(),
            product_id=product.product_id,
            product_name=product.name,
            options=v.options,
            price=v.price,
            image_url=images.get(v.image_id or "", first),
            brand_id=product.brand_id,
            category_path=product.category_path,
            active=product.status == "active",
            product_version=product.version,
        )
        for v in product.variants
    ]


def project(record: SQSRecord) -> None:
    envelope: dict[str, Any] = json.loads(record.body)
    product = ProductFacts.model_validate(detail_of(envelope)["product"])
    repo = service().repo
    infos = sku_infos(product)
    old_version, old_skus = repo.product_skus(product.product_id)
    dropped = sorted(set(old_skus) - {i.sku for i in infos})
    applied = repo.project_product(product.product_id, product.version, infos, dropped, old_version)
    logger.info(
        "SKU records updated" if applied else "SKU records already newer",
        extra={"product_id": product.product_id, "version": product.version, "dropped": dropped},
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=project, processor=processor, context=context))
