"""Catalogue scenarios. Seed: Electronics > Phones (25 active products, Huawei and Sony alternating) and
Electronics > Audio (3 Sony products, the only ones in the search index: indexing costs ~110 requests a product),
plus a Scratch category that receives the products made for write scenarios, so the listings measured keep the same
shape however many runs there are.

The SearchLogForwarder gets the feed lines the real emitters write (functions.catalog.search.feed), captured
in-process and delivered as CloudWatch Logs would deliver one log group's batch."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from bench.harness import CATALOG_STAFF, Bench, ScenarioFailed, outcome
from bench.scenarios import scenario, seeder
from bench.scenarios.relay import BATCH, stream_event
from functions.catalog.events import ProductCreated
from functions.catalog.model import Product
from functions.catalog.search import feed
from functions.catalog.search.service import search_index
from functions.catalog.service import FEED_SETTLE_S
from functions.shared.outbox import outbox_item
from functions.shared.wiring import StreamConsumer
from local.logs import captured

PHONES = 25  # more than one default page of 20: the first page of Phones has a next page
AUDIO = 3
# A partner app as the partner authorizer lets it through (its context, flattened to strings as API Gateway does).
PARTNER_APP = {
    "principalId": "app_01BENCH0000000000000000000",
    "app_key": "app_01BENCH0000000000000000000",
    "app_name": "Bench partner",
    "scopes": "products:read orders:read shipments:write inventory:write",
}


def partner_event(
    bench: Bench,
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    app: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The event of a signed partner call: the authorizer's context instead of Cognito claims, and the body hash
    the client signed (``X-Content-SHA256``), which the HTTP layer checks against the body that arrived."""
    event = bench.event(method, path, body, query=query)
    event["requestContext"]["authorizer"] = dict(app or PARTNER_APP)
    extra = dict(headers or {})
    if event.get("body"):
        extra["X-Content-SHA256"] = hashlib.sha256(str(event["body"]).encode()).hexdigest()
    event["headers"] = {**(event.get("headers") or {}), **extra}
    event["multiValueHeaders"] = {**(event.get("multiValueHeaders") or {}), **{k: [v] for k, v in extra.items()}}
    return event


def _seed(bench: Bench) -> dict[str, Any]:
    seed: dict[str, Any] = bench.seed["catalog"]
    return seed


def product_body(
    bench: Bench, category: str, brand: str, status: str = "active", price: int = 499900
) -> dict[str, Any]:
    return {
        "name": bench.unique("Bench phone "),
        "description": "A product made by the benchmark",
        "brand_id": brand,
        "category_id": category,
        "status": status,
        "variants": [
            {
                "sku": bench.unique("B-BLK-"),
                "price": {"amount": price, "currency": "CNY"},
                "options": {"colour": "black"},
            },
            {
                "sku": bench.unique("B-WHT-"),
                "price": {"amount": price + 10000, "currency": "CNY"},
                "options": {"colour": "white"},
            },
        ],
    }


def fresh_product(bench: Bench) -> dict[str, Any]:
    """An active product in the Scratch category, made in-process for a write scenario to change."""
    seed = _seed(bench)
    body: dict[str, Any] = bench.api(
        "POST", "/admin/products", product_body(bench, seed["scratch"], seed["huawei"]), CATALOG_STAFF
    )
    return body


@seeder
def seed_catalog(bench: Bench) -> None:
    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = bench.api("POST", path, body, CATALOG_STAFF)
        return created

    electronics = post("/admin/categories", {"name": "Electronics"})["category_id"]
    phones = post("/admin/categories", {"name": "Phones", "parent_id": electronics})["category_id"]
    audio = post("/admin/categories", {"name": "Audio", "parent_id": electronics})["category_id"]
    scratch = post("/admin/categories", {"name": "Scratch"})["category_id"]
    huawei = post("/admin/brands", {"name": "Huawei"})["brand_id"]
    sony = post("/admin/brands", {"name": "Sony"})["brand_id"]
    products = [
        post("/admin/products", product_body(bench, phones, huawei if i % 2 == 0 else sony, price=100000 + i * 10000))
        for i in range(PHONES)
    ]
    audio_products = [post("/admin/products", product_body(bench, audio, sony, price=50000)) for _ in range(AUDIO)]
    index = search_index()
    for body in audio_products:
        index.apply(Product.model_validate(body))
    products += audio_products
    bench.seed["catalog"] = {
        "electronics": electronics,
        "phones": phones,
        "audio": audio,
        "scratch": scratch,
        "huawei": huawei,
        "sony": sony,
        "product_ids": [p["product_id"] for p in products],
        "seeded_at": time.time(),
    }


