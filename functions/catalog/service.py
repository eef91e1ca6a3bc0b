"""The catalogue's service layer: the use cases, in plain Python over a repository (DynamoDB or an in-memory fake).

Handlers call exactly one function here; nothing here knows about HTTP or API Gateway.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from functions.catalog.events import ProductArchived, ProductCreated, ProductUpdated
from functions.catalog.model import (
    Brand,
    BrandInput,
    Category,
    CategoryInput,
    CategoryNode,
    Image,
    ImageInput,
    ImageUpload,
    PartnerProduct,
    PartnerProductPage,
    PresignedUpload,
    Product,
    ProductInput,
    ProductPage,
    ProductStatus,
    ProductUpdate,
    Variant,
    build_tree,
)
from functions.catalog.repository import CatalogRepository, DynamoCatalogRepository, ListingQuery
from functions.catalog.search.index import SearchIndex
from functions.catalog.search.model import SearchPage, SearchQuery
from functions.shared import cursor
from functions.shared.errors import Conflict, NotFound, Unprocessable
from functions.shared.events import utcnow
from functions.shared.ids import prefixed

Sort = Literal["newest", "price_asc", "price_desc"]
# The partner feed hands out no change younger than this: the index is eventually consistent and a write commits a
# moment after its updated_at was taken, so a change must have had time to show up before the feed moves past it.
FEED_SETTLE_S = 5
MAX_IMAGES = 20
IMAGE_MAX_BYTES = 10 * 1024 * 1024
UPLOAD_EXPIRES_S = 900
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def next_updated_at(previous: datetime | None) -> datetime:
    """Now, but always after the product's previous change: the partner feed is in ``updated_at`` order, and a
    writer whose clock is a little behind must not put a newer state of a product before an older one."""
    now = utcnow()
    return now if previous is None else max(now, previous + timedelta(microseconds=1))


def shop_currency() -> str:
    return os.environ.get("SHOP_CURRENCY", "CNY")


@dataclass(frozen=True)
class ListingFilters:
    category: str | None = None
    brand: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    sort: Sort = "newest"
    limit: int = 20
    cursor: str | None = None

    def fingerprint(self) -> str:
        return cursor.fingerprint(
            category=self.category, brand=self.brand, min=self.min_price, max=self.max_price, sort=self.sort
        )


class Uploads:
    """Presigned S3 POSTs for product images (signing is local: no AWS request)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def public_url(self, key: str) -> str:
        endpoint = os.environ.get("IMAGE_BASE_URL")
        if endpoint:
            return f"{endpoint.rstrip('/')}/{key}"
        local = os.environ.get("AWS_ENDPOINT_URL")
        if local:  # moto serves objects path-style
            return f"{local.rstrip('/')}/{self._bucket}/{key}"
        region = os.environ.get("AWS_REGION", "us-east-1")
        return f"https://{self._bucket}.s3.{region}.amazonaws.com/{key}"

    def presign(self, key: str, content_type: str) -> PresignedUpload:
        post = self._s3.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, IMAGE_MAX_BYTES]],
            ExpiresIn=UPLOAD_EXPIRES_S,
        )
        return PresignedUpload(
            url=post["url"], fields=dict(post["fields"]), expires_in=UPLOAD_EXPIRES_S, max_bytes=IMAGE_MAX_BYTES
        )


