"""Wiring of the shipping context: its table, routes, consumers, schedule and outbox relay (functions.shared.wiring).

Shipping never reads the checkout's table: it learns each paid order (lines, address, totals) from OrderPaid, and
tells the checkout what it did through its own events (docs/shipping.md)."""

from functions.shared.wiring import (
    PARTNER,
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
    name="shipping",
    indexes=(
        Index("by_wait", partition_key="wait_pk", sort_key="wait_sk"),
        Index("by_status", partition_key="status_pk", sort_key="status_sk"),
        Index("by_kind", partition_key="kind_pk", sort_key="kind_sk"),
    ),
    stream=True,
    ttl_attribute="expires_at",
)

_H = "functions.shipping.handlers"
_READ = (reads(TABLE.ref),)
_WRITE = (writes(TABLE.ref),)
_PAGED = (reads(TABLE.ref), reads("secret:cursor"))
_STOCK_STAFF = roles("catalog", "fulfilment")

MANIFEST = ContextManifest(
    name="shipping",
    description="Warehouses, stock movements, allocation, shipments, tracking, returns",
    tables=(TABLE,),
    settings=("RETURN_WINDOW_DAYS",),
    routes=(
        Route(
            name="ListWarehouses",
            handler=f"{_H}.list_warehouses.handler",
            method="GET",
            path="/admin/warehouses",
            auth=_STOCK_STAFF,
            uses=_READ,
            summary="Every warehouse (code, name, address and region, priority, active)",
        ),
        Route(
            name="CreateWarehouse",
            handler=f"{_H}.create_warehouse.handler",
            method="POST",
            path="/admin/warehouses",
            auth=roles("fulfilment"),
            uses=_WRITE,
            summary="Add a warehouse",
        ),
        Route(
            name="UpdateWarehouse",
            handler=f"{_H}.update_warehouse.handler",
            method="PUT",
            path="/admin/warehouses/{code}",
            auth=roles("fulfilment"),
            uses=_WRITE,
            summary="Change a warehouse's name, address, priority or active flag (with its version)",
        ),
        Route(
            name="RecordStockMovement",
            handler=f"{_H}.record_movement.handler",
            method="POST",
            path="/admin/inventory/{sku}/movements",
            auth=_STOCK_STAFF,
            uses=_WRITE,
            summary="Inbound, outbound, stock count (adjustment) or transfer of a SKU in a warehouse",
        ),
        Route(
            name="ListStockMovements",
            handler=f"{_H}.list_movements.handler",
            method="GET",
            path="/admin/inventory/{sku}/movements",
            auth=_STOCK_STAFF,
            uses=_PAGED,
            summary="A SKU's stock per warehouse and its ledger, newest first",
        ),
        Route(
            name="CreateShipment",
            handler=f"{_H}.create_shipment.handler",
            method="POST",
            path="/admin/orders/{order_id}/shipments",
            auth=roles("fulfilment"),
            uses=_WRITE,
            summary="Ship an allocated parcel with a carrier and tracking number",
        ),
        Route(
            name="AdminListShipments",
            handler=f"{_H}.admin_list_shipments.handler",
            method="GET",
            path="/admin/orders/{order_id}/shipments",
            auth=roles("fulfilment"),
            uses=_READ,
            summary="Any order's allocation (parcels per warehouse) and shipments",
        ),
        Route(
            name="ListShipments",
            handler=f"{_H}.list_shipments.handler",
            method="GET",
            path="/orders/{order_id}/shipments",
            auth=SIGNED_IN,
            uses=_READ,
            summary="My order's parcels and their tracking timelines",
        ),
        Route(
            name="CarrierCallback",
            handler=f"{_H}.carrier_callback.handler",
            method="POST",
            path="/callbacks/carriers/{carrier}",
            auth=PUBLIC,  # signed by the carrier (HMAC-SHA256); verified before anything is read or changed
            uses=(*_WRITE, reads("secret:carriers")),
            summary="A carrier's signed tracking events (in transit, out for delivery, delivered, exception)",
        ),
        Route(
            name="RequestReturn",
            handler=f"{_H}.request_return.handler",
            method="POST",
            path="/orders/{order_id}/returns",
            auth=SIGNED_IN,
            uses=_WRITE,
            summary="Return or exchange delivered units of my order, inside the return window",
        ),
        Route(
            name="GetReturn",
            handler=f"{_H}.get_return.handler",
            method="GET",
            path="/returns/{return_id}",
            auth=SIGNED_IN,
            uses=_READ,
            summary="One of my returns and its history",
        ),
        Route(
            name="AdminListReturns",
            handler=f"{_H}.admin_list_returns.handler",
            method="GET",
            path="/admin/returns",
            auth=roles("fulfilment"),
            uses=_PAGED,
            summary="Returns, newest first, optionally by status",
        ),
        Route(
            name="ActOnReturn",
            handler=f"{_H}.act_on_return.handler",
            method="POST",
            path="/admin/returns/{return_id}/{action}",
            auth=roles("fulfilment"),
            uses=_WRITE,
            summary="Approve, reject (with a reason) or receive (with the goods' condition) a return",
        ),
        Route(
            name="PartnerCreateShipment",
            handler=f"{_H}.partner_create_shipment.handler",
            method="POST",
            path="/partner/v1/orders/{order_id}/shipments",
            auth=PARTNER,
            scope="shipments:write",
            uses=_WRITE,
            summary="A logistics partner dispatches an allocated parcel (as staff do; Idempotency-Key required)",
        ),
        Route(
            name="PartnerRecordStock",
            handler=f"{_H}.partner_record_stock.handler",
            method="POST",
            path="/partner/v1/inventory/{sku}",
            auth=PARTNER,
            scope="inventory:write",
            uses=_WRITE,
            summary="A supplier or WMS reports an inbound, outbound or stock count (Idempotency-Key required)",
        ),
    ),
    consumers=(
        Consumer(
            name="OrderAllocator",
            handler=f"{_H}.order_allocator.handler",
            uses=_WRITE,
            patterns=(EventPattern("shop.checkout", ("OrderPaid", "OrderCancelled")),),
            timeout_s=60,
            visibility_timeout_s=120,
        ),
        Consumer(
            name="ReturnRefundRecorder",
            handler=f"{_H}.refund_recorder.handler",
            uses=_WRITE,
            patterns=(EventPattern("shop.payments", ("RefundSucceeded", "RefundFailed")),),
            timeout_s=30,
            visibility_timeout_s=60,
        ),
    ),
    schedules=(
        Schedule(
            name="AllocateWaitingOrders",
            handler=f"{_H}.allocate_waiting.handler",
            uses=_WRITE,
            rate_minutes=5,
            timeout_s=120,
        ),
    ),
    stream_consumers=(
        StreamConsumer(
            name="ShippingOutboxRelay",
            handler="functions.shared.relay.handler",
            table=TABLE.name,
            key_prefix="OUTBOX#",
            uses=(reads(TABLE.ref), PUBLISH_EVENTS),
        ),
    ),
)
