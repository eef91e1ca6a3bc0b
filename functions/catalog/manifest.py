"""Wiring of the catalogue context: its table, bucket, routes and the outbox relay (see functions.shared.wiring)."""

from functions.shared.wiring import (
    PARTNER,
    PUBLIC,
    PUBLISH_EVENTS,
    Access,
    Bucket,
    Consumer,
    ContextManifest,
    EventPattern,
    Index,
    LogSubscription,
    Route,
    StreamConsumer,
    Table,
    Use,
    reads,
    roles,
    writes,
)

TABLE = Table(
    name="catalog",
    indexes=(
        Index("by_price", partition_key="pk", sort_key="price_sk"),
        Index("by_newest", partition_key="pk", sort_key="new_sk"),
        # Sparse: only the LIST#ALL listing rows carry upd_sk (the partner feed, functions.catalog.repository).
        Index("by_updated", partition_key="pk", sort_key="upd_sk"),
    ),
    stream=True,
    ttl_attribute="expires_at",
)
# The keyword-search index (functions.catalog.search.dynamo documents its keys); derived from the catalogue by events.
# Search analytics items in it expire (functions.catalog.search.analytics); index items carry no expires_at.
SEARCH = Table(name="search", ttl_attribute="expires_at")
IMAGES = Bucket(name="images", browser_uploads=True)

_H = "functions.catalog.handlers"
_READ = (reads(TABLE.ref),)
_WRITE = (writes(TABLE.ref),)
_STAFF = roles("catalog")

