"""DynamoDB storage of the audit log (one table, ``audit``), append-only. Key design:

=================  =========================  =================================  ====================================
item               pk                         sk                                 indexes
=================  =========================  =================================  ====================================
audit entry        ``DAY#<yyyy-mm-dd>`` (UTC  ``<at>#<entry_id>`` (``at`` in one  ``by_actor``: ``actor``, ``sk``;
                   day of ``at``)             fixed UTC format: string order is  ``by_resource``: ``resource``, ``sk``
                                              time order)                        (both project everything)
=================  =========================  =================================  ====================================

``expires_at`` (epoch seconds, ``at`` + ``AUDIT_RETENTION_DAYS``) is the table's TTL attribute: DynamoDB removes
an entry once its retention is over, the only way one ever goes.

Access patterns (newest first, every one a Query on a range of ``sk``; nothing scans):

* record: one PutItem conditioned on ``attribute_not_exists(pk)``; the key comes from the entry itself, so a
  redelivered event finds its entry there and neither duplicates nor overwrites it;
* by actor: Query ``by_actor`` (``actor = :a AND sk BETWEEN :from AND :to``);
* by resource: Query ``by_resource``; by actor *and* resource: the same, filtered on ``actor``;
* neither: one Query per day partition, from the day of ``to`` back to the day of ``from`` (at most 93).

A page is filled across partitions (days) and filtered reads; its position, (partition number, last key), travels
in the signed cursor (functions.shared.cursor) with the resolved time range, so a default ``to`` stays the ``now``
of the first page.

Invariants: append-only. The recorder's role may only ``PutItem`` on the table, the list route's only read, and no
function, route or policy may update or delete an entry (tests/infra/test_infra_audit.py). A day's partition takes
every write of that day: back-office and partner writes come at tens a second at most, far below a partition's
1,000 writes a second; the GSIs' partitions (one actor, one resource) take less.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from functions.shared.dynamo import from_item, is_condition_failure, to_item

INTERNAL = {"pk", "sk", "expires_at"}
# Queries one page may make before it returns what it has with a cursor: a day walk of the longest range (93 days)
# fits, and a filtered read that keeps finding nothing does not hold the request up.
MAX_QUERIES = 100


def day_pk(day: str) -> str:
    return f"DAY#{day}"


def entry_sk(at: str, entry_id: str) -> str:
    return f"{at}#{entry_id}"


@dataclass(frozen=True)
class Partition:
    """One Query's partition: the table's (``index`` None) or an index's, optionally filtered on ``actor``."""

    key_name: str
    key_value: str
    index: str | None = None
    actor_filter: str | None = None

    def key_of(self, item: dict[str, Any]) -> dict[str, str]:
        """The item's key as ExclusiveStartKey needs it (the table's key plus the index's)."""
        key = {"pk": str(item["pk"]["S"]), "sk": str(item["sk"]["S"])}
        if self.index:
            key[self.key_name] = str(item[self.key_name]["S"])
        return key


@dataclass(frozen=True)
class Position:
    partition: int
    key: dict[str, str] | None


class DynamoAuditRepository:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    @property
    def table(self) -> str:
        return self._table

    def append(self, entry: dict[str, Any], day: str, at: str, expires_at: int) -> bool:
        """Write the entry once; False when it is already there (a redelivery), which is left as it is."""
        item = {
            **to_item(entry),
            "pk": {"S": day_pk(day)},
            "sk": {"S": entry_sk(at, str(entry["entry_id"]))},
            "expires_at": {"N": str(expires_at)},
        }
        try:
            self._ddb.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def _query(
        self, partition: Partition, low: str, high: str, limit: int, start: dict[str, str] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#k = :k AND sk BETWEEN :low AND :high",
            "ExpressionAttributeNames": {"#k": partition.key_name},
            "ExpressionAttributeValues": {":k": {"S": partition.key_value}, ":low": {"S": low}, ":high": {"S": high}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if partition.index:
            request["IndexName"] = partition.index
        if partition.actor_filter is not None:
            request["FilterExpression"] = "actor = :actor"
            request["ExpressionAttributeValues"][":actor"] = {"S": partition.actor_filter}
        if start:
            request["ExclusiveStartKey"] = to_item(start)
        response = self._ddb.query(**request)
        return list(response.get("Items", [])), response.get("LastEvaluatedKey")

    def page(
        self, partitions: list[Partition], low: str, high: str, limit: int, position: Position | None
    ) -> tuple[list[dict[str, Any]], Position | None]:
        """Up to ``limit`` entries with ``low <= sk <= high`` from ``partitions`` in order, each newest first,
        starting at ``position``; and where the next page starts (None: nothing more)."""
        index, start = (position.partition, position.key) if position else (0, None)
        found: list[dict[str, Any]] = []
        last: Position | None = None  # where the last entry kept came from
        for _ in range(MAX_QUERIES):
            if index >= len(partitions):
                return [self._entry(i) for i in found], None
            partition = partitions[index]
            # One more than the page needs: finding it tells whether a next page exists.
            items, evaluated = self._query(partition, low, high, limit + 1 - len(found), start)
            for item in items:
                if len(found) == limit:
                    return [self._entry(i) for i in found], last
                found.append(item)
                last = Position(index, partition.key_of(item))
            if evaluated:
                start = {k: str(v["S"]) for k, v in evaluated.items()}
            else:
                index, start = index + 1, None
        # Out of queries (a filter that keeps finding nothing): what there is, and where to go on.
        return [self._entry(i) for i in found], Position(index, start) if index < len(partitions) else None

    @staticmethod
    def _entry(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in from_item(item).items() if k not in INTERNAL}
