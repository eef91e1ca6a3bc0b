"""DynamoDB storage of the shipping context (one table, ``shipping``). Key design:

=========================  ===============================  =====================================================
item                       pk                               sk / notes
=========================  ===============================  =====================================================
warehouses                 ``WAREHOUSES``                   ``ALL``; every warehouse in one map (a shop has tens, not
                                                            thousands), so allocation reads them in the same
                                                            BatchGetItem as the stock
SKU stock                  ``SKU#<SKU>``                    ``STOCK``; ``levels`` = warehouse -> on_hand, allocated,
                                                            and ``version`` (+1 on every change)
ledger entry               ``SKU#<SKU>``                    ``MOVE#<time>#<entry id>``; append-only (Put with
                                                            attribute_not_exists; no function may update or delete)
fulfilment of an order     ``ORDER#<id>``                   ``FULFILMENT``; lines, parcels (allocation), what was
                                                            shipped / delivered / claimed by returns. GSI ``by_wait``
                                                            (``WAITING``, by paid time) while it waits for stock
shipment                   ``ORDER#<id>``                   ``SHIPMENT#<id>``; lines, carrier, timeline
tracking number            ``TRACK#<carrier>#<number>``     ``TRACK``; which order and shipment (unique per carrier)
return                     ``RETURN#<id>``                  ``RETURN``; GSI ``by_status`` (``RETURNS#<status>``, by
                                                            time) and ``by_kind`` (``RETURNS``, by time)
idempotency record         ``IDEMP#<actor>#<key>``          ``IDEMP``; request hash and shipment; expires in 24 h
outbox event               ``OUTBOX#<event_id>``            ``OUTBOX``; relayed to EventBridge from the stream
=========================  ===============================  =====================================================

Access patterns: allocation = one BatchGetItem (the lines' stock, the warehouses, the fulfilment) + one
TransactWriteItems; dispatch = Query (the order's partition: fulfilment + shipments) + TransactWriteItems; carrier
callback = GetItem (tracking number) + Query (order partition) + TransactWriteItems; the shopper's timeline = one
Query. Nothing on the order path scans.

Invariants: every stock write is conditioned on the version it was computed from, so two allocations (or an
allocation and a movement) never both spend the same unit, and each event's stock snapshot is exactly the stock
after that change; each ledger entry is written in the same transaction as the on-hand change it records.
"""

from __future__ import annotations

import time
from typing import Any

from functions.shared.dynamo import from_item, sortable, to_item, transact, value
from functions.shared.events import DomainEvent
from functions.shared.outbox import outbox_put
from functions.shipping.model import (
    Fulfilment,
    LedgerEntry,
    Level,
    ReturnRecord,
    Shipment,
    SkuStock,
    Warehouse,
)

IDEMPOTENCY_TTL_S = 24 * 3600
INTERNAL = {"pk", "sk", "wait_pk", "wait_sk", "status_pk", "status_sk", "kind_pk", "kind_sk", "expires_at"}

WAREHOUSES_KEY = {"pk": {"S": "WAREHOUSES"}, "sk": {"S": "ALL"}}


def stock_key(sku: str) -> dict[str, Any]:
    return {"pk": {"S": f"SKU#{sku}"}, "sk": {"S": "STOCK"}}


def fulfilment_key(order_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "FULFILMENT"}}


def shipment_key(order_id: str, shipment_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": f"SHIPMENT#{shipment_id}"}}


def tracking_key(carrier: str, number: str) -> dict[str, Any]:
    return {"pk": {"S": f"TRACK#{carrier}#{number.upper()}"}, "sk": {"S": "TRACK"}}


def return_key(return_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"RETURN#{return_id}"}, "sk": {"S": "RETURN"}}


def idem_key(actor: str, key: str) -> dict[str, Any]:
    return {"pk": {"S": f"IDEMP#{actor}#{key}"}, "sk": {"S": "IDEMP"}}


def _strip(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in INTERNAL}


def _versioned(attr: str, version: int) -> tuple[str, dict[str, Any]]:
    """A condition that the item is still at ``version`` (0: does not exist yet)."""
    if version == 0:
        return "attribute_not_exists(pk)", {}
    return f"{attr} = :expected", {":expected": value(version)}


