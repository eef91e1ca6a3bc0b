"""The checkout's domain model and rules: plain pydantic and functions, no I/O, so tests run them without AWS.

Rules held here:
* a cart has at most ``MAX_CART_LINES`` lines, each of quantity 1..``MAX_LINE_QUANTITY``;
* prices are always the catalogue's current prices (the checkout's own copy, :class:`SkuInfo`, kept by events),
  or, inside a flash sale's window, the flash-sale price; never a price a client sent;
* totals: subtotal (sum of lines) - coupon discount + shipping fee (flat, free from a threshold) = total;
* a coupon applies to the lines in its scope that are not flash-sale lines, from its minimum spend, inside its window;
* the order life cycle (DESIGN.md §5a) is :data:`TRANSITIONS`; every other change of status is refused; the
  shipping context's events move an order only forward along it (:func:`forward_path`), possibly several steps;
* sellable stock follows the warehouses (the shipping context's movements) and may go below zero when they lose
  units open orders had reserved: it is shown as 0 with the units ``short``, and nothing can be bought then.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from functions.shared.errors import Conflict, NotFound, Unprocessable
from functions.shared.money import MAX_AMOUNT, Money
from functions.shared.text import plain_line, plain_paragraphs

MAX_CART_LINES = 50
MAX_LINE_QUANTITY = 99
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
COUPON_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$"

Sku = Annotated[str, Field(pattern=SKU_PATTERN, examples=["HW-P60-BLK-256"])]
Quantity = Annotated[StrictInt, Field(ge=1, le=MAX_LINE_QUANTITY, examples=[1])]
CouponCode = Annotated[str, Field(pattern=COUPON_PATTERN, examples=["WELCOME10"])]


EARLIEST_YEAR, LATEST_YEAR = 2000, 9000  # times outside are typos, and would overflow time arithmetic near 9999


def check_time(moment: datetime, name: str) -> datetime:
    """A time a client sends: with a time zone, and in a sane range (raises ValueError, a 422 through pydantic)."""
    if moment.tzinfo is None:
        raise ValueError(f"{name} needs a time zone (ISO-8601 with Z or an offset)")
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"{name} must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return moment


class Strict(BaseModel):
    """Request bodies: unknown fields (a client's ``price``, ``status`` or ``user_id``) are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- settings (per stage, from the environment, read when used) ---------------------------------------------------


def payment_window_s() -> int:
    return int(os.environ.get("PAYMENT_WINDOW_SECONDS", "900"))


def shipping_fee() -> int:
    return int(os.environ.get("SHIPPING_FEE_AMOUNT", "1000"))


def free_shipping_from() -> int:
    return int(os.environ.get("FREE_SHIPPING_FROM_AMOUNT", "9900"))


def shop_currency() -> str:
    return os.environ.get("SHOP_CURRENCY", "CNY")


def return_window_days() -> int:
    """Days after delivery in which a shopper may return goods; a delivered order is completed after them."""
    return int(os.environ.get("RETURN_WINDOW_DAYS", "7"))


# --- the checkout's copy of the catalogue --------------------------------------------------------------------------


class PromotionRef(BaseModel):
    """A flash sale on a SKU as the SKU record carries it, so pricing a cart needs no extra read."""

    promotion_id: str
    price: Money
    starts_at: datetime
    ends_at: datetime
    per_user_limit: int
    shards: int

    def running(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


class SkuInfo(BaseModel):
    """What checkout knows of a SKU: projected from ProductCreated/Updated/Archived (functions.checkout.projector)."""

    sku: str
    product_id: str
    product_name: str
    options: dict[str, str] = Field(default_factory=dict)
    price: Money
    image_url: str | None = None
    brand_id: str = ""
    category_path: list[str] = Field(default_factory=list)
    active: bool
    product_version: int
    promotions: dict[str, PromotionRef] = Field(default_factory=dict)

    def running_promotion(self, now: datetime) -> PromotionRef | None:
        for promo in self.promotions.values():
            if promo.running(now):
                return promo
        return None


class Stock(BaseModel):
    sku: str
    sellable: int = 0
    reserved: int = 0


# --- cart -------------------------------------------------------------------------------------------------------


class CartLineInput(Strict):
    sku: Sku
    quantity: Quantity


class QuantityInput(Strict):
    quantity: Quantity


class StoredLine(BaseModel):
    sku: str
    quantity: int
    added_at: datetime


class StoredCart(BaseModel):
    """The cart as stored: SKUs and quantities only. Prices are looked up every time it is shown or checked out."""

    owner: str  # "U#<user_id>" or "G#<cart token>"
    lines: list[StoredLine] = Field(default_factory=list)
    version: int = 0
    updated_at: datetime | None = None

    def quantity_of(self, sku: str) -> int:
        return next((line.quantity for line in self.lines if line.sku == sku), 0)

    def set(self, sku: str, quantity: int, now: datetime) -> None:
        for line in self.lines:
            if line.sku == sku:
                line.quantity = quantity
                return
        if len(self.lines) >= MAX_CART_LINES:
            raise Unprocessable(f"a cart holds at most {MAX_CART_LINES} lines", code="CART_FULL")
        self.lines.append(StoredLine(sku=sku, quantity=quantity, added_at=now))

    def add(self, sku: str, quantity: int, now: datetime) -> None:
        total = self.quantity_of(sku) + quantity
        if total > MAX_LINE_QUANTITY:
            raise Unprocessable(
                f"at most {MAX_LINE_QUANTITY} of one SKU per cart (you have {self.quantity_of(sku)})",
                code="QUANTITY_LIMIT",
            )
        self.set(sku, total, now)

    def remove(self, sku: str) -> bool:
        before = len(self.lines)
        self.lines = [line for line in self.lines if line.sku != sku]
        return len(self.lines) != before

    def merge(self, guest: StoredCart, now: datetime) -> list[str]:
        """Fold a guest cart into this one at sign-in: quantities add up (capped at the line limit); lines that do
        not fit are dropped and returned, so the shopper can be told."""
        dropped: list[str] = []
        for line in guest.lines:
            total = min(MAX_LINE_QUANTITY, self.quantity_of(line.sku) + line.quantity)
            if self.quantity_of(line.sku) == 0 and len(self.lines) >= MAX_CART_LINES:
                dropped.append(line.sku)
                continue
            self.set(line.sku, total, now)
        return dropped


Availability = Literal["in_stock", "insufficient_stock", "out_of_stock", "unavailable", "sold_out", "over_limit"]


class CartLine(BaseModel):
    sku: str
    product_id: str | None = None
    name: str | None = None
    options: dict[str, str] = Field(default_factory=dict)
    image_url: str | None = None
    quantity: int
    unit_price: Money | None = None
    regular_price: Money | None = Field(default=None, description="The catalogue price when a flash sale applies")
    line_total: Money | None = None
    promotion_id: str | None = None
    availability: Availability
    max_quantity: int = Field(description="How many of this SKU can be bought now (0..99)")
    in_coupon_scope: bool = False


class Totals(BaseModel):
    subtotal: Money
    discount: Money
    shipping: Money
    total: Money


class CouponApplied(BaseModel):
    code: str
    discount: Money


class Cart(BaseModel):
    lines: list[CartLine]
    totals: Totals
    coupon: CouponApplied | None = None
    coupon_error: str | None = Field(default=None, description="Why the coupon asked for does not apply")
    cart_token: str | None = Field(default=None, description="A guest cart's token: send it as X-Cart-Token")
    checkout_ready: bool = Field(description="Every line can be bought as it is")
    dropped_skus: list[str] = Field(default_factory=list, description="Guest lines that did not fit when merging")


# --- coupons ------------------------------------------------------------------------------------------------------


class CouponKind(StrEnum):
    PERCENTAGE = "percentage"
    FIXED = "fixed"


class CouponInput(Strict):
    code: CouponCode
    kind: CouponKind
    percent_off: Annotated[StrictInt, Field(ge=1, le=100)] | None = None
    amount_off: Money | None = None
    max_discount: Money | None = Field(default=None, description="Cap on a percentage discount")
    min_spend: Money | None = None
    starts_at: datetime
    ends_at: datetime
    usage_limit: Annotated[StrictInt, Field(ge=1, le=10_000_000)]
    per_user_limit: Annotated[StrictInt, Field(ge=1, le=1000)] = 1
    category_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=20)
    product_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=50)
    description: Annotated[str, Field(max_length=500)] = ""

    _clean = field_validator("description")(plain_paragraphs)

    @field_validator("code")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        # The zone first: comparing a naive and an aware time raises TypeError, which pydantic does not turn into a
        # validation error (a 500 instead of a 422).
        check_time(self.starts_at, "starts_at")
        check_time(self.ends_at, "ends_at")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.kind is CouponKind.PERCENTAGE and (self.percent_off is None or self.amount_off is not None):
            raise ValueError("a percentage coupon has percent_off and no amount_off")
        if self.kind is CouponKind.FIXED and (self.amount_off is None or self.percent_off is not None):
            raise ValueError("a fixed coupon has amount_off and no percent_off")
        if self.kind is CouponKind.FIXED and self.max_discount is not None:
            raise ValueError("max_discount applies to percentage coupons only")
        if self.amount_off is not None and self.amount_off.amount == 0:
            raise ValueError("amount_off must be above zero")
        return self


