"""Build a catalogue and its search index in in-process moto fast enough for 100,000 products.

Indexing through ``DynamoSearchIndex.apply`` against moto costs about 260 ms per product here (~110 requests: the
lock, two or three BatchWriteItems of postings, ~100 suggestion UpdateItems, the document), i.e. seven hours for
100,000 products. So the benchmark runs the *real* ``apply`` code against :class:`MemoryDynamo`, an in-memory
stand-in for the low-level client that implements exactly the calls ``apply`` makes on a fresh index (anything else
raises), and loads the items it writes straight into moto's table objects (:func:`load`), skipping the HTTP-shaped
request path. :func:`verify_bulk_path` checks, on the first products of every run, that this yields the same items
as ``apply`` through moto.

What moto holds: the catalogue table as the repository writes it (product items, SKU guards, listing rows, categories,
brands) and the index's postings (``T#<term>``), which is everything a search reads. The index's documents
(``D#``) and suggestion rows (``P#``), which a search never reads, are sized exactly (same rules) but not loaded, to
keep 100,000 products within memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item

from bench.capacity import item_size
from bench.motoscale import invalidate
from functions.catalog.model import Brand, Category, Product
from functions.catalog.repository import _product_item, listing_row
from functions.shared.dynamo import to_item

REGION = "us-east-1"


# --- the catalogue table, as the repository writes it --------------------------------------------------------------


def reference_items(categories: Iterable[Category], brands: Iterable[Brand]) -> list[dict[str, Any]]:
    items = [to_item({"pk": "CATEGORY", "sk": c.category_id, **c.model_dump(mode="json")}) for c in categories]
    items += [to_item({"pk": "BRAND", "sk": b.brand_id, **b.model_dump(mode="json")}) for b in brands]
    return items


def catalogue_items(product: Product) -> list[dict[str, Any]]:
    """The items ``DynamoCatalogRepository.save_product`` writes for a new product (without the outbox event)."""
    items = [_product_item(product)]
    items += [to_item({"pk": f"SKU#{s.upper()}", "sk": "SKU", "product_id": product.product_id}) for s in product.skus]
    items += [listing_row(part, product) for part in sorted(product.listing_partitions())]
    return items


# --- the index, written by the real apply() into memory -------------------------------------------------------------


@dataclass
class IndexSizes:
    """Sizes of the index items, with DynamoDB's item-size rules (bench/capacity.py)."""

    postings: int = 0
    posting_bytes: int = 0
    documents: int = 0
    document_bytes: int = 0
    suggestion_rows: int = 0
    suggestion_bytes: int = 0
    apply_requests: int = 0  # the requests apply() made (what indexing a new product costs)

    @property
    def items(self) -> int:
        return self.postings + self.documents + self.suggestion_rows

    @property
    def bytes(self) -> int:
        return self.posting_bytes + self.document_bytes + self.suggestion_bytes


