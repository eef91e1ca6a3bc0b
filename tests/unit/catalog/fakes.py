"""An in-memory catalogue repository with the same contract as the DynamoDB one (conditions included)."""

from __future__ import annotations

from typing import Any

from functions.catalog.model import Brand, Category, Product, ProductSummary
from functions.catalog.repository import ListingQuery, price_key
from functions.shared.errors import Conflict
from functions.shared.events import DomainEvent


class FakeCatalogRepository:
    def __init__(self) -> None:
        self.products: dict[str, Product] = {}
        self.categories: dict[str, Category] = {}
        self.brands: dict[str, Brand] = {}
        self.skus: dict[str, str] = {}
        self.events: list[DomainEvent] = []

    def get_product(self, product_id: str, consistent: bool = False) -> Product | None:
        return self.products.get(product_id)

    def get_refs(self, category_id: str, brand_id: str) -> tuple[Category | None, Brand | None]:
        return self.categories.get(category_id), self.brands.get(brand_id)

    def get_category(self, category_id: str) -> Category | None:
        return self.categories.get(category_id)

    def list_categories(self) -> list[Category]:
        return list(self.categories.values())

    def list_brands(self) -> list[Brand]:
        return list(self.brands.values())

    def add_category(self, category: Category) -> None:
        siblings = [c for c in self.categories.values() if c.parent_id == category.parent_id]
        if any(c.name.casefold() == category.name.casefold() for c in siblings):
            raise Conflict("exists", code="CATEGORY_EXISTS")
        self.categories[category.category_id] = category

    def add_brand(self, brand: Brand) -> None:
        if any(b.name.casefold() == brand.name.casefold() for b in self.brands.values()):
            raise Conflict("exists", code="BRAND_EXISTS")
        self.brands[brand.brand_id] = brand

    def save_product(self, old: Product | None, new: Product, event: DomainEvent) -> None:
        stored = self.products.get(new.product_id)
        if old is None and stored is not None:
            raise Conflict("exists", code="PRODUCT_EXISTS")
        if old is not None and (stored is None or stored.version != old.version):
            raise Conflict("stale", code="VERSION_CONFLICT")
        for sku in (s.upper() for s in new.skus):
            if self.skus.get(sku, new.product_id) != new.product_id:
                raise Conflict(f"SKU {sku} taken", code="SKU_TAKEN")
        for sku in (s.upper() for s in new.skus):
            self.skus[sku] = new.product_id
        self.products[new.product_id] = new
        self.events.append(event)

    def query_listing(
        self, query: ListingQuery, start: dict[str, Any] | None
    ) -> tuple[list[ProductSummary], dict[str, Any] | None]:
        rows = [p for p in self.products.values() if query.partition in p.listing_partitions()]
        if query.brand_id:
            rows = [p for p in rows if p.brand_id == query.brand_id]
        if query.min_price is not None:
            rows = [p for p in rows if p.price.amount >= query.min_price]
        if query.max_price is not None:
            rows = [p for p in rows if p.price.amount <= query.max_price]
        if query.sort == "newest":
            rows.sort(key=lambda p: (p.created_at.isoformat(), p.product_id), reverse=True)
        else:
            rows.sort(key=lambda p: price_key(p.price.amount, p.product_id), reverse=query.sort == "price_desc")
        offset = int(start["offset"]) if start else 0
        page = rows[offset : offset + query.limit]
        more = offset + query.limit < len(rows)
        return [ProductSummary.of(p) for p in page], ({"offset": offset + query.limit} if more else None)
