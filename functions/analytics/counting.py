"""What each consumed event adds to the counters: tolerant readers of the other contexts' events (only the fields
counted here, whatever else they carry) and one rule per event type. Plain Python: no AWS.

Catalogue product events are not counted; they keep the analytics' own names of products and the SKU -> product
map that returns need (a return names SKUs only), so no other context's table is ever read.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from functions.analytics.model import Tally, money_counter
from functions.shared.money import Money


def query_key(q: str) -> str:
    """How queries are grouped: Unicode-normalised (NFKC), case-folded, single-spaced."""
    return " ".join(unicodedata.normalize("NFKC", q).casefold().split())


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Event(_Tolerant):
    event_id: str
    occurred_at: datetime


class _OrderLine(_Tolerant):
    sku: str
    product_id: str
    name: str = ""
    quantity: int
    line_total: Money


class _Totals(_Tolerant):
    subtotal: Money
    discount: Money
    shipping: Money
    total: Money


class _Order(_Tolerant):
    order_id: str
    lines: list[_OrderLine]
    totals: _Totals
    created_at: datetime
    paid_at: datetime | None = None


class OrderEvent(_Event):
    order: _Order


class RefundSucceeded(_Event):
    amount: Money


class _ReturnLine(_Tolerant):
    sku: str
    quantity: int


class ReturnReceived(_Event):
    return_id: str
    lines: list[_ReturnLine]


class ProductViewsCounted(_Event):
    product_id: str
    hour: datetime
    views: int = Field(ge=0)
    from_search: int = Field(default=0, ge=0)


class CartAdditionsCounted(_Event):
    product_id: str
    hour: datetime
    additions: int = Field(ge=0)
    units: int = Field(ge=0)


class SearchPerformed(_Event):
    q: str = ""
    results: int
    searched_at: datetime


class _Variant(_Tolerant):
    sku: str


class _Product(_Tolerant):
    product_id: str
    name: str
    variants: list[_Variant] = Field(default_factory=list)
    version: int


class ProductEvent(_Event):
    product: _Product


@dataclass
class Counted:
    """What the service does with an event: a tally to apply once, and/or catalogue facts to keep."""

    event_id: str
    tally: Tally | None = None
    product: _Product | None = None
    returned: dict[str, int] = field(default_factory=dict)  # SKU -> units, still to map to products


def _placed(e: OrderEvent) -> Counted:
    tally = Tally(at=e.order.created_at)
    tally.add("orders_placed", 1)
    return Counted(e.event_id, tally)


def _paid(e: OrderEvent) -> Counted:
    order = e.order
    tally = Tally(at=order.paid_at or e.occurred_at)
    currency = order.totals.total.currency
    tally.add("orders_paid", 1)
    tally.add("units", sum(line.quantity for line in order.lines))
    tally.add(money_counter("gross", currency), sum(line.line_total.amount for line in order.lines))
    tally.add(money_counter("discounts", currency), order.totals.discount.amount)
    tally.add(money_counter("shipping", currency), order.totals.shipping.amount)
    for product_id in {line.product_id for line in order.lines}:
        tally.add_product(product_id, "orders", 1)
    for line in order.lines:
        tally.add_product(line.product_id, "units", line.quantity)
        tally.add_product(line.product_id, money_counter("revenue", line.line_total.currency), line.line_total.amount)
        if line.name:
            tally.product_names[line.product_id] = line.name
    return Counted(e.event_id, tally)


def _refunded(e: RefundSucceeded) -> Counted:
    tally = Tally(at=e.occurred_at)
    tally.add("refunds", 1)
    tally.add(money_counter("refunds", e.amount.currency), e.amount.amount)
    return Counted(e.event_id, tally)


def _returned(e: ReturnReceived) -> Counted:
    units: dict[str, int] = {}
    for line in e.lines:
        units[line.sku] = units.get(line.sku, 0) + line.quantity
    tally = Tally(at=e.occurred_at)
    tally.add("returned_units", sum(units.values()))
    return Counted(e.event_id, tally, returned=units)


def _viewed(e: ProductViewsCounted) -> Counted:
    tally = Tally(at=e.hour)
    tally.add("views", e.views)
    tally.add("views_from_search", e.from_search)
    tally.add_product(e.product_id, "views", e.views)
    return Counted(e.event_id, tally)


def _added(e: CartAdditionsCounted) -> Counted:
    tally = Tally(at=e.hour)
    tally.add("cart_additions", e.additions)
    tally.add("cart_units", e.units)
    tally.add_product(e.product_id, "cart_additions", e.additions)
    return Counted(e.event_id, tally)


def _searched(e: SearchPerformed) -> Counted:
    tally = Tally(at=e.searched_at)
    zero = 1 if e.results == 0 else 0
    tally.add("searches", 1)
    tally.add("zero_result_searches", zero)
    key = query_key(e.q)
    if key:
        tally.queries[key] = (e.q.strip(), {"searches": 1, "zero_result_searches": zero})
    return Counted(e.event_id, tally)


def _catalogued(e: ProductEvent) -> Counted:
    return Counted(e.event_id, product=e.product)


_Rule = tuple[type[_Event], Callable[[Any], Counted]]

RULES: dict[tuple[str, str], _Rule] = {
    ("shop.checkout", "OrderPlaced"): (OrderEvent, _placed),
    ("shop.checkout", "OrderPaid"): (OrderEvent, _paid),
    ("shop.checkout", "CartAdditionsCounted"): (CartAdditionsCounted, _added),
    ("shop.payments", "RefundSucceeded"): (RefundSucceeded, _refunded),
    ("shop.shipping", "ReturnReceived"): (ReturnReceived, _returned),
    ("shop.catalog", "ProductViewsCounted"): (ProductViewsCounted, _viewed),
    ("shop.catalog", "SearchPerformed"): (SearchPerformed, _searched),
    ("shop.catalog", "ProductCreated"): (ProductEvent, _catalogued),
    ("shop.catalog", "ProductUpdated"): (ProductEvent, _catalogued),
}


def count(source: str, detail_type: str, detail: dict[str, Any]) -> Counted:
    """The event read tolerantly and counted. Raises KeyError for an event type not counted here, and pydantic's
    ValidationError for one that lacks a field the rule needs."""
    model, rule = RULES[(source, detail_type)]
    return rule(model.model_validate(detail))