MANIFEST = ContextManifest(
    name="catalog",
    description="Products, variants (SKUs), categories, brands and product images",
    tables=(TABLE, SEARCH),
    buckets=(IMAGES,),
    routes=(
        Route(
            name="ListProducts",
            handler=f"{_H}.list_products.handler",
            method="GET",
            path="/products",
            auth=PUBLIC,
            uses=(*_READ, reads(SEARCH.ref), reads("secret:cursor")),
            hot=True,
            summary="List or search active products by keywords, category, brand and price, with facets",
        ),
        Route(
            name="SuggestProducts",
            handler=f"{_H}.suggest_products.handler",
            method="GET",
            path="/products/suggest",
            auth=PUBLIC,
            uses=(reads(SEARCH.ref),),
            hot=True,
            summary="Search-box completions: brands, categories and product names",
        ),
        Route(
            name="GetProduct",
            handler=f"{_H}.get_product.handler",
            method="GET",
            path="/products/{product_id}",
            auth=PUBLIC,
            uses=_READ,
            hot=True,
            summary="One active product with its variants",
        ),
        Route(
            name="ListCategories",
            handler=f"{_H}.list_categories.handler",
            method="GET",
            path="/categories",
            auth=PUBLIC,
            uses=_READ,
            summary="The category tree",
        ),
        Route(
            name="ListBrands",
            handler=f"{_H}.list_brands.handler",
            method="GET",
            path="/brands",
            auth=PUBLIC,
            uses=_READ,
            summary="All brands",
        ),
        Route(
            name="AdminGetProduct",
            handler=f"{_H}.admin_get_product.handler",
            method="GET",
            path="/admin/products/{product_id}",
            auth=_STAFF,
            uses=_READ,
            summary="A product in any status, with its version (for editing)",
        ),
        Route(
            name="CreateProduct",
            handler=f"{_H}.create_product.handler",
            method="POST",
            path="/admin/products",
            auth=_STAFF,
            uses=_WRITE,
            summary="Create a product with its variants",
        ),
        Route(
            name="UpdateProduct",
            handler=f"{_H}.update_product.handler",
            method="PUT",
            path="/admin/products/{product_id}",
            auth=_STAFF,
            uses=_WRITE,
            summary="Replace a product (optimistic concurrency on version)",
        ),
        Route(
            name="ArchiveProduct",
            handler=f"{_H}.archive_product.handler",
            method="DELETE",
            path="/admin/products/{product_id}",
            auth=_STAFF,
            uses=_WRITE,
            summary="Archive a product (it disappears from the storefront)",
        ),
        Route(
            name="CreateProductImageUpload",
            handler=f"{_H}.create_image_upload.handler",
            method="POST",
            path="/admin/products/{product_id}/images",
            auth=_STAFF,
            uses=(*_WRITE, writes(IMAGES.ref)),
            summary="Add an image to a product: returns a presigned S3 upload",
        ),
        Route(
            name="CreateCategory",
            handler=f"{_H}.create_category.handler",
            method="POST",
            path="/admin/categories",
            auth=_STAFF,
            uses=_WRITE,
            summary="Create a category (optionally under a parent)",
        ),
        Route(
            name="CreateBrand",
            handler=f"{_H}.create_brand.handler",
            method="POST",
            path="/admin/brands",
            auth=_STAFF,
            uses=_WRITE,
            summary="Create a brand",
        ),
        Route(
            name="StartSearchReindex",
            handler=f"{_H}.start_search_reindex.handler",
            method="POST",
            path="/admin/search/reindex",
            auth=_STAFF,
            uses=_WRITE,  # the job item and its first page event, in one transaction
            summary="Rebuild the search index from the catalogue table, while the shop stays live",
        ),
        Route(
            name="GetSearchReindex",
            handler=f"{_H}.get_search_reindex.handler",
            method="GET",
            path="/admin/search/reindex/{job_id}",
            auth=_STAFF,
            uses=_READ,
            summary="A search reindex job's progress",
        ),
        Route(
            name="ListZeroResultSearches",
            handler=f"{_H}.list_zero_result_searches.handler",
            method="GET",
            path="/admin/search/zero-results",
            auth=roles("catalog", "analyst"),
            uses=(reads(SEARCH.ref),),
            summary="Queries that found nothing on a day, with how often they were searched",
        ),
        Route(
            name="PartnerListProducts",
            handler=f"{_H}.partner_list_products.handler",
            method="GET",
            path="/partner/v1/products",
            auth=PARTNER,
            scope="products:read",
            uses=(*_READ, reads("secret:cursor")),
            summary="The published catalogue for partner apps, in change order (updated_since), with variants",
        ),
    ),
    consumers=(
        Consumer(
            name="SearchIndexer",
            handler=f"{_H}.search_indexer.handler",
            uses=(writes(SEARCH.ref),),
            patterns=(EventPattern("shop.catalog", ("ProductCreated", "ProductUpdated", "ProductArchived")),),
            # The index lock (LOCK_SECONDS in functions.catalog.search.dynamo) must outlive an invocation. A product
            # is ~150-350 writes, so batches are small enough to finish well inside the timeout even under load.
            batch_size=5,
            timeout_s=60,
            visibility_timeout_s=180,
        ),
        Consumer(
            name="SearchReindexer",
            handler=f"{_H}.search_reindexer.handler",
            uses=(
                # The one function that may Scan the catalogue (one page per event, functions.catalog.search.reindex).
                Use(TABLE.ref, Access.READ, ("dynamodb:Scan", "dynamodb:GetItem", "dynamodb:Query")),
                *_WRITE,  # the job's progress and the next page's outbox event
                writes(SEARCH.ref),
            ),
            patterns=(EventPattern("shop.catalog", ("SearchReindexPageRequested",)),),
            # A page is heavy (up to ~15 products' applies), and jobs are sequential: one page per invocation.
            batch_size=1,
            # Still below the index lock (LOCK_SECONDS), so an expired lock means a dead holder.
            timeout_s=60,
            visibility_timeout_s=90,  # a page that still fails comes back soon, not after six minutes
        ),
    ),
    stream_consumers=(
        StreamConsumer(
            name="CatalogOutboxRelay",
            handler="functions.shared.relay.handler",
            table=TABLE.name,
            key_prefix="OUTBOX#",
            uses=(reads(TABLE.ref), PUBLISH_EVENTS),
        ),
    ),
    log_subscriptions=(
        LogSubscription(
            name="SearchLogForwarder",
            handler=f"{_H}.search_log_forwarder.handler",
            # The activity feed of functions.catalog.search.feed: searches (ListProducts), search views and product
            # page views (GetProduct). Product views share this subscription rather than having their own: a log
            # group takes at most two subscription filters, and one is left free.
            sources=("ListProducts", "GetProduct"),
            keys=("search_event", "search_view", "product_view"),
            uses=(writes(SEARCH.ref), PUBLISH_EVENTS),
            timeout_s=30,
        ),
    ),
)
