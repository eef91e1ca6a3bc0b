"""Wiring of the payments context: its table, routes, consumers, reconciliation schedule and outbox relay.
It learns of orders from the checkout's events and of received returns (to refund) from the shipping context's.

Payments never reads the checkout's table: it keeps its own copy of each order (owner, total, status) from the
checkout's events, so the amount of a payment always comes from the order as the checkout placed it."""

from functions.shared.wiring import (
    PUBLIC,
    PUBLISH_EVENTS,
    SIGNED_IN,
    Consumer,
    ContextManifest,
    EventPattern,
    Index,
    Route,
    Schedule,
    StreamConsumer,
    Table,
    reads,
    roles,
    writes,
)

TABLE = Table(
    name="payments",
    indexes=(
        Index("by_order", partition_key="order_pk", sort_key="order_sk"),
        Index("by_status", partition_key="status_pk", sort_key="status_sk"),
    ),
    stream=True,
    ttl_attribute="expires_at",
)

_H = "functions.payments.handlers"
_KEYS = reads("secret:payments")
_WRITE = (writes(TABLE.ref), _KEYS)

MANIFEST = ContextManifest(
    name="payments",
    description="Payment intents, providers, callbacks, refunds",
    tables=(TABLE,),
    routes=(
        Route(
            name="CreatePayment",
            handler=f"{_H}.create_payment.handler",
            method="POST",
            path="/orders/{order_id}/payments",
            auth=SIGNED_IN,
            uses=_WRITE,
            hot=True,
            summary="Pay my order with card, Alipay or WeChat Pay (Idempotency-Key required)",
        ),
        Route(
            name="PaymentCallback",
            handler=f"{_H}.payment_callback.handler",
            method="POST",
            path="/callbacks/payments/{provider}",
            auth=PUBLIC,  # signed by the provider; verified before anything changes
            uses=_WRITE,
            hot=True,
            summary="A payment provider's signed notification (card, alipay, wechat_pay)",
        ),
        Route(
            name="RefundOrder",
            handler=f"{_H}.refund_order.handler",
            method="POST",
            path="/admin/orders/{order_id}/refunds",
            auth=roles("fulfilment"),
            uses=_WRITE,
            summary="Refund an order's payment in full or in part, through its provider",
        ),
    ),
    consumers=(
        Consumer(
            name="PaymentsOrderProjector",
            handler=f"{_H}.order_projector.handler",
            uses=(writes(TABLE.ref),),
            patterns=(EventPattern("shop.checkout", ("OrderPlaced", "OrderPaid", "OrderCancelled")),),
            timeout_s=30,
            visibility_timeout_s=60,
        ),
        Consumer(
            name="PaymentRefunder",
            # Refunds call the providers' APIs, whose rate limits are far below Lambda's scaling.
            max_concurrency=5,
            reserved_concurrency=10,
            handler=f"{_H}.refunder.handler",
            uses=_WRITE,
            # A success the order could not take, and a paid order cancelled before shipment: refunded in full.
            patterns=(EventPattern("shop.checkout", ("PaymentRejected", "OrderCancelled")),),
            batch_size=5,
            timeout_s=60,
            visibility_timeout_s=120,
        ),
        Consumer(
            name="ReturnRefunder",
            # Refunds call the providers' APIs, whose rate limits are far below Lambda's scaling.
            max_concurrency=5,
            reserved_concurrency=10,
            handler=f"{_H}.return_refunder.handler",
            uses=_WRITE,
            # A received return is refunded the amount the shipping context computed for its lines, once per return.
            patterns=(EventPattern("shop.shipping", ("ReturnReceived",)),),
            batch_size=5,
            timeout_s=60,
            visibility_timeout_s=120,
        ),
    ),
    schedules=(
        Schedule(
            name="ReconcilePayments",
            handler=f"{_H}.reconcile.handler",
            uses=_WRITE,
            rate_minutes=2,
            timeout_s=120,
        ),
    ),
    stream_consumers=(
        StreamConsumer(
            name="PaymentsOutboxRelay",
            handler="functions.shared.relay.handler",
            table=TABLE.name,
            key_prefix="OUTBOX#",
            uses=(reads(TABLE.ref), PUBLISH_EVENTS),
        ),
    ),
)
