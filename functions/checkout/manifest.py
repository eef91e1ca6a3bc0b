"""Wiring of the checkout context: its table, routes, consumers, schedule and outbox relay (functions.shared.wiring).

The checkout never reads the catalogue's table: it keeps its own copy of every SKU's price and status
(``CheckoutCatalogProjector``, fed by the catalogue's product events), so pricing a cart is a read of its own table.
Likewise it learns physical stock and fulfilment from the shipping context's events: ``CheckoutStockSync`` keeps
sellable stock and a copy of the per-warehouse stock, ``OrderFulfilmentRecorder`` moves orders through fulfilling,
shipped and delivered, and ``CompleteDeliveredOrders`` completes them when the return window ends. A shopper's saved
addresses come from the accounts context's events (``CheckoutAddressProjector``), so a checkout naming an
``address_id`` reads it from the checkout's own table. Partner apps (scope ``orders:read``) read orders masked and
follow their changes on the ``by_update`` index (functions.checkout.feed). Add-to-cart requests are counted for
back-office analytics from AddCartItem's log lines (``CartLogForwarder``, functions.checkout.cart_analytics), so the
request itself makes no call for it.
"""

from functions.shared.wiring import (
    PARTNER,
    PUBLIC,
    PUBLISH_EVENTS,
    SIGNED_IN,
    USER_POOL_CLIENT,
    Consumer,
    ContextManifest,
    EventPattern,
    Index,
    LogSubscription,
    Route,
    Schedule,
    StreamConsumer,
    Table,
    reads,
    roles,
    writes,
)

TABLE = Table(
    name="checkout",
    indexes=(
        Index("by_user", partition_key="user_pk", sort_key="user_sk"),
        Index("by_status", partition_key="status_pk", sort_key="list_sk"),
        Index("by_kind", partition_key="kind_pk", sort_key="kind_sk"),
        Index("by_due", partition_key="due_pk", sort_key="due_sk"),
        Index("by_update", partition_key="feed_pk", sort_key="feed_sk"),  # the partner change feed
    ),
    stream=True,
    ttl_attribute="expires_at",
)

_H = "functions.checkout.handlers"
_READ = (reads(TABLE.ref),)
_WRITE = (writes(TABLE.ref),)
_PAGED = (reads(TABLE.ref), reads("secret:cursor"))
_CART = (writes(TABLE.ref), USER_POOL_CLIENT)  # a signed-in caller's first cart call merges their guest cart

