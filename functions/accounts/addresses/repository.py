"""DynamoDB storage of saved addresses (the ``accounts`` table). Key design:

=======================  ================================  ======================================================
item                     pk                                sk / notes
=======================  ================================  ======================================================
address book             ``USER#<user_id>``                ``BOOK``; ``count``, ``default_id``, ``version``
address                  ``USER#<user_id>``                ``ADDRESS#<address_id>``; the fields and ``version``
idempotency record       ``IDEMP#<user_id>#<key>``         ``IDEMP``; request hash and the address; expires in 24 h
outbox event             ``OUTBOX#<event_id>``             ``OUTBOX``; relayed to EventBridge from the stream
=======================  ================================  ======================================================

Reading a book is one Query of the user's partition; every change is one TransactWriteItems whose book Put is
conditioned on the version read (and, for a new address, on the count being under the limit).
"""

from __future__ import annotations

import time
from typing import Any

from functions.accounts.addresses.model import MAX_ADDRESSES, Address, Book
from functions.shared.dynamo import from_item, to_item, transact, value
from functions.shared.events import DomainEvent
from functions.shared.outbox import outbox_put

IDEMPOTENCY_TTL_S = 24 * 3600
BOOK_SK = "BOOK"
ADDRESS_PREFIX = "ADDRESS#"
INTERNAL = {"pk", "sk", "expires_at"}


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def address_key(user_id: str, address_id: str) -> dict[str, Any]:
    return {"pk": {"S": user_pk(user_id)}, "sk": {"S": f"{ADDRESS_PREFIX}{address_id}"}}


def book_key(user_id: str) -> dict[str, Any]:
    return {"pk": {"S": user_pk(user_id)}, "sk": {"S": BOOK_SK}}


def idem_key(user_id: str, key: str) -> dict[str, Any]:
    return {"pk": {"S": f"IDEMP#{user_id}#{key}"}, "sk": {"S": "IDEMP"}}


def _strip(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in INTERNAL}


class DynamoAddressRepository:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    @property
    def table(self) -> str:
        return self._table

    # --- reads --------------------------------------------------------------------------------------------------

    def book(self, user_id: str) -> tuple[Book, list[Address]]:
        """The user's book item (a blank one at version 0 when none is stored) and addresses, strongly consistent."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": value(user_pk(user_id))},
            "ConsistentRead": True,
        }
        book = Book()
        addresses: list[Address] = []
        while True:
            out = self._ddb.query(**kwargs)
            for raw in out.get("Items", []):
                data = from_item(raw)
                sk = str(data.get("sk", ""))
                if sk == BOOK_SK:
                    book = Book.model_validate(_strip(data))
                elif sk.startswith(ADDRESS_PREFIX):
                    addresses.append(Address.model_validate(_strip(data)))
            start = out.get("LastEvaluatedKey")
            if not start:
                return book, addresses
            kwargs["ExclusiveStartKey"] = start

    def idempotency_record(self, user_id: str, key: str) -> dict[str, Any] | None:
        item = self._ddb.get_item(TableName=self._table, Key=idem_key(user_id, key), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    # --- transaction items --------------------------------------------------------------------------------------

    def put_book(self, user_id: str, book: Book, read: Book, adding: bool = False) -> dict[str, Any]:
        """The new book, if the stored one is still the one read (``adding``: and it is under the limit)."""
        put: dict[str, Any] = {"TableName": self._table, "Item": {**book_key(user_id), **to_item(book.model_dump())}}
        if read.version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
            return {"Put": put}
        condition = "#v = :read"
        values = {":read": value(read.version)}
        if adding:
            condition += " AND #n < :max"
            values[":max"] = value(MAX_ADDRESSES)
        put["ConditionExpression"] = condition
        put["ExpressionAttributeNames"] = {"#v": "version", **({"#n": "count"} if adding else {})}
        put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def put_address(self, user_id: str, address: Address, read_version: int) -> dict[str, Any]:
        """The address, if it is still at ``read_version`` (0: new)."""
        data = address.model_dump(mode="json")
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": {**address_key(user_id, address.address_id), **to_item(data)},
        }
        if read_version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "#v = :read"
            put["ExpressionAttributeNames"] = {"#v": "version"}
            put["ExpressionAttributeValues"] = {":read": value(read_version)}
        return {"Put": put}

    def delete_address(self, user_id: str, address: Address) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self._table,
                "Key": address_key(user_id, address.address_id),
                "ConditionExpression": "#v = :read",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":read": value(address.version)},
            }
        }

    def put_idempotency(self, user_id: str, key: str, digest: str, result_json: str) -> dict[str, Any]:
        """The key, the request it was used with and the response it got, in the same transaction as the change."""
        data = {"request_hash": digest, "result": result_json, "expires_at": int(time.time()) + IDEMPOTENCY_TTL_S}
        item = {**idem_key(user_id, key), **to_item(data)}
        return {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}

    def outbox(self, event: DomainEvent) -> dict[str, Any]:
        return outbox_put(self._table, event)

    def commit(self, items: list[dict[str, Any]]) -> bool:
        """One TransactWriteItems; False when a condition failed or it conflicted (the caller re-reads)."""
        return transact(self._ddb, items)
