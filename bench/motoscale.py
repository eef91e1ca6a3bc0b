"""Make in-process moto's DynamoDB cost scale with what a request reads, not with the size of the table.

moto 5.2.5 answers every ``Query`` by collecting and sorting *every item of the table* (``Table.all_items``) and
then keeping the queried partition; a ``Scan`` page sorts the whole table too and then walks it from the start to
the ``ExclusiveStartKey``. Measured here: a Query returning 2 items costs 239 ms in a 10,000-item table and 935 ms
in a 100,000-item one (a GetItem stays at a few ms). DynamoDB itself seeks to a partition (Query) or a key (Scan
page), so with unpatched moto a latency benchmark at 100,000 products would measure moto's sort, and a full Scan
would cost O(pages x table) instead of O(table).

:func:`partition_local` patches, while it is active, moto's ``Table`` so that

* a Query reads only its partition: for the base table ``items[hash_key]``; for a global secondary index the items
  whose index partition key has the queried value (grouped once and cached until the next write to the table);
* a Scan page starts at its ``ExclusiveStartKey`` by bisection in a sorted copy of the table's keys (sorted once and
  cached until the next write).

It also replaces one slow step that is not DynamoDB's: moto 5.2 serialises every response by walking botocore's
shape model in Python, about 1 ms per catalogue item (a full Scan of 1,000 products, 7,000 items, took 7 s).
DynamoDB's JSON protocol needs no transformation for these results (moto's ``DynamoResult`` is already plain JSON
data), so the responses of Query, Scan, GetItem and BatchGetItem are written with ``json.dumps``; the first calls of
each are also serialised by moto and compared (``SerialisationMismatch`` if they differ). botocore's parsing on the
client side is untouched (a Lambda pays it).

Everything after the seek is moto's own code (sorting the partition, key conditions, filters, Limit, the 1 MB
page size, projections, deep copies, ``ScannedCount``, ``LastEvaluatedKey``), so results and pagination are
unchanged; only the work before it stops growing with the table. Writes go through ``put_item``/``delete_item``
(batch writes, transactions and updates included), which bump a version that invalidates the caches.
"""

from __future__ import annotations

import inspect
import itertools
import json
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult

_VERSION = "_bench_version"
_SORTED = "_bench_sorted"  # (version, items sorted by table key)
_GROUPS = "_bench_groups"  # index name -> (version, {partition value: [items]})

_ORIGINAL_QUERY = Table.query
_ORIGINAL_SCAN = Table.scan
_ORIGINAL_PUT = Table.put_item
_ORIGINAL_DELETE = Table.delete_item
_QUERY_SIGNATURE = inspect.signature(_ORIGINAL_QUERY)


def _version(table: Table) -> int:
    value: int = getattr(table, _VERSION, 0)
    return value


def _bump(table: Table) -> None:
    setattr(table, _VERSION, _version(table) + 1)


def invalidate(table: Table) -> None:
    """Forget the caches of ``table`` (after changing its items other than through put_item/delete_item)."""
    _bump(table)


def _sort_key(item: Any) -> tuple[Any, ...]:
    return (item.hash_key, item.range_key) if item.range_key is not None else (item.hash_key,)


def _sorted_items(table: Table) -> list[Any]:
    cached: tuple[int, list[Any]] | None = getattr(table, _SORTED, None)
    if cached is None or cached[0] != _version(table):
        cached = (_version(table), _ORIGINAL_ALL_ITEMS(table))
        setattr(table, _SORTED, cached)
    return cached[1]


def _index_groups(table: Table, index_name: str, attribute: str) -> dict[Any, list[Any]]:
    groups: dict[str, tuple[int, dict[Any, list[Any]]]] = getattr(table, _GROUPS, None) or {}
    cached = groups.get(index_name)
    if cached is None or cached[0] != _version(table):
        grouped: dict[Any, list[Any]] = {}
        for part in table.items.values():
            for item in part.values() if isinstance(part, dict) else [part]:
                value = item.attrs.get(attribute)
                if value is not None:
                    grouped.setdefault(value, []).append(item)
        cached = (_version(table), grouped)
        groups[index_name] = cached
        setattr(table, _GROUPS, groups)
    return cached[1]


@contextmanager
def _shadow_all_items(table: Table, provide: Callable[[], Any]) -> Iterator[None]:
    table.all_items = provide  # type: ignore[method-assign]
    try:
        yield
    finally:
        del table.all_items


