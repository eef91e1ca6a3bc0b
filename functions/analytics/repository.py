"""DynamoDB storage of the analytics counters (one table, ``analytics``). Key design:

==================  =======================  ==========================  ==============================================
item                pk                       sk                          attributes
==================  =======================  ==========================  ==============================================
counted event       ``EVENT#<event_id>``     ``EVENT``                   ``expires_at`` (TTL, ``DEDUP_DAYS``)
shop totals / hour  ``HOUR#<shard>``         ``<yyyy-mm-ddThh>`` (UTC)   one number per counter (``orders_paid``,
                                                                         ``gross_CNY``, ``views``, ...)
shop totals / day   ``DAY#<shard>``          ``<yyyy-mm-dd>`` (local)    the same counters
product / day       ``PDAY#<yyyy-mm-dd>``    ``<product_id>#<shard>``    ``product_id``, ``name``, its counters
query / day         ``QDAY#<yyyy-mm-dd>``    ``<shard>#<query key>``     ``q`` (as first typed), ``searches``,
                                                                         ``zero_result_searches``
product             ``PRODUCT#<product_id>`` ``PRODUCT``                 ``name``, ``version`` (from catalogue events)
SKU                 ``SKU#<sku>``            ``SKU``                     ``product_id``
==================  =======================  ==========================  ==============================================

**Once per event.** An event's increments go in one TransactWriteItems with a Put of its ``EVENT#`` item
conditioned on that item not existing: a redelivered or replayed event (SQS at least once, an EventBridge archive
replay) fails the condition and changes nothing, and a transaction that fails changes nothing either. The dedup
items outlive the bus archive's retention (90 days in prod) and a year's report, so a replay never counts twice.

**Hot counters are sharded**, like hot stock (functions.checkout): every paid order adds to its hour's and day's
totals, so those are spread over ``TOTAL_SHARDS`` partitions by a hash of the event id, and a flash-sale product's
or a trending query's counters over ``ITEM_SHARDS`` items. At the checkout's 500 orders a second (docs/capacity.md)
one totals item takes ~60 transactions a second, far below a partition's ~500 transactional writes a second.
Transactions that collide on an item (``TransactionConflict``) are retried with jitter.

**Reads** are Queries on key ranges, never Scans: a totals range is one Query per shard (``sk BETWEEN``), products
and queries one Query per local day of the period (run a few at a time).
"""

from __future__ import annotations

import random
import time as clock
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from functions.analytics.model import TOTAL_SHARDS, Tally
from functions.shared.dynamo import cancellation_reasons, is_cancelled, is_condition_failure

DEDUP_DAYS = 400
MAX_TRANSACTION_ITEMS = 100
CONFLICT_ATTEMPTS = 5
PARALLEL_QUERIES = 8

Counters = dict[str, int]