class Coupon(BaseModel):
    code: str
    kind: CouponKind
    percent_off: int | None = None
    amount_off: Money | None = None
    max_discount: Money | None = None
    min_spend: Money | None = None
    starts_at: datetime
    ends_at: datetime
    usage_limit: int
    per_user_limit: int
    used: int = 0
    category_ids: list[str] = Field(default_factory=list)
    product_ids: list[str] = Field(default_factory=list)
    description: str = ""
    created_at: datetime

    def in_scope(self, info: SkuInfo) -> bool:
        if not self.category_ids and not self.product_ids:
            return True
        return info.product_id in self.product_ids or bool(set(self.category_ids) & set(info.category_path))

    def check_window(self, now: datetime) -> None:
        if now < self.starts_at:
            raise Unprocessable("this coupon is not valid yet", code="COUPON_NOT_STARTED")
        if now >= self.ends_at:
            raise Unprocessable("this coupon has expired", code="COUPON_EXPIRED")
        if self.used >= self.usage_limit:
            raise Conflict("this coupon has been used up", code="COUPON_EXHAUSTED")

    def discount_on(self, eligible: Money) -> Money:
        """The discount on the eligible subtotal; raises when the coupon cannot apply to it."""
        if eligible.amount == 0:
            raise Unprocessable("no item in the cart is covered by this coupon", code="COUPON_NOT_APPLICABLE")
        if self.min_spend is not None and eligible.amount < self.min_spend.amount:
            raise Unprocessable(
                f"this coupon needs a spend of at least {self.min_spend.amount} on eligible items",
                code="COUPON_MIN_SPEND",
            )
        if self.kind is CouponKind.PERCENTAGE:
            amount = eligible.amount * (self.percent_off or 0) // 100  # rounds down: never more than promised
            if self.max_discount is not None:
                amount = min(amount, self.max_discount.amount)
        else:
            amount = min(self.amount_off.amount if self.amount_off else 0, eligible.amount)
        return Money(amount=amount, currency=eligible.currency)


