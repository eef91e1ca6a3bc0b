"""An estimate of the DynamoDB capacity one request would consume in AWS, from the item sizes it reads and writes.

moto does not measure capacity: it answers ``ReturnConsumedCapacity`` with fixed numbers per API (GetItem 0.5,
Query/Scan/PutItem 1.0, BatchGetItem one per key) and with nothing at all for ``TransactWriteItems``. So
``calls.py`` shows moto's figure as it is (or "n/r" when absent) and, beside it, this estimate, which applies
DynamoDB's documented billing rules to the items actually seen in the request and the response:

* item size = sum over attributes of the name's UTF-8 length plus the value's size (strings: UTF-8 bytes; numbers:
  1 byte per two significant digits + 1; binary: bytes; booleans/null: 1; lists and maps: 3 + 1 per element + the
  elements' sizes);
* reads: 4 KB units; eventually consistent reads cost half; GetItem and each BatchGetItem key at least one unit
  even when nothing is found; a Query or Scan is charged for the items it *read* (before any filter), rounded up
  once per page;
* writes: 1 KB units; transactional reads and writes cost double;
* every write of an item carrying a global secondary index's keys writes that index too (standard writes, the
  projected item: ``ALL`` in this project).

What the request and response do not show makes the result approximate (flagged, and meant as a lower bound): the
size of an item a Put replaces (the new item stands in for it) or a Delete removes (one unit, and no index
deletes), and the rows a filtered Query read but did not return (scaled from the average returned row).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

READ_UNIT = 4096
WRITE_UNIT = 1024

IndexKeys = dict[str, list[tuple[str, str | None]]]  # table name -> [(partition key, sort key)] of its GSIs


def number_size(text: str) -> int:
    digits = str(Decimal(text).normalize()).lstrip("-").replace(".", "")
    if "E" in digits:
        digits = digits.split("E")[0]
    significant = len(digits.strip("0")) or 1
    return math.ceil(significant / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    (kind, raw), *_ = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return number_size(str(raw))
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(number_size(n) for n in raw)
    if kind == "BS":
        return sum(len(b) for b in raw)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in raw)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in raw.items())
    return 0


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


@dataclass
class Estimate:
    rcu: float = 0.0
    wcu: float = 0.0
    approximate: bool = False

    def add(self, other: Estimate) -> None:
        self.rcu += other.rcu
        self.wcu += other.wcu
        self.approximate = self.approximate or other.approximate


def _read_units(size: int, consistent: bool, transactional: bool = False) -> float:
    units = max(1, math.ceil(size / READ_UNIT))
    return units * (2.0 if transactional else 1.0 if consistent else 0.5)


def _write_units(size: int, transactional: bool = False) -> float:
    return max(1, math.ceil(size / WRITE_UNIT)) * (2.0 if transactional else 1.0)


def _index_writes(table: str, item: dict[str, Any] | None, gsis: IndexKeys) -> float:
    """Standard writes to the indexes whose keys the item carries (projection ALL: the whole item)."""
    units = 0.0
    for pk, sk in gsis.get(table, []):
        if item is None:
            continue
        if pk in item and (sk is None or sk in item):
            units += _write_units(item_size(item))
    return units


def _put(put: dict[str, Any], gsis: IndexKeys, transactional: bool) -> Estimate:
    """Exact only when the condition guarantees a new item; otherwise the item it may replace is unknown (the new
    item stands in for it, and a changed index key would cost a second index write)."""
    item = put["Item"]
    new = "attribute_not_exists" in str(put.get("ConditionExpression", ""))
    units = _write_units(item_size(item), transactional) + _index_writes(put["TableName"], item, gsis)
    return Estimate(wcu=units, approximate=not new)


def _delete(transactional: bool) -> Estimate:
    """The deleted item is in neither the request nor the response: one unit, and no index deletes (it may have
    been in some): a lower bound."""
    return Estimate(wcu=_write_units(0, transactional), approximate=True)


def _query(params: dict[str, Any], parsed: dict[str, Any]) -> Estimate:
    items = parsed.get("Items", [])
    read = sum(item_size(i) for i in items)
    scanned, count = int(parsed.get("ScannedCount", len(items))), int(parsed.get("Count", len(items)))
    approximate = scanned > count
    if approximate and count:
        read = read * scanned // count
    elif approximate:
        read = scanned * 1024  # nothing returned to measure: a 1 KB row each, as a guess
    return Estimate(rcu=_read_units(read, bool(params.get("ConsistentRead"))), approximate=approximate)


def estimate(operation: str, params: dict[str, Any], parsed: dict[str, Any], gsis: IndexKeys) -> Estimate | None:
    """The estimated capacity of one successful DynamoDB call; ``None`` for APIs that consume none or that the
    model does not cover."""
    if operation == "GetItem":
        size = item_size(parsed.get("Item") or {})
        return Estimate(rcu=_read_units(size, bool(params.get("ConsistentRead"))))
    if operation in ("Query", "Scan"):
        return _query(params, parsed)
    if operation == "BatchGetItem":
        result = Estimate()
        for name, request in params.get("RequestItems", {}).items():
            found = parsed.get("Responses", {}).get(name, [])
            consistent = bool(request.get("ConsistentRead"))
            sizes = [item_size(i) for i in found] + [0] * (len(request.get("Keys", [])) - len(found))
            result.rcu += sum(_read_units(s, consistent) for s in sizes)
        return result
    if operation == "TransactGetItems":
        result = Estimate()
        for response in parsed.get("Responses", []):
            result.rcu += _read_units(item_size(response.get("Item") or {}), True, transactional=True)
        return result
    if operation == "PutItem":
        return _put(params, gsis, transactional=False)
    if operation == "DeleteItem":
        return _delete(transactional=False)
    if operation == "TransactWriteItems":
        result = Estimate()
        for element in params.get("TransactItems", []):
            if "Put" in element:
                result.add(_put(element["Put"], gsis, transactional=True))
            elif "Delete" in element:
                result.add(_delete(transactional=True))
            else:  # Update, ConditionCheck: sizes unknown from the request alone
                result.add(Estimate(wcu=2.0, approximate=True))
        return result
    if operation == "BatchWriteItem":
        result = Estimate()
        for name, requests in params.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    result.add(_put({"TableName": name, **request["PutRequest"]}, gsis, transactional=False))
                else:
                    result.add(_delete(transactional=False))
        return result
    if operation == "UpdateItem":
        return Estimate(wcu=1.0, approximate=True)
    return None