def _update(pk: str, sk: str, counters: Counters, sets: dict[str, str] | None = None) -> dict[str, Any]:
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    adds = []
    for i, (name, amount) in enumerate(sorted(counters.items())):
        names[f"#c{i}"] = name
        values[f":c{i}"] = {"N": str(amount)}
        adds.append(f"#c{i} :c{i}")
    expression = "ADD " + ", ".join(adds)
    if sets:
        assignments = []
        for i, (name, text) in enumerate(sorted(sets.items())):
            names[f"#s{i}"] = name
            values[f":s{i}"] = {"S": text}
            keep_first = name == "q"  # a query keeps the spelling it was first typed with
            assignments.append(f"#s{i} = if_not_exists(#s{i}, :s{i})" if keep_first else f"#s{i} = :s{i}")
        expression = "SET " + ", ".join(assignments) + " " + expression
    return {
        "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _counters(item: dict[str, Any]) -> Counters:
    return {k: int(v["N"]) for k, v in item.items() if "N" in v and k != "expires_at"}


class ConflictPersisted(RuntimeError):
    """The counters stayed too contended to write: the record fails and SQS delivers it again."""


class DynamoAnalyticsRepository:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    # --- writes ---------------------------------------------------------------------------------------------------

    def apply(self, event_id: str, tally: Tally, hour: str, day: str, shard: int, item_shard: int) -> bool:
        """Add the tally's increments, once per event id; False when the event was already counted."""
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": {"S": f"EVENT#{event_id}"},
                        "sk": {"S": "EVENT"},
                        "expires_at": {"N": str(int(clock.time()) + DEDUP_DAYS * 86400)},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        updates: list[dict[str, Any]] = []
        if tally.totals:
            updates.append(_update(f"HOUR#{shard}", hour, tally.totals))
            updates.append(_update(f"DAY#{shard}", day, tally.totals))
        for product_id, counters in sorted(tally.products.items()):
            sets = {"product_id": product_id}
            if product_id in tally.product_names:
                sets["name"] = tally.product_names[product_id]
            updates.append(_update(f"PDAY#{day}", f"{product_id}#{item_shard}", counters, sets))
        for key, (typed, counters) in sorted(tally.queries.items()):
            updates.append(_update(f"QDAY#{day}", f"{item_shard}#{key}", counters, {"q": typed}))
        items.extend({"Update": {"TableName": self._table, **u}} for u in updates)
        if len(items) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"event {event_id} would write {len(items)} counter items in one transaction")
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                self._ddb.transact_write_items(TransactItems=items)
                return True
            except ClientError as exc:
                if not is_cancelled(exc):
                    raise
                reasons = cancellation_reasons(exc)
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    return False
                if "TransactionConflict" not in reasons:
                    raise
            clock.sleep(random.uniform(0, 0.05 * 2**attempt))
        raise ConflictPersisted(f"counters of event {event_id} stayed contended")

    def keep_product(self, product_id: str, name: str, version: int, skus: Iterable[str]) -> bool:
        """The catalogue's name of a product and its SKUs; an older version than the one kept changes nothing."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"PRODUCT#{product_id}"},
                    "sk": {"S": "PRODUCT"},
                    "name": {"S": name},
                    "version": {"N": str(version)},
                },
                ConditionExpression="attribute_not_exists(pk) OR version < :v",
                ExpressionAttributeValues={":v": {"N": str(version)}},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        for sku in skus:  # a SKU belongs to one product for ever (the catalogue never moves one)
            self._ddb.put_item(
                TableName=self._table,
                Item={"pk": {"S": f"SKU#{sku}"}, "sk": {"S": "SKU"}, "product_id": {"S": product_id}},
            )
        return True

    # --- reads ----------------------------------------------------------------------------------------------------

    def _get_many(self, keys: list[tuple[str, str]], attribute: str) -> dict[str, str]:
        """pk -> the string ``attribute`` of the items found (BatchGetItem, 100 keys a call, unprocessed retried)."""
        found: dict[str, str] = {}
        for start in range(0, len(keys), 100):
            pending: dict[str, Any] = {
                self._table: {
                    "Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in keys[start : start + 100]],
                    "ProjectionExpression": "pk, #a",
                    "ExpressionAttributeNames": {"#a": attribute},
                }
            }
            for attempt in range(8):
                page = self._ddb.batch_get_item(RequestItems=pending)
                for item in page.get("Responses", {}).get(self._table, []):
                    if attribute in item:
                        found[item["pk"]["S"]] = item[attribute]["S"]
                pending = page.get("UnprocessedKeys") or {}
                if not pending:
                    break
                clock.sleep(0.02 * 2**attempt)
        return found

    def products_of(self, skus: Iterable[str]) -> dict[str, str]:
        """SKU -> product id, for the SKUs the catalogue has told of."""
        found = self._get_many([(f"SKU#{s}", "SKU") for s in sorted(set(skus))], "product_id")
        return {pk.removeprefix("SKU#"): product_id for pk, product_id in found.items()}

    def names(self, product_ids: Iterable[str]) -> dict[str, str]:
        found = self._get_many([(f"PRODUCT#{p}", "PRODUCT") for p in sorted(set(product_ids))], "name")
        return {pk.removeprefix("PRODUCT#"): name for pk, name in found.items()}

    def _query(self, pk: str, low: str | None = None, high: str | None = None) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
        }
        if low is not None and high is not None:
            request["KeyConditionExpression"] += " AND sk BETWEEN :low AND :high"
            request["ExpressionAttributeValues"].update({":low": {"S": low}, ":high": {"S": high}})
        items: list[dict[str, Any]] = []
        while True:
            page = self._ddb.query(**request)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def totals(self, grain: str, low: str, high: str) -> dict[str, Counters]:
        """Bucket key -> counters summed over the shards, for ``HOUR`` keys or ``DAY`` keys ``low``..``high``."""
        out: dict[str, Counters] = {}
        with ThreadPoolExecutor(max_workers=PARALLEL_QUERIES) as pool:
            pages = pool.map(lambda s: self._query(f"{grain}#{s}", low, high), range(TOTAL_SHARDS))
            for items in pages:
                for item in items:
                    bucket = out.setdefault(item["sk"]["S"], {})
                    for name, amount in _counters(item).items():
                        bucket[name] = bucket.get(name, 0) + amount
        return out

    def _per_day(self, prefix: str, days: list[str]) -> list[list[dict[str, Any]]]:
        with ThreadPoolExecutor(max_workers=PARALLEL_QUERIES) as pool:
            return list(pool.map(lambda d: self._query(f"{prefix}#{d}"), days))

    def products(self, days: list[str]) -> tuple[dict[str, Counters], dict[str, str]]:
        """Product id -> counters summed over the days and shards, and the names the orders carried."""
        out: dict[str, Counters] = {}
        names: dict[str, str] = {}
        for items in self._per_day("PDAY", days):
            for item in items:
                product_id = item["product_id"]["S"]
                row = out.setdefault(product_id, {})
                for name, amount in _counters(item).items():
                    row[name] = row.get(name, 0) + amount
                if "name" in item:
                    names[product_id] = item["name"]["S"]
        return out, names

    def queries(self, days: list[str]) -> dict[str, tuple[str, Counters]]:
        """Query key -> (as first typed in the period, counters summed over the days and shards)."""
        out: dict[str, tuple[str, Counters]] = {}
        for items in self._per_day("QDAY", days):
            for item in items:
                key = item["sk"]["S"].split("#", 1)[1]
                _, row = out.setdefault(key, (item.get("q", {}).get("S", key), {}))
                for name, amount in _counters(item).items():
                    row[name] = row.get(name, 0) + amount
        return out
