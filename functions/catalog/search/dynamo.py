"""The search index in DynamoDB (table ``search``, owned by the catalogue context). Key design:

==================  =====================  =========================================================================
item                pk                     sk / attributes
==================  =====================  =========================================================================
posting             ``T#<term>``           ``<product_id>``; ``f`` field mask (N), ``d`` the product card with price,
                                           brand, category path and names (compact JSON), so a result page needs no
                                           second read. Filter terms ``~all``, ``~c:<id>``, ``~b:<id>`` too.
document            ``D#<product_id>``     ``DOC``; ``v`` indexed version, ``t`` map term -> mask, ``s`` suggestion
                                           keys, ``h`` digest of the card; ``lk``/``lu`` the apply lock
suggestion          ``P#<prefix>``         ``<kind rank>#<text>`` (brands, then categories, then product names);
                                           ``ids`` string set of the active products behind it (ADD/DELETE, so a
                                           repeat changes nothing); the row goes when the set empties
==================  =====================  =========================================================================

**Apply a product** (consumer of ProductCreated/Updated/Archived, and reindex): one UpdateItem takes a short lock on
the document and returns it (``ALL_OLD``), which gives the indexed version and terms; if that version is the same or
newer, release and stop (replays and older events are no-ops). Otherwise BatchWriteItem puts the postings whose mask
or card changed and deletes those of terms the product no longer has (archived or draft: all of them); UpdateItem
ADD/DELETE moves the product id between suggestion rows whose text changed; finally a PutItem writes the document
(conditional on still holding the lock), which releases it. A crash before that leaves the old version in the
document, so the retried event redoes the work. The lock serialises two events of one product processed at the
same time (otherwise the older one could overwrite postings of the newer); a busy lock fails the SQS message, which
comes back later. ``LOCK_SECONDS`` exceeds the consumer's timeout, so an expired lock means a dead holder.

**Search**: one Query per query term on ``T#<term>`` (a code first by its exact term), reading at most
``max_postings_per_term`` postings (then ``exact`` is false), stopping at the first word that matches nothing;
intersection, filters, scoring, facets and sorting in memory (functions.catalog.search.index); a page is an offset
into the ranked list, carried in a signed cursor bound to the query. No Scan on any shopper path.
**Suggest**: one Query on ``P#<prefix>`` (at most 100 rows).

**Costs** (on-demand; a posting is about 0.3-0.5 KB, under 1 KB, so 1 WCU per put or delete):

* product create: ~100-250 postings (a seeded product has ~120; a 300-character Chinese description adds up to
  ~300 bigrams) = that many WCU in BatchWriteItem calls of 25, plus ~40-80 suggestion UpdateItems, 2 lock/document
  writes of a few KB. About 150-350 WCU, 10-20 requests.
* product update: only changed postings. A price or image change rewrites every posting (the card is in each,
  ~150-250 WCU); a description edit touches only the terms that came or went; an unchanged replay costs 1 WCU.
* archive: deletes every posting and suggestion id (~the create cost).
* query: one Query per term. A selective term (tens of matches) reads a few KB: 1-3 RCU (eventually consistent,
  0.5 RCU per 4 KB). A broad term costs about 50 RCU per 1,000 postings, capped at ``max_postings_per_term``
  (5,000 by default: ~250 RCU and 5 round trips) per term; a query has at most 8 terms. Facets cost nothing extra.
* suggest: one Query, 1-3 RCU.

**When to move to OpenSearch Serverless**: when common terms match more products than one search may read (more
than ~5,000 per term, i.e. catalogues of roughly 50,000-100,000 products where "手机" or "black" covers a large
share), so results stop being exact and query cost grows with the catalogue rather than with the page; or when
the shop needs fuzzy matching, synonyms, a real Chinese segmenter (IK/smartcn) or per-field boosting tuned at query
time. The minimum cost of OpenSearch Serverless (2 OCUs for indexing and search, several hundred USD a month) only
pays off at that scale. The move keeps the interface: an ``OpenSearchIndex`` implementing
:class:`functions.catalog.search.index.SearchIndex` (``apply`` as an index request with ``version_type=external``
on the product version, which gives the same replay and out-of-order safety; ``search`` as a bool query with
``multi_match`` over weighted fields and ``terms`` aggregations for facets; ``suggest`` on a completion field),
chosen by a ``SEARCH_BACKEND`` setting in the composition root (:func:`functions.catalog.search.service.search_index`);
the consumer, the reindex job and the handlers do not change.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from functions.catalog.model import Product
from functions.catalog.search.index import (
    SUGGESTION_RANK,
    Document,
    Posting,
    document,
    evaluate,
    filter_plan,
    suggestion_matches,
)
from functions.catalog.search.model import SearchPage, SearchQuery, Suggestion, SuggestionKind
from functions.catalog.search.text import plan_query, prefixes, typed_prefix
from functions.shared import cursor
from functions.shared.dynamo import from_item, is_condition_failure, to_item
from functions.shared.errors import BadRequest
from functions.shared.ids import new_id

LOCK_SECONDS = 120
MAX_POSTINGS_PER_TERM = 5000
QUERY_PAGE = 1000
SUGGEST_ROWS = 100
BATCH_WRITE_MAX = 25
BATCH_RETRIES = 8
_KINDS: dict[int, SuggestionKind] = {rank: kind for kind, rank in SUGGESTION_RANK.items()}


class IndexBusy(RuntimeError):
    """Another apply of the same product holds its lock; retry later (the SQS message comes back)."""


def _doc_key(product_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"D#{product_id}"}, "sk": {"S": "DOC"}}


def _suggestion_key(kind: SuggestionKind, text: str) -> str:
    return f"{SUGGESTION_RANK[kind]}#{text}"


def _digest(card_json: str) -> str:
    return hashlib.sha256(card_json.encode()).hexdigest()[:16]


class DynamoSearchIndex:
    """:class:`functions.catalog.search.index.SearchIndex` on one DynamoDB table (see the module docstring)."""

    def __init__(self, client: Any, table: str, *, max_postings_per_term: int = MAX_POSTINGS_PER_TERM) -> None:
        self._ddb = client
        self._table = table
        self._max_postings = max_postings_per_term

    # --- apply ---------------------------------------------------------------------------------------------------

    def apply(self, product: Product) -> bool:
        token = new_id()
        old = self._lock(product.product_id, token)
        try:
            if int(old.get("v", 0)) >= product.version:
                return False
            new = document(product)
            digest = _digest(new.card_json()) if new.terms else ""
            old_terms: dict[str, int] = {k: int(v) for k, v in (old.get("t") or {}).items()}
            changed_card = old.get("h", "") != digest
            puts = [t for t, mask in new.terms.items() if changed_card or old_terms.get(t) != mask]
            deletes = [t for t in old_terms if t not in new.terms]
            self._write_postings(new, puts, deletes)
            old_keys = set(old.get("s") or ())
            new_keys = {_suggestion_key(kind, text) for kind, text in new.suggestions}
            self._move_suggestions(product.product_id, added=new_keys - old_keys, removed=old_keys - new_keys)
            self._put_doc(new, digest, new_keys, token)
            token = ""  # released by the document write
            return True
        finally:
            if token:
                self._unlock(product.product_id, token)

    def _lock(self, product_id: str, token: str) -> dict[str, Any]:
        now = int(time.time())
        try:
            response = self._ddb.update_item(
                TableName=self._table,
                Key=_doc_key(product_id),
                UpdateExpression="SET lk = :token, lu = :until",
                ConditionExpression="attribute_not_exists(lu) OR lu < :now",
                ExpressionAttributeValues={
                    ":token": {"S": token},
                    ":until": {"N": str(now + LOCK_SECONDS)},
                    ":now": {"N": str(now)},
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                raise IndexBusy(f"product {product_id} is being indexed by another worker") from None
            raise
        return from_item(response.get("Attributes") or {})

    def _unlock(self, product_id: str, token: str) -> None:
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=_doc_key(product_id),
                UpdateExpression="REMOVE lk, lu",
                ConditionExpression="lk = :token",
                ExpressionAttributeValues={":token": {"S": token}},
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise

    def _put_doc(self, doc: Document, digest: str, suggestion_keys: set[str], token: str) -> None:
        item: dict[str, Any] = {"pk": f"D#{doc.product_id}", "sk": "DOC", "v": doc.version, "t": doc.terms}
        if digest:
            item["h"] = digest
        if suggestion_keys:
            item["s"] = suggestion_keys
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="lk = :token",
                ExpressionAttributeValues={":token": {"S": token}},
            )
        except ClientError as exc:
            if is_condition_failure(exc):  # the lock expired and another worker took it: let it finish
                raise IndexBusy(f"lost the index lock of product {doc.product_id}") from None
            raise

    def _write_postings(self, doc: Document, puts: list[str], deletes: list[str]) -> None:
        card = doc.card_json()
        requests: list[dict[str, Any]] = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": f"T#{term}"},
                        "sk": {"S": doc.product_id},
                        "f": {"N": str(doc.terms[term])},
                        "d": {"S": card},
                    }
                }
            }
            for term in puts
        ]
        requests += [
            {"DeleteRequest": {"Key": {"pk": {"S": f"T#{term}"}, "sk": {"S": doc.product_id}}}} for term in deletes
        ]
        for start in range(0, len(requests), BATCH_WRITE_MAX):
            self._batch_write(requests[start : start + BATCH_WRITE_MAX])

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        pending = {self._table: requests}
        for attempt in range(BATCH_RETRIES):
            pending = self._ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(min(0.05 * 2**attempt, 1.0))  # throttled: back off as the SDK's retry mode would
        raise RuntimeError("DynamoDB left search postings unprocessed; the event will be retried")

    def _move_suggestions(self, product_id: str, added: set[str], removed: set[str]) -> None:
        ids = {"SS": [product_id]}
        for key in sorted(added):
            for prefix in sorted(prefixes(key.split("#", 1)[1])):
                self._ddb.update_item(
                    TableName=self._table,
                    Key={"pk": {"S": f"P#{prefix}"}, "sk": {"S": key}},
                    UpdateExpression="ADD ids :id",
                    ExpressionAttributeValues={":id": ids},
                )
        for key in sorted(removed):
            for prefix in sorted(prefixes(key.split("#", 1)[1])):
                row = {"pk": {"S": f"P#{prefix}"}, "sk": {"S": key}}
                left = self._ddb.update_item(
                    TableName=self._table,
                    Key=row,
                    UpdateExpression="DELETE ids :id",
                    ExpressionAttributeValues={":id": ids},
                    ReturnValues="ALL_NEW",
                ).get("Attributes", {})
                if "ids" not in left:
                    self._delete_if_empty(row)

    def _delete_if_empty(self, key: dict[str, Any]) -> None:
        try:
            self._ddb.delete_item(TableName=self._table, Key=key, ConditionExpression="attribute_not_exists(ids)")
        except ClientError as exc:
            if not is_condition_failure(exc):  # another product was added meanwhile: keep the row
                raise

    # --- search --------------------------------------------------------------------------------------------------

    def _postings(self, term: str) -> tuple[list[Posting], bool]:
        found: list[Posting] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"T#{term}"}},
            "ProjectionExpression": "sk, #f, #d",
            "ExpressionAttributeNames": {"#f": "f", "#d": "d"},
        }
        for page in self._pages(kwargs):
            found.extend(Posting(i["sk"]["S"], int(i["f"]["N"]), _card(i["d"]["S"])) for i in page)
            if len(found) >= self._max_postings:
                return found[: self._max_postings], False
        return found, True

    def _pages(self, kwargs: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        while True:
            kwargs["Limit"] = min(QUERY_PAGE, self._max_postings)
            response = self._ddb.query(**kwargs)
            yield response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def search(self, query: SearchQuery) -> SearchPage:
        plan = plan_query(query.q) if query.q.strip() else filter_plan(query)
        fp = cursor.fingerprint(
            plan=plan.fingerprint(),
            category=query.category,
            brand=query.brand,
            min=query.min_price,
            max=query.max_price,
            sort=query.effective_sort,
        )
        start = cursor.decode(query.cursor, fp)
        offset = start.get("o") if start else 0
        if not isinstance(offset, int) or offset < 0:
            raise BadRequest("cursor is invalid or belongs to another query", code="INVALID_CURSOR")
        cache: dict[str, tuple[list[Posting], bool]] = {}

        def fetch(term: str) -> tuple[list[Posting], bool]:
            if term not in cache:
                cache[term] = self._postings(term)
            return cache[term]

        result = evaluate(plan, query, fetch)
        end = offset + query.limit
        page = result.ranked[offset:end]
        return SearchPage(
            items=[c.posting.summary() for c in page],
            next_cursor=cursor.encode({"o": end}, fp) if end < len(result.ranked) else None,
            total=len(result.ranked),
            exact=result.exact,
            facets=result.facets,
        )

    # --- suggest -------------------------------------------------------------------------------------------------

    def suggest(self, prefix: str, limit: int = 10) -> list[Suggestion]:
        key, required = typed_prefix(prefix)
        if not key:
            return []
        rows = self._ddb.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"P#{key}"}},
            ProjectionExpression="sk, ids",
            Limit=SUGGEST_ROWS,
        ).get("Items", [])
        found: list[tuple[int, Suggestion]] = []
        for row in rows:
            rank, text = row["sk"]["S"].split("#", 1)
            count = len(row.get("ids", {}).get("SS", []))
            if count and int(rank) in _KINDS and suggestion_matches(text, required):
                found.append((int(rank), Suggestion(text=text, kind=_KINDS[int(rank)], count=count)))
        found.sort(key=lambda rs: (rs[0], -rs[1].count, rs[1].text.casefold()))
        return [s for _, s in found[:limit]]


def _card(raw: str) -> dict[str, Any]:
    card: dict[str, Any] = json.loads(raw)
    return card
