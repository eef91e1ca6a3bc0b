"""The catalogue's domain model and its rules. Plain pydantic, no I/O: the service layer and tests use it directly.

Rules held here:
* a product has 1..50 variants; SKUs are unique within the product (and, through guard items, across the shop);
* every variant is priced in the shop currency, as an integer amount of minor units; a compare-at price, when given,
  is above the price (otherwise it is not a discount worth showing);
* option values are consistent: every variant names the same option keys, and no two variants share option values;
* only ``active`` products are visible to shoppers; ``archived`` products keep their SKUs reserved, because orders
  and stock records refer to them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from functions.shared.money import Money
from functions.shared.text import plain_line, plain_paragraphs

MAX_VARIANTS = 50
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


Name = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=5000)]
Sku = Annotated[str, Field(pattern=SKU_PATTERN, examples=["HW-P60-BLK-256"])]
OptionText = Annotated[str, Field(min_length=1, max_length=50), AfterValidator(plain_line)]


class ProductStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- requests ----------------------------------------------------------------------------------------------------


class VariantInput(Strict):
    sku: Sku
    options: dict[OptionText, OptionText] = Field(default_factory=dict, max_length=5)
    price: Money
    compare_at_price: Money | None = None
    weight_grams: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = 0
    image_id: str | None = Field(default=None, max_length=64, description="One of the product's image ids")

    @model_validator(mode="after")
    def _compare_at_above_price(self) -> VariantInput:
        if self.compare_at_price is not None:
            if self.compare_at_price.currency != self.price.currency:
                raise ValueError("compare_at_price must be in the same currency as price")
            if self.compare_at_price.amount <= self.price.amount:
                raise ValueError("compare_at_price must be higher than price")
        return self


class ProductInput(Strict):
    """What staff send to create a product. Server-controlled fields (id, version, timestamps) are refused."""

    name: Name
    description: Description = ""
    brand_id: str = Field(min_length=1, max_length=64)
    category_id: str = Field(min_length=1, max_length=64)
    status: ProductStatus = ProductStatus.DRAFT
    variants: list[VariantInput] = Field(min_length=1, max_length=MAX_VARIANTS)

    _clean_name = field_validator("name")(plain_line)
    _clean_description = field_validator("description")(plain_paragraphs)

    @model_validator(mode="after")
    def _variants_consistent(self) -> ProductInput:
        skus = [v.sku.upper() for v in self.variants]
        if len(set(skus)) != len(skus):
            raise ValueError("variant SKUs must be unique (case-insensitive)")
        keys = {frozenset(v.options) for v in self.variants}
        if len(keys) > 1:
            raise ValueError("every variant must name the same option keys")
        combos = [tuple(sorted(v.options.items())) for v in self.variants]
        if len(set(combos)) != len(combos):
            raise ValueError("two variants have the same option values")
        currencies = {v.price.currency for v in self.variants}
        if len(currencies) > 1:
            raise ValueError("all variants must be priced in one currency")
        return self


class ProductUpdate(ProductInput):
    """A full replacement: every editable field is required, so leaving ``status`` out cannot quietly take an
    active product off the shop."""

    description: Description
    status: ProductStatus
    version: StrictInt = Field(ge=1, description="The version you read; a stale one is a 409")


class CategoryInput(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    parent_id: str | None = Field(default=None, min_length=1, max_length=64)

    _clean_name = field_validator("name")(plain_line)


class BrandInput(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]

    _clean_name = field_validator("name")(plain_line)


class ImageInput(Strict):
    content_type: Annotated[str, Field(pattern=r"^image/(jpeg|png|webp)$")] = "image/jpeg"
    alt: Annotated[str, Field(max_length=200)] = ""

    _clean_alt = field_validator("alt")(plain_line)


# --- entities ----------------------------------------------------------------------------------------------------


class Category(BaseModel):
    category_id: str
    name: str
    parent_id: str | None = None
    path: list[str] = Field(description="Ancestor ids from the root, ending with this category's id")
    names: list[str] = Field(description="The names along the path, for breadcrumbs and search")
    created_at: datetime


class CategoryNode(BaseModel):
    category_id: str
    name: str
    parent_id: str | None
    children: list[CategoryNode] = Field(default_factory=list)


class Brand(BaseModel):
    brand_id: str
    name: str
    created_at: datetime


class Image(BaseModel):
    image_id: str
    url: str
    alt: str = ""


class Variant(BaseModel):
    sku: str
    options: dict[str, str]
    price: Money
    compare_at_price: Money | None = None
    weight_grams: int = 0
    image_id: str | None = None


class Product(BaseModel):
    product_id: str
    name: str
    description: str
    brand_id: str
    brand_name: str
    category_id: str
    category_path: list[str]
    category_names: list[str]
    status: ProductStatus
    variants: list[Variant]
    images: list[Image] = Field(default_factory=list)
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def price(self) -> Money:
        """The "from" price shown in listings: the cheapest variant."""
        return min((v.price for v in self.variants), key=lambda m: m.amount)

    @property
    def compare_at_price(self) -> Money | None:
        cheapest = min(self.variants, key=lambda v: v.price.amount)
        return cheapest.compare_at_price

    @property
    def skus(self) -> set[str]:
        return {v.sku for v in self.variants}

    @property
    def visible(self) -> bool:
        return self.status is ProductStatus.ACTIVE

    def listing_partitions(self) -> set[str]:
        """Where an active product is listed: everything, each category on its path (so a parent category lists
        its sub-categories' products), and its brand."""
        if not self.visible:
            return set()
        return {"ALL", *(f"CAT#{c}" for c in self.category_path), f"BRAND#{self.brand_id}"}


class ProductSummary(BaseModel):
    """One row of a listing: enough to draw a product card without reading the product."""

    product_id: str
    name: str
    brand_id: str
    brand_name: str
    category_id: str
    price: Money
    compare_at_price: Money | None = None
    image_url: str | None = None
    created_at: datetime

    @classmethod
    def of(cls, product: Product) -> ProductSummary:
        return cls(
            product_id=product.product_id,
            name=product.name,
            brand_id=product.brand_id,
            brand_name=product.brand_name,
            category_id=product.category_id,
            price=product.price,
            compare_at_price=product.compare_at_price,
            image_url=product.images[0].url if product.images else None,
            created_at=product.created_at,
        )


class ProductPage(BaseModel):
    items: list[ProductSummary]
    next_cursor: str | None = None


class PartnerBrand(BaseModel):
    brand_id: str
    name: str


class PartnerCategory(BaseModel):
    category_id: str
    path: list[str] = Field(description="Category ids from the root, ending with this one")
    names: list[str] = Field(description="The names along the path")


class PartnerVariant(BaseModel):
    sku: str
    options: dict[str, str]
    price: Money
    compare_at_price: Money | None = Field(default=None, description="The price before a discount, when there is one")
    weight_grams: int
    image_url: str | None = Field(default=None, description="The variant's own picture, if it has one")


class PartnerImage(BaseModel):
    url: str
    alt: str = ""


class PartnerProduct(BaseModel):
    """A published product as partner apps see it (GET /partner/v1/products): its own contract, apart from the
    storefront's, so the partner API stays stable while the internal model changes. No stock: the catalogue does not
    hold any (docs/catalog.md)."""

    product_id: str
    name: str
    description: str
    brand: PartnerBrand
    category: PartnerCategory
    price: Money = Field(description="The 'from' price: the cheapest variant's")
    variants: list[PartnerVariant]
    images: list[PartnerImage]
    created_at: datetime
    updated_at: datetime = Field(description="Pass the last one you saw as updated_since to fetch what changed since")

    @classmethod
    def of(cls, product: Product) -> PartnerProduct:
        urls = {i.image_id: i.url for i in product.images}
        return cls(
            product_id=product.product_id,
            name=product.name,
            description=product.description,
            brand=PartnerBrand(brand_id=product.brand_id, name=product.brand_name),
            category=PartnerCategory(
                category_id=product.category_id, path=product.category_path, names=product.category_names
            ),
            price=product.price,
            variants=[
                PartnerVariant(
                    sku=v.sku,
                    options=v.options,
                    price=v.price,
                    compare_at_price=v.compare_at_price,
                    weight_grams=v.weight_grams,
                    image_url=urls.get(v.image_id) if v.image_id else None,
                )
                for v in product.variants
            ],
            images=[PartnerImage(url=i.url, alt=i.alt) for i in product.images],
            created_at=product.created_at,
            updated_at=product.updated_at,
        )


class PartnerProductPage(BaseModel):
    items: list[PartnerProduct]
    next_cursor: str | None = None
    settled_until: datetime = Field(
        description="Changes up to this time are in the feed; younger ones are held back a few seconds until they "
        "have settled"
    )


class CategoryTree(BaseModel):
    items: list[CategoryNode]


class BrandList(BaseModel):
    items: list[Brand]


class PresignedUpload(BaseModel):
    url: str
    fields: dict[str, str]
    expires_in: int
    max_bytes: int


class ImageUpload(BaseModel):
    image: Image
    upload: PresignedUpload
    product_version: int


def build_tree(categories: list[Category]) -> list[CategoryNode]:
    nodes = {
        c.category_id: CategoryNode(category_id=c.category_id, name=c.name, parent_id=c.parent_id) for c in categories
    }
    roots: list[CategoryNode] = []
    for c in sorted(categories, key=lambda c: c.name):
        node = nodes[c.category_id]
        parent = nodes.get(c.parent_id) if c.parent_id else None
        (parent.children if parent else roots).append(node)
    return roots
