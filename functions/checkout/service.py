"""The checkout's service layer: the use cases over the repository. Nothing here knows about HTTP.

Handlers call one method; the composition root :func:`service` wires the DynamoDB repository, created once per
container.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.checkout.events import (
    OrderCancelled,
    OrderCompleted,
    OrderDelivered,
    OrderEvent,
    OrderFulfilling,
    OrderPaid,
    OrderPlaced,
    OrderShipped,
    PaymentRejected,
    PromotionCreated,
    PromotionSettled,
)
from functions.checkout.feed import (
    SETTLE_S,
    check_resumable,
    next_updated_at,
    parse_since,
    position_since,
    position_until,
    walk_feed,
)
from functions.checkout.model import (
    CANCELLABLE,
    AddressInput,
    Cart,
    CheckoutInput,
    Coupon,
    CouponInput,
    CouponPage,
    InventoryView,
    Order,
    OrderLine,
    OrderPage,
    OrderStatus,
    PricedCart,
    Promotion,
    PromotionInput,
    PromotionList,
    SavedAddress,
    SkuInfo,
    StatusChange,
    Stock,
    StockSnapshot,
    StoredCart,
    WarehouseStock,
    check_transition,
    forward_path,
    payment_window_s,
    price_cart,
    require_checkout_ready,
    reserved_units_shipped,
    return_window_days,
    shards_for,
    shop_currency,
)
from functions.checkout.repository import (
    DynamoCheckoutRepository,
    Placement,
    PlacementFailed,
    Release,
    Take,
    address_key,
    allocate,
    cart_key,
    coupon_key,
    idem_key,
    sku_key,
)
from functions.shared import cursor
from functions.shared.dynamo import sortable
from functions.shared.errors import AppError, BadRequest, Conflict, NotFound, Unprocessable
from functions.shared.events import DomainEvent, utcnow
from functions.shared.idempotency import check_key, request_hash
from functions.shared.ids import prefixed

if TYPE_CHECKING:
    from functions.checkout.partner import PartnerOrder, PartnerOrderPage

CART_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{32}$"  # noqa: S105 - the shape of a token, not a token
PLACE_ATTEMPTS = 4
ADMIN_DEFAULT_DAYS = 90
PAYMENT_ARRIVAL_GRACE_S = 10
OVERDUE_GRACE_S = 120  # the timer normally fires within seconds; the backstop only takes what it missed
MAX_ADMIN_RANGE_DAYS = 731  # two years: a range walks one month partition per Query
COMPLETE_PER_RUN = 1000  # orders one run of the completion schedule takes on; the next run takes the rest
# The event published for each status a fulfilment step reaches.
STEP_EVENTS: dict[OrderStatus, type[OrderEvent]] = {
    OrderStatus.FULFILLING: OrderFulfilling,
    OrderStatus.SHIPPED: OrderShipped,
    OrderStatus.DELIVERED: OrderDelivered,
}


def now() -> datetime:
    """The service's clock (module-level, so a test can move time for the handlers too)."""
    return utcnow()


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class CheckoutService:
    def __init__(self, repo: DynamoCheckoutRepository, clock: Callable[[], datetime] | None = None) -> None:
        self.repo = repo
        self.clock = clock or (lambda: now())  # noqa: PLW0108 - looked up per call, so tests can move time
        self._dropped: list[str] = []  # guest lines that did not fit when a merge ran during this call
        self._shards: dict[str, dict[int, int]] = {}  # flash-sale shard stock read by the last pricing
        self._coupon: Coupon | None = None  # the coupon read by the last pricing

    # --- carts ----------------------------------------------------------------------------------------------------

    def _owner(self, user_id: str | None, token: str | None) -> tuple[str | None, str | None]:
        """(owner key, guest token to merge). A signed-in shopper's cart is theirs; a guest's is the token's."""
        if user_id:
            return f"U#{user_id}", token
        if token:
            return f"G#{token}", None
        return None, None

    def _load_cart(self, user_id: str | None, token: str | None, persist: bool = True) -> StoredCart | None:
        owner, merge_token = self._owner(user_id, token)
        if owner is None:
            return None
        if merge_token is None:
            return self.repo.get_cart(owner)
        reads = self.repo.batch_get([cart_key(owner), cart_key(f"G#{merge_token}")], consistent=True)
        mine = self.repo.cart(owner, reads.get(cart_key(owner)))
        guest_data = reads.get(cart_key(f"G#{merge_token}"))
        if guest_data:
            guest = self.repo.cart(f"G#{merge_token}", guest_data)
            if persist:
                self._merge(mine, guest)
            else:  # a read shows the cart as it will be once merged; the next change writes the merge
                self._dropped = mine.merge(guest, self.clock())
        return mine

    def _merge(self, mine: StoredCart, guest: StoredCart) -> None:
        now = self.clock()
        dropped = mine.merge(guest, now)
        mine.updated_at = now
        self.repo.merge_carts(mine, guest, _epoch(now))
        self._dropped = dropped

    def view_cart(self, user_id: str | None, token: str | None, coupon_code: str | None = None) -> Cart:
        self._dropped = []
        stored = self._load_cart(user_id, token, persist=False)
        if stored is None:
            stored = StoredCart(owner="")
        cart = self._price(stored, user_id, coupon_code, strict=False).cart
        if stored.owner.startswith("G#"):
            cart.cart_token = stored.owner[2:]
        cart.dropped_skus = self._dropped
        return cart

    def change_cart(self, user_id: str | None, token: str | None, sku: str, quantity: int | None, mode: str) -> Cart:
        """``mode`` is ``add`` (quantity more), ``set`` (quantity exactly) or ``remove``."""
        self._dropped = []
        sku = sku.upper()
        stored = self._load_cart(user_id, token)
        if stored is None or (stored.owner.startswith("G#") and stored.version == 0 and mode == "add"):
            # A new guest cart, or a token we never issued (or that expired): the API issues the token.
            stored = StoredCart(owner=f"G#{secrets.token_urlsafe(24)}")
        now = self.clock()
        if mode == "remove":
            if not stored.remove(sku):
                raise NotFound("that SKU is not in the cart", code="NOT_IN_CART")
        elif mode == "set":
            if stored.quantity_of(sku) == 0:
                raise NotFound("that SKU is not in the cart", code="NOT_IN_CART")
            stored.set(sku, int(quantity or 0), now)
        else:
            stored.add(sku, int(quantity or 0), now)
        stored.updated_at = now
        # Priced before it is saved: the read that prices it also tells whether the SKU is on sale, and a cart that
        # cannot be priced (or a SKU that is not sold) is refused with nothing written.
        cart = self._price(stored, user_id, None, strict=False).cart
        if mode != "remove" and any(line.sku == sku and line.availability == "unavailable" for line in cart.lines):
            raise NotFound("no such SKU on sale", code="SKU_NOT_FOUND")
        self.repo.save_cart(stored, _epoch(now))
        if stored.owner.startswith("G#"):
            cart.cart_token = stored.owner[2:]
        cart.dropped_skus = self._dropped
        return cart

    def _price(
        self, stored: StoredCart, user_id: str | None, coupon_code: str | None, strict: bool, consistent: bool = False
    ) -> PricedCart:
        skus = [line.sku for line in stored.lines]
        keys = [sku_key(s, k) for s in skus for k in ("INFO", "STOCK")]
        code = coupon_code.upper() if coupon_code else None
        if code:
            keys.append(coupon_key(code))
            if user_id:
                keys.append(coupon_key(code, f"USER#{user_id}"))
        reads = self.repo.batch_get(keys, consistent) if keys else None
        infos: dict[str, SkuInfo] = {}
        stock: dict[str, Stock] = {}
        if reads is not None:
            for s in skus:
                info = self.repo.sku_info(reads.get(sku_key(s, "INFO")))
                if info is not None:
                    infos[s] = info
                stock[s] = self.repo.stock(s, reads.get(sku_key(s, "STOCK")))
        coupon: Coupon | None = None
        if code and reads is not None:
            coupon = self.repo.coupon(reads.get(coupon_key(code)))
            if coupon is None and strict:
                raise Unprocessable("no such coupon", code="COUPON_NOT_FOUND")
            if coupon is not None and strict and user_id:
                mine = reads.get(coupon_key(code, f"USER#{user_id}")) or {}
                if int(mine.get("used", 0)) >= coupon.per_user_limit:
                    raise Conflict("you have already used this coupon", code="COUPON_LIMIT_REACHED")
        now = self.clock()
        running = [p for p in (i.running_promotion(now) for i in infos.values()) if p is not None]
        shards = self.repo.shard_remaining(running, consistent)
        remaining = {pid: sum(left.values()) for pid, left in shards.items()}
        self._coupon = coupon
        priced = price_cart(stored, infos, stock, remaining, coupon, now, strict_coupon=strict)
        if code and coupon is None:
            priced.cart.coupon_error = "COUPON_NOT_FOUND"
        self._shards = shards
        return priced

    # --- checkout ---------------------------------------------------------------------------------------------------

    def checkout(
        self, user_id: str, key: str | None, data: CheckoutInput, guest_token: str | None, email: str | None = None
    ) -> tuple[Order, bool]:
        """Place an order from the shopper's cart. Returns the order and whether it is a replay of an earlier
        request with the same Idempotency-Key (same body: the same order; another body: refused). ``email`` is the
        shopper's, from their sign-in, kept on the order as its contact email."""
        key = str(check_key(key))
        digest = request_hash(data.digest_body())
        owner = f"U#{user_id}"
        keys = [cart_key(owner), idem_key(user_id, key)]
        if guest_token:
            keys.append(cart_key(f"G#{guest_token}"))
        if data.address_id:
            # The shopper's own partition: another shopper's address_id is simply not found. Same request.
            keys.append(address_key(user_id, data.address_id))
        reads = self.repo.batch_get(keys, consistent=True)
        earlier = reads.get(idem_key(user_id, key))
        if earlier:
            return self._replay(user_id, earlier, digest), True
        address = data.address
        if data.address_id:
            saved = self.repo.saved_address(reads.get(address_key(user_id, data.address_id)))
            if saved is None:
                raise Unprocessable("no such saved address", code="ADDRESS_NOT_FOUND")
            address = saved.for_order()
        if address is None:  # cannot happen: CheckoutInput holds exactly one of the two
            raise Unprocessable("an address is required", code="ADDRESS_NOT_FOUND")
        self._dropped = []
        stored = self.repo.cart(owner, reads.get(cart_key(owner)))
        guest = reads.get(cart_key(f"G#{guest_token}")) if guest_token else None
        if guest:
            self._merge(stored, self.repo.cart(f"G#{guest_token}", guest))
        try:
            for _attempt in range(PLACE_ATTEMPTS):
                placement = self._placement(user_id, key, digest, stored, data, address, email)
                try:
                    self.repo.place(placement)
                    return placement.order, False
                except PlacementFailed as failed:
                    replayed = self._explain(failed, user_id, key, digest)
                    if replayed is not None:
                        return replayed, True
        except AppError:
            # A request with the same key that committed meanwhile took the stock, the cart or the coupon use this
            # one is now refused for: answer as its replay, not with the refusal.
            earlier = self.repo.idempotency(user_id, key)
            if earlier:
                return self._replay(user_id, earlier, digest), True
            raise
        raise Conflict("the shop is very busy; try again", code="TRY_AGAIN", headers={"Retry-After": "1"})

    def _replay(self, user_id: str, earlier: dict[str, Any], digest: str) -> Order:
        if earlier.get("request_hash") != digest:
            raise Unprocessable(
                "this Idempotency-Key was used with another request body", code="IDEMPOTENCY_KEY_REUSED"
            )
        order = self.repo.get_order(str(earlier["order_id"]))
        if order is None or order.user_id != user_id:  # cannot happen: written in one transaction
            raise Conflict("the earlier request is not finished", code="IDEMPOTENCY_IN_PROGRESS")
        return order

    def _placement(
        self,
        user_id: str,
        key: str,
        digest: str,
        stored: StoredCart,
        data: CheckoutInput,
        address: AddressInput,
        email: str | None = None,
    ) -> Placement:
        priced = self._price(stored, user_id, data.coupon_code, strict=True, consistent=True)
        require_checkout_ready(priced)
        now = self.clock()
        reservations: dict[str, int] = {}
        takes: list[Take] = []
        buys: dict[str, tuple[int, int]] = {}
        lines: list[OrderLine] = []
        for line in priced.order_lines:
            promo = priced.promotion_lines.get(line.sku)
            if promo is None:
                reservations[line.sku] = reservations.get(line.sku, 0) + line.quantity
                lines.append(line)
                continue
            if line.quantity > promo.per_user_limit:
                raise Unprocessable(
                    f"this flash sale allows at most {promo.per_user_limit} per shopper",
                    code="PROMOTION_LIMIT_EXCEEDED",
                    details=[{"sku": line.sku, "max_quantity": promo.per_user_limit}],
                )
            allocation = allocate(self._shards.get(promo.promotion_id, {}), line.quantity)
            if allocation is None:
                raise Conflict("this flash sale is sold out", code="SOLD_OUT", details=[{"sku": line.sku}])
            takes += [Take(promo.promotion_id, k, q) for k, q in allocation]
            buys[promo.promotion_id] = (line.quantity, promo.per_user_limit)
            lines.append(line.model_copy(update={"promotion_shards": {str(k): q for k, q in allocation}}))
        order = Order(
            order_id=prefixed("ord"),
            user_id=user_id,
            status=OrderStatus.PENDING_PAYMENT,
            lines=lines,
            totals=priced.cart.totals,
            coupon_code=priced.cart.coupon.code if priced.cart.coupon else None,
            address=address,
            contact_email=email or None,
            note=data.note,
            created_at=now,
            updated_at=now,
            payment_due_at=now + timedelta(seconds=payment_window_s()),
            history=[StatusChange(status=OrderStatus.PENDING_PAYMENT, at=now)],
        )
        coupon = self._coupon if order.coupon_code else None
        return Placement(
            order=order,
            request_hash=digest,
            idempotency_key=key,
            cart_owner=stored.owner,
            cart_version=stored.version,
            reservations=reservations,
            takes=takes,
            promo_buys=buys,
            coupon=coupon,
            event=OrderPlaced(order=order),
            now_epoch=_epoch(now),
        )

    def _explain(self, failed: PlacementFailed, user_id: str, key: str, digest: str) -> Order | None:
        """Turn a cancelled checkout transaction into the right error; the earlier order when a concurrent request
        with the same key won; None to try again."""
        reasons = set(failed.failed)
        if "idempotency" in reasons:
            # A concurrent request with the same key won: answer as its replay would.
            earlier = self.repo.idempotency(user_id, key)
            if earlier:
                return self._replay(user_id, earlier, digest)
        stock = sorted(r.split(":", 1)[1] for r in reasons if r.startswith("stock:"))
        if stock:
            raise Conflict(
                "some items are not available in the quantity asked",
                code="OUT_OF_STOCK",
                details=[{"sku": s, "issue": "out_of_stock"} for s in stock],
            )
        if any(r.startswith("promo_user:") for r in reasons):
            raise Conflict("you have already bought your share of this flash sale", code="PROMOTION_LIMIT_REACHED")
        if "coupon" in reasons:
            raise Conflict("this coupon has been used up", code="COUPON_EXHAUSTED")
        if "coupon_user" in reasons:
            raise Conflict("you have already used this coupon", code="COUPON_LIMIT_REACHED")
        if "cart" in reasons:
            raise Conflict("the cart changed while checking out; review it and try again", code="CART_CHANGED")
        # A flash-sale shard ran dry between the read and the write, or a transaction conflict: try again with
        # fresh (consistent) reads.
        return None

    # --- orders ---------------------------------------------------------------------------------------------------

    def get_order(self, order_id: str, user_id: str | None) -> Order:
        order = self.repo.get_order(order_id, consistent=True)  # right after a 201, the order must be there
        if order is None or (user_id is not None and order.user_id != user_id):
            raise NotFound("no such order", code="ORDER_NOT_FOUND")
        return order

    def list_orders(self, user_id: str, limit: int, page: str | None) -> OrderPage:
        fp = cursor.fingerprint(user=user_id, list="orders")
        items, last = self.repo.orders_of(user_id, limit, cursor.decode(page, fp))
        return OrderPage(items=items, next_cursor=cursor.encode(last, fp))

    def admin_orders(
        self,
        status: OrderStatus | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        page: str | None,
    ) -> OrderPage:
        fp = cursor.fingerprint(
            status=status.value if status else None,
            start=start.isoformat() if start else None,
            end=end.isoformat() if end else None,
        )
        position = cursor.decode(page, fp)
        if position:
            # The range as the first page resolved it (a default "to" is "now" at that moment, not at each page).
            low, high = str(position["l"]), str(position["h"])
        else:
            end = end or self.clock()
            start = start or end - timedelta(days=ADMIN_DEFAULT_DAYS)
            if start > end:
                raise Unprocessable("from is after to", code="INVALID_DATE_RANGE")
            if end - start > timedelta(days=MAX_ADMIN_RANGE_DAYS):
                raise Unprocessable(f"ask for at most {MAX_ADMIN_RANGE_DAYS} days at a time", code="RANGE_TOO_LONG")
            low, high = sortable(start), sortable(end) + "~"

        def next_page(month: str | None, before: str | None) -> str | None:
            return cursor.encode({"m": month, "b": before, "l": low, "h": high}, fp)

        if status is not None:
            before = position.get("b") if position else None
            items, last = self.repo.orders_in(("by_status", f"STATUS#{status.value}"), low, high, limit, before)
            return OrderPage(items=items, next_cursor=next_page(None, last) if last else None)
        # No status: walk the month partitions from the newest, carrying (month, last key) in the cursor.
        months = _months_between(_parse_sortable(low), _parse_sortable(high.rstrip("~")))
        month = str(position["m"]) if position and position.get("m") else months[0]
        if month not in months:
            raise BadRequest("cursor is invalid or belongs to another query", code="INVALID_CURSOR")
        before = position.get("b") if position else None
        found: list[Order] = []
        for m in months[months.index(month) :]:
            items, last = self.repo.orders_in(("by_kind", f"ORDERS#{m}"), low, high, limit - len(found), before)
            found += items
            before = None
            if last:
                return OrderPage(items=found, next_cursor=next_page(m, last))
            if len(found) >= limit:
                later = months[months.index(m) + 1 :]
                return OrderPage(items=found, next_cursor=next_page(later[0], None) if later else None)
        return OrderPage(items=found, next_cursor=None)

    # --- the partner API -------------------------------------------------------------------------------------------

    def partner_order(self, app_key: str, order_id: str) -> PartnerOrder:
        from functions.checkout.partner import for_partner

        return for_partner(self.get_order(order_id, None), app_key)

    def partner_orders(self, app_key: str, updated_since: str | None, limit: int, page: str | None) -> PartnerOrderPage:
        """The order change feed (functions.checkout.feed): orders changed after the position that ``page`` holds,
        or at or after ``updated_since`` on a first call, oldest change first, never past the settle horizon."""
        from functions.checkout.partner import PartnerOrderPage, for_partner

        now = self.clock()
        fp = cursor.fingerprint(list="partner_orders", app=app_key)
        state = cursor.decode(page, fp)
        if state:
            position = str(state["p"])
            check_resumable(position, now)
        elif updated_since is None:
            raise Unprocessable(
                "request is invalid", details=[{"field": "updated_since", "issue": "updated_since is required"}]
            )
        else:
            position = position_since(parse_since(updated_since, now))
        horizon = now - timedelta(seconds=SETTLE_S)
        found = walk_feed(position, position_until(horizon), limit, self.repo.feed_day)
        resume = str(cursor.encode({"p": found.position}, fp))
        return PartnerOrderPage(
            items=[for_partner(order, app_key) for _key, order in found.entries],
            next_cursor=resume if found.more else None,
            resume_cursor=resume,
            settled_until=horizon,
        )

    def cancel(self, order_id: str, user_id: str | None, by: str, reason: str = "") -> Order:
        """Cancel before shipment: reserved stock back on sale, an unpaid order's coupon use given back, exactly
        once whoever else (an expiry, a payment, a second click) races it."""
        for _attempt in range(PLACE_ATTEMPTS):
            order = self.repo.get_order(order_id)
            if order is None or (user_id is not None and order.user_id != user_id):
                raise NotFound("no such order", code="ORDER_NOT_FOUND")
            if order.status is OrderStatus.CANCELLED:
                return order
            if order.status not in CANCELLABLE:
                check_transition(order.status, OrderStatus.CANCELLED)
            if order.shipment_ids:
                # A parcel is on its way: cancelling would refund and put back on sale units that have left.
                raise Conflict("part of this order has already been dispatched", code="ORDER_PARTLY_SHIPPED")
            release = self._release(order, by, reason or f"cancelled by {by}")
            if self.repo.release(release):
                return release.new
        raise Conflict("the order is changing; try again", code="TRY_AGAIN")

    def expire(self, order_id: str) -> float | None:
        """The payment window's timer. Returns the seconds still to wait, or None when done (expired now, or no
        longer waiting for payment)."""
        for _attempt in range(PLACE_ATTEMPTS):
            order = self.repo.get_order(order_id)
            if order is None or order.status is not OrderStatus.PENDING_PAYMENT:
                return None
            # A payment confirmed at the window's last second still travels through events: give it a moment.
            wait = (order.payment_due_at - self.clock()).total_seconds() + PAYMENT_ARRIVAL_GRACE_S
            if wait > 0:
                return wait
            if self.repo.release(self._release(order, "payment_window", "payment window expired")):
                return None
        return 1.0

    def record_payment(self, order_id: str, payment_id: str, amount: int, currency: str, paid_at: datetime) -> str:
        """A payment succeeded (PaymentSucceeded from the payments context). The order becomes ``paid`` only from
        ``pending_payment`` and for its exact total; otherwise the payment is rejected, and the payments context
        refunds it. Returns what happened (for the log): paid, duplicate, or the rejection reason."""
        for _attempt in range(PLACE_ATTEMPTS):
            order = self.repo.get_order(order_id)
            if order is None:
                raise NotFound(f"order {order_id} is not known (yet)", code="ORDER_NOT_FOUND")
            if order.payment_id == payment_id:
                return "duplicate"
            reason: str | None = None
            if order.status is OrderStatus.CANCELLED:
                reason = "order_cancelled"
            elif order.status is not OrderStatus.PENDING_PAYMENT:
                reason = "already_paid"
            elif amount != order.totals.total.amount or currency != order.totals.total.currency:
                reason = "amount_mismatch"
            if reason is not None:
                rejected = PaymentRejected(order_id=order_id, payment_id=payment_id, reason=reason)  # type: ignore[arg-type]
                self.repo.publish(rejected)
                return reason
            now = self.clock()
            new = order.model_copy(
                update={
                    "status": OrderStatus.PAID,
                    "payment_id": payment_id,
                    "paid_at": paid_at,
                    "updated_at": next_updated_at(order, now),
                    "version": order.version + 1,
                    "history": [*order.history, StatusChange(status=OrderStatus.PAID, at=now)],
                }
            )
            if self.repo.transition(order, new, OrderPaid(order=new)):
                return "paid"
        raise Conflict("the order is changing; try again", code="TRY_AGAIN")

    def expire_overdue(self, limit: int = 200) -> list[str]:
        """The backstop of the payment-window timer: expire orders whose window ended more than a grace period ago
        and are still unpaid (their timer message was lost to the dead-letter queue, say)."""
        cutoff = self.clock() - timedelta(seconds=payment_window_s() + OVERDUE_GRACE_S)
        expired = []
        for order_id in self.repo.pending_created_before(cutoff, limit):
            if self.expire(order_id) is None:
                expired.append(order_id)
        return expired

    def _release(self, order: Order, by: str, reason: str) -> Release:
        now = self.clock()
        reservations: dict[str, int] = {}
        shard_returns: list[Take] = []
        settled_returns: dict[str, int] = {}
        buys: dict[str, int] = {}
        for line in order.lines:
            if not line.promotion_id:
                reservations[line.sku] = reservations.get(line.sku, 0) + line.quantity
                continue
            buys[line.promotion_id] = buys.get(line.promotion_id, 0) + line.quantity
            shards = {int(k): q for k, q in line.promotion_shards.items()}
            settled = self.repo.shards_settled(line.promotion_id, shards)
            for k, q in shards.items():
                if settled[k]:
                    settled_returns[line.sku] = settled_returns.get(line.sku, 0) + q
                else:
                    shard_returns.append(Take(line.promotion_id, k, q))
        unpaid = order.status is OrderStatus.PENDING_PAYMENT
        new = order.model_copy(
            update={
                "status": OrderStatus.CANCELLED,
                "updated_at": next_updated_at(order, now),
                "cancel_reason": reason,
                "version": order.version + 1,
                "history": [*order.history, StatusChange(status=OrderStatus.CANCELLED, at=now, reason=reason)],
            }
        )
        return Release(
            old=order,
            new=new,
            reservations=reservations,
            shard_returns=shard_returns,
            settled_returns=settled_returns,
            promo_buys=buys,
            coupon_back=order.coupon_code if unpaid else None,
            event=OrderCancelled(order=new, cancelled_by=by, refund_due=not unpaid),  # type: ignore[arg-type]
        )

    # --- fulfilment (from the shipping context's events) ------------------------------------------------------------

    def record_fulfilment(
        self,
        order_id: str,
        target: OrderStatus,
        shipment_id: str | None = None,
        shipped: Iterable[tuple[str, int]] = (),
        delivered_at: datetime | None = None,
    ) -> str:
        """Move an order forward to ``target`` (fulfilling, shipped or delivered) from a shipping event. Events arrive
        late, early or twice: the order goes forward through every step between in one write (one history entry and
        one event per step), never backwards, and an event it has seen changes nothing. A dispatched parcel
        (``shipment_id`` with the ``shipped`` SKU/units) takes its units of regular lines out of reserved stock once,
        in the same write, whether or not the status moves. A cancelled order is left as it is.

        Returns what happened (for the log): the new status, ``shipment_recorded``, ``duplicate`` or ``cancelled``."""
        for _attempt in range(PLACE_ATTEMPTS):
            order = self.repo.get_order(order_id)
            if order is None:
                raise NotFound(f"order {order_id} is not known (yet)", code="ORDER_NOT_FOUND")
            if order.status is OrderStatus.CANCELLED:
                return "cancelled"
            path = forward_path(order.status, target) or []  # None: the order is further on already
            if OrderStatus.PAID in path:
                # Shipping starts from OrderPaid, so this cannot be; retried (and dead-lettered) rather than guessed.
                raise Conflict(f"order {order_id} is not paid", code="ORDER_NOT_PAID")
            new_parcel = shipment_id is not None and shipment_id not in order.shipment_ids
            if not path and not new_parcel:
                return "duplicate"
            now = self.clock()
            update: dict[str, Any] = {
                "status": path[-1] if path else order.status,
                "updated_at": next_updated_at(order, now),
                "version": order.version + 1,
                "history": [*order.history, *(StatusChange(status=step, at=now) for step in path)],
            }
            if OrderStatus.SHIPPED in path:
                update["shipped_at"] = now
            if OrderStatus.DELIVERED in path:
                update["delivered_at"] = delivered_at or now
            units: dict[str, int] = {}
            if new_parcel:
                update["shipment_ids"] = [*order.shipment_ids, shipment_id]
                units = reserved_units_shipped(order, shipped)
            new = order.model_copy(update=update)
            events: list[DomainEvent] = [STEP_EVENTS[step](order=new) for step in path]
            if self.repo.advance(order, new, events, units):
                return new.status.value if path else "shipment_recorded"
        raise Conflict("the order is changing; try again", code="TRY_AGAIN")

    def complete_delivered(self, limit: int = COMPLETE_PER_RUN) -> list[str]:
        """The return window's end: delivered orders delivered more than RETURN_WINDOW_DAYS ago become completed
        (found on the ``by_due`` index, never by a scan)."""
        window = timedelta(days=return_window_days())
        completed = []
        for order_id in self.repo.delivered_before(self.clock() - window, limit):
            if self._complete(order_id, window):
                completed.append(order_id)
        return completed

    def _complete(self, order_id: str, window: timedelta) -> bool:
        for _attempt in range(PLACE_ATTEMPTS):
            order = self.repo.get_order(order_id)  # the index is eventually consistent: decide on the order itself
            if order is None or order.status is not OrderStatus.DELIVERED or order.delivered_at is None:
                return False
            now = self.clock()
            if order.delivered_at + window > now:
                return False
            new = order.model_copy(
                update={
                    "status": OrderStatus.COMPLETED,
                    "completed_at": now,
                    "updated_at": next_updated_at(order, now),
                    "version": order.version + 1,
                    "history": [*order.history, StatusChange(status=OrderStatus.COMPLETED, at=now)],
                }
            )
            if self.repo.transition(order, new, OrderCompleted(order=new)):
                return True
        return False

    # --- stock ------------------------------------------------------------------------------------------------------

    def record_stock_movement(
        self, movement_id: str, sku: str, sellable_delta: int, snapshot: StockSnapshot | None = None
    ) -> str:
        """A physical stock movement in the shipping context: its ``sellable_delta`` applied to the SKU's sellable
        stock exactly once per ``movement_id`` (a transfer's 0 needs no record), then the warehouse snapshot kept
        if it is newer. Returns ``applied``, ``duplicate`` or ``no_change`` (for the log)."""
        sku = sku.upper()
        outcome = "no_change"
        if sellable_delta:
            for _attempt in range(PLACE_ATTEMPTS):
                applied = self.repo.record_stock_movement(sku, movement_id, sellable_delta, _epoch(self.clock()))
                if applied is not None:
                    outcome = "applied" if applied else "duplicate"
                    break
            else:
                raise Conflict("the stock is changing; try again", code="TRY_AGAIN")
        # After the delta, and on a duplicate too: a redelivery after a failure here still brings the snapshot.
        if snapshot is not None:
            self.apply_stock_snapshots([snapshot])
        return outcome

    def project_address(self, user_id: str, address: SavedAddress) -> bool:
        """Keep the checkout's copy of a saved address (or its tombstone) when its version is newer."""
        return self.repo.project_address(user_id, address)

    def apply_stock_snapshots(self, snapshots: Iterable[StockSnapshot]) -> int:
        """Keep the shipping context's per-warehouse stock of each SKU when newer than the copy held; returns how
        many replaced one (older and repeated snapshots change nothing)."""
        applied = 0
        for snapshot in snapshots:
            if self.repo.apply_stock_snapshot(snapshot.model_copy(update={"sku": snapshot.sku.upper()})):
                applied += 1
        return applied

    def inventory(self, sku: str) -> InventoryView:
        info, data, _rev = self.repo.stock_view(sku.upper())
        if info is None:
            raise NotFound("no such SKU", code="SKU_NOT_FOUND")
        sellable = int(data.get("sellable", 0))
        warehouses = [WarehouseStock.model_validate(w) for w in data.get("warehouses", [])]
        version = data.get("warehouse_version")
        return InventoryView(
            sku=info.sku,
            sellable=max(0, sellable),
            short=max(0, -sellable),
            reserved=int(data.get("reserved", 0)),
            in_promotions=int(data.get("in_promotions", 0)),
            warehouses=warehouses,
            on_hand=sum(w.on_hand for w in warehouses),
            allocated=sum(w.allocated for w in warehouses),
            available=sum(w.available for w in warehouses),
            warehouse_version=None if version is None else int(version),
        )

    # --- coupons ----------------------------------------------------------------------------------------------------

    def create_coupon(self, body: CouponInput) -> Coupon:
        currency = shop_currency()
        for money in (body.amount_off, body.max_discount, body.min_spend):
            if money is not None and money.currency != currency:
                raise Unprocessable(f"coupon amounts must be in {currency}", code="WRONG_CURRENCY")
        if body.ends_at <= self.clock():
            raise Unprocessable("this coupon would already have ended", code="COUPON_ALREADY_ENDED")
        coupon = Coupon(**body.model_dump(), used=0, created_at=self.clock())
        self.repo.add_coupon(coupon)
        return coupon

    def list_coupons(self, limit: int, page: str | None) -> CouponPage:
        fp = cursor.fingerprint(list="coupons")
        items, last = self.repo.by_kind("COUPON", limit, cursor.decode(page, fp))
        coupons = [c for c in (self.repo.coupon(i) for i in items) if c is not None]
        return CouponPage(items=coupons, next_cursor=cursor.encode(last, fp))

    # --- flash sales ------------------------------------------------------------------------------------------------

    def create_promotion(self, body: PromotionInput) -> Promotion:
        now = self.clock()
        sku = body.sku.upper()
        info, _stock, rev = self.repo.stock_view(sku)
        if info is None or not info.active:
            raise NotFound("no such SKU on sale", code="SKU_NOT_FOUND")
        if body.price.currency != info.price.currency:
            raise Unprocessable(f"the price must be in {info.price.currency}", code="WRONG_CURRENCY")
        if body.price.amount >= info.price.amount:
            raise Unprocessable("a flash-sale price must be below the regular price", code="PRICE_NOT_LOWER")
        if body.ends_at <= now:
            raise Unprocessable("this flash sale would already have ended", code="PROMOTION_ALREADY_ENDED")
        for other in info.promotions.values():
            if other.starts_at < body.ends_at and body.starts_at < other.ends_at:
                raise Conflict(
                    "another flash sale on this SKU overlaps that window",
                    code="PROMOTION_OVERLAP",
                    details=[{"promotion_id": other.promotion_id}],
                )
        promotion = Promotion(
            promotion_id=prefixed("prm"),
            name=body.name,
            sku=sku,
            product_id=info.product_id,
            product_name=info.product_name,
            price=body.price,
            regular_price=info.price,
            quantity=body.quantity,
            remaining=body.quantity,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            per_user_limit=body.per_user_limit,
            shards=shards_for(body.quantity, body.expected_peak_per_second),
            created_at=now,
        )
        self.repo.create_promotion(promotion, rev, PromotionCreated(promotion=promotion))
        return promotion.with_status(now)

    def _with_remaining(self, promotions: list[Promotion]) -> list[Promotion]:
        now = self.clock()
        open_ = [p for p in promotions if not p.settled]
        left = self.repo.shard_remaining([p.ref() for p in open_])
        out = []
        for p in promotions:
            remaining = 0 if p.settled else sum(left.get(p.promotion_id, {}).values())
            out.append(p.with_status(now).model_copy(update={"remaining": remaining}))
        return out

    def current_promotions(self, limit: int) -> PromotionList:
        """The storefront's flash sales: running and coming ones, soonest ending first."""
        found = self.repo.open_promotions(None, self.clock(), limit)
        return PromotionList(items=self._with_remaining(found))

    def list_promotions(self, limit: int, page: str | None) -> PromotionList:
        fp = cursor.fingerprint(list="promotions")
        items, last = self.repo.by_kind("PROMOTION", limit, cursor.decode(page, fp))
        promotions = [p for p in (self.repo.promotion(i) for i in items) if p is not None]
        return PromotionList(items=self._with_remaining(promotions), next_cursor=cursor.encode(last, fp))

    def settle_promotions(self) -> list[str]:
        """Close the flash sales that have ended: their unsold units go back to sellable stock."""
        settled = []
        for promotion in self.repo.open_promotions(self.clock(), None, 25):

            def event(sold: int, returned: int, p: Promotion = promotion) -> PromotionSettled:
                return PromotionSettled(promotion_id=p.promotion_id, sku=p.sku, sold=sold, returned=returned)

            if self.repo.settle_promotion(promotion, event) is not None:
                settled.append(promotion.promotion_id)
        return settled


def _parse_sortable(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _months_between(start: datetime, end: datetime) -> list[str]:
    """``yyyy-mm`` of every month from ``end`` back to ``start``, newest first."""
    months = []
    year, month = end.year, end.month
    while (year, month) >= (start.year, start.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def service() -> CheckoutService:
    from functions.shared.aws import client
    from functions.shared.settings import table_name

    return CheckoutService(DynamoCheckoutRepository(client("dynamodb"), table_name("checkout")))