class CouponPage(BaseModel):
    items: list[Coupon]
    next_cursor: str | None = None


# --- flash sales --------------------------------------------------------------------------------------------------

# Writes one DynamoDB item sustains in transactions (AWS documents ~1,000 WCU/s per partition; transactions cost two
# writes each, so ~500/s), with headroom: the figure the shard count is designed against.
SHARD_TX_PER_SECOND = 400
MAX_SHARDS = 50


def shards_for(quantity: int, peak_per_second: int) -> int:
    """Shards a flash sale's stock is spread over: enough for the peak order rate, never more than units."""
    needed = -(-peak_per_second // SHARD_TX_PER_SECOND)
    return max(1, min(needed, MAX_SHARDS, quantity))


class PromotionInput(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    sku: Sku
    price: Money
    quantity: Annotated[StrictInt, Field(ge=1, le=1_000_000)]
    starts_at: datetime
    ends_at: datetime
    per_user_limit: Annotated[StrictInt, Field(ge=1, le=99)] = 1
    expected_peak_per_second: Annotated[StrictInt, Field(ge=1, le=100_000)] = Field(
        default=2000, description="Orders per second the sale is sized for (decides the number of stock shards)"
    )

    _clean = field_validator("name")(plain_line)

    @model_validator(mode="after")
    def _window(self) -> Self:
        check_time(self.starts_at, "starts_at")
        check_time(self.ends_at, "ends_at")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.price.amount == 0:
            raise ValueError("a flash-sale price must be above zero")
        return self


class Promotion(BaseModel):
    promotion_id: str
    name: str
    sku: str
    product_id: str
    product_name: str
    price: Money
    regular_price: Money
    quantity: int
    remaining: int | None = Field(default=None, description="Units left (sum of the shards)")
    starts_at: datetime
    ends_at: datetime
    per_user_limit: int
    shards: int
    status: Literal["scheduled", "running", "ended"] = "scheduled"
    settled: bool = False
    created_at: datetime

    def ref(self) -> PromotionRef:
        return PromotionRef(
            promotion_id=self.promotion_id,
            price=self.price,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            per_user_limit=self.per_user_limit,
            shards=self.shards,
        )

    def with_status(self, now: datetime) -> Promotion:
        status: Literal["scheduled", "running", "ended"] = (
            "scheduled" if now < self.starts_at else "running" if now < self.ends_at else "ended"
        )
        return self.model_copy(update={"status": status})


class PromotionList(BaseModel):
    items: list[Promotion]
    next_cursor: str | None = None


# --- stock ----------------------------------------------------------------------------------------------------------


class WarehouseStock(BaseModel):
    """One warehouse's physical stock of a SKU, as the shipping context last reported it."""

    model_config = ConfigDict(extra="ignore")  # a tolerant reader of shipping's snapshots

    warehouse: str
    on_hand: int
    allocated: int
    available: int


class StockSnapshot(BaseModel):
    """A SKU's stock in every warehouse after a change in the shipping context; ``version`` grows with every change,
    so the checkout keeps only the newest it has seen (events may arrive out of order)."""

    model_config = ConfigDict(extra="ignore")

    sku: str
    version: int
    warehouses: list[WarehouseStock] = Field(default_factory=list)


class InventoryView(BaseModel):
    """A SKU's stock as the checkout sees it. ``sellable``/``reserved``/``in_promotions`` are the checkout's own
    (exact); ``warehouses`` and the totals are the checkout's copy of the shipping context's stock, kept from its
    events (eventually consistent: a movement shows here a moment after it is recorded)."""

    sku: str
    sellable: int = Field(description="Units the shop can still sell (never shown below zero)")
    reserved: int = Field(description="Units in open orders that have not left a warehouse yet")
    in_promotions: int = Field(description="Units set aside for flash sales that have not been settled")
    short: int = Field(
        default=0, description="Units reserved beyond what the warehouses hold (they lost units open orders wait for)"
    )
    warehouses: list[WarehouseStock] = Field(default_factory=list)
    on_hand: int = Field(default=0, description="Units in all warehouses")
    allocated: int = Field(default=0, description="Units in all warehouses allocated to paid orders")
    available: int = Field(default=0, description="Units in all warehouses that can still be allocated")
    warehouse_version: int | None = Field(
        default=None, description="Version of the shipping snapshot shown (null: none received yet)"
    )


# --- orders ---------------------------------------------------------------------------------------------------------


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    FULFILLING = "fulfilling"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING_PAYMENT: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.FULFILLING, OrderStatus.CANCELLED}),
    OrderStatus.FULFILLING: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.COMPLETED}),
    OrderStatus.COMPLETED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}