class DynamoShippingRepository:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    @property
    def table(self) -> str:
        return self._table

    # --- reads --------------------------------------------------------------------------------------------------

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        item = self._ddb.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def load(
        self, skus: list[str], order_id: str | None = None, warehouses: bool = True
    ) -> tuple[dict[str, SkuStock], list[Warehouse], Fulfilment | None]:
        """The stock of ``skus``, the warehouses and an order's fulfilment, in one BatchGetItem (strongly
        consistent, unprocessed keys retried)."""
        keys = [stock_key(s) for s in dict.fromkeys(skus)]
        if warehouses:
            keys.append(WAREHOUSES_KEY)
        if order_id:
            keys.append(fulfilment_key(order_id))
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(8):
            if not request or not request.get(self._table, {}).get("Keys"):
                break
            out = self._ddb.batch_get_item(RequestItems=request)
            found.extend(from_item(i) for i in out.get("Responses", {}).get(self._table, []))
            request = out.get("UnprocessedKeys") or {}
            if request:
                time.sleep(0.02 * 2**attempt)
        stock = {s: SkuStock(sku=s) for s in skus}
        houses: list[Warehouse] = []
        fulfilment: Fulfilment | None = None
        for data in found:
            if data["pk"] == "WAREHOUSES":
                houses = self._warehouses(data)
            elif data["sk"] == "STOCK":
                stock[data["pk"][4:]] = self._stock(data)
            elif data["sk"] == "FULFILMENT":
                fulfilment = Fulfilment.model_validate(_strip(data))
        return stock, houses, fulfilment

    @staticmethod
    def _stock(data: dict[str, Any]) -> SkuStock:
        levels = {w: Level(on_hand=int(v["on_hand"]), allocated=int(v["allocated"])) for w, v in data["levels"].items()}
        return SkuStock(sku=str(data["sku"]), levels=levels, version=int(data["version"]))

    @staticmethod
    def _warehouses(data: dict[str, Any]) -> list[Warehouse]:
        return sorted((Warehouse.model_validate(w) for w in data.get("warehouses", {}).values()), key=lambda w: w.code)

    def stock(self, sku: str) -> SkuStock:
        data = self._get(stock_key(sku))
        return self._stock(data) if data else SkuStock(sku=sku)

    def warehouses(self) -> tuple[list[Warehouse], int]:
        data = self._get(WAREHOUSES_KEY)
        if not data:
            return [], 0
        return self._warehouses(data), int(data.get("version", 0))

    def order_partition(self, order_id: str) -> tuple[Fulfilment | None, list[Shipment]]:
        """The fulfilment and every shipment of an order: one Query (strongly consistent)."""
        fulfilment: Fulfilment | None = None
        shipments: list[Shipment] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": value(f"ORDER#{order_id}")},
            "ConsistentRead": True,
        }
        while True:
            out = self._ddb.query(**kwargs)
            for item in out.get("Items", []):
                data = from_item(item)
                if data["sk"] == "FULFILMENT":
                    fulfilment = Fulfilment.model_validate(_strip(data))
                elif str(data["sk"]).startswith("SHIPMENT#"):
                    shipments.append(Shipment.model_validate(_strip(data)))
            if "LastEvaluatedKey" not in out:
                break
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
        shipments.sort(key=lambda s: (s.dispatched_at, s.shipment_id))
        return fulfilment, shipments

    def tracking(self, carrier: str, number: str) -> tuple[str, str] | None:
        data = self._get(tracking_key(carrier, number))
        return (str(data["order_id"]), str(data["shipment_id"])) if data else None

    def return_record(self, return_id: str) -> ReturnRecord | None:
        data = self._get(return_key(return_id))
        return ReturnRecord.model_validate(_strip(data)) if data else None

    def idempotency_record(self, actor: str, key: str) -> dict[str, Any] | None:
        return self._get(idem_key(actor, key))

    def ledger(
        self, sku: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[LedgerEntry], dict[str, Any] | None]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :m)",
            "ExpressionAttributeValues": {":pk": value(f"SKU#{sku}"), ":m": value("MOVE#")},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        out = self._ddb.query(**kwargs)
        items = [LedgerEntry.model_validate(_strip(from_item(i))) for i in out.get("Items", [])]
        return items, out.get("LastEvaluatedKey")

    def returns(
        self, status: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[ReturnRecord], dict[str, Any] | None]:
        index, attr, part = (
            ("by_status", "status_pk", f"RETURNS#{status}") if status else ("by_kind", "kind_pk", "RETURNS")
        )
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": f"{attr} = :p",
            "ExpressionAttributeValues": {":p": value(part)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        out = self._ddb.query(**kwargs)
        items = [ReturnRecord.model_validate(_strip(from_item(i))) for i in out.get("Items", [])]
        return items, out.get("LastEvaluatedKey")

    def waiting_orders(self, limit: int) -> list[str]:
        """Orders waiting for stock, oldest first, page by page up to ``limit``."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by_wait",
            "KeyConditionExpression": "wait_pk = :w",
            "ExpressionAttributeValues": {":w": value("WAITING")},
            "ProjectionExpression": "order_id",
        }
        found: list[str] = []
        while len(found) < limit:
            out = self._ddb.query(**kwargs, Limit=min(100, limit - len(found)))
            found += [str(from_item(i)["order_id"]) for i in out.get("Items", [])]
            if "LastEvaluatedKey" not in out:
                break
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
        return found

    # --- writes: each returns one TransactWriteItems element ----------------------------------------------------

    def put_stock(self, stock: SkuStock, expected_version: int) -> dict[str, Any]:
        condition, values = _versioned("version", expected_version)
        levels = {w: {"on_hand": lv.on_hand, "allocated": lv.allocated} for w, lv in stock.levels.items()}
        item = {**stock_key(stock.sku), **to_item({"sku": stock.sku, "levels": levels, "version": stock.version})}
        put: dict[str, Any] = {"TableName": self._table, "Item": item, "ConditionExpression": condition}
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def put_ledger(self, entry: LedgerEntry) -> dict[str, Any]:
        key = {"pk": {"S": f"SKU#{entry.sku}"}, "sk": {"S": f"MOVE#{sortable(entry.at)}#{entry.entry_id}"}}
        item = {**key, **to_item(entry.model_dump(mode="json"))}
        return {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}

    def put_warehouses(self, houses: list[Warehouse], expected_version: int) -> dict[str, Any]:
        condition, values = _versioned("version", expected_version)
        data = {"warehouses": {w.code: w.model_dump(mode="json") for w in houses}, "version": expected_version + 1}
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": {**WAREHOUSES_KEY, **to_item(data)},
            "ConditionExpression": condition,
        }
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def put_fulfilment(self, fulfilment: Fulfilment, expected_version: int) -> dict[str, Any]:
        condition, values = _versioned("version", expected_version)
        data = fulfilment.model_dump(mode="json")
        if fulfilment.status.value == "waiting" and any(n.lines for n in fulfilment.needs):
            data["wait_pk"] = "WAITING"
            data["wait_sk"] = f"{data.get('paid_at') or data['created_at']}#{fulfilment.order_id}"
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": {**fulfilment_key(fulfilment.order_id), **to_item(data)},
            "ConditionExpression": condition,
        }
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def put_shipment(self, shipment: Shipment, expected_version: int) -> dict[str, Any]:
        condition, values = _versioned("version", expected_version)
        item = {**shipment_key(shipment.order_id, shipment.shipment_id), **to_item(shipment.model_dump(mode="json"))}
        put: dict[str, Any] = {"TableName": self._table, "Item": item, "ConditionExpression": condition}
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def put_tracking(self, shipment: Shipment) -> dict[str, Any]:
        data = {"order_id": shipment.order_id, "shipment_id": shipment.shipment_id, "carrier": shipment.carrier}
        item = {**tracking_key(shipment.carrier, shipment.tracking_number), **to_item(data)}
        return {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}

    def put_return(self, record: ReturnRecord, expected_version: int) -> dict[str, Any]:
        condition, values = _versioned("version", expected_version)
        data = record.model_dump(mode="json")
        created = f"{sortable(record.created_at)}#{record.return_id}"
        data.update(status_pk=f"RETURNS#{record.status.value}", status_sk=created, kind_pk="RETURNS", kind_sk=created)
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": {**return_key(record.return_id), **to_item(data)},
            "ConditionExpression": condition,
        }
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def put_idempotency(self, actor: str, key: str, digest: str, result_json: str) -> dict[str, Any]:
        """The key, the request it was used with and the response it got, in the same transaction as the change."""
        data = {"request_hash": digest, "result": result_json, "expires_at": int(time.time()) + IDEMPOTENCY_TTL_S}
        item = {**idem_key(actor, key), **to_item(data)}
        return {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}

    def outbox(self, event: DomainEvent) -> dict[str, Any]:
        return outbox_put(self._table, event)

    def commit(self, items: list[dict[str, Any]]) -> bool:
        """One TransactWriteItems; False when a condition failed or it conflicted (the caller re-reads)."""
        return transact(self._ddb, items)
