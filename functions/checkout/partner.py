"""The partner API's view of an order (``GET /partner/v1/orders`` and ``GET /partner/v1/orders/{order_id}``):
response models and the masking of an order for a partner app. No I/O here; the change feed's rules are in
:mod:`functions.checkout.feed`. Imported only by the partner functions (pydantic models cost cold-start time).

What a partner sees: an order's lines, money, status, time stamps and status history, and its shipping address with
every personal field masked by the one shared rule set (:mod:`functions.shared.masking`: recipient ``张*`` /
``J*** D**``, phone ``+86 138****1234``, street ``***``; region, city, district, postcode and country kept as
``mask_address`` keeps them), the shopper's contact email masked (``j***@example.com``), and ``customer_ref``: an
opaque reference to the shopper, the same for every order of one shopper seen by one app, different for every app,
that cannot be turned back into the account id. Never: table keys, the shopper's account id (the Cognito ``sub``),
the idempotency record, flash-sale shard numbers, and the shopper's note and cancel reason (free text, which no
masking rule can vouch for).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel, Field

from functions.checkout.feed import SETTLE_S
from functions.checkout.model import Order, OrderStatus, Totals
from functions.shared.masking import mask_address, mask_email
from functions.shared.money import Money

# --- response models ------------------------------------------------------------------------------------------------


class PartnerAddress(BaseModel):
    recipient: str = Field(description="Masked: the first character (of each word of a Latin name): 张* / J*** D**")
    phone: str = Field(description="Masked: the first 3 and last 4 digits (+86 138****1234)")
    region: str = Field(description="Province / state")
    city: str
    district: str = ""
    street: str = Field(description="Masked: always ***")
    postcode: str
    country: str


class PartnerOrderLine(BaseModel):
    sku: str
    product_id: str
    name: str
    options: dict[str, str] = Field(default_factory=dict)
    image_url: str | None = None
    quantity: int
    unit_price: Money
    line_total: Money
    promotion_id: str | None = Field(default=None, description="The flash sale that priced the line")


class PartnerStatusChange(BaseModel):
    status: OrderStatus
    at: datetime


class PartnerOrder(BaseModel):
    """An order as a partner app sees it: personal data masked, no internal fields."""

    order_id: str
    status: OrderStatus
    version: int = Field(description="Grows by one with every change of the order: keep the highest you have seen")
    customer_ref: str = Field(
        description="Opaque reference to the shopper: the same for all their orders seen by your app, different for "
        "every app, and not reversible to the shopper's account"
    )
    contact_email: str | None = Field(default=None, description="Masked: the shopper's email (j***@example.com)")
    lines: list[PartnerOrderLine]
    totals: Totals
    coupon_code: str | None = None
    shipping_address: PartnerAddress
    created_at: datetime
    updated_at: datetime = Field(description="When the order last changed: its place in the change feed")
    payment_due_at: datetime
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    completed_at: datetime | None = None
    shipment_ids: list[str] = Field(default_factory=list)
    history: list[PartnerStatusChange] = Field(default_factory=list)


class PartnerOrderPage(BaseModel):
    """A page of the order change feed (see the route's description for the sync contract)."""

    items: list[PartnerOrder]
    next_cursor: str | None = Field(
        description="More changes are there now: fetch this next. null: you are caught up (poll resume_cursor later)"
    )
    resume_cursor: str = Field(
        description="Always present: where this page ends. Store it; pass it as cursor to continue, now or later"
    )
    settled_until: datetime = Field(
        description=f"Every change up to this time is in the feed (it trails the clock by {SETTLE_S} s)"
    )


# --- masking --------------------------------------------------------------------------------------------------------


def customer_ref(app_key: str, user_id: str) -> str:
    """A one-way reference to a shopper for one app: SHA-256 over the app key and the account id (a random UUID, so
    the reference cannot be searched back), domain-separated so it matches no other hash of the id."""
    digest = hashlib.sha256(f"shop.checkout.customer-ref\x00{app_key}\x00{user_id}".encode()).hexdigest()
    return f"cus_{digest[:32]}"


def for_partner(order: Order, app_key: str) -> PartnerOrder:
    """The partner view of an order: every personal field through the shared masking rules."""
    return PartnerOrder(
        order_id=order.order_id,
        status=order.status,
        version=order.version,
        customer_ref=customer_ref(app_key, order.user_id),
        contact_email=mask_email(order.contact_email) if order.contact_email else None,
        lines=[PartnerOrderLine.model_validate(line.model_dump(include=_LINE_FIELDS)) for line in order.lines],
        totals=order.totals,
        coupon_code=order.coupon_code,
        shipping_address=PartnerAddress.model_validate(mask_address(order.address.model_dump(mode="json"))),
        created_at=order.created_at,
        updated_at=order.updated_at,
        payment_due_at=order.payment_due_at,
        paid_at=order.paid_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        completed_at=order.completed_at,
        shipment_ids=list(order.shipment_ids),
        history=[PartnerStatusChange(status=h.status, at=h.at) for h in order.history],
    )


_LINE_FIELDS = set(PartnerOrderLine.model_fields)
