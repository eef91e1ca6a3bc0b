"""Events the catalogue publishes (source ``shop.catalog``). Each carries the product as it is after the change and
its ``version``, so a consumer can apply them idempotently and ignore one older than what it already has."""

from __future__ import annotations

from typing import ClassVar

from functions.catalog.model import Product
from functions.shared.events import DomainEvent


class ProductEvent(DomainEvent):
    product: Product


class ProductCreated(ProductEvent):
    SOURCE: ClassVar[str] = "shop.catalog"


class ProductUpdated(ProductEvent):
    SOURCE: ClassVar[str] = "shop.catalog"


class ProductArchived(ProductEvent):
    SOURCE: ClassVar[str] = "shop.catalog"
