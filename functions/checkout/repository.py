"""DynamoDB storage of the checkout (one table, ``checkout``). Key design:

=========================  ===========================  =========================================================
item                       pk                           sk / notes
=========================  ===========================  =========================================================
SKU record                 ``SKU#<SKU>``                ``INFO``; the checkout's copy of the catalogue's SKU (price,
                                                        name, status, product version) plus the flash sales on it
stock                      ``SKU#<SKU>``                ``STOCK``; ``sellable``, ``reserved`` (units in open orders
                                                        not yet dispatched), ``in_promotions`` (units set aside for
                                                        flash sales); ``warehouses`` and ``warehouse_version``: the
                                                        shipping context's newest per-warehouse snapshot
stock movement applied     ``SKU#<SKU>``                ``MOVEMENT#<movement_id>``; a shipping stock movement whose
                                                        ``sellable_delta`` was applied; expires after 14 days
product's SKUs             ``PRODUCT#<id>``             ``SKUS``; which SKUs a product had at which version, so a
                                                        variant dropped by an update is taken off sale
cart                       ``CART#U#<user>`` /          ``CART``; lines (SKU, quantity) and a version; guest carts
                           ``CART#G#<token>``           expire by TTL after 30 days
order                      ``ORDER#<id>``               ``ORDER``; the whole order. GSIs: ``by_user`` (``USER#<id>``,
                                                        newest first), ``by_status`` (``STATUS#<status>#<s>``, by
                                                        time), ``by_kind`` (``ORDERS#<yyyy-mm>#<s>``, by time); ``s``
                                                        is one of ORDER_INDEX_SHARDS, from the order id;
                                                        ``by_due`` (``DELIVERED#<s>``, by delivery time) while it is
                                                        delivered and not yet completed; ``by_update``
                                                        (``UPD#<yyyy-mm-dd>#<s>``, ``<updated_at>#<id>``): the partner
                                                        change feed, where the order sits at its latest change
idempotency record         ``IDEMP#<user>#<key>``       ``IDEMP``; request hash and order id, written in the order's
                                                        own transaction; expires after 24 h
coupon                     ``COUPON#<CODE>``            ``COUPON``; definition and ``used``; ``by_kind`` ``COUPON``
coupon use by a shopper    ``COUPON#<CODE>#USER#<u>``   ``USER#<user>``; ``used``
flash sale                 ``PROMO#<id>``               ``PROMO``; definition; ``by_kind`` ``PROMOTION``; ``by_due``
                                                        ``PROMO_OPEN`` (by end time) until settled
flash-sale stock shard     ``PROMO#<id>#SHARD#<k>``     ``SHARD#<k>``; ``remaining``; ``settled`` once ended (each
                                                        shard its own partition, so N shards take N x the writes)
flash-sale buys by shopper ``PROMO#<id>#USER#<u>``      ``USER#<user>``; ``bought``
saved address              ``ADDR#<user>``              ``<address_id>``; the checkout's copy of a shopper's saved
                                                        address (accounts' AddressSaved) and its ``version``; after
                                                        AddressDeleted a tombstone (``deleted``, the version, no
                                                        address fields), kept so a late older event changes nothing
outbox event               ``OUTBOX#<event_id>``        ``OUTBOX``; relayed to EventBridge from the stream
=========================  ===========================  =========================================================

Access patterns: cart page = GetItem (cart) + BatchGetItem (SKU records, stock, coupon, flash-sale shards); checkout
= BatchGetItem (cart + idempotency record [+ saved address, for an ``address_id``]) + BatchGetItem (SKU records,
stock, coupon) [+ BatchGetItem (shards) for a flash-sale line] + one TransactWriteItems; order page = GetItem; my
orders = one Query on ``by_user``; a partner feed page = one Query per shard of each day partition it walks
(functions.checkout.feed); an address event = one conditional PutItem; a shipping event = GetItem (order) +
one TransactWriteItems [+ one UpdateItem per stock snapshot]; orders whose return window ended = one Query per shard
of ``by_due``.

Invariants guarded by conditions, never by a read followed by a write:
* a reservation never takes more than ``sellable`` (each is ``sellable >= :q``; only a warehouse losing units that
  open orders reserved takes ``sellable`` below zero, shown as ``short``), ``reserved`` never below zero (a
  dispatch takes out at most what is reserved, once per shipment), a flash-sale shard's ``remaining`` never below
  zero, a coupon's ``used`` never above its limit, a shopper's uses/buys never above theirs;
* checkout writes the order, the idempotency record, every reservation, the coupon use, the cart's deletion and the
  outbox event in one transaction: all or none;
* an order changes only from the version it was read at, so an expiry, a cancel and a payment that race resolve to
  exactly one winner, and the stock it releases is released exactly once; the same holds for the shipping events
  that move it forward (each shipment's units leave reserved stock once, in the order's own write);
* a saved address changes only to a newer ``version`` (a save or a delete's tombstone), so replays and
  out-of-order events change nothing;
* a stock movement's delta applies once (its marker is written in the same transaction), and a warehouse snapshot
  replaces the stored one only when its version is newer;
* a flash sale's units are taken out of sellable stock when it is created and spread over shards, so a hot SKU's
  purchases write only a shard (one of N items) and the shopper's own counter, never one shared item.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from botocore.exceptions import ClientError

from functions.checkout.feed import FEED_INDEX, DayPage, ShardPage, feed_keys, merge_shards
from functions.checkout.model import (
    Coupon,
    Order,
    OrderStatus,
    Promotion,
    PromotionRef,
    SavedAddress,
    SkuInfo,
    Stock,
    StockSnapshot,
    StoredCart,
)
from functions.shared.dynamo import (
    cancellation_reasons,
    from_item,
    is_cancelled,
    is_condition_failure,
    sortable,
    to_item,
    transact,
    value,
)
from functions.shared.errors import Conflict, ServiceUnavailable, Unprocessable
from functions.shared.events import DomainEvent
from functions.shared.outbox import outbox_put

MAX_TRANSACTION_ITEMS = 100
# Every new order writes the shop-wide index partitions STATUS#<status> and ORDERS#<month>; spread over shards (a
# suffix from the order id) they take ORDER_INDEX_SHARDS x a partition's ~1,000 WCU/s, and a back-office list reads
# each shard's newest page and merges them.
ORDER_INDEX_SHARDS = 8
BATCH_GET_MAX = 100
BATCH_GET_ATTEMPTS = 6
GUEST_CART_TTL_S = 30 * 24 * 3600
IDEMPOTENCY_TTL_S = 24 * 3600
# A stock movement's marker is kept for good (about 100 bytes each): an EventBridge archive replay, months later,
# must not apply a movement's sellable delta a second time.
# A stock item always has all three counters: reservations and flash sales update them without if_not_exists.
_STOCK_DEFAULTS = "SET reserved = if_not_exists(reserved, :zero), in_promotions = if_not_exists(in_promotions, :zero)"


def sku_key(sku: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": f"SKU#{sku}"}, "sk": {"S": sk}}


def cart_key(owner: str) -> dict[str, Any]:
    return {"pk": {"S": f"CART#{owner}"}, "sk": {"S": "CART"}}


def order_key(order_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}}


def idem_key(user_id: str, key: str) -> dict[str, Any]:
    return {"pk": {"S": f"IDEMP#{user_id}#{key}"}, "sk": {"S": "IDEMP"}}


def address_key(user_id: str, address_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ADDR#{user_id}"}, "sk": {"S": address_id}}


# A coupon's or flash sale's own item is ``<KIND>#<id>``; every other item of it (a shopper's counter, a stock shard)
# gets a partition key of its own. DynamoDB's write limit (~1,000 WCU/s) is per *partition*: shards under one key
# would share it, and the sale would top out near 250 orders/s whatever the number of shards.


def coupon_key(code: str, sk: str = "COUPON") -> dict[str, Any]:
    pk = f"COUPON#{code}" if sk == "COUPON" else f"COUPON#{code}#{sk}"
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def promo_key(promotion_id: str, sk: str = "PROMO") -> dict[str, Any]:
    pk = f"PROMO#{promotion_id}" if sk == "PROMO" else f"PROMO#{promotion_id}#{sk}"
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _key_id(key: dict[str, Any]) -> tuple[str, str]:
    return (key["pk"]["S"], key["sk"]["S"])


def _strip(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in _INTERNAL}


_INTERNAL = {
    "pk",
    "sk",
    "user_pk",
    "user_sk",
    "status_pk",
    "list_sk",
    "kind_pk",
    "kind_sk",
    "due_pk",
    "due_sk",
    "feed_pk",
    "feed_sk",
    "expires_at",
    "promo_rev",
}


@dataclass
class Reads:
    """What one BatchGetItem returned, by key."""

    items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.items.get(_key_id(key))


@dataclass
class Take:
    """Units of a flash sale taken from one shard for one order line."""

    promotion_id: str
    shard: int
    quantity: int


@dataclass
class Placement:
    """Everything checkout writes in its one transaction."""

    order: Order
    request_hash: str
    idempotency_key: str
    cart_owner: str
    cart_version: int
    reservations: dict[str, int]  # sku -> units from sellable stock
    takes: list[Take]
    promo_buys: dict[str, tuple[int, int]]  # promotion_id -> (units, per-user limit)
    coupon: Coupon | None
    event: DomainEvent
    now_epoch: int


@dataclass
class Release:
    """Everything a cancellation writes in its one transaction."""

    old: Order
    new: Order
    reservations: dict[str, int]
    shard_returns: list[Take]  # back to a running (unsettled) flash sale's shard
    settled_returns: dict[str, int]  # sku -> units back to sellable stock from a settled flash sale
    promo_buys: dict[str, int]  # promotion_id -> units the shopper gets back
    coupon_back: str | None
    event: DomainEvent


class PlacementFailed(Exception):
    def __init__(self, reasons: list[str], labels: list[str]) -> None:
        super().__init__("checkout transaction cancelled")
        self.failed = [
            label for reason, label in zip(reasons, labels, strict=False) if reason == "ConditionalCheckFailed"
        ]
        self.conflict = any(r == "TransactionConflict" for r in reasons)


class DynamoCheckoutRepository:
    def __init__(self, client: Any, table: str) -> None:
        self._ddb = client
        self._table = table

    # --- generic reads ---------------------------------------------------------------------------------------------

    def batch_get(self, keys: Iterable[dict[str, Any]], consistent: bool = False) -> Reads:
        unique: dict[tuple[str, str], dict[str, Any]] = {}
        for key in keys:
            unique.setdefault(_key_id(key), key)
        reads = Reads()
        pending = list(unique.values())
        while pending:
            chunk, pending = pending[:BATCH_GET_MAX], pending[BATCH_GET_MAX:]
            request: dict[str, Any] = {self._table: {"Keys": chunk, "ConsistentRead": consistent}}
            for attempt in range(BATCH_GET_ATTEMPTS):
                if attempt:
                    # Throttled keys come back unprocessed: back off (full jitter) as AWS recommends.
                    time.sleep(random.uniform(0, min(0.4, 0.025 * 2**attempt)))
                response = self._ddb.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self._table, []):
                    reads.items[(item["pk"]["S"], item["sk"]["S"])] = from_item(item)
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            if request:
                # Never answer from a partial read: a missing shard would read as sold out, a missing cart as empty.
                raise ServiceUnavailable("the shop is very busy; retry shortly")
        return reads

    def get(self, key: dict[str, Any], consistent: bool = True) -> dict[str, Any] | None:
        item = self._ddb.get_item(TableName=self._table, Key=key, ConsistentRead=consistent).get("Item")
        return from_item(item) if item else None

    # --- SKU records (the projection of the catalogue) -------------------------------------------------------------

    @staticmethod
    def sku_info(data: dict[str, Any] | None) -> SkuInfo | None:
        return SkuInfo.model_validate(_strip(data)) if data else None

    @staticmethod
    def stock(sku: str, data: dict[str, Any] | None) -> Stock:
        if not data:
            return Stock(sku=sku)
        return Stock(sku=sku, sellable=int(data.get("sellable", 0)), reserved=int(data.get("reserved", 0)))

    def product_skus(self, product_id: str) -> tuple[int, list[str]]:
        data = self.get({"pk": {"S": f"PRODUCT#{product_id}"}, "sk": {"S": "SKUS"}})
        if not data:
            return 0, []
        return int(data["version"]), list(data.get("skus", []))

    def project_product(
        self, product_id: str, version: int, infos: list[SkuInfo], dropped: list[str], known_version: int
    ) -> bool:
        """Apply one product version to the SKU records; False when a newer version is already there (replays and
        out-of-order events change nothing). Each SKU record is updated on its own fields only, so the flash sales
        it carries are kept. The product's marker (its version and SKU list) is written *last*: if this fails half
        way, the redelivered event finds the marker still old and does the whole product again."""
        if known_version > version:
            return False
        for info in infos:
            fields = info.model_dump(mode="json", exclude={"promotions", "sku"})
            names = {f"#f{i}": k for i, k in enumerate(fields)}
            values = {f":v{i}": value(v) for i, v in enumerate(fields.values()) if v is not None}
            sets = [f"#f{i} = :v{i}" for i, v in enumerate(fields.values()) if v is not None]
            removes = [f"#f{i}" for i, v in enumerate(fields.values()) if v is None]
            # ``promotions`` always exists (empty), so a flash sale can set one entry of it by path.
            expression = (
                "SET sku = :sku, promotions = if_not_exists(promotions, :none), "
                + ", ".join(sets)
                + (" REMOVE " + ", ".join(removes) if removes else "")
            )
            self._conditional_update(
                sku_key(info.sku, "INFO"),
                expression,
                "attribute_not_exists(product_version) OR product_version <= :pv",
                names,
                {**values, ":sku": value(info.sku), ":pv": value(version), ":none": {"M": {}}},
            )
        for sku in dropped:
            self._conditional_update(
                sku_key(sku, "INFO"),
                "SET active = :f, product_version = :pv",
                "attribute_exists(pk) AND product_version <= :pv",
                {},
                {":f": value(False), ":pv": value(version)},
            )
        return self._conditional_update(
            {"pk": {"S": f"PRODUCT#{product_id}"}, "sk": {"S": "SKUS"}},
            "SET version = :v, skus = :s",
            "attribute_not_exists(version) OR version <= :v",
            {},
            {":v": value(version), ":s": value([i.sku for i in infos])},
        )

    def _conditional_update(
        self, key: dict[str, Any], expression: str, condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> bool:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            self._ddb.update_item(**kwargs)
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    # --- saved addresses (the projection of the accounts context's address book) ---------------------------------

    @staticmethod
    def saved_address(data: dict[str, Any] | None) -> SavedAddress | None:
        """A saved address as read, None when there is none or only its tombstone."""
        if not data or data.get("deleted"):
            return None
        return SavedAddress.model_validate(_strip(data))

    def project_address(self, user_id: str, address: SavedAddress) -> bool:
        """Keep one saved address (or, ``deleted``, its tombstone) when its version is newer than the one held;
        False: the same or a newer version is there already (a replay, or an older event arriving late)."""
        fields = address.model_dump(mode="json", exclude_defaults=address.deleted)  # a tombstone: id, version
        item = {**address_key(user_id, address.address_id), **to_item(fields)}
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR version < :v",
                ExpressionAttributeValues={":v": value(address.version)},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    # --- stock ------------------------------------------------------------------------------------------------------

    def record_stock_movement(self, sku: str, movement_id: str, delta: int, now_epoch: int) -> bool | None:
        """Apply a physical stock movement's ``delta`` to sellable stock once: a marker per movement and the change
        in one transaction. True when applied, False when it had been (a redelivery), None when the transaction
        conflicted with another on the stock item (try again). Sellable stock may go below zero here, on purpose:
        units the warehouses lost that open orders had reserved; no reservation (``sellable >= :q``) passes then.
        A stock item that does not exist yet (the SKU reaches the checkout later) is created."""
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        **sku_key(sku, f"MOVEMENT#{movement_id}"),
                        **to_item(
                            {
                                "movement_id": movement_id,
                                "sellable_delta": delta,
                                "applied_at": now_epoch,
                            }
                        ),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": sku_key(sku, "STOCK"),
                    "UpdateExpression": _STOCK_DEFAULTS + " ADD sellable :d",
                    "ExpressionAttributeValues": {":d": value(delta), ":zero": value(0)},
                }
            },
        ]
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if not is_cancelled(exc):
                raise
            reasons = cancellation_reasons(exc)
            return False if reasons and reasons[0] == "ConditionalCheckFailed" else None
        return True

    def apply_stock_snapshot(self, snapshot: StockSnapshot) -> bool:
        """Keep the shipping context's per-warehouse stock of a SKU on its stock item, only if newer than the one
        there (False: an older or the same snapshot, which changes nothing)."""
        return self._conditional_update(
            sku_key(snapshot.sku, "STOCK"),
            "SET warehouses = :w, warehouse_version = :v, sellable = if_not_exists(sellable, :zero), "
            "reserved = if_not_exists(reserved, :zero), in_promotions = if_not_exists(in_promotions, :zero)",
            "attribute_not_exists(warehouse_version) OR warehouse_version < :v",
            {},
            {
                ":w": value([w.model_dump(mode="json") for w in snapshot.warehouses]),
                ":v": value(snapshot.version),
                ":zero": value(0),
            },
        )

    def stock_view(self, sku: str) -> tuple[SkuInfo | None, dict[str, Any], int | None]:
        """The SKU record, its stock item and the record's flash-sale revision (None: never had one)."""
        reads = self.batch_get([sku_key(sku, "INFO"), sku_key(sku, "STOCK")], consistent=True)
        raw = reads.get(sku_key(sku, "INFO"))
        rev = raw.get("promo_rev") if raw else None
        return self.sku_info(raw), reads.get(sku_key(sku, "STOCK")) or {}, None if rev is None else int(rev)

    # --- carts ------------------------------------------------------------------------------------------------------

    @staticmethod
    def cart(owner: str, data: dict[str, Any] | None) -> StoredCart:
        if not data:
            return StoredCart(owner=owner)
        return StoredCart.model_validate({**_strip(data), "owner": owner})

    def get_cart(self, owner: str) -> StoredCart:
        return self.cart(owner, self.get(cart_key(owner)))

    def _cart_put(self, cart: StoredCart, now_epoch: int) -> dict[str, Any]:
        data = cart.model_dump(mode="json", exclude={"owner"})
        data["version"] = cart.version + 1
        if cart.owner.startswith("G#"):
            data["expires_at"] = now_epoch + GUEST_CART_TTL_S
        put: dict[str, Any] = {"TableName": self._table, "Item": {**cart_key(cart.owner), **to_item(data)}}
        if cart.version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": value(cart.version)}
        return put

    def save_cart(self, cart: StoredCart, now_epoch: int) -> None:
        """Write the cart if nobody changed it since it was read (409 TRY_AGAIN otherwise)."""
        try:
            self._ddb.put_item(**self._cart_put(cart, now_epoch))
        except ClientError as exc:
            if is_condition_failure(exc):
                raise Conflict("the cart changed meanwhile; try again", code="TRY_AGAIN") from None
            raise
        cart.version += 1

    def merge_carts(self, user_cart: StoredCart, guest: StoredCart, now_epoch: int) -> None:
        """Write the merged cart and delete the guest cart in one transaction, so a guest cart is merged once."""
        items = [
            {"Put": self._cart_put(user_cart, now_epoch)},
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": cart_key(guest.owner),
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": value(guest.version)},
                }
            },
        ]
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if is_cancelled(exc):
                raise Conflict("the cart changed meanwhile; try again", code="TRY_AGAIN") from None
            raise
        user_cart.version += 1

    # --- orders -----------------------------------------------------------------------------------------------------

    @staticmethod
    def _order_item(order: Order) -> dict[str, Any]:
        """The order as stored, with its index keys. Every write of an order goes through here (placement, payment,
        cancellation, expiry, fulfilment, completion), so each one moves it in the partner change feed too."""
        data = order.model_dump(mode="json")
        created = sortable(order.created_at)
        shard = index_shard(order.order_id)
        list_sk = f"{created}#{order.order_id}"
        data.update(
            user_pk=f"USER#{order.user_id}",
            user_sk=list_sk,
            status_pk=f"STATUS#{order.status.value}#{shard}",
            list_sk=list_sk,
            kind_pk=f"ORDERS#{created[:7]}#{shard}",
            kind_sk=list_sk,
        )
        data["feed_pk"], data["feed_sk"] = feed_keys(order.order_id, order.updated_at, shard)
        if order.status is OrderStatus.DELIVERED and order.delivered_at is not None:
            # Listed by delivery time until completed (the Put of the completed order drops these keys).
            data.update(due_pk=f"DELIVERED#{shard}", due_sk=f"{sortable(order.delivered_at)}#{order.order_id}")
        return {**order_key(order.order_id), **to_item(data)}

    def get_order(self, order_id: str, consistent: bool = True) -> Order | None:
        data = self.get(order_key(order_id), consistent)
        return Order.model_validate(_strip(data)) if data else None

    def idempotency(self, user_id: str, key: str) -> dict[str, Any] | None:
        return self.get(idem_key(user_id, key))

    def place(self, p: Placement) -> None:
        """The checkout transaction. Raises :class:`PlacementFailed` naming what failed."""
        order = p.order
        labels: list[str] = ["order", "idempotency", "cart"]
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": self._order_item(order),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        **idem_key(order.user_id, p.idempotency_key),
                        **to_item(
                            {
                                "order_id": order.order_id,
                                "request_hash": p.request_hash,
                                "expires_at": p.now_epoch + IDEMPOTENCY_TTL_S,
                            }
                        ),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": cart_key(p.cart_owner),
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": value(p.cart_version)},
                }
            },
        ]
        for sku, quantity in p.reservations.items():
            labels.append(f"stock:{sku}")
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": sku_key(sku, "STOCK"),
                        "UpdateExpression": "SET sellable = sellable - :q, reserved = reserved + :q",
                        "ConditionExpression": "sellable >= :q",
                        "ExpressionAttributeValues": {":q": value(quantity)},
                    }
                }
            )
        for take in p.takes:
            labels.append(f"shard:{take.promotion_id}:{take.shard}")
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": promo_key(take.promotion_id, f"SHARD#{take.shard}"),
                        "UpdateExpression": "SET remaining = remaining - :q",
                        "ConditionExpression": "remaining >= :q AND attribute_not_exists(settled)",
                        "ExpressionAttributeValues": {":q": value(take.quantity)},
                    }
                }
            )
        for promotion_id, (units, limit) in p.promo_buys.items():
            labels.append(f"promo_user:{promotion_id}")
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": promo_key(promotion_id, f"USER#{order.user_id}"),
                        "UpdateExpression": "ADD bought :q",
                        "ConditionExpression": "attribute_not_exists(bought) OR bought <= :most",
                        "ExpressionAttributeValues": {":q": value(units), ":most": value(limit - units)},
                    }
                }
            )
        if p.coupon is not None:
            labels += ["coupon", "coupon_user"]
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": coupon_key(p.coupon.code),
                        "UpdateExpression": "ADD used :one",
                        "ConditionExpression": "used < :limit",
                        "ExpressionAttributeValues": {":one": value(1), ":limit": value(p.coupon.usage_limit)},
                    }
                }
            )
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": coupon_key(p.coupon.code, f"USER#{order.user_id}"),
                        "UpdateExpression": "ADD used :one",
                        "ConditionExpression": "attribute_not_exists(used) OR used < :limit",
                        "ExpressionAttributeValues": {":one": value(1), ":limit": value(p.coupon.per_user_limit)},
                    }
                }
            )
        labels.append("outbox")
        items.append(outbox_put(self._table, p.event))
        if len(items) > MAX_TRANSACTION_ITEMS:
            raise Unprocessable(
                "this order has more lines than one checkout can hold; split it", code="ORDER_TOO_LARGE"
            )
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if not is_cancelled(exc):
                raise
            raise PlacementFailed(cancellation_reasons(exc), labels) from None

    def transition(self, old: Order, new: Order, event: DomainEvent) -> bool:
        """Write an order's new state from the version it was read at, with its event; False if it moved on."""
        items = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": self._order_item(new),
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": value(old.version)},
                }
            },
            outbox_put(self._table, event),
        ]
        return transact(self._ddb, items)

    def advance(self, old: Order, new: Order, events: list[DomainEvent], shipped: dict[str, int]) -> bool:
        """A fulfilment step: the order from the version it was read at, one outbox event per status it passed
        through, and ``shipped`` units (SKU -> units of a dispatched parcel) out of reserved stock, all in one
        transaction. False when the order moved on meanwhile (re-read and decide again)."""
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": self._order_item(new),
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": value(old.version)},
                }
            }
        ]
        for sku, quantity in sorted(shipped.items()):
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": sku_key(sku, "STOCK"),
                        "UpdateExpression": "ADD reserved :minus",
                        "ConditionExpression": "reserved >= :q",
                        "ExpressionAttributeValues": {":minus": value(-quantity), ":q": value(quantity)},
                    }
                }
            )
        items += [outbox_put(self._table, event) for event in events]
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if not is_cancelled(exc):
                raise
            reasons = cancellation_reasons(exc)
            stock = [r for r in reasons[1 : 1 + len(shipped)] if r == "ConditionalCheckFailed"]
            if reasons[:1] != ["ConditionalCheckFailed"] and stock:
                # Reserved stock is always at least an open order's units: this is a bug or lost data, not a race.
                raise Conflict(
                    f"order {old.order_id}: reserved stock is below the units shipped", code="RESERVED_STOCK_MISMATCH"
                ) from None
            return False
        return True

    def publish(self, event: DomainEvent) -> None:
        """An event with no state change of its own (written to the outbox alone)."""
        self._ddb.transact_write_items(TransactItems=[outbox_put(self._table, event)])

    def release(self, r: Release) -> bool:
        """The cancellation transaction; False when the order changed meanwhile (someone else won the race)."""
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": self._order_item(r.new),
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": value(r.old.version)},
                }
            }
        ]
        for sku, quantity in r.reservations.items():
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": sku_key(sku, "STOCK"),
                        "UpdateExpression": "SET sellable = sellable + :q, reserved = reserved - :q",
                        "ConditionExpression": "reserved >= :q",
                        "ExpressionAttributeValues": {":q": value(quantity)},
                    }
                }
            )
        for sku, quantity in r.settled_returns.items():
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": sku_key(sku, "STOCK"),
                        "UpdateExpression": "ADD sellable :q",
                        "ExpressionAttributeValues": {":q": value(quantity)},
                    }
                }
            )
        for take in r.shard_returns:
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": promo_key(take.promotion_id, f"SHARD#{take.shard}"),
                        "UpdateExpression": "ADD remaining :q",
                        "ConditionExpression": "attribute_not_exists(settled)",
                        "ExpressionAttributeValues": {":q": value(take.quantity)},
                    }
                }
            )
        for promotion_id, units in r.promo_buys.items():
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": promo_key(promotion_id, f"USER#{r.old.user_id}"),
                        "UpdateExpression": "ADD bought :q",
                        "ConditionExpression": "bought >= :back",
                        "ExpressionAttributeValues": {":q": value(-units), ":back": value(units)},
                    }
                }
            )
        if r.coupon_back:
            for sk in ("COUPON", f"USER#{r.old.user_id}"):
                items.append(
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": coupon_key(r.coupon_back, sk),
                            "UpdateExpression": "ADD used :minus",
                            "ConditionExpression": "used >= :one",
                            "ExpressionAttributeValues": {":minus": value(-1), ":one": value(1)},
                        }
                    }
                )
        items.append(outbox_put(self._table, r.event))
        return transact(self._ddb, items)

    def _query(self, **kwargs: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        response = self._ddb.query(TableName=self._table, **kwargs)
        return [from_item(i) for i in response.get("Items", [])], response.get("LastEvaluatedKey")

    def orders_of(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Order], dict[str, Any] | None]:
        kwargs: dict[str, Any] = {
            "IndexName": "by_user",
            "KeyConditionExpression": "user_pk = :u",
            "ExpressionAttributeValues": {":u": value(f"USER#{user_id}")},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        items, last = self._query(**kwargs)
        return [Order.model_validate(_strip(i)) for i in items], last

    def orders_in(
        self, partition: tuple[str, str], low: str, high: str, limit: int, before: str | None
    ) -> tuple[list[Order], str | None]:
        """Orders of one status (``by_status``) or month (``by_kind``), newest first, created in [low, high] and
        (keyset paging) listed before ``before``. The partition is written in ORDER_INDEX_SHARDS shards, so this
        reads each shard's newest ``limit`` and merges them. Returns the page and the key to continue before."""
        index, pk = partition
        key_attr, sort_attr = ("status_pk", "list_sk") if index == "by_status" else ("kind_pk", "kind_sk")
        top = min(high, before) if before else high
        found: list[dict[str, Any]] = []
        more = False
        for shard in range(ORDER_INDEX_SHARDS):
            items, last = self._query(
                IndexName=index,
                KeyConditionExpression=f"{key_attr} = :p AND {sort_attr} BETWEEN :lo AND :hi",
                ExpressionAttributeValues={":p": value(f"{pk}#{shard}"), ":lo": value(low), ":hi": value(top)},
                ScanIndexForward=False,
                Limit=limit + 1,  # one more: the bound itself is inclusive and is dropped below
            )
            kept = [i for i in items if i[sort_attr] != before]
            more = more or last is not None or len(kept) > limit
            found += kept
        found.sort(key=lambda i: str(i[sort_attr]), reverse=True)
        page = found[:limit]
        more = more or len(found) > limit
        next_before = str(page[-1][sort_attr]) if page and more else None
        return [Order.model_validate(_strip(i)) for i in page], next_before

    def feed_day(self, day: date, after: str, until: str, want: int) -> DayPage:
        """The next ``want`` orders of one day of the change feed with sort keys in (``after``, ``until``]: one Query
        per shard (``want`` + 1 each: the bound is inclusive and ``after`` itself is dropped), merged in order."""
        pages = []
        for shard in range(ORDER_INDEX_SHARDS):
            items, last = self._query(
                IndexName=FEED_INDEX,
                KeyConditionExpression="feed_pk = :p AND feed_sk BETWEEN :lo AND :hi",
                ExpressionAttributeValues={
                    ":p": value(f"UPD#{day.isoformat()}#{shard}"),
                    ":lo": value(after),
                    ":hi": value(until),
                },
                Limit=want + 1,
            )
            entries = [(str(i["feed_sk"]), Order.model_validate(_strip(i))) for i in items]
            pages.append(ShardPage(entries, more=last is not None))
        return merge_shards(pages, after, want)

    def pending_created_before(self, moment: datetime, limit: int) -> list[str]:
        """Ids of orders still waiting for payment that were placed before ``moment``, oldest first."""
        found: list[tuple[str, str]] = []
        for shard in range(ORDER_INDEX_SHARDS):
            items, _ = self._query(
                IndexName="by_status",
                KeyConditionExpression="status_pk = :p AND list_sk < :t",
                ExpressionAttributeValues={
                    ":p": value(f"STATUS#pending_payment#{shard}"),
                    ":t": value(sortable(moment)),
                },
                ProjectionExpression="order_id, list_sk",
                Limit=limit,
            )
            found += [(str(i["list_sk"]), str(i["order_id"])) for i in items]
        return [order_id for _sk, order_id in sorted(found)[:limit]]

    def delivered_before(self, moment: datetime, limit: int) -> list[str]:
        """Ids of delivered (not yet completed) orders delivered before ``moment``, oldest first: a Query per shard
        of the ``by_due`` index, never a scan."""
        found: list[tuple[str, str]] = []
        for shard in range(ORDER_INDEX_SHARDS):
            start: dict[str, Any] | None = None
            taken = 0
            while taken < limit:
                kwargs: dict[str, Any] = {
                    "IndexName": "by_due",
                    "KeyConditionExpression": "due_pk = :p AND due_sk < :t",
                    "ExpressionAttributeValues": {":p": value(f"DELIVERED#{shard}"), ":t": value(sortable(moment))},
                    "ProjectionExpression": "order_id, due_sk",
                    "Limit": limit - taken,
                }
                if start:
                    kwargs["ExclusiveStartKey"] = start
                items, start = self._query(**kwargs)
                found += [(str(i["due_sk"]), str(i["order_id"])) for i in items]
                taken += len(items)
                if not start:
                    break
        return [order_id for _sk, order_id in sorted(found)[:limit]]

    # --- coupons ----------------------------------------------------------------------------------------------------

    @staticmethod
    def coupon(data: dict[str, Any] | None) -> Coupon | None:
        return Coupon.model_validate(_strip(data)) if data else None

    def add_coupon(self, coupon: Coupon) -> None:
        data = coupon.model_dump(mode="json")
        data.update(kind_pk="COUPON", kind_sk=f"{sortable(coupon.created_at)}#{coupon.code}")
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={**coupon_key(coupon.code), **to_item(data)},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                raise Conflict("a coupon with this code exists", code="COUPON_CODE_TAKEN") from None
            raise

    def by_kind(
        self, kind: str, limit: int, start: dict[str, Any] | None, newest_first: bool = True
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        kwargs: dict[str, Any] = {
            "IndexName": "by_kind",
            "KeyConditionExpression": "kind_pk = :k",
            "ExpressionAttributeValues": {":k": value(kind)},
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        return self._query(**kwargs)

    # --- flash sales ------------------------------------------------------------------------------------------------

    @staticmethod
    def promotion(data: dict[str, Any] | None) -> Promotion | None:
        return Promotion.model_validate(_strip(data)) if data else None

    def shard_remaining(self, refs: Iterable[PromotionRef], consistent: bool = False) -> dict[str, dict[int, int]]:
        """Units left per shard of each flash sale (one BatchGetItem for all of them)."""
        refs = list(refs)
        keys = [promo_key(r.promotion_id, f"SHARD#{k}") for r in refs for k in range(r.shards)]
        if not keys:
            return {}
        reads = self.batch_get(keys, consistent)
        left: dict[str, dict[int, int]] = {}
        for r in refs:
            shards = left.setdefault(r.promotion_id, {})
            for k in range(r.shards):
                data = reads.get(promo_key(r.promotion_id, f"SHARD#{k}")) or {}
                shards[k] = 0 if data.get("settled") else int(data.get("remaining", 0))
        return left

    def shards_settled(self, promotion_id: str, shards: Iterable[int]) -> dict[int, bool]:
        reads = self.batch_get([promo_key(promotion_id, f"SHARD#{k}") for k in shards], consistent=True)
        return {k: bool((reads.get(promo_key(promotion_id, f"SHARD#{k}")) or {}).get("settled")) for k in shards}

    def create_promotion(self, promotion: Promotion, info_rev: int | None, event: DomainEvent) -> None:
        data = promotion.model_dump(mode="json", exclude={"remaining", "status"})
        data.update(
            kind_pk="PROMOTION",
            kind_sk=f"{sortable(promotion.created_at)}#{promotion.promotion_id}",
            due_pk="PROMO_OPEN",
            due_sk=f"{sortable(promotion.ends_at)}#{promotion.promotion_id}",
        )
        base, extra = divmod(promotion.quantity, promotion.shards)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {**promo_key(promotion.promotion_id), **to_item(data)},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": sku_key(promotion.sku, "STOCK"),
                    "UpdateExpression": "SET sellable = sellable - :q, in_promotions = in_promotions + :q",
                    "ConditionExpression": "sellable >= :q",
                    "ExpressionAttributeValues": {":q": value(promotion.quantity)},
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": sku_key(promotion.sku, "INFO"),
                    "UpdateExpression": "SET promotions.#p = :ref, promo_rev = :next",
                    "ConditionExpression": "attribute_exists(pk) AND "
                    + ("attribute_not_exists(promo_rev)" if info_rev is None else "promo_rev = :rev"),
                    "ExpressionAttributeNames": {"#p": promotion.promotion_id},
                    "ExpressionAttributeValues": {
                        ":ref": value(promotion.ref().model_dump(mode="json")),
                        ":next": value((info_rev or 0) + 1),
                        **({":rev": value(info_rev)} if info_rev is not None else {}),
                    },
                }
            },
            outbox_put(self._table, event),
        ]
        for k in range(promotion.shards):
            units = base + (1 if k < extra else 0)
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            **promo_key(promotion.promotion_id, f"SHARD#{k}"),
                            **to_item({"remaining": units, "initial": units}),
                        },
                    }
                }
            )
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if not is_cancelled(exc):
                raise
            reasons = cancellation_reasons(exc)
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise Conflict(
                    "there is not that much sellable stock for this flash sale", code="INSUFFICIENT_STOCK"
                ) from None
            raise Conflict("the SKU changed meanwhile; try again", code="TRY_AGAIN") from None

    def open_promotions(
        self, ended_before: datetime | None, ending_after: datetime | None, limit: int
    ) -> list[Promotion]:
        """Unsettled flash sales by end time: those that ended before a moment (to settle) or end after one (the
        storefront's list of current and coming sales)."""
        condition, values = "due_pk = :p", {":p": value("PROMO_OPEN")}
        if ended_before is not None:
            condition += " AND due_sk < :t"
            values[":t"] = value(sortable(ended_before))
        elif ending_after is not None:
            condition += " AND due_sk > :t"
            values[":t"] = value(sortable(ending_after))
        items, _ = self._query(
            IndexName="by_due", KeyConditionExpression=condition, ExpressionAttributeValues=values, Limit=limit
        )
        return [p for p in (self.promotion(i) for i in items) if p is not None]

    def settle_promotion(self, promotion: Promotion, event_for: Any) -> int | None:
        """Close an ended flash sale: every shard's leftover back to sellable stock, in one transaction guarded by
        the leftovers read. Returns the units returned, or None when something moved meanwhile (retried later)."""
        shards = self.shard_remaining([promotion.ref()], consistent=True)[promotion.promotion_id]
        leftover = sum(shards.values())
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": promo_key(promotion.promotion_id, f"SHARD#{k}"),
                    "UpdateExpression": "SET settled = :t, remaining = :zero",
                    "ConditionExpression": "remaining = :seen AND attribute_not_exists(settled)",
                    "ExpressionAttributeValues": {":t": value(True), ":zero": value(0), ":seen": value(left)},
                }
            }
            for k, left in shards.items()
        ]
        items += [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": sku_key(promotion.sku, "STOCK"),
                    "UpdateExpression": "SET sellable = sellable + :left, in_promotions = in_promotions - :all",
                    "ExpressionAttributeValues": {":left": value(leftover), ":all": value(promotion.quantity)},
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": promo_key(promotion.promotion_id),
                    "UpdateExpression": "SET settled = :t REMOVE due_pk, due_sk",
                    "ConditionExpression": "attribute_exists(due_pk)",
                    "ExpressionAttributeValues": {":t": value(True)},
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": sku_key(promotion.sku, "INFO"),
                    "UpdateExpression": "REMOVE promotions.#p",
                    "ExpressionAttributeNames": {"#p": promotion.promotion_id},
                }
            },
            outbox_put(self._table, event_for(promotion.quantity - leftover, leftover)),
        ]
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if is_cancelled(exc):
                return None
            raise
        return leftover


def index_shard(order_id: str) -> int:
    """Which shard of the shop-wide order index partitions an order is listed in (stable: from its id)."""
    return zlib.crc32(order_id.encode()) % ORDER_INDEX_SHARDS


def allocate(shards: dict[int, int], quantity: int) -> list[tuple[int, int]] | None:
    """Take ``quantity`` units from the shards: from one random shard that holds them all when there is one (buyers
    spread over the items), otherwise from the fullest shards first, so as few as possible. None when the shards
    together hold fewer units."""
    if sum(shards.values()) < quantity:
        return None
    covering = [k for k, left in shards.items() if left >= quantity]
    if covering:  # the usual case: one shard, chosen at random so buyers spread over the items
        return [(random.choice(covering), quantity)]
    order = sorted((k for k, left in shards.items() if left > 0), key=lambda k: -shards[k])  # fewest shards
    taken: list[tuple[int, int]] = []
    need = quantity
    for k in order:
        take = min(need, shards[k])
        taken.append((k, take))
        need -= take
        if need == 0:
            break
    return taken