class CatalogService:
    def __init__(
        self, repo: CatalogRepository, uploads: Uploads | None = None, search_index: SearchIndex | None = None
    ) -> None:
        self.repo = repo
        self.uploads = uploads
        self.search_index = search_index

    # --- storefront --------------------------------------------------------------------------------------------

    def get_product(self, product_id: str) -> Product:
        product = self.repo.get_product(product_id)
        if product is None or not product.visible:
            raise NotFound("no such product", code="PRODUCT_NOT_FOUND")
        return product

    def list_products(self, f: ListingFilters) -> ProductPage:
        if f.min_price is not None and f.max_price is not None and f.min_price > f.max_price:
            raise Unprocessable("min_price is above max_price", code="INVALID_PRICE_RANGE")
        fp = f.fingerprint()
        start = cursor.decode(f.cursor, fp)
        if f.category:
            query = ListingQuery(f"CAT#{f.category}", f.sort, f.limit, f.min_price, f.max_price, f.brand)
        elif f.brand:
            query = ListingQuery(f"BRAND#{f.brand}", f.sort, f.limit, f.min_price, f.max_price)
        else:
            query = ListingQuery("ALL", f.sort, f.limit, f.min_price, f.max_price)
        items, last = self.repo.query_listing(query, start)
        if not items and start is None:
            # An empty first page is the only case where an unknown filter value and an empty category look alike;
            # only then is it worth a read to tell them apart (a non-empty page proves the filter exists).
            self._require_refs(f.category, f.brand)
        return ProductPage(items=items, next_cursor=cursor.encode(last, fp))

    def search(self, query: SearchQuery) -> SearchPage:
        """Keyword search (and faceted browsing) through the search index, with the listing's rules for filters."""
        if self.search_index is None:
            raise RuntimeError("search is not configured")
        if query.min_price is not None and query.max_price is not None and query.min_price > query.max_price:
            raise Unprocessable("min_price is above max_price", code="INVALID_PRICE_RANGE")
        page = self.search_index.search(query)
        if not page.items and query.cursor is None and not query.q.strip():
            # Browsing a category or brand that has nothing: tell an unknown id from an empty one, as the listing does.
            self._require_refs(query.category, query.brand)
        return page

    def _require_refs(self, category_id: str | None, brand_id: str | None) -> None:
        if not category_id and not brand_id:
            return
        category, brand = self.repo.get_refs(category_id or "-", brand_id or "-")
        if category_id and category is None:
            raise NotFound(f"no category {category_id}", code="CATEGORY_NOT_FOUND")
        if brand_id and brand is None:
            raise NotFound(f"no brand {brand_id}", code="BRAND_NOT_FOUND")

    def category_tree(self) -> list[CategoryNode]:
        return build_tree(self.repo.list_categories())

    def brands(self) -> list[Brand]:
        return sorted(self.repo.list_brands(), key=lambda b: b.name.casefold())

    # --- partner apps ------------------------------------------------------------------------------------------

    def partner_products(self, updated_since: datetime | None, limit: int, page: str | None) -> PartnerProductPage:
        """The published (active) catalogue in change order, from ``updated_since`` (inclusive) when given. The
        index row of a product archived a moment ago may still be there, so what the products say decides."""
        since = updated_since.astimezone(UTC).isoformat() if updated_since is not None else None
        fp = cursor.fingerprint(list="partner_products", since=since)
        until = utcnow() - timedelta(seconds=FEED_SETTLE_S)
        ids, last = self.repo.query_changes(updated_since, until, limit, cursor.decode(page, fp))
        products = [p for p in self.repo.get_products(ids) if p.visible]
        return PartnerProductPage(
            items=[PartnerProduct.of(p) for p in products], next_cursor=cursor.encode(last, fp), settled_until=until
        )

    # --- back office -------------------------------------------------------------------------------------------

    def admin_get_product(self, product_id: str) -> Product:
        product = self.repo.get_product(product_id, consistent=True)
        if product is None:
            raise NotFound("no such product", code="PRODUCT_NOT_FOUND")
        return product

    def create_category(self, data: CategoryInput) -> Category:
        category_id = prefixed("cat")
        path, names = [category_id], [data.name]
        if data.parent_id:
            parent = self.repo.get_category(data.parent_id)
            if parent is None:
                raise Unprocessable(f"parent category {data.parent_id} does not exist", code="CATEGORY_NOT_FOUND")
            if len(parent.path) >= 4:
                raise Unprocessable("categories nest at most four levels deep", code="CATEGORY_TOO_DEEP")
            path, names = [*parent.path, category_id], [*parent.names, data.name]
        category = Category(
            category_id=category_id,
            name=data.name,
            parent_id=data.parent_id,
            path=path,
            names=names,
            created_at=utcnow(),
        )
        self.repo.add_category(category)
        return category

    def create_brand(self, data: BrandInput) -> Brand:
        brand = Brand(brand_id=prefixed("brd"), name=data.name, created_at=utcnow())
        self.repo.add_brand(brand)
        return brand

    def _build(
        self,
        product_id: str,
        data: ProductInput,
        version: int,
        created_at: datetime,
        images: list[Image],
        previous: datetime | None = None,
    ) -> Product:
        currency = shop_currency()
        if any(v.price.currency != currency for v in data.variants):
            raise Unprocessable(f"prices must be in the shop currency {currency}", code="WRONG_CURRENCY")
        image_ids = {i.image_id for i in images}
        for v in data.variants:
            if v.image_id is not None and v.image_id not in image_ids:
                raise Unprocessable(f"variant {v.sku} refers to unknown image {v.image_id}", code="IMAGE_NOT_FOUND")
        category, brand = self.repo.get_refs(data.category_id, data.brand_id)
        if category is None:
            raise Unprocessable(f"category {data.category_id} does not exist", code="CATEGORY_NOT_FOUND")
        if brand is None:
            raise Unprocessable(f"brand {data.brand_id} does not exist", code="BRAND_NOT_FOUND")
        return Product(
            product_id=product_id,
            name=data.name,
            description=data.description,
            brand_id=brand.brand_id,
            brand_name=brand.name,
            category_id=category.category_id,
            category_path=category.path,
            category_names=category.names,
            status=data.status,
            variants=[Variant.model_validate(v.model_dump()) for v in data.variants],
            images=images,
            version=version,
            created_at=created_at,
            updated_at=next_updated_at(previous),
        )

    def create_product(self, data: ProductInput) -> Product:
        if data.status is ProductStatus.ARCHIVED:
            raise Unprocessable("a new product cannot be archived", code="INVALID_STATUS")
        now = utcnow()
        product = self._build(prefixed("prd"), data, 1, now, [])
        self.repo.save_product(None, product, ProductCreated(product=product))
        return product

    def update_product(self, product_id: str, data: ProductUpdate) -> Product:
        current = self.admin_get_product(product_id)
        if data.version != current.version:
            raise Conflict(
                f"you edited version {data.version} but the product is at version {current.version}; reload it",
                code="VERSION_CONFLICT",
            )
        product = self._build(
            product_id, data, current.version + 1, current.created_at, current.images, current.updated_at
        )
        event = ProductArchived if product.status is ProductStatus.ARCHIVED else ProductUpdated
        self.repo.save_product(current, product, event(product=product))
        return product

    def archive_product(self, product_id: str) -> Product:
        current = self.admin_get_product(product_id)
        if current.status is ProductStatus.ARCHIVED:
            return current  # DELETE is idempotent: archiving twice changes nothing and publishes nothing
        product = current.model_copy(
            update={
                "status": ProductStatus.ARCHIVED,
                "version": current.version + 1,
                "updated_at": next_updated_at(current.updated_at),
            }
        )
        self.repo.save_product(current, product, ProductArchived(product=product))
        return product

    def add_image(self, product_id: str, data: ImageInput) -> ImageUpload:
        if self.uploads is None:
            raise RuntimeError("image uploads are not configured")
        current = self.admin_get_product(product_id)
        if len(current.images) >= MAX_IMAGES:
            raise Unprocessable(f"a product has at most {MAX_IMAGES} images", code="TOO_MANY_IMAGES")
        image_id = prefixed("img")
        key = f"products/{product_id}/{image_id}.{_EXTENSIONS[data.content_type]}"
        image = Image(image_id=image_id, url=self.uploads.public_url(key), alt=data.alt)
        product = current.model_copy(
            update={
                "images": [*current.images, image],
                "version": current.version + 1,
                "updated_at": next_updated_at(current.updated_at),
            }
        )
        self.repo.save_product(current, product, ProductUpdated(product=product))
        return ImageUpload(
            image=image, upload=self.uploads.presign(key, data.content_type), product_version=product.version
        )


def service() -> CatalogService:
    """The composition root: real adapters. Cheap to call per request: the clients and settings behind it are
    created once per container and cached (functions.shared.aws, functions.shared.settings)."""
    from functions.shared.aws import client
    from functions.shared.settings import resource_name, table_name

    repo = DynamoCatalogRepository(client("dynamodb"), table_name("catalog"))
    uploads = None
    if os.environ.get("IMAGES_BUCKET_NAME"):
        uploads = Uploads(client("s3"), resource_name("bucket:images"))
    index = None
    if os.environ.get("SEARCH_TABLE_NAME"):  # only functions granted the search table use it
        from functions.catalog.search.service import search_index

        index = search_index()
    return CatalogService(repo, uploads, index)