def _row_hash(pk: str, sk: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{pk}\x00{sk}".encode(), digest_size=8).digest(), "big")


@dataclass
class MemoryDynamo:
    """The DynamoDB calls ``DynamoSearchIndex.apply`` makes for a product the index does not hold yet.

    Postings (and documents) collect in ``pending`` until :meth:`drain`; suggestion rows are only sized (a row's
    size grows by the id's length with every product added to it), unless ``materialise`` keeps them whole (for
    :func:`verify_bulk_path`)."""

    materialise: bool = False
    sizes: IndexSizes = field(default_factory=IndexSizes)
    pending: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    rows: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    _seen_rows: set[int] = field(default_factory=set)
    _locked: set[str] = field(default_factory=set)

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        self.sizes.apply_requests += 1
        pk, sk = kwargs["Key"]["pk"]["S"], kwargs["Key"]["sk"]["S"]
        expression = kwargs["UpdateExpression"]
        if expression.startswith("SET lk") and sk == "DOC":
            if pk in self._locked:
                raise NotImplementedError(f"{pk} applied twice: the bulk path only indexes new products")
            self._locked.add(pk)
            return {}  # ALL_OLD of a document that does not exist yet
        if expression == "ADD ids :id" and pk.startswith("P#"):
            (product_id,) = kwargs["ExpressionAttributeValues"][":id"]["SS"]
            key = _row_hash(pk, sk)
            if key not in self._seen_rows:
                self._seen_rows.add(key)
                self.sizes.suggestion_rows += 1
                self.sizes.suggestion_bytes += item_size({"pk": {"S": pk}, "sk": {"S": sk}, "ids": {"SS": []}})
            self.sizes.suggestion_bytes += len(product_id.encode())
            if self.materialise:
                self.rows.setdefault((pk, sk), set()).add(product_id)
            return {}
        raise NotImplementedError(f"UpdateItem {expression!r} on {pk}: not a call apply() makes for a new product")

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        self.sizes.apply_requests += 1
        for requests in RequestItems.values():
            for request in requests:
                if "PutRequest" not in request:
                    raise NotImplementedError("a new product's apply() deletes no postings")
                item = request["PutRequest"]["Item"]
                self.sizes.postings += 1
                self.sizes.posting_bytes += item_size(item)
                self.pending.append(item)
        return {}

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        self.sizes.apply_requests += 1
        item = kwargs["Item"]
        if item["sk"]["S"] != "DOC":
            raise NotImplementedError(f"PutItem of {item['pk']['S']}: not a call apply() makes")
        self._locked.discard(item["pk"]["S"])
        self.sizes.documents += 1
        self.sizes.document_bytes += item_size(item)
        if self.materialise:
            self.documents.append(item)
        return {}

    def drain(self) -> list[dict[str, Any]]:
        out, self.pending = self.pending, []
        return out


# --- loading into moto ---------------------------------------------------------------------------------------------


def moto_table(name: str) -> Any:
    return dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(name)


def load(table_name: str, items: Iterable[dict[str, Any]]) -> int:
    """Put ``items`` into moto's table directly: what moto's PutItem stores, without its request round trip,
    validation, condition or stream record (the items come from the real write paths, which DynamoDB accepts)."""
    table = moto_table(table_name)
    hash_attr, range_attr = table.hash_key_attr, table.range_key_attr
    count = 0
    try:
        for item in items:
            hash_key = DynamoType(item[hash_attr])
            range_key = DynamoType(item[range_attr])
            table.items[hash_key][range_key] = Item(hash_key, range_key, item)
            count += 1
    finally:
        invalidate(table)
    return count


def _comparable(item: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(v)) for k, v in item.items() if k not in ("lk", "lu")))


def verify_bulk_path(client: Any, scratch_table: str, products: list[Product]) -> str | None:
    """Index ``products`` with the real ``apply`` both through moto (into ``scratch_table``) and into
    :class:`MemoryDynamo`; ``None`` when the items are the same, else what differs."""
    from functions.catalog.search.dynamo import DynamoSearchIndex

    memory = MemoryDynamo(materialise=True)
    real, fake = DynamoSearchIndex(client, scratch_table), DynamoSearchIndex(memory, "memory")
    for product in products:
        real.apply(product)
        fake.apply(product)
    expected = {_comparable(i) for i in memory.drain() + memory.documents}
    expected |= {
        _comparable({"pk": {"S": pk}, "sk": {"S": sk}, "ids": {"SS": sorted(ids)}})
        for (pk, sk), ids in memory.rows.items()
    }
    found: set[tuple[tuple[str, str], ...]] = set()
    kwargs: dict[str, Any] = {"TableName": scratch_table}
    while True:
        page = client.scan(**kwargs)
        for raw in page["Items"]:
            item = {**raw, "ids": {"SS": sorted(raw["ids"]["SS"])}} if "ids" in raw else raw
            found.add(_comparable(item))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    if found == expected:
        return None
    return f"{len(expected - found)} items only in the bulk path, {len(found - expected)} only through moto"