def _query(self: Table, *args: Any, **kwargs: Any) -> Any:
    bound = _QUERY_SIGNATURE.bind(self, *args, **kwargs)
    index_name: str | None = bound.arguments.get("index_name")
    if index_name is None:
        hash_key = bound.arguments.get("hash_key")
        part = self.items.get(hash_key) if hash_key is not None else None
        items = list(part.values()) if isinstance(part, dict) else ([part] if part is not None else [])
    else:
        conditions = bound.arguments.get("hash_key_conditions") or []
        if len(conditions) != 1:
            return _ORIGINAL_QUERY(self, *args, **kwargs)
        attribute, value = conditions[0]
        items = list(_index_groups(self, index_name, attribute).get(value, []))
    with _shadow_all_items(self, lambda: items):
        return _ORIGINAL_QUERY(self, *args, **kwargs)


def _scan(
    self: Table,
    filters: dict[str, Any],
    limit: int,
    exclusive_start_key: dict[str, Any] | None,
    filter_expression: Any = None,
    index_name: str | None = None,
    consistent_read: bool = False,
    projection_expression: list[list[str]] | None = None,
    segments: tuple[None, None] | tuple[int, int] = (None, None),
) -> Any:
    if index_name is not None or segments != (None, None):
        return _ORIGINAL_SCAN(
            self,
            filters,
            limit,
            exclusive_start_key,  # type: ignore[arg-type]
            filter_expression,
            index_name,
            consistent_read,
            projection_expression,
            segments=segments,
        )
    ordered = _sorted_items(self)
    start = 0
    if exclusive_start_key:
        target: tuple[Any, ...] = (DynamoType(exclusive_start_key[self.hash_key_attr]),)
        if self.range_key_attr is not None and self.range_key_attr in exclusive_start_key:
            target = (*target, DynamoType(exclusive_start_key[self.range_key_attr]))
        start = bisect_right(ordered, target, key=_sort_key)
    with _shadow_all_items(self, lambda: itertools.islice(ordered, start, None)):
        return _ORIGINAL_SCAN(
            self,
            filters,
            limit,
            None,  # type: ignore[arg-type]
            filter_expression,
            index_name,
            consistent_read,
            projection_expression,
            segments=segments,
        )


def _put_item(self: Table, *args: Any, **kwargs: Any) -> Any:
    result = _ORIGINAL_PUT(self, *args, **kwargs)
    _bump(self)
    return result


def _delete_item(self: Table, *args: Any, **kwargs: Any) -> Any:
    result = _ORIGINAL_DELETE(self, *args, **kwargs)
    _bump(self)
    return result


_ORIGINAL_ALL_ITEMS: Callable[[Table], list[Any]] = Table.all_items
_ORIGINAL_EXECUTE = DynamoResult.execute_result
_FAST_OPERATIONS = frozenset({"Query", "Scan", "GetItem", "BatchGetItem"})
_CHECKED: dict[str, int] = {}
CHECK_CALLS = 3  # the first calls of each operation are serialised both ways and compared


class SerialisationMismatch(AssertionError):
    """The fast JSON body differs from moto's own serialiser's: the patch is wrong for this moto version."""


def _execute_result(self: DynamoResult, context: Any) -> Any:
    operation = str(context.operation_model.name)
    if operation not in _FAST_OPERATIONS:
        return _ORIGINAL_EXECUTE(self, context)
    try:
        body = json.dumps(self.result, separators=(",", ":"))
    except TypeError:  # bytes (binary attributes): leave them to moto's serialiser
        return _ORIGINAL_EXECUTE(self, context)
    if _CHECKED.get(operation, 0) < CHECK_CALLS:
        _CHECKED[operation] = _CHECKED.get(operation, 0) + 1
        status, headers, expected = _ORIGINAL_EXECUTE(self, context)
        if status != 200 or json.loads(expected) != json.loads(body):
            raise SerialisationMismatch(f"{operation}: fast body differs from moto's")
        return status, headers, body
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, body


@contextmanager
def partition_local() -> Iterator[None]:
    """While active, moto's Query and Scan seek as DynamoDB does (see the module docstring)."""
    Table.query = _query  # type: ignore[method-assign]
    Table.scan = _scan  # type: ignore[method-assign]
    Table.put_item = _put_item  # type: ignore[method-assign]
    Table.delete_item = _delete_item  # type: ignore[method-assign]
    DynamoResult.execute_result = _execute_result  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        Table.query = _ORIGINAL_QUERY  # type: ignore[method-assign]
        Table.scan = _ORIGINAL_SCAN  # type: ignore[method-assign]
        Table.put_item = _ORIGINAL_PUT  # type: ignore[method-assign]
        Table.delete_item = _ORIGINAL_DELETE  # type: ignore[method-assign]
        DynamoResult.execute_result = _ORIGINAL_EXECUTE  # type: ignore[method-assign]
