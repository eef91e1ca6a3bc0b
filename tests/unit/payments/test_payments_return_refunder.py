"""The ReturnRefunder's reading of ReturnReceived, with the payments service stood in for: what it asks to refund,
what it ignores, and which outcomes are acknowledged and which are handed back to the queue."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from functions.payments.handlers import return_refunder
from functions.payments.service import ReturnRefund
from functions.shared.errors import NotFound
from functions.shared.money import Money
from local.apigw import LambdaContext


class FakeService:
    def __init__(self, answer: ReturnRefund | Exception) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, Money, str]] = []

    def refund_return(self, return_id: str, order_id: str, amount: Money, by: str) -> ReturnRefund:
        self.calls.append((return_id, order_id, amount, by))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def delivered(detail: dict[str, Any]) -> dict[str, Any]:
    envelope = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "ReturnReceived", "source": "shop.shipping"}
    return {
        "Records": [
            {
                "messageId": "m-1",
                "receiptHandle": "h-1",
                "body": json.dumps({**envelope, "detail": detail}),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:shop-test-ReturnRefunder",
                "awsRegion": "us-east-1",
            }
        ]
    }


def detail(**changes: Any) -> dict[str, Any]:
    line = {"sku": "SKU-1", "quantity": 1}
    base = {
        "event_id": "evt-1",
        "occurred_at": "2025-01-01T00:00:00Z",
        "return_id": "ret_1",
        "order_id": "ord_1",
        "user_id": "user-1",
        "kind": "return",
        "lines": [line],
        "actor": "staff-1",
        "restocked": [line],
        "damaged": [],
        "refund": {"amount": 12000, "currency": "CNY"},
        "a_field_added_later": True,  # a tolerant reader: the shipping context may add fields
    }
    return {**base, **changes}


def run(monkeypatch: pytest.MonkeyPatch, answer: ReturnRefund | Exception, body: dict[str, Any]) -> Any:
    fake = FakeService(answer)
    monkeypatch.setattr(return_refunder, "service", lambda: fake)
    result = return_refunder.handler(delivered(body), LambdaContext("ReturnRefunder"))
    return fake, result


def test_a_received_return_asks_for_its_refund_by_the_acting_staff_member(monkeypatch: pytest.MonkeyPatch) -> None:
    fake, result = run(monkeypatch, ReturnRefund("refunded", 12000), detail())
    assert result == {"batchItemFailures": []}
    assert fake.calls == [("ret_1", "ord_1", Money(amount=12000, currency="CNY"), "staff-1")]


@pytest.mark.parametrize(
    "changes",
    [{"kind": "exchange"}, {"refund": None}, {"refund": {"amount": 0, "currency": "CNY"}}],
    ids=["exchange", "no-refund", "zero"],
)
def test_an_exchange_or_nothing_to_refund_is_ignored(monkeypatch: pytest.MonkeyPatch, changes: dict[str, Any]) -> None:
    fake, result = run(monkeypatch, ReturnRefund("refunded", 12000), detail(**changes))
    assert result == {"batchItemFailures": []}
    assert fake.calls == []


@pytest.mark.parametrize("outcome", ["capped", "duplicate", "nothing_left", "not_paid"])
def test_outcomes_that_retrying_cannot_change_are_acknowledged(monkeypatch: pytest.MonkeyPatch, outcome: Any) -> None:
    _fake, result = run(monkeypatch, ReturnRefund(outcome, 12000), detail())
    assert result == {"batchItemFailures": []}


def test_an_order_not_known_yet_goes_back_to_the_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake, result = run(monkeypatch, NotFound("no such order", code="ORDER_NOT_FOUND"), detail())
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}


@pytest.mark.parametrize(
    "changes",
    [{"refund": {"amount": 120.5, "currency": "CNY"}}, {"kind": "swap"}, {"return_id": None}],
    ids=["float-amount", "unknown-kind", "no-return-id"],
)
def test_a_malformed_event_is_not_refunded_and_is_reported(
    monkeypatch: pytest.MonkeyPatch, changes: dict[str, Any]
) -> None:
    fake, result = run(monkeypatch, ReturnRefund("refunded", 12000), detail(**changes))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert fake.calls == []