# --- storefront --------------------------------------------------------------------------------------------------


@scenario("GetProduct", "product page", primary=True)
def product_page(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", f"/products/{_seed(bench)['product_ids'][0]}")


@scenario("GetProduct", "search result opened (product page with search_id)")
def product_page_from_search(bench: Bench) -> dict[str, Any]:
    search_id, _ = feed.new_search_id()
    return bench.event("GET", f"/products/{_seed(bench)['product_ids'][0]}", query={"search_id": search_id})


@scenario("ListProducts", "keyword search, first page (2 terms, 3 results)")
def keyword_search(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/products", query={"q": "bench phone"})


@scenario("ListProducts", "category listing, page 1 of 2 (has next_cursor)", primary=True)
def category_listing(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/products", query={"category": _seed(bench)["phones"]})


@scenario("ListProducts", "category listing, page 2 (from next_cursor, last page)")
def category_listing_next(bench: Bench) -> dict[str, Any]:
    query = {"category": _seed(bench)["phones"]}
    first = bench.api("GET", "/products", query=query)
    return bench.event("GET", "/products", query={**query, "cursor": first["next_cursor"]})


@scenario("ListProducts", "category listing, single page (no next_cursor)")
def small_category_listing(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/products", query={"category": _seed(bench)["audio"]})


@scenario("ListProducts", "parent category listing (sub-categories included)")
def parent_category_listing(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/products", query={"category": _seed(bench)["electronics"]})


@scenario("ListProducts", "category + brand filter (FilterExpression)")
def brand_in_category_listing(bench: Bench) -> dict[str, Any]:
    seed = _seed(bench)
    return bench.event("GET", "/products", query={"category": seed["phones"], "brand": seed["huawei"]})


@scenario("ListProducts", "category by price_asc within a price range")
def price_range_listing(bench: Bench) -> dict[str, Any]:
    query = {"category": _seed(bench)["phones"], "sort": "price_asc", "min_price": 150000, "max_price": 250000}
    return bench.event("GET", "/products", query=query)


@scenario("ListProducts", "brand listing")
def brand_listing(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/products", query={"brand": _seed(bench)["sony"]})


@scenario("ListCategories", "category tree", primary=True)
def categories(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/categories")


@scenario("ListBrands", "all brands", primary=True)
def brands(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/brands")


# --- partner apps ------------------------------------------------------------------------------------------------


def settled(bench: Bench) -> None:
    """Wait (untimed) until the seeded products are old enough for the partner feed to hand them out."""
    wait = _seed(bench)["seeded_at"] + FEED_SETTLE_S + 0.5 - time.time()
    if wait > 0:
        time.sleep(wait)


@scenario("PartnerListProducts", "partner feed, first page of 20 (Query by_updated + BatchGetItem)", primary=True)
def partner_feed(bench: Bench) -> dict[str, Any]:
    settled(bench)
    return partner_event(bench, "GET", "/partner/v1/products")


@scenario("PartnerListProducts", "partner feed, 100 products a page")
def partner_feed_large(bench: Bench) -> dict[str, Any]:
    settled(bench)
    return partner_event(bench, "GET", "/partner/v1/products", query={"limit": 100})


@scenario("PartnerListProducts", "partner feed, updated_since the 20th seeded change (next page's worth)")
def partner_feed_since(bench: Bench) -> dict[str, Any]:
    settled(bench)
    first = bench.invoke(bench.function("PartnerListProducts"), partner_event(bench, "GET", "/partner/v1/products"))
    problem = outcome(first)
    if problem is not None:
        raise ScenarioFailed(f"GET /partner/v1/products: {problem}")
    items = json.loads(first["body"])["items"]
    return partner_event(bench, "GET", "/partner/v1/products", query={"updated_since": items[-1]["updated_at"]})


# --- back office -------------------------------------------------------------------------------------------------


@scenario("AdminGetProduct", "admin product read (consistent)", primary=True)
def admin_get_product(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", f"/admin/products/{_seed(bench)['product_ids'][1]}", claims=CATALOG_STAFF)


@scenario("CreateProduct", "create active product, 2 variants", primary=True)
def create_product(bench: Bench) -> dict[str, Any]:
    seed = _seed(bench)
    return bench.event("POST", "/admin/products", product_body(bench, seed["scratch"], seed["sony"]), CATALOG_STAFF)


@scenario("UpdateProduct", "update active product (rename, reprice)", primary=True)
def update_product(bench: Bench) -> dict[str, Any]:
    current = fresh_product(bench)
    body = product_body(bench, current["category_id"], current["brand_id"], price=459900)
    body["variants"][0]["sku"] = current["variants"][0]["sku"]  # one SKU kept, one replaced: guards change too
    body["version"] = current["version"]
    return bench.event("PUT", f"/admin/products/{current['product_id']}", body, CATALOG_STAFF)


@scenario("ArchiveProduct", "archive active product", primary=True)
def archive_product(bench: Bench) -> dict[str, Any]:
    current = fresh_product(bench)
    return bench.event("DELETE", f"/admin/products/{current['product_id']}", claims=CATALOG_STAFF)


@scenario("CreateProductImageUpload", "add image (presigned POST)", primary=True)
def image_upload(bench: Bench) -> dict[str, Any]:
    current = fresh_product(bench)
    body = {"content_type": "image/png", "alt": "front"}
    return bench.event("POST", f"/admin/products/{current['product_id']}/images", body, CATALOG_STAFF)


@scenario("CreateCategory", "create sub-category", primary=True)
def create_category(bench: Bench) -> dict[str, Any]:
    body = {"name": bench.unique("Bench category "), "parent_id": _seed(bench)["electronics"]}
    return bench.event("POST", "/admin/categories", body, CATALOG_STAFF)


@scenario("CreateBrand", "create brand", primary=True)
def create_brand(bench: Bench) -> dict[str, Any]:
    return bench.event("POST", "/admin/brands", {"name": bench.unique("Bench brand ")}, CATALOG_STAFF)


# --- outbox relay ------------------------------------------------------------------------------------------------


def _product_created_images(bench: Bench, count: int) -> list[dict[str, Any]]:
    """Outbox items exactly as the repository writes them, for ``count`` seeded products (fresh event ids)."""
    seed = _seed(bench)
    products: list[Product] = seed.setdefault("products", [])
    for product_id in seed["product_ids"][len(products) : count]:
        body = bench.api("GET", f"/admin/products/{product_id}", claims=CATALOG_STAFF)
        products.append(Product.model_validate(body))
    return [outbox_item(ProductCreated(product=p)) for p in products[:count]]


def _relay(bench: Bench, count: int) -> dict[str, Any]:
    function = bench.function("CatalogOutboxRelay")
    assert isinstance(function, StreamConsumer)
    return stream_event(bench, function, _product_created_images(bench, count))


@scenario("CatalogOutboxRelay", f"outbox relay, {BATCH} ProductCreated events", primary=True)
def relay_batch(bench: Bench) -> dict[str, Any]:
    return _relay(bench, BATCH)


@scenario("CatalogOutboxRelay", "outbox relay, 25 ProductCreated events")
def relay_large_batch(bench: Bench) -> dict[str, Any]:
    return _relay(bench, 25)


# --- activity feed -------------------------------------------------------------------------------------------------


def _views(bench: Bench, views: int, from_search: int, products: int) -> dict[str, Any]:
    """GetProduct's log as one delivery: ``views`` page views spread over ``products`` seeded products, the first
    ``from_search`` of them opened from one search (so they also write a search_view line)."""
    ids = _seed(bench)["product_ids"][:products]
    search_id, _ = feed.new_search_id()
    with captured(feed._feed) as written:
        for i in range(views):
            feed.emit_views(ids[i % len(ids)], search_id if i < from_search else None)
        lines = written.take()
    return bench.log_delivery("SearchLogForwarder", "GetProduct", lines)


@scenario("SearchLogForwarder", "GetProduct's log: 20 page views of 2 products, 5 from a search", primary=True)
def product_views(bench: Bench) -> dict[str, Any]:
    return _views(bench, 20, 5, 2)


@scenario("SearchLogForwarder", "flash sale: GetProduct's log, 1,000 page views of 1 product (1 event)")
def flash_sale_views(bench: Bench) -> dict[str, Any]:
    return _views(bench, 1000, 0, 1)


@scenario("SearchLogForwarder", "ListProducts' log: 5 searches, 2 of them found nothing")
def searches(bench: Bench) -> dict[str, Any]:
    with captured(feed._feed) as written:
        for i in range(5):
            search_id, at_ms = feed.new_search_id()
            found = 0 if i < 2 else 3
            feed.emit_search(search_id, at_ms, bench.unique("bench query "), {}, found, True)
        lines = written.take()
    return bench.log_delivery("SearchLogForwarder", "ListProducts", lines)
