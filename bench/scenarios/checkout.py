"""Checkout scenarios. Seed (through the catalogue's and the checkout's own handlers): a product with two regular
SKUs and one with a flash-sale SKU, both projected into the checkout as its CheckoutCatalogProjector would do from
the catalogue's ProductCreated, stock on every SKU (the shipping context's StockMovementRecorded, delivered to
CheckoutStockSync), a 10 % coupon, a running flash sale (5 shards) on the flash SKU, and one shopper with three
orders for the order pages.

Shoppers are claims as the Cognito authorizer passes them (a fresh ``sub`` per shopper, no user-pool account:
API Gateway would have verified the token before the function runs). Every scenario that changes a cart or places an
order gets a fresh shopper whose cart the builder fills in-process first, so each measured call succeeds and finds
the same shape of data however many runs there are.

The CartLogForwarder gets the ``cart_addition`` lines the real emitter writes (functions.checkout.cart_feed),
captured in-process and delivered as CloudWatch Logs would deliver AddCartItem's batch.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import CATALOG_STAFF, Bench, Claims, ScenarioFailed, outcome
from bench.scenarios import scenario, seeder
from bench.scenarios.catalog import partner_event as catalog_partner_event
from bench.scenarios.relay import BATCH, stream_event
from functions.accounts.events import AddressDeleted, AddressSaved, SavedAddressDetails
from functions.catalog.events import ProductCreated, ProductUpdated
from functions.catalog.model import Product
from functions.checkout import cart_feed
from functions.checkout.events import OrderPlaced
from functions.checkout.model import Order, return_window_days
from functions.shared.events import DomainEvent
from functions.shared.ids import prefixed
from functions.shared.money import Money
from functions.shared.outbox import outbox_item
from functions.shared.wiring import StreamConsumer
from functions.shipping.events import (
    AllocationReleased,
    Line,
    OrderAllocated,
    Parcel,
    ShipmentDelivered,
    ShipmentDispatched,
    StockMovementRecorded,
    StockSnapshot,
    WarehouseStock,
)
from local.logs import captured

FULFILMENT_STAFF: Claims = {
    "sub": "44444444-4444-4444-8444-444444444444",
    "email": "fulfilment@example.com",
    "cognito:groups": ["customer", "fulfilment"],
    "token_use": "id",
}
ADDRESS = {
    "recipient": "李雷",
    "phone": "+8613812345678",
    "region": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "street": "世纪大道 100 号",
    "postcode": "200120",
}
STOCK = 100_000  # per SKU: enough for every measured checkout of a run
WAREHOUSE = "WH-BENCH"
_snapshot_versions = itertools.count(1)  # every warehouse snapshot a run sends is newer than the one before
SALE_UNITS = 50_000
ORDERS_OF_READER = 3


def _seed(bench: Bench) -> dict[str, Any]:
    seed: dict[str, Any] = bench.seed["checkout"]
    return seed


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shopper(bench: Bench) -> Claims:
    """A signed-in shopper nobody else uses (their own cart, orders, flash-sale counter)."""
    sub = str(uuid.uuid4())
    return {"sub": sub, "email": f"{bench.unique('shopper-')}@example.com", "cognito:groups": ["customer"]}


def with_headers(event: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """Add request headers to an event the way API Gateway carries them (single- and multi-value maps)."""
    event["headers"] = {**(event.get("headers") or {}), **headers}
    event["multiValueHeaders"] = {**(event.get("multiValueHeaders") or {}), **{k: [v] for k, v in headers.items()}}
    return event


def sqs_event(source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """What a consumer's queue delivers for one EventBridge event (one record, the envelope as the body)."""
    envelope = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": _iso(datetime.now(UTC)),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"bench-{uuid.uuid4()}",
                "body": json.dumps(envelope),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench",
                "awsRegion": "us-east-1",
            }
        ]
    }


def message(event: DomainEvent) -> dict[str, Any]:
    """A domain event as its consumer's queue delivers it."""
    return sqs_event(event.SOURCE, event.detail_type(), json.loads(event.detail_json()))


def snapshot(sku: str, on_hand: int, allocated: int = 0) -> StockSnapshot:
    """The shipping context's stock of ``sku`` in the bench warehouse, newer than any sent before."""
    stock = WarehouseStock(warehouse=WAREHOUSE, on_hand=on_hand, allocated=allocated, available=on_hand - allocated)
    return StockSnapshot(sku=sku, version=next(_snapshot_versions), warehouses=[stock])


