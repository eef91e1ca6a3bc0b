"""DynamoDB storage of the catalogue (one table, ``catalog``). Key design:

==============================  ======================  ==============================================================
item                            pk                      sk / notes
==============================  ======================  ==============================================================
product                         ``PRODUCT#<id>``        ``PRODUCT``; the whole product with its variants and images
SKU guard                       ``SKU#<SKU>``           ``SKU``; a SKU belongs to one product for good (upper-cased)
category                        ``CATEGORY``            ``<category_id>``; all categories in one partition
category name guard             ``CATNAME#<parent>``    ``<lower name>``; sibling names are unique
brand                           ``BRAND``               ``<brand_id>``
brand name guard                ``BRANDNAME``           ``<lower name>``
listing row                     ``LIST#ALL``,           ``<product_id>``; a product card, only for active products,
                                ``LIST#CAT#<id>``,      one per category on the product's path and one for its brand.
                                ``LIST#BRAND#<id>``     ``price_sk`` / ``new_sk`` feed the ``by_price`` /
                                                        ``by_newest`` indexes (partition ``pk``), so a listing in any
                                                        category (sub-categories included), brand and sort order is
                                                        one Query. The ``LIST#ALL`` row alone also has ``upd_sk``
                                                        (``<updated_at>#<product_id>``), which feeds the sparse
                                                        ``by_updated`` index: the partner feed in change order
outbox event                    ``OUTBOX#<event_id>``   ``OUTBOX``; written in the same transaction as the change,
                                                        relayed to EventBridge from the stream, expires by TTL
search reindex job              ``REINDEX#<job_id>``    ``JOB``; progress of a search rebuild, advanced page by page
                                                        with the next page's event (functions.catalog.search.reindex)
==============================  ======================  ==============================================================

Access patterns: product page = GetItem; listing = one Query on an index (more only when a filter that is not part
of the key, e.g. brand within a category, discards rows); categories = one Query; brands = one Query; create/update/
archive = BatchGetItem of the references + one TransactWriteItems (product, SKU guards, listing rows, outbox); a page
of the partner feed (``updated_since`` or not) = one Query on ``by_updated`` + one BatchGetItem of the products.

Invariants guarded by conditions: a product is created once (``attribute_not_exists``); an update applies only to the
version it was based on; a SKU guard belongs to exactly one product and is never released, even when the variant is
dropped or the product archived, because orders and stock records keep referring to it; category and brand names are
unique.

Transaction size: 1 product + at most 50 new SKU guards + at most 6 listing puts + 6 listing deletes + 1 outbox item =
64, inside DynamoDB's 100-item limit (``MAX_TRANSACTION_ITEMS`` is checked anyway, so a future change to these
bounds fails as a clear 422, not a 500).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from functions.catalog.model import Brand, Category, Product, ProductSummary
from functions.shared.dynamo import cancellation_reasons, from_item, is_cancelled, sortable, to_item
from functions.shared.errors import Conflict, ServiceUnavailable, Unprocessable
from functions.shared.events import DomainEvent
from functions.shared.outbox import outbox_put

PRICE_DIGITS = 15
FEED_PARTITION = "ALL"  # the listing partition whose rows also feed the by_updated index
BATCH_GET_ATTEMPTS = 5
MAX_QUERY_PAGES = 5  # a listing page never costs more than this many Query calls, however selective its filter
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems


@dataclass(frozen=True)
class ListingQuery:
    partition: str  # "ALL", "CAT#<id>" or "BRAND#<id>"
    sort: str  # "newest" | "price_asc" | "price_desc"
    limit: int
    min_price: int | None = None
    max_price: int | None = None
    brand_id: str | None = None  # filter within a category partition


class CatalogRepository(Protocol):
    def get_product(self, product_id: str, consistent: bool = False) -> Product | None: ...
    def get_refs(self, category_id: str, brand_id: str) -> tuple[Category | None, Brand | None]: ...
    def get_category(self, category_id: str) -> Category | None: ...
    def list_categories(self) -> list[Category]: ...
    def list_brands(self) -> list[Brand]: ...
    def add_category(self, category: Category) -> None: ...
    def add_brand(self, brand: Brand) -> None: ...
    def save_product(self, old: Product | None, new: Product, event: DomainEvent) -> None: ...
    def query_listing(
        self, query: ListingQuery, start: dict[str, Any] | None
    ) -> tuple[list[ProductSummary], dict[str, Any] | None]: ...
    def query_changes(
        self, since: datetime | None, until: datetime, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[str], dict[str, Any] | None]: ...
    def get_products(self, product_ids: list[str]) -> list[Product]: ...


def price_key(amount: int, product_id: str) -> str:
    return f"{amount:0{PRICE_DIGITS}d}#{product_id}"


def updated_key(updated_at: datetime, product_id: str) -> str:
    return f"{sortable(updated_at)}#{product_id}"


def listing_row(partition: str, product: Product) -> dict[str, Any]:
    summary = ProductSummary.of(product)
    row = summary.model_dump(mode="json")
    row.update(
        pk=f"LIST#{partition}",
        sk=product.product_id,
        price_sk=price_key(summary.price.amount, product.product_id),
        new_sk=f"{summary.created_at.isoformat()}#{product.product_id}",
    )
    if partition == FEED_PARTITION:
        # Only on one row per product, so the by_updated index holds each active product once.
        row["upd_sk"] = updated_key(product.updated_at, product.product_id)
    return to_item(row)


def _product_item(product: Product) -> dict[str, Any]:
    return to_item({"pk": f"PRODUCT#{product.product_id}", "sk": "PRODUCT", **product.model_dump(mode="json")})


class DynamoCatalogRepository:
    def __init__(self, client: Any, table: str) -> None:
        self._ddb = client
        self._table = table

    # --- reads -------------------------------------------------------------------------------------------------

    def get_product(self, product_id: str, consistent: bool = False) -> Product | None:
        item = self._ddb.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"PRODUCT#{product_id}"}, "sk": {"S": "PRODUCT"}},
            ConsistentRead=consistent,
        ).get("Item")
        return Product.model_validate(from_item(item)) if item else None

    def get_refs(self, category_id: str, brand_id: str) -> tuple[Category | None, Brand | None]:
        keys = [
            {"pk": {"S": "CATEGORY"}, "sk": {"S": category_id}},
            {"pk": {"S": "BRAND"}, "sk": {"S": brand_id}},
        ]
        found = self._ddb.batch_get_item(RequestItems={self._table: {"Keys": keys}})["Responses"].get(self._table, [])
        category = brand = None
        for raw in found:
            item = from_item(raw)
            if item["pk"] == "CATEGORY":
                category = Category.model_validate(item)
            else:
                brand = Brand.model_validate(item)
        return category, brand

    def get_category(self, category_id: str) -> Category | None:
        item = self._ddb.get_item(TableName=self._table, Key={"pk": {"S": "CATEGORY"}, "sk": {"S": category_id}}).get(
            "Item"
        )
        return Category.model_validate(from_item(item)) if item else None

    def _query_all(self, pk: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
        }
        while True:
            page = self._ddb.query(**kwargs)
            items.extend(from_item(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list_categories(self) -> list[Category]:
        return [Category.model_validate(i) for i in self._query_all("CATEGORY")]

    def list_brands(self) -> list[Brand]:
        return [Brand.model_validate(i) for i in self._query_all("BRAND")]

    def query_listing(
        self, query: ListingQuery, start: dict[str, Any] | None
    ) -> tuple[list[ProductSummary], dict[str, Any] | None]:
        by_price = query.sort in ("price_asc", "price_desc")
        index, sort_attr = ("by_price", "price_sk") if by_price else ("by_newest", "new_sk")
        key_cond = "pk = :pk"
        values: dict[str, Any] = {":pk": {"S": f"LIST#{query.partition}"}}
        filters: list[str] = []
        names: dict[str, str] = {}
        if by_price and (query.min_price is not None or query.max_price is not None):
            low = price_key(query.min_price or 0, "")
            high = price_key(query.max_price if query.max_price is not None else 10**PRICE_DIGITS - 1, "~")
            key_cond += f" AND {sort_attr} BETWEEN :lo AND :hi"
            values.update({":lo": {"S": low}, ":hi": {"S": high}})
        else:
            if query.min_price is not None:
                filters.append("price.amount >= :minp")
                values[":minp"] = {"N": str(query.min_price)}
            if query.max_price is not None:
                filters.append("price.amount <= :maxp")
                values[":maxp"] = {"N": str(query.max_price)}
        if query.brand_id:
            filters.append("brand_id = :brand")
            values[":brand"] = {"S": query.brand_id}
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": key_cond,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": query.sort == "price_asc",
        }
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        if names:
            kwargs["ExpressionAttributeNames"] = names
        rows: list[dict[str, Any]] = []
        last: dict[str, Any] | None = start
        for _ in range(MAX_QUERY_PAGES):
            # Without a filter, asking for one row more than needed tells whether another page exists, so the
            # last page carries no cursor. With a filter, read a little more per call to fill the page sooner.
            want = query.limit - len(rows)
            kwargs["Limit"] = want + 1 if not filters else max(want * 2, 25)
            if last:
                kwargs["ExclusiveStartKey"] = last
            else:
                kwargs.pop("ExclusiveStartKey", None)
            page = self._ddb.query(**kwargs)
            rows.extend(page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if len(rows) >= query.limit or not last:
                break
        more = len(rows) > query.limit or last is not None
        rows = rows[: query.limit]
        next_key = None
        if more and rows:
            tail = rows[-1]
            next_key = {"pk": tail["pk"], "sk": tail["sk"], sort_attr: tail[sort_attr]}
        elif more:
            next_key = last
        return [ProductSummary.model_validate(from_item(r)) for r in rows], next_key

    def query_changes(
        self, since: datetime | None, until: datetime, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[str], dict[str, Any] | None]:
        """Ids of active products in change order (oldest ``updated_at`` first) changed from ``since`` (inclusive,
        when given) up to ``until`` (inclusive): one Query on the sparse ``by_updated`` index. A product changed
        while a client pages moves further on, so it comes again with its new data and nothing is skipped."""
        high = sortable(until) + "#~"  # "~" sorts after every "#<product_id>" of that instant
        values: dict[str, Any] = {":pk": {"S": f"LIST#{FEED_PARTITION}"}, ":hi": {"S": high}}
        if since is None:
            key_cond = "pk = :pk AND upd_sk <= :hi"
        else:
            low = sortable(since)
            if low > high:
                return [], None  # nothing has settled since then yet (and BETWEEN refuses an empty range)
            key_cond = "pk = :pk AND upd_sk BETWEEN :lo AND :hi"
            values[":lo"] = {"S": low}
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by_updated",
            "KeyConditionExpression": key_cond,
            "ExpressionAttributeValues": values,
            "ProjectionExpression": "pk, sk, upd_sk",
            "ScanIndexForward": True,
            "Limit": limit + 1,  # one more than needed tells whether another page exists
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = self._ddb.query(**kwargs)
        rows = page.get("Items", [])
        more = len(rows) > limit or "LastEvaluatedKey" in page
        rows = rows[:limit]
        next_key = None
        if more and rows:
            tail = rows[-1]
            next_key = {"pk": tail["pk"], "sk": tail["sk"], "upd_sk": tail["upd_sk"]}
        return [str(r["sk"]["S"]) for r in rows], next_key

    def get_products(self, product_ids: list[str]) -> list[Product]:
        """The products, in the order asked (unknown ids left out): one BatchGetItem (at most 100 ids), whose
        unprocessed keys are asked again."""
        if not product_ids:
            return []
        if len(product_ids) > 100:
            raise ValueError("BatchGetItem takes at most 100 keys")
        keys = [{"pk": {"S": f"PRODUCT#{p}"}, "sk": {"S": "PRODUCT"}} for p in dict.fromkeys(product_ids)]
        request: dict[str, Any] = {self._table: {"Keys": keys}}
        found: dict[str, Product] = {}
        for attempt in range(BATCH_GET_ATTEMPTS):
            if attempt:
                time.sleep(0.02 * 2**attempt)
            answer = self._ddb.batch_get_item(RequestItems=request)
            for raw in answer["Responses"].get(self._table, []):
                product = Product.model_validate(from_item(raw))
                found[product.product_id] = product
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return [found[p] for p in product_ids if p in found]
        raise ServiceUnavailable("the catalogue is busy, retry shortly")

    # --- writes ------------------------------------------------------------------------------------------------

    def _transact(self, items: list[dict[str, Any]], conflicts: dict[int, Conflict]) -> None:
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if not is_cancelled(exc):
                raise
            reasons = cancellation_reasons(exc)
            for position, code in enumerate(reasons):
                if code == "ConditionalCheckFailed" and position in conflicts:
                    raise conflicts[position] from None
            if "TransactionConflict" in reasons:
                raise Conflict("the item is being changed by another request, retry", code="BUSY") from None
            raise

    def _put_unique(self, item: dict[str, Any], guard: dict[str, Any], taken: Conflict) -> None:
        """Put ``item`` together with a guard item whose key is the unique name: the guard's condition fails when
        the name is taken, and the transaction then writes neither."""
        new = "attribute_not_exists(pk)"
        self._transact(
            [
                {"Put": {"TableName": self._table, "Item": to_item(item), "ConditionExpression": new}},
                {"Put": {"TableName": self._table, "Item": to_item(guard), "ConditionExpression": new}},
            ],
            {1: taken},
        )

    def add_category(self, category: Category) -> None:
        self._put_unique(
            {"pk": "CATEGORY", "sk": category.category_id, **category.model_dump(mode="json")},
            {"pk": f"CATNAME#{category.parent_id or 'ROOT'}", "sk": category.name.casefold()},
            Conflict(f"a category named {category.name!r} already exists here", code="CATEGORY_EXISTS"),
        )

    def add_brand(self, brand: Brand) -> None:
        self._put_unique(
            {"pk": "BRAND", "sk": brand.brand_id, **brand.model_dump(mode="json")},
            {"pk": "BRANDNAME", "sk": brand.name.casefold()},
            Conflict(f"a brand named {brand.name!r} already exists", code="BRAND_EXISTS"),
        )

    def save_product(self, old: Product | None, new: Product, event: DomainEvent) -> None:
        """Write ``new`` (replacing ``old`` at its version) with its guards, listing rows and event, atomically."""
        t = self._table
        items: list[dict[str, Any]] = []
        conflicts: dict[int, Conflict] = {}
        if old is None:
            items.append(
                {"Put": {"TableName": t, "Item": _product_item(new), "ConditionExpression": "attribute_not_exists(pk)"}}
            )
            conflicts[0] = Conflict("product already exists", code="PRODUCT_EXISTS")
        else:
            items.append(
                {
                    "Put": {
                        "TableName": t,
                        "Item": _product_item(new),
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": {"N": str(old.version)}},
                    }
                }
            )
            conflicts[0] = Conflict("the product was changed by someone else; reload it", code="VERSION_CONFLICT")
        old_skus = {s.upper() for s in old.skus} if old else set()
        new_skus = {s.upper() for s in new.skus}
        for sku in sorted(new_skus - old_skus):
            conflicts[len(items)] = Conflict(f"SKU {sku} belongs to another product", code="SKU_TAKEN")
            items.append(
                {
                    "Put": {
                        "TableName": t,
                        "Item": to_item({"pk": f"SKU#{sku}", "sk": "SKU", "product_id": new.product_id}),
                        "ConditionExpression": "attribute_not_exists(pk) OR product_id = :p",
                        "ExpressionAttributeValues": {":p": {"S": new.product_id}},
                    }
                }
            )
        old_parts = old.listing_partitions() if old else set()
        new_parts = new.listing_partitions()
        for part in sorted(new_parts):
            items.append({"Put": {"TableName": t, "Item": listing_row(part, new)}})
        for part in sorted(old_parts - new_parts):
            items.append(
                {"Delete": {"TableName": t, "Key": {"pk": {"S": f"LIST#{part}"}, "sk": {"S": new.product_id}}}}
            )
        items.append(outbox_put(t, event))
        if len(items) > MAX_TRANSACTION_ITEMS:
            raise Unprocessable(
                f"this change touches {len(items)} records, more than one transaction can hold; split it",
                code="TOO_MANY_CHANGES",
            )
        self._transact(items, conflicts)