MANIFEST = ContextManifest(
    name="checkout",
    description="Cart, checkout, orders, coupons, flash sales, stock reservation",
    tables=(TABLE,),
    settings=(
        "PAYMENT_WINDOW_SECONDS",
        "SHIPPING_FEE_AMOUNT",
        "FREE_SHIPPING_FROM_AMOUNT",
        "SHOP_CURRENCY",
        "RETURN_WINDOW_DAYS",
    ),
    routes=(
        Route(
            name="GetCart",
            handler=f"{_H}.get_cart.handler",
            method="GET",
            path="/cart",
            auth=PUBLIC,
            optional_identity=True,
            uses=(*_READ, USER_POOL_CLIENT),  # shows a guest cart merged; the next change writes the merge
            hot=True,
            summary="The cart with current prices, availability and totals (guest: X-Cart-Token)",
        ),
        Route(
            name="AddCartItem",
            handler=f"{_H}.add_cart_item.handler",
            method="POST",
            path="/cart/items",
            auth=PUBLIC,
            optional_identity=True,
            uses=_CART,
            hot=True,
            summary="Add a SKU to the cart (a guest gets a cart token)",
        ),
        Route(
            name="UpdateCartItem",
            handler=f"{_H}.update_cart_item.handler",
            method="PUT",
            path="/cart/items/{sku}",
            auth=PUBLIC,
            optional_identity=True,
            uses=_CART,
            summary="Set a cart line's quantity",
        ),
        Route(
            name="RemoveCartItem",
            handler=f"{_H}.remove_cart_item.handler",
            method="DELETE",
            path="/cart/items/{sku}",
            auth=PUBLIC,
            optional_identity=True,
            uses=_CART,
            summary="Remove a line from the cart",
        ),
        Route(
            name="Checkout",
            handler=f"{_H}.checkout.handler",
            method="POST",
            path="/checkout",
            auth=SIGNED_IN,
            uses=_WRITE,
            hot=True,
            summary="Place an order from the cart: reserves stock, uses the coupon (Idempotency-Key required)",
        ),
        Route(
            name="ListOrders",
            handler=f"{_H}.list_orders.handler",
            method="GET",
            path="/orders",
            auth=SIGNED_IN,
            uses=_PAGED,
            summary="My orders, newest first",
        ),
        Route(
            name="GetOrder",
            handler=f"{_H}.get_order.handler",
            method="GET",
            path="/orders/{order_id}",
            auth=SIGNED_IN,
            uses=_READ,
            summary="One of my orders",
        ),
        Route(
            name="CancelOrder",
            handler=f"{_H}.cancel_order.handler",
            method="POST",
            path="/orders/{order_id}/cancel",
            auth=SIGNED_IN,
            uses=_WRITE,
            summary="Cancel my order before it ships (stock goes back on sale)",
        ),
        Route(
            name="AdminListOrders",
            handler=f"{_H}.admin_list_orders.handler",
            method="GET",
            path="/admin/orders",
            auth=roles("fulfilment"),
            uses=_PAGED,
            summary="Orders by status and date range",
        ),
        Route(
            name="AdminGetOrder",
            handler=f"{_H}.admin_get_order.handler",
            method="GET",
            path="/admin/orders/{order_id}",
            auth=roles("fulfilment"),
            uses=_READ,
            summary="Any order",
        ),
        Route(
            name="ListCoupons",
            handler=f"{_H}.list_coupons.handler",
            method="GET",
            path="/admin/coupons",
            auth=roles("catalog"),
            uses=_PAGED,
            summary="Coupons, newest first, with their use counts",
        ),
        Route(
            name="CreateCoupon",
            handler=f"{_H}.create_coupon.handler",
            method="POST",
            path="/admin/coupons",
            auth=roles("catalog"),
            uses=_WRITE,
            summary="Create a coupon (percentage or fixed, limits, window, scope)",
        ),
        Route(
            name="ListPromotions",
            handler=f"{_H}.list_promotions.handler",
            method="GET",
            path="/promotions",
            auth=PUBLIC,
            uses=_READ,
            hot=True,
            summary="Flash sales running now or coming, with units left",
        ),
        Route(
            name="AdminListPromotions",
            handler=f"{_H}.admin_list_promotions.handler",
            method="GET",
            path="/admin/promotions",
            auth=roles("catalog"),
            uses=_PAGED,
            summary="All flash sales, newest first",
        ),
        Route(
            name="CreatePromotion",
            handler=f"{_H}.create_promotion.handler",
            method="POST",
            path="/admin/promotions",
            auth=roles("catalog"),
            uses=_WRITE,
            summary="Create a flash sale: a SKU at a special price, a fixed quantity, a window, a per-shopper limit",
        ),
        Route(
            name="GetInventory",
            handler=f"{_H}.get_inventory.handler",
            method="GET",
            path="/admin/inventory/{sku}",
            auth=roles("catalog", "fulfilment"),
            uses=_READ,
            summary="A SKU's sellable, reserved and flash-sale stock, and per warehouse on hand, allocated and "
            "available (the checkout's copy from shipping events: eventually consistent)",
        ),
        Route(
            name="PartnerListOrders",
            handler=f"{_H}.partner_list_orders.handler",
            method="GET",
            path="/partner/v1/orders",
            auth=PARTNER,
            scope="orders:read",
            uses=_PAGED,
            summary="Order change feed for incremental sync (updated_since, cursor), personal data masked",
        ),
        Route(
            name="PartnerGetOrder",
            handler=f"{_H}.partner_get_order.handler",
            method="GET",
            path="/partner/v1/orders/{order_id}",
            auth=PARTNER,
            scope="orders:read",
            uses=_READ,
            summary="One order, personal data masked",
        ),
    ),
    consumers=(
        Consumer(
            name="CheckoutCatalogProjector",
            handler=f"{_H}.catalog_projector.handler",
            uses=_WRITE,
            patterns=(EventPattern("shop.catalog", ("ProductCreated", "ProductUpdated", "ProductArchived")),),
            timeout_s=30,
            visibility_timeout_s=60,
        ),
        Consumer(
            name="CheckoutAddressProjector",
            handler=f"{_H}.address_projector.handler",
            uses=_WRITE,
            patterns=(EventPattern("shop.accounts", ("AddressSaved", "AddressDeleted")),),
            timeout_s=30,
            visibility_timeout_s=60,
        ),
        Consumer(
            name="OrderPaymentRecorder",
            handler=f"{_H}.payment_recorder.handler",
            uses=_WRITE,
            patterns=(EventPattern("shop.payments", ("PaymentSucceeded",)),),
            timeout_s=30,
            visibility_timeout_s=60,
        ),
        Consumer(
            name="CheckoutStockSync",
            handler=f"{_H}.stock_sync.handler",
            uses=_WRITE,
            patterns=(EventPattern("shop.shipping", ("StockMovementRecorded", "AllocationReleased")),),
            timeout_s=30,
            visibility_timeout_s=60,
        ),
        Consumer(
            name="OrderFulfilmentRecorder",
            handler=f"{_H}.fulfilment_recorder.handler",
            uses=_WRITE,
            patterns=(EventPattern("shop.shipping", ("OrderAllocated", "ShipmentDispatched", "ShipmentDelivered")),),
            timeout_s=30,
            visibility_timeout_s=60,
        ),
        Consumer(
            name="PaymentWindowTimer",
            handler=f"{_H}.payment_window.handler",
            uses=_WRITE,
            patterns=(EventPattern("shop.checkout", ("OrderPlaced",)),),
            timer=True,
            # One receive at placement, one when the window ends, a few spare for real failures.
            max_receive_count=8,
            timeout_s=30,
            visibility_timeout_s=60,
        ),
    ),
    schedules=(
        Schedule(
            name="ExpireOverdueOrders",
            handler=f"{_H}.expire_overdue_orders.handler",
            uses=_WRITE,
            rate_minutes=5,
            timeout_s=60,
        ),
        Schedule(
            name="CompleteDeliveredOrders",
            handler=f"{_H}.complete_delivered_orders.handler",
            uses=_WRITE,
            rate_minutes=60,
            timeout_s=120,
        ),
        Schedule(
            name="SettlePromotions",
            handler=f"{_H}.settle_promotions.handler",
            uses=_WRITE,
            rate_minutes=1,
            timeout_s=60,
        ),
    ),
    stream_consumers=(
        StreamConsumer(
            name="CheckoutOutboxRelay",
            handler="functions.shared.relay.handler",
            table=TABLE.name,
            key_prefix="OUTBOX#",
            uses=(reads(TABLE.ref), PUBLISH_EVENTS),
        ),
    ),
    log_subscriptions=(
        LogSubscription(
            name="CartLogForwarder",
            handler=f"{_H}.cart_log_forwarder.handler",
            # The cart_addition lines of functions.checkout.cart_feed; nothing stored, so only the bus.
            sources=("AddCartItem",),
            keys=("cart_addition",),
            uses=(PUBLISH_EVENTS,),
            timeout_s=30,
        ),
    ),
)