def stock_received(sku: str, units: int) -> StockMovementRecorded:
    """Goods received in the shipping context: ``units`` more of ``sku`` to sell."""
    return StockMovementRecorded(
        movement_id=f"mv_{uuid.uuid4().hex}",
        sku=sku,
        type="inbound",
        sellable_delta=units,
        stock=snapshot(sku, units),
        reason="bench stock",
        actor="bench",
    )


def product_event(body: dict[str, Any], updated: bool = False) -> dict[str, Any]:
    """The catalogue's ProductCreated/ProductUpdated for a product as its API returned it, as the queue delivers it."""
    product = Product.model_validate(body)
    event = ProductUpdated(product=product) if updated else ProductCreated(product=product)
    return sqs_event(event.SOURCE, event.detail_type(), json.loads(event.detail_json()))


@contextmanager
def quiet_logs() -> Iterator[None]:
    """In-process preparation through a consumer logs at INFO (the Powertools logger of this process's service
    name); those lines are not part of any measurement and would only drown the benchmark's own output."""
    logger = logging.getLogger(os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined"))
    before = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(before)


def deliver(bench: Bench, function: str, event: dict[str, Any]) -> None:
    with quiet_logs():
        result = bench.invoke(bench.function(function), event)
    problem = outcome(result)
    if problem is not None:
        raise ScenarioFailed(f"{function}: {problem}")


def new_product(bench: Bench, skus: list[tuple[str, int]], project: bool = True, stock: int = STOCK) -> dict[str, Any]:
    """A product in the catalogue (through its handler), projected into the checkout, with ``stock`` per SKU."""
    seed = _seed(bench)
    body = {
        "name": bench.unique("Bench checkout product "),
        "description": "A product made by the benchmark",
        "brand_id": seed["brand"],
        "category_id": seed["category"],
        "status": "active",
        "variants": [
            {"sku": sku, "price": {"amount": price, "currency": "CNY"}, "options": {"edition": sku[-4:]}}
            for sku, price in skus
        ],
    }
    product: dict[str, Any] = bench.api("POST", "/admin/products", body, CATALOG_STAFF)
    if project:
        deliver(bench, "CheckoutCatalogProjector", product_event(product))
        for sku, _ in skus if stock else ():
            deliver(bench, "CheckoutStockSync", message(stock_received(sku, stock)))
    return product


def flash_sale(bench: Bench, sku: str, units: int, starts: datetime, ends: datetime) -> dict[str, Any]:
    body = {
        "name": bench.unique("Bench flash sale "),
        "sku": sku,
        "price": {"amount": 9900, "currency": "CNY"},
        "quantity": units,
        "starts_at": _iso(starts),
        "ends_at": _iso(ends),
        "per_user_limit": 1,
        "expected_peak_per_second": 2000,
    }
    promotion: dict[str, Any] = bench.api("POST", "/admin/promotions", body, CATALOG_STAFF)
    return promotion


def fill_cart(bench: Bench, claims: Claims | None, skus: list[str], token: str | None = None) -> dict[str, Any]:
    """Put one of each SKU in the shopper's (or, without claims, a guest's) cart; returns the last cart."""
    cart: dict[str, Any] = {}
    for sku in skus:
        event = bench.event("POST", "/cart/items", {"sku": sku, "quantity": 1}, claims)
        if token:
            with_headers(event, {"X-Cart-Token": token})
        response = bench.invoke(bench.route_for(event), event)
        problem = outcome(response)
        if problem is not None:
            raise ScenarioFailed(f"POST /cart/items: {problem}")
        cart = json.loads(response["body"])
        token = cart.get("cart_token") or token
    return cart


def checkout_event(bench: Bench, claims: Claims, coupon: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"address": ADDRESS}
    if coupon:
        body["coupon_code"] = coupon
    event = bench.event("POST", "/checkout", body, claims)
    return with_headers(event, {"Idempotency-Key": uuid.uuid4().hex})


def place_order(bench: Bench, claims: Claims, skus: list[str]) -> dict[str, Any]:
    fill_cart(bench, claims, skus)
    event = checkout_event(bench, claims)
    response = bench.invoke(bench.route_for(event), event)
    problem = outcome(response)
    if problem is not None:
        raise ScenarioFailed(f"POST /checkout: {problem}")
    order: dict[str, Any] = json.loads(response["body"])
    return order


@contextmanager
def payment_window(seconds: int) -> Iterator[None]:
    """Orders placed inside the block get this payment window (the setting is read at checkout)."""
    before = os.environ.get("PAYMENT_WINDOW_SECONDS")
    os.environ["PAYMENT_WINDOW_SECONDS"] = str(seconds)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PAYMENT_WINDOW_SECONDS", None)
        else:
            os.environ["PAYMENT_WINDOW_SECONDS"] = before


@seeder
def seed_checkout(bench: Bench) -> None:
    category = bench.api("POST", "/admin/categories", {"name": bench.unique("Checkout ")}, CATALOG_STAFF)
    brand = bench.api("POST", "/admin/brands", {"name": bench.unique("Checkout brand ")}, CATALOG_STAFF)
    bench.seed["checkout"] = {"category": category["category_id"], "brand": brand["brand_id"]}
    seed = _seed(bench)
    regular = [bench.unique("C-REG-A-").upper(), bench.unique("C-REG-B-").upper()]
    regular_product = new_product(bench, [(regular[0], 129900), (regular[1], 139900)])
    flash = bench.unique("C-FLASH-").upper()
    flash_product = new_product(bench, [(flash, 59900)], stock=STOCK)
    now = datetime.now(UTC)
    promotion = flash_sale(bench, flash, SALE_UNITS, now - timedelta(minutes=5), now + timedelta(days=1))
    code = bench.unique("BENCH").upper()
    coupon = {
        "code": code,
        "kind": "percentage",
        "percent_off": 10,
        "starts_at": _iso(now - timedelta(hours=1)),
        "ends_at": _iso(now + timedelta(days=30)),
        "usage_limit": 1_000_000,
        "per_user_limit": 1_000,
    }
    bench.api("POST", "/admin/coupons", coupon, CATALOG_STAFF)
    seed.update(regular=regular, flash=flash, promotion_id=promotion["promotion_id"], coupon=code)
    seed.update(products=[(regular_product["product_id"], regular[0]), (flash_product["product_id"], flash)])
    # A shopper with a few orders (order pages) and a cart of three lines (cart page), both only read.
    reader = shopper(bench)
    orders = [place_order(bench, reader, [regular[i % 2]]) for i in range(ORDERS_OF_READER)]
    fill_cart(bench, reader, [*regular, flash])
    seed.update(reader=reader, order_ids=[o["order_id"] for o in orders])


# --- cart -----------------------------------------------------------------------------------------------------------


@scenario("GetCart", "cart of 3 lines (2 regular, 1 flash sale)", primary=True)
def get_cart(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/cart", claims=_seed(bench)["reader"])


@scenario("GetCart", "cart of 3 lines with a coupon preview")
def get_cart_coupon(bench: Bench) -> dict[str, Any]:
    seed = _seed(bench)
    return bench.event("GET", "/cart", claims=seed["reader"], query={"coupon": seed["coupon"]})


@scenario("GetCart", "guest cart of 2 lines (X-Cart-Token)")
def get_guest_cart(bench: Bench) -> dict[str, Any]:
    cart = fill_cart(bench, None, _seed(bench)["regular"])
    return with_headers(bench.event("GET", "/cart"), {"X-Cart-Token": cart["cart_token"]})


@scenario("AddCartItem", "add a flash-sale SKU to a cart of 2 lines", primary=True)
def add_cart_item(bench: Bench) -> dict[str, Any]:
    seed, claims = _seed(bench), shopper(bench)
    fill_cart(bench, claims, seed["regular"])
    return bench.event("POST", "/cart/items", {"sku": seed["flash"], "quantity": 1}, claims)


@scenario("AddCartItem", "add a regular SKU to an empty cart")
def add_first_cart_item(bench: Bench) -> dict[str, Any]:
    return bench.event("POST", "/cart/items", {"sku": _seed(bench)["regular"][0], "quantity": 2}, shopper(bench))


@scenario("AddCartItem", "guest without a cart (gets a cart token)")
def add_guest_cart_item(bench: Bench) -> dict[str, Any]:
    return bench.event("POST", "/cart/items", {"sku": _seed(bench)["regular"][0], "quantity": 1})


@scenario("UpdateCartItem", "set a line's quantity in a cart of 2 lines", primary=True)
def update_cart_item(bench: Bench) -> dict[str, Any]:
    seed, claims = _seed(bench), shopper(bench)
    fill_cart(bench, claims, seed["regular"])
    return bench.event("PUT", f"/cart/items/{seed['regular'][0]}", {"quantity": 3}, claims)


@scenario("RemoveCartItem", "remove a line from a cart of 2 lines", primary=True)
def remove_cart_item(bench: Bench) -> dict[str, Any]:
    seed, claims = _seed(bench), shopper(bench)
    fill_cart(bench, claims, seed["regular"])
    return bench.event("DELETE", f"/cart/items/{seed['regular'][1]}", claims=claims)


# --- checkout -------------------------------------------------------------------------------------------------------


@scenario("Checkout", "cart of 2 regular lines", primary=True)
def checkout(bench: Bench) -> dict[str, Any]:
    claims = shopper(bench)
    fill_cart(bench, claims, _seed(bench)["regular"])
    return checkout_event(bench, claims)


@scenario("Checkout", "cart of 2 regular lines + coupon")
def checkout_coupon(bench: Bench) -> dict[str, Any]:
    seed, claims = _seed(bench), shopper(bench)
    fill_cart(bench, claims, seed["regular"])
    return checkout_event(bench, claims, seed["coupon"])


@scenario("Checkout", "cart of 3 lines (1 on a flash sale of 5 shards) + coupon")
def checkout_flash(bench: Bench) -> dict[str, Any]:
    seed, claims = _seed(bench), shopper(bench)
    fill_cart(bench, claims, [*seed["regular"], seed["flash"]])
    return checkout_event(bench, claims, seed["coupon"])


@scenario("Checkout", "signed-in cart of 1 line + a guest cart of 1 line merged (X-Cart-Token)")
def checkout_merge(bench: Bench) -> dict[str, Any]:
    seed, claims = _seed(bench), shopper(bench)
    fill_cart(bench, claims, seed["regular"][:1])
    guest = fill_cart(bench, None, seed["regular"][1:])
    return with_headers(checkout_event(bench, claims), {"X-Cart-Token": guest["cart_token"]})


# --- orders ---------------------------------------------------------------------------------------------------------


@scenario("ListOrders", f"my orders ({ORDERS_OF_READER}, one page)", primary=True)
def list_orders(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/orders", claims=_seed(bench)["reader"])


@scenario("GetOrder", "one of my orders", primary=True)
def get_order(bench: Bench) -> dict[str, Any]:
    seed = _seed(bench)
    return bench.event("GET", f"/orders/{seed['order_ids'][0]}", claims=seed["reader"])


@scenario("CancelOrder", "cancel an unpaid order of 2 regular lines", primary=True)
def cancel_order(bench: Bench) -> dict[str, Any]:
    claims = shopper(bench)
    order = place_order(bench, claims, _seed(bench)["regular"])
    return bench.event("POST", f"/orders/{order['order_id']}/cancel", {"reason": "changed my mind"}, claims)


@scenario("CancelOrder", "cancel an unpaid order with a flash-sale line (units back to its shard)")
def cancel_flash_order(bench: Bench) -> dict[str, Any]:
    seed, claims = _seed(bench), shopper(bench)
    order = place_order(bench, claims, [seed["regular"][0], seed["flash"]])
    return bench.event("POST", f"/orders/{order['order_id']}/cancel", claims=claims)


@scenario("AdminListOrders", "orders awaiting payment (by_status)", primary=True)
def admin_list_orders(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/admin/orders", claims=FULFILMENT_STAFF, query={"status": "pending_payment"})


@scenario("AdminListOrders", "all orders of the last 90 days (month partitions)")
def admin_list_all_orders(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/admin/orders", claims=FULFILMENT_STAFF)


@scenario("AdminGetOrder", "any order", primary=True)
def admin_get_order(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", f"/admin/orders/{_seed(bench)['order_ids'][0]}", claims=FULFILMENT_STAFF)


# --- partner apps ---------------------------------------------------------------------------------------------------

# A partner app as the partner authorizer lets it through: its context, flattened to strings as API Gateway does.
ORDERS_APP = {
    "principalId": "app_01BENCHCHECKOUT00000000000",
    "app_key": "app_01BENCHCHECKOUT00000000000",
    "app_name": "Bench order sync",
    "scopes": "orders:read",
}


def partner_event(bench: Bench, path: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
    """A signed partner GET by the order-sync app (only ``orders:read``)."""
    return catalog_partner_event(bench, "GET", path, query=query, app=ORDERS_APP)


def _since(hours: int) -> str:
    return _iso(datetime.now(UTC) - timedelta(hours=hours))


@scenario("PartnerListOrders", "change feed from an hour ago, a page of 20 (a Query per shard and day)", primary=True)
def partner_list_orders(bench: Bench) -> dict[str, Any]:
    return partner_event(bench, "/partner/v1/orders", {"updated_since": _since(1)})


@scenario("PartnerListOrders", "resume from a stored cursor, a page of 2")
def partner_resume_orders(bench: Bench) -> dict[str, Any]:
    first = partner_event(bench, "/partner/v1/orders", {"updated_since": _since(1), "limit": 2})
    response = bench.invoke(bench.function("PartnerListOrders"), first)
    problem = outcome(response)
    if problem is not None:
        raise ScenarioFailed(f"GET /partner/v1/orders: {problem}")
    page = json.loads(response["body"])
    return partner_event(bench, "/partner/v1/orders", {"cursor": page["resume_cursor"], "limit": 2})


@scenario("PartnerGetOrder", "one order, personal data masked", primary=True)
def partner_get_order(bench: Bench) -> dict[str, Any]:
    return partner_event(bench, f"/partner/v1/orders/{_seed(bench)['order_ids'][0]}")


# --- coupons, flash sales, stock ----------------------------------------------------------------------------------


@scenario("ListCoupons", "coupons, newest first", primary=True)
def list_coupons(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/admin/coupons", claims=CATALOG_STAFF)


@scenario("CreateCoupon", "create a percentage coupon", primary=True)
def create_coupon(bench: Bench) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {
        "code": bench.unique("NEW").upper(),
        "kind": "percentage",
        "percent_off": 15,
        "max_discount": {"amount": 5000, "currency": "CNY"},
        "starts_at": _iso(now),
        "ends_at": _iso(now + timedelta(days=7)),
        "usage_limit": 1000,
        "category_ids": [_seed(bench)["category"]],
    }
    return bench.event("POST", "/admin/coupons", body, CATALOG_STAFF)


@scenario("ListPromotions", "flash sales running or coming", primary=True)
def list_promotions(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/promotions")


@scenario("AdminListPromotions", "all flash sales, newest first", primary=True)
def admin_list_promotions(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/admin/promotions", claims=CATALOG_STAFF)


@scenario("CreatePromotion", "flash sale of 1,000 units (5 shards) on a fresh SKU", primary=True)
def create_promotion(bench: Bench) -> dict[str, Any]:
    sku = bench.unique("C-NEWSALE-").upper()
    new_product(bench, [(sku, 59900)], stock=2000)
    now = datetime.now(UTC)
    body = {
        "name": bench.unique("Bench flash sale "),
        "sku": sku,
        "price": {"amount": 9900, "currency": "CNY"},
        "quantity": 1000,
        "starts_at": _iso(now + timedelta(hours=1)),
        "ends_at": _iso(now + timedelta(hours=2)),
        "per_user_limit": 1,
        "expected_peak_per_second": 2000,
    }
    return bench.event("POST", "/admin/promotions", body, CATALOG_STAFF)


@scenario("GetInventory", "a SKU's stock", primary=True)
def get_inventory(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", f"/admin/inventory/{_seed(bench)['flash']}", claims=CATALOG_STAFF)


@scenario("GetInventory", "a SKU's stock with its warehouse copy")
def get_inventory_regular(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", f"/admin/inventory/{_seed(bench)['regular'][0]}", claims=FULFILMENT_STAFF)


# --- consumers, schedule, relay -------------------------------------------------------------------------------------


@scenario("CheckoutCatalogProjector", "ProductCreated, 2 SKUs", primary=True)
def project_created(bench: Bench) -> dict[str, Any]:
    sku = bench.unique("C-PROJ-").upper()
    product = new_product(bench, [(sku, 19900), (f"{sku}-W", 20900)], project=False)
    return product_event(product)


@scenario("CheckoutCatalogProjector", "ProductUpdated, 2 SKUs (one replaced: taken off sale)")
def project_updated(bench: Bench) -> dict[str, Any]:
    sku = bench.unique("C-PROJ-").upper()
    product = new_product(bench, [(sku, 19900), (f"{sku}-W", 20900)], stock=0)
    body = {
        "name": product["name"],
        "description": product["description"],
        "brand_id": product["brand_id"],
        "category_id": product["category_id"],
        "status": "active",
        "version": product["version"],
        "variants": [
            {"sku": sku, "price": {"amount": 18900, "currency": "CNY"}, "options": {"edition": "A"}},
            {"sku": f"{sku}-R", "price": {"amount": 20900, "currency": "CNY"}, "options": {"edition": "R"}},
        ],
    }
    updated = bench.api("PUT", f"/admin/products/{product['product_id']}", body, CATALOG_STAFF)
    return product_event(updated, updated=True)


def address_saved(claims: Claims, address_id: str | None = None, version: int = 1) -> AddressSaved:
    """The accounts context's AddressSaved for one of the shopper's saved addresses."""
    details = SavedAddressDetails(
        address_id=address_id or prefixed("adr"),
        country="CN",
        is_default=version == 1,
        version=version,
        updated_at=datetime.now(UTC),
        **ADDRESS,
    )
    return AddressSaved(user_id=str(claims["sub"]), address=details)


@scenario("CheckoutAddressProjector", "AddressSaved, a new address", primary=True)
def project_address_saved(bench: Bench) -> dict[str, Any]:
    return message(address_saved(shopper(bench)))


@scenario("CheckoutAddressProjector", "AddressDeleted (tombstone over the saved copy)")
def project_address_deleted(bench: Bench) -> dict[str, Any]:
    claims = shopper(bench)
    saved = address_saved(claims)
    deliver(bench, "CheckoutAddressProjector", message(saved))
    gone = AddressDeleted(
        user_id=saved.user_id, address_id=saved.address.address_id, version=2, default_address_id=None
    )
    return message(gone)


@scenario("Checkout", "cart of 2 regular lines, a saved address_id (read with the cart: no extra request)")
def checkout_saved_address(bench: Bench) -> dict[str, Any]:
    claims = shopper(bench)
    saved = address_saved(claims)
    deliver(bench, "CheckoutAddressProjector", message(saved))
    fill_cart(bench, claims, _seed(bench)["regular"])
    event = bench.event("POST", "/checkout", {"address_id": saved.address.address_id}, claims)
    return with_headers(event, {"Idempotency-Key": uuid.uuid4().hex})


def _placed(bench: Bench, claims: Claims, window_s: int) -> dict[str, Any]:
    with payment_window(window_s):
        order = place_order(bench, claims, _seed(bench)["regular"][:1])
    detail = json.loads(OrderPlaced(order=Order.model_validate(order)).detail_json())
    return sqs_event(OrderPlaced.SOURCE, OrderPlaced.detail_type(), detail)


@scenario("PaymentWindowTimer", "window over: cancel the unpaid order, release its stock", primary=True)
def payment_window_over(bench: Bench) -> dict[str, Any]:
    # A window that ended a minute ago (beyond the grace the timer gives a payment in flight), so the order is due
    # when the measured call runs. (An order not due yet is postponed with ChangeMessageVisibility and reported as
    # a batch item failure on purpose, which would not be a success.)
    return _placed(bench, shopper(bench), -60)


@scenario("PaymentWindowTimer", "order cancelled meanwhile (nothing to do)")
def payment_window_cancelled(bench: Bench) -> dict[str, Any]:
    claims = shopper(bench)
    event = _placed(bench, claims, 900)
    order_id = json.loads(event["Records"][0]["body"])["detail"]["order"]["order_id"]
    bench.api("POST", f"/orders/{order_id}/cancel", claims=claims)
    return event


@scenario("SettlePromotions", "settle 1 ended flash sale of 5 shards (warm call: none left)", primary=True)
def settle_promotions(bench: Bench) -> dict[str, Any]:
    """One ended, unsettled flash sale for the call to settle. A sale cannot be created already ended, so it is
    written through the repository with a past window; calls.py builds its cold and warm events before either runs,
    so when one is still waiting no second is made (the warm call then finds nothing: the usual minute)."""
    from functions.checkout.events import PromotionCreated
    from functions.checkout.model import Promotion
    from functions.checkout.service import service
    from functions.shared.ids import prefixed

    now = datetime.now(UTC)
    repo = service().repo
    if not repo.open_promotions(now, None, 1):
        sku = bench.unique("C-ENDED-").upper()
        product = new_product(bench, [(sku, 59900)], stock=200)
        info, _stock, rev = repo.stock_view(sku)
        if info is None:
            raise ScenarioFailed(f"{sku} was not projected")
        promotion = Promotion(
            promotion_id=prefixed("prm"),
            name=bench.unique("Bench ended sale "),
            sku=sku,
            product_id=product["product_id"],
            product_name=product["name"],
            price=Money(amount=9900, currency="CNY"),
            regular_price=info.price,
            quantity=100,
            remaining=100,
            starts_at=now - timedelta(hours=2),
            ends_at=now - timedelta(hours=1),
            per_user_limit=1,
            shards=5,
            created_at=now - timedelta(hours=3),
        )
        repo.create_promotion(promotion, rev, PromotionCreated(promotion=promotion))
    return scheduled_event("SettlePromotions")


def scheduled_event(function: str) -> dict[str, Any]:
    """What EventBridge Scheduler sends a scheduled function."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": _iso(datetime.now(UTC)),
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:123456789012:rule/bench-{function}"],
        "detail": {},
    }


@scenario("ExpireOverdueOrders", "backstop sweep with nothing overdue (the usual run)", primary=True)
def expire_overdue_orders(bench: Bench) -> dict[str, Any]:
    return scheduled_event("ExpireOverdueOrders")


# --- payment and fulfilment (events of the payments and shipping contexts) -----------------------------------------


def payment_succeeded(order: dict[str, Any]) -> dict[str, Any]:
    """The payments context's PaymentSucceeded for an order's total (the fields the checkout reads, and a few)."""
    detail = {
        "event_id": str(uuid.uuid4()),
        "payment_id": f"pay_{uuid.uuid4().hex[:16]}",
        "order_id": order["order_id"],
        "user_id": order["user_id"],
        "method": "card",
        "amount": order["totals"]["total"],
        "provider_reference": "pi_bench",
        "succeeded_at": _iso(datetime.now(UTC)),
    }
    return sqs_event("shop.payments", "PaymentSucceeded", detail)


def paid_order(bench: Bench) -> dict[str, Any]:
    """A fresh shopper's order of both regular SKUs (one unit each), paid."""
    order = place_order(bench, shopper(bench), _seed(bench)["regular"])
    deliver(bench, "OrderPaymentRecorder", payment_succeeded(order))
    return order


def _lines(order: dict[str, Any]) -> list[Line]:
    return [Line(sku=line["sku"], quantity=line["quantity"]) for line in order["lines"]]


def allocated(order: dict[str, Any]) -> OrderAllocated:
    parcel = Parcel(parcel_id=f"pcl_{uuid.uuid4().hex[:12]}", warehouse=WAREHOUSE, lines=_lines(order))
    stock = [snapshot(line.sku, STOCK, line.quantity) for line in parcel.lines]
    return OrderAllocated(order_id=order["order_id"], parcels=[parcel], stock=stock)


def dispatched(order: dict[str, Any]) -> ShipmentDispatched:
    return ShipmentDispatched(
        order_id=order["order_id"],
        shipment_id=f"shp_{uuid.uuid4().hex[:12]}",
        warehouse=WAREHOUSE,
        carrier="sf-express",
        tracking_number=f"SF{uuid.uuid4().hex[:12].upper()}",
        lines=_lines(order),
        order_shipped=True,
        stock=[snapshot(line["sku"], STOCK - line["quantity"]) for line in order["lines"]],
    )


def delivered(shipment: ShipmentDispatched, at: datetime | None = None) -> ShipmentDelivered:
    return ShipmentDelivered(
        order_id=shipment.order_id,
        shipment_id=shipment.shipment_id,
        delivered_at=at or datetime.now(UTC),
        order_delivered=True,
    )


@scenario(
    "OrderPaymentRecorder", "PaymentSucceeded for an order of 2 regular lines (pending_payment -> paid)", primary=True
)
def record_payment(bench: Bench) -> dict[str, Any]:
    return payment_succeeded(place_order(bench, shopper(bench), _seed(bench)["regular"]))


@scenario("CheckoutStockSync", "StockMovementRecorded: 5 units received (sellable + warehouse snapshot)", primary=True)
def stock_movement(bench: Bench) -> dict[str, Any]:
    return message(stock_received(_seed(bench)["regular"][0], 5))


@scenario("CheckoutStockSync", "StockMovementRecorded delivered again (nothing to apply)")
def stock_movement_again(bench: Bench) -> dict[str, Any]:
    event = message(stock_received(_seed(bench)["regular"][1], 1))
    deliver(bench, "CheckoutStockSync", event)
    return event


@scenario("CheckoutStockSync", "AllocationReleased of 2 SKUs (warehouse snapshots only)")
def allocation_released(bench: Bench) -> dict[str, Any]:
    skus = _seed(bench)["regular"]
    released = AllocationReleased(
        order_id=f"ord_{uuid.uuid4().hex[:12]}",
        released=[Line(sku=sku, quantity=1) for sku in skus],
        stock=[snapshot(sku, STOCK) for sku in skus],
    )
    return message(released)


@scenario("OrderFulfilmentRecorder", "ShipmentDispatched, 2 regular lines (fulfilling -> shipped)", primary=True)
def shipment_dispatched(bench: Bench) -> dict[str, Any]:
    order = paid_order(bench)
    deliver(bench, "OrderFulfilmentRecorder", message(allocated(order)))
    return message(dispatched(order))


@scenario("OrderFulfilmentRecorder", "OrderAllocated, 2 lines (paid -> fulfilling)")
def order_allocated(bench: Bench) -> dict[str, Any]:
    return message(allocated(paid_order(bench)))


@scenario("OrderFulfilmentRecorder", "ShipmentDispatched before the allocation (paid -> fulfilling -> shipped)")
def shipment_dispatched_early(bench: Bench) -> dict[str, Any]:
    return message(dispatched(paid_order(bench)))


@scenario("OrderFulfilmentRecorder", "ShipmentDelivered (shipped -> delivered)")
def shipment_delivered(bench: Bench) -> dict[str, Any]:
    order = paid_order(bench)
    shipment = dispatched(order)
    deliver(bench, "OrderFulfilmentRecorder", message(shipment))
    return message(delivered(shipment))


@scenario("CompleteDeliveredOrders", "complete 1 order whose return window ended (warm call: none left)", primary=True)
def complete_delivered_orders(bench: Bench) -> dict[str, Any]:
    """One delivered order past its return window for the call to complete (its delivery reported that late); as for
    SettlePromotions, when one is still waiting no second is made, and the warm call then finds none (the usual
    hour)."""
    from functions.checkout.service import service

    now = datetime.now(UTC)
    window = timedelta(days=return_window_days())
    if not service().repo.delivered_before(now - window, 1):
        order = paid_order(bench)
        shipment = dispatched(order)
        deliver(bench, "OrderFulfilmentRecorder", message(shipment))
        deliver(bench, "OrderFulfilmentRecorder", message(delivered(shipment, now - window - timedelta(hours=1))))
    return scheduled_event("CompleteDeliveredOrders")


def _order_placed_images(bench: Bench, count: int) -> list[dict[str, Any]]:
    """Outbox items exactly as checkout writes them, for ``count`` orders (fresh event ids)."""
    seed = _seed(bench)
    orders: list[Order] = seed.setdefault("relay_orders", [])
    while len(orders) < count:
        order = place_order(bench, shopper(bench), [*seed["regular"], seed["flash"]])
        orders.append(Order.model_validate(order))
    return [outbox_item(OrderPlaced(order=o)) for o in orders[:count]]


@scenario("CheckoutOutboxRelay", f"outbox relay, {BATCH} OrderPlaced events (3 lines each)", primary=True)
def relay_orders(bench: Bench) -> dict[str, Any]:
    function = bench.function("CheckoutOutboxRelay")
    assert isinstance(function, StreamConsumer)
    return stream_event(bench, function, _order_placed_images(bench, BATCH))


# --- activity feed -------------------------------------------------------------------------------------------------


def _additions(bench: Bench, additions: int, products: int) -> dict[str, Any]:
    """AddCartItem's log as one delivery: ``additions`` successful adds (1 to 3 units) over ``products`` products."""
    seeded = _seed(bench)["products"][:products]
    with captured(cart_feed._feed) as written:
        for i in range(additions):
            product_id, sku = seeded[i % len(seeded)]
            cart_feed.emit_cart_addition(product_id, sku, 1 + i % 3)
        lines = written.take()
    return bench.log_delivery("CartLogForwarder", "AddCartItem", lines)


@scenario("CartLogForwarder", "AddCartItem's log: 20 additions of 2 products (2 events)", primary=True)
def cart_additions(bench: Bench) -> dict[str, Any]:
    return _additions(bench, 20, 2)


@scenario("CartLogForwarder", "flash sale: AddCartItem's log, 1,000 additions of 1 product (1 event)")
def flash_sale_additions(bench: Bench) -> dict[str, Any]:
    return _additions(bench, 1000, 1)