CANCELLABLE = tuple(s for s, targets in TRANSITIONS.items() if OrderStatus.CANCELLED in targets)


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise Conflict(f"an order that is {current.value} cannot become {target.value}", code="INVALID_ORDER_STATE")


def forward_path(current: OrderStatus, target: OrderStatus) -> list[OrderStatus] | None:
    """The statuses an order passes through from ``current`` to ``target`` along :data:`TRANSITIONS`, never through
    ``cancelled`` (``[]`` when it is there already). None when ``target`` is not ahead of ``current``: it is behind
    (a late or repeated event) or out of reach (a cancelled order)."""
    if current is target:
        return []
    path: list[OrderStatus] = []
    step = current
    while True:
        ahead = [s for s in TRANSITIONS[step] if s is not OrderStatus.CANCELLED]
        if not ahead:
            return None
        (step,) = ahead  # the life cycle is a single line once cancellation is set aside
        path.append(step)
        if step is target:
            return path


Phone = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 -]{5,19}$", examples=["+8613812345678"])]


class AddressInput(Strict):
    recipient: Annotated[str, Field(min_length=1, max_length=100)]
    phone: Phone
    region: Annotated[str, Field(min_length=1, max_length=100, description="Province / state")]
    city: Annotated[str, Field(min_length=1, max_length=100)]
    district: Annotated[str, Field(max_length=100)] = ""
    street: Annotated[str, Field(min_length=1, max_length=300)]
    postcode: Annotated[str, Field(pattern=r"^[A-Za-z0-9 -]{3,12}$")]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "CN"

    _clean = field_validator("recipient", "region", "city", "district", "street")(plain_line)


