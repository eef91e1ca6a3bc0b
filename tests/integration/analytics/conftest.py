"""Analytics fixtures: one moto per module, events delivered to the AnalyticsRecorder as their queue would, and a
known sequence of catalogue, storefront, order, payment and return events (in Asia/Shanghai, UTC+8)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from functions.analytics.handlers import recorder
from functions.catalog.events import ProductViewsCounted
from functions.checkout.events import CartAdditionsCounted, OrderPaid, OrderPlaced
from functions.checkout.model import AddressInput, Order, OrderLine, OrderStatus, Totals
from functions.payments.events import RefundSucceeded
from functions.shared.events import DomainEvent
from functions.shared.money import Money
from functions.shipping.events import Line, ReturnReceived
from local.apigw import LambdaContext
from tests.conftest import User
from tests.integration.audit.conftest import module_aws
from tests.integration.checkout.conftest import sqs_event

__all__ = ["module_aws"]

ANALYST = User("55555555-5555-4555-8555-555555555555", "analyst@example.com", ("customer", "analyst"))
SAMPLES = Path(__file__).resolve().parents[3] / "events" / "samples" / "eventbridge"
TEA, CUP = "prd_tea", "prd_cup"


def cny(amount: int) -> Money:
    return Money(amount=amount, currency="CNY")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def deliver(*events: DomainEvent | tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    """One SQS batch to the recorder: a DomainEvent, or (source, detail type, detail) for a raw detail."""
    records = []
    for e in events:
        if isinstance(e, DomainEvent):
            records.append(sqs_event(e.detail_type(), e.SOURCE, json.loads(e.detail_json()))["Records"][0])
        else:
            records.append(sqs_event(e[1], e[0], e[2])["Records"][0])
    result: dict[str, Any] = recorder.handler({"Records": records}, LambdaContext("AnalyticsRecorder"))
    return result


def product_created(product_id: str, name: str, sku: str) -> tuple[str, str, dict[str, Any]]:
    detail = json.loads((SAMPLES / "ProductCreated.json").read_text(encoding="utf-8"))["detail"]
    detail["event_id"] = f"evt_{product_id}"
    detail["product"].update(product_id=product_id, name=name)
    detail["product"]["variants"] = [{**detail["product"]["variants"][0], "sku": sku}]
    return ("shop.catalog", "ProductCreated", detail)


def order(
    order_id: str, at: str, lines: list[tuple[str, str, int, int]], discount: int = 0, shipping: int = 0
) -> Order:
    """``lines``: (product id, SKU, quantity, unit price)."""
    order_lines = [
        OrderLine(
            sku=sku,
            product_id=product_id,
            name={TEA: "Tea", CUP: "Cup"}[product_id],
            quantity=quantity,
            unit_price=cny(price),
            line_total=cny(price * quantity),
        )
        for product_id, sku, quantity, price in lines
    ]
    subtotal = sum(line.line_total.amount for line in order_lines)
    return Order(
        order_id=order_id,
        user_id="u1",
        status=OrderStatus.PENDING_PAYMENT,
        lines=order_lines,
        totals=Totals(
            subtotal=cny(subtotal),
            discount=cny(discount),
            shipping=cny(shipping),
            total=cny(subtotal - discount + shipping),
        ),
        address=AddressInput(
            recipient="李雷", phone="+8613812345678", region="上海市", city="上海市", street="1", postcode="200120"
        ),
        created_at=utc(at),
        updated_at=utc(at),
        payment_due_at=utc(at),
    )


def placed(o: Order) -> OrderPlaced:
    return OrderPlaced(event_id=f"placed_{o.order_id}", order=o)


def paid(o: Order, at: str) -> OrderPaid:
    return OrderPaid(
        event_id=f"paid_{o.order_id}",
        order=o.model_copy(update={"status": OrderStatus.PAID, "paid_at": utc(at), "payment_id": "pay_" + o.order_id}),
    )


def views(event_id: str, product_id: str, hour: str, n: int, from_search: int = 0) -> ProductViewsCounted:
    at = utc(hour)
    return ProductViewsCounted(
        event_id=event_id, occurred_at=at, product_id=product_id, hour=at, views=n, from_search=from_search
    )


def additions(event_id: str, product_id: str, hour: str, n: int, units: int) -> CartAdditionsCounted:
    at = utc(hour)
    return CartAdditionsCounted(
        event_id=event_id, occurred_at=at, product_id=product_id, hour=at, additions=n, units=units
    )


def search(search_id: str, q: str, results: int, at: str) -> tuple[str, str, dict[str, Any]]:
    detail = {
        "event_id": search_id,
        "occurred_at": at + "Z",
        "search_id": search_id,
        "q": q,
        "filters": {},
        "results": results,
        "exact": True,
        "searched_at": at + "Z",
    }
    return ("shop.catalog", "SearchPerformed", detail)


def refund(refund_id: str, order_id: str, amount: int, at: str) -> RefundSucceeded:
    return RefundSucceeded(
        event_id=f"refund_{refund_id}",
        occurred_at=utc(at),
        refund_id=refund_id,
        payment_id="pay_" + order_id,
        order_id=order_id,
        amount=cny(amount),
        refunded_total=cny(amount),
    )


def returned(return_id: str, order_id: str, sku: str, quantity: int, at: str) -> ReturnReceived:
    return ReturnReceived(
        event_id=f"received_{return_id}",
        occurred_at=utc(at),
        return_id=return_id,
        order_id=order_id,
        user_id="u1",
        kind="return",
        lines=[Line(sku=sku, quantity=quantity)],
        actor="user:staff",
        restocked=[Line(sku=sku, quantity=quantity)],
        damaged=[],
        refund=cny(500),
    )