# The accounts context's address ids (its saved addresses reach the checkout as AddressSaved / AddressDeleted).
ADDRESS_ID_PATTERN = r"^adr_[0-9A-Za-z]{26}$"
AddressId = Annotated[str, Field(pattern=ADDRESS_ID_PATTERN, examples=["adr_01J9Z8K2M4N6P8Q0R2S4T6V8W0"])]


class SavedAddress(BaseModel):
    """The checkout's copy of one of a shopper's saved addresses (kept by ``CheckoutAddressProjector`` from the
    accounts context's events). ``deleted``: a tombstone, kept with its version so that a late, older
    ``AddressSaved`` cannot bring the address back."""

    address_id: str
    recipient: str = ""
    phone: str = ""
    region: str = ""
    city: str = ""
    district: str = ""
    street: str = ""
    postcode: str = ""
    country: str = "CN"
    is_default: bool = False
    version: int
    updated_at: datetime | None = None
    deleted: bool = False

    def for_order(self) -> AddressInput:
        """The address an order keeps (a copy: later edits of the saved address do not change the order)."""
        return AddressInput.model_validate(self.model_dump(include=set(AddressInput.model_fields)))


class CheckoutInput(Strict):
    address: AddressInput | None = Field(default=None, description="The delivery address; or name a saved one")
    address_id: AddressId | None = Field(default=None, description="One of my saved addresses (instead of address)")
    coupon_code: CouponCode | None = None
    note: Annotated[str, Field(max_length=500)] = ""

    _clean = field_validator("note")(plain_paragraphs)

    @model_validator(mode="after")
    def _one_address(self) -> Self:
        if (self.address is None) == (self.address_id is None):
            raise ValueError("send exactly one of address and address_id")
        return self

    def digest_body(self) -> dict[str, Any]:
        """The request as sent, for the idempotency digest: the address field the shopper did not send is left
        out (a body with ``address`` hashes as it did before ``address_id`` existed)."""
        body = self.model_dump(mode="json")
        for name in ("address", "address_id"):
            if body[name] is None:
                del body[name]
        return body

    @field_validator("coupon_code")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.upper() if v else v  # codes are case-insensitive; one key, one request, whatever the case


class OrderLine(BaseModel):
    sku: str
    product_id: str
    name: str
    options: dict[str, str] = Field(default_factory=dict)
    image_url: str | None = None
    quantity: int
    unit_price: Money
    line_total: Money
    promotion_id: str | None = None
    # Where a flash-sale line's units came from: shard number -> units (for releasing them exactly).
    promotion_shards: dict[str, int] = Field(default_factory=dict)


class StatusChange(BaseModel):
    status: OrderStatus
    at: datetime
    reason: str = ""


class Order(BaseModel):
    order_id: str
    user_id: str
    status: OrderStatus
    lines: list[OrderLine]
    totals: Totals
    coupon_code: str | None = None
    address: AddressInput
    contact_email: str | None = Field(
        default=None, description="The shopper's email when they placed the order (from their sign-in)"
    )
    note: str = ""
    created_at: datetime
    updated_at: datetime
    payment_due_at: datetime
    payment_id: str | None = Field(default=None, description="The payment that paid it")
    paid_at: datetime | None = None
    shipped_at: datetime | None = Field(default=None, description="When every unit had left a warehouse")
    delivered_at: datetime | None = Field(
        default=None, description="When the carrier delivered the last parcel; the return window starts here"
    )
    completed_at: datetime | None = Field(default=None, description="When the return window ended")
    shipment_ids: list[str] = Field(
        default_factory=list, description="Parcels dispatched for this order (their units have left the shop's stock)"
    )
    cancel_reason: str | None = None
    history: list[StatusChange] = Field(default_factory=list)
    version: int = 1


class OrderPage(BaseModel):
    items: list[Order]
    next_cursor: str | None = None


class CancelInput(Strict):
    reason: Annotated[str, Field(max_length=200)] = ""

    _clean = field_validator("reason")(plain_line)


def reserved_units_shipped(order: Order, shipped: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Units of a dispatched parcel that leave reserved stock: those of regular lines only (a flash sale's units
    never were in ``reserved``), at most what the order reserved per SKU (a cart holds a SKU once)."""
    regular: dict[str, int] = {}
    for line in order.lines:
        if line.promotion_id is None:
            regular[line.sku] = regular.get(line.sku, 0) + line.quantity
    units: dict[str, int] = {}
    for sku, quantity in shipped:
        key = sku.upper()
        take = min(max(quantity, 0), regular.get(key, 0) - units.get(key, 0))
        if take > 0:
            units[key] = units.get(key, 0) + take
    return units


# --- pricing --------------------------------------------------------------------------------------------------------


def _availability(info: SkuInfo | None, stock: Stock | None, quantity: int) -> tuple[Availability, int]:
    if info is None or not info.active or info.price.currency != shop_currency():
        return "unavailable", 0
    sellable = max(0, stock.sellable if stock else 0)
    most = min(sellable, MAX_LINE_QUANTITY)
    if sellable == 0:
        return "out_of_stock", 0
    return ("in_stock" if quantity <= sellable else "insufficient_stock"), most


class PricedCart(BaseModel):
    cart: Cart
    order_lines: list[OrderLine]
    promotion_lines: dict[str, PromotionRef]  # sku -> the flash sale that prices it


def _money(amount: int, currency: str) -> Money:
    if amount > MAX_AMOUNT:
        raise Unprocessable("the cart is worth more than one order can be", code="TOTAL_TOO_LARGE")
    return Money(amount=amount, currency=currency)


def _apply_coupon(
    coupon: Coupon | None, eligible: Money, now: datetime, strict: bool
) -> tuple[Money, CouponApplied | None, str | None]:
    """(discount, the coupon as applied, why it does not apply). ``strict`` raises instead of explaining."""
    if coupon is None:
        return Money.zero(eligible.currency), None, None
    try:
        coupon.check_window(now)
        discount = coupon.discount_on(eligible)
    except (Unprocessable, Conflict) as exc:
        if strict:
            raise
        return Money.zero(eligible.currency), None, exc.code
    return discount, CouponApplied(code=coupon.code, discount=discount), None


def price_cart(
    stored: StoredCart,
    skus: dict[str, SkuInfo],
    stock: dict[str, Stock],
    promo_remaining: dict[str, int],
    coupon: Coupon | None,
    now: datetime,
    strict_coupon: bool,
) -> PricedCart:
    """Price a cart from the checkout's current SKU records. ``promo_remaining`` is units left per running promotion
    id. With ``strict_coupon`` a coupon that does not apply raises (checkout); otherwise the reason is shown (cart)."""
    currency = shop_currency()
    lines: list[CartLine] = []
    order_lines: list[OrderLine] = []
    promo_lines: dict[str, PromotionRef] = {}
    subtotal = Money.zero(currency)
    eligible = Money.zero(currency)
    for stored_line in stored.lines:
        info = skus.get(stored_line.sku)
        availability, most = _availability(info, stock.get(stored_line.sku), stored_line.quantity)
        if info is None or not info.active or info.price.currency != currency:  # not sold here (or not in CNY)
            lines.append(
                CartLine(sku=stored_line.sku, quantity=stored_line.quantity, availability=availability, max_quantity=0)
            )
            continue
        unit, regular, promo_id = info.price, None, None
        promo = info.running_promotion(now)
        if promo is not None:
            unit, regular, promo_id = promo.price, info.price, promo.promotion_id
            left = promo_remaining.get(promo.promotion_id, 0)
            most = min(left, promo.per_user_limit)
            if left == 0:
                availability = "sold_out"
            elif stored_line.quantity > promo.per_user_limit:
                availability = "over_limit"  # the flash sale's per-shopper limit, whatever is left
            else:
                availability = "in_stock" if stored_line.quantity <= left else "insufficient_stock"
            promo_lines[info.sku] = promo
        total = _money(unit.amount * stored_line.quantity, unit.currency)
        subtotal = _money(subtotal.amount + total.amount, currency)
        scoped = coupon is not None and promo is None and coupon.in_scope(info)
        if scoped:
            eligible = _money(eligible.amount + total.amount, currency)
        lines.append(
            CartLine(
                sku=info.sku,
                product_id=info.product_id,
                name=info.product_name,
                options=info.options,
                image_url=info.image_url,
                quantity=stored_line.quantity,
                unit_price=unit,
                regular_price=regular,
                line_total=total,
                promotion_id=promo_id,
                availability=availability,
                max_quantity=most,
                in_coupon_scope=scoped,
            )
        )
        order_lines.append(
            OrderLine(
                sku=info.sku,
                product_id=info.product_id,
                name=info.product_name,
                options=info.options,
                image_url=info.image_url,
                quantity=stored_line.quantity,
                unit_price=unit,
                line_total=total,
                promotion_id=promo_id,
            )
        )
    discount, applied, coupon_error = _apply_coupon(coupon, eligible, now, strict_coupon)
    after_discount = subtotal - discount
    fee = 0 if not order_lines or after_discount.amount >= free_shipping_from() else shipping_fee()
    shipping = Money(amount=fee, currency=currency)
    total = _money(after_discount.amount + shipping.amount, currency)
    totals = Totals(subtotal=subtotal, discount=discount, shipping=shipping, total=total)
    ready = bool(lines) and all(line.availability == "in_stock" for line in lines)
    cart = Cart(lines=lines, totals=totals, coupon=applied, coupon_error=coupon_error, checkout_ready=ready)
    return PricedCart(cart=cart, order_lines=order_lines, promotion_lines=promo_lines)


def require_checkout_ready(priced: PricedCart) -> None:
    """Refuse a checkout whose cart cannot be bought as it is, naming every line that is the problem."""
    if not priced.cart.lines:
        raise Unprocessable("the cart is empty", code="CART_EMPTY")
    unavailable = [line.sku for line in priced.cart.lines if line.availability == "unavailable"]
    if unavailable:
        raise NotFound(
            "some items are no longer sold",
            code="SKU_UNAVAILABLE",
            details=[{"sku": s, "issue": "unavailable"} for s in unavailable],
        )
    over = [line for line in priced.cart.lines if line.availability == "over_limit"]
    if over:
        raise Unprocessable(
            "a flash sale allows fewer per shopper",
            code="PROMOTION_LIMIT_EXCEEDED",
            details=[{"sku": line.sku, "max_quantity": line.max_quantity} for line in over],
        )
    problems = [line for line in priced.cart.lines if line.availability != "in_stock"]
    if problems:
        code = "SOLD_OUT" if all(p.availability == "sold_out" for p in problems) else "OUT_OF_STOCK"
        raise Conflict(
            "some items are not available in the quantity asked",
            code=code,
            details=[{"sku": p.sku, "issue": p.availability, "max_quantity": p.max_quantity} for p in problems],
        )
