"""The payment window's timer: an unpaid order is cancelled when its window ends, its stock released once; a message
that is not due yet is postponed on its own queue, not dropped."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import boto3

from functions.shared.events import utcnow
from local.apigw import LambdaContext
from tests.conftest import ADMIN, SHOPPER
from tests.integration.checkout.conftest import checkout


def outbox_order_placed(aws):
    items = boto3.client("dynamodb").scan(TableName=aws.env["CHECKOUT_TABLE_NAME"])["Items"]
    for item in items:
        if item["pk"]["S"].startswith("OUTBOX#") and item["detail_type"]["S"] == "OrderPlaced":
            return json.loads(item["detail"]["S"])
    raise AssertionError("no OrderPlaced in the outbox")


def deliver(aws, detail, monkeypatch):
    """Put the event on the timer's own queue (as the rule would), receive it, and hand it to the handler."""
    from functions.checkout.handlers import payment_window

    sqs = boto3.client("sqs")
    url = aws.queue_urls["PaymentWindowTimer"]
    monkeypatch.setenv("CONSUMER_QUEUE_URL", url)
    envelope = {"source": "shop.checkout", "detail-type": "OrderPlaced", "detail": detail}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(envelope))
    message = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=30)["Messages"][0]
    event = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:timer",
                "awsRegion": "us-east-1",
            }
        ]
    }
    return payment_window.handler(event, LambdaContext("PaymentWindowTimer")), message


def test_an_order_not_due_yet_is_postponed_on_its_queue(api, aws, product, monkeypatch):
    product({"WIN-1": 1000}, stock=3)
    api("POST", "/cart/items", {"sku": "WIN-1", "quantity": 1}, user=SHOPPER)
    order = checkout(api, SHOPPER).body
    result, message = deliver(aws, outbox_order_placed(aws), monkeypatch)
    assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    # Postponed to the window's end (~900 s), far beyond the 30 s it was received with.
    again = boto3.client("sqs").receive_message(QueueUrl=aws.queue_urls["PaymentWindowTimer"], WaitTimeSeconds=0)
    assert again.get("Messages", []) == []
    assert api("GET", f"/orders/{order['order_id']}", user=SHOPPER).body["status"] == "pending_payment"


def test_an_expired_order_is_cancelled_and_its_stock_released_once(api, aws, product, monkeypatch):
    product({"WIN-2": 1000}, stock=3)
    api("POST", "/cart/items", {"sku": "WIN-2", "quantity": 2}, user=SHOPPER)
    order = checkout(api, SHOPPER).body
    later = utcnow() + timedelta(seconds=900 + 11)  # the window and the grace for a payment in flight
    monkeypatch.setattr("functions.checkout.service.now", lambda: later)
    detail = outbox_order_placed(aws)
    for _ in range(2):  # delivered twice: the second changes nothing
        result, _message = deliver(aws, detail, monkeypatch)
        assert result == {"batchItemFailures": []}
    got = api("GET", f"/orders/{order['order_id']}", user=SHOPPER).body
    assert got["status"] == "cancelled" and got["cancel_reason"] == "payment window expired"
    stock = api("GET", "/admin/inventory/WIN-2", user=ADMIN).body
    assert stock["sellable"] == 3 and stock["reserved"] == 0


def test_the_window_is_configurable(api, aws, product, monkeypatch):
    monkeypatch.setenv("PAYMENT_WINDOW_SECONDS", "60")
    product({"WIN-3": 1000}, stock=3)
    api("POST", "/cart/items", {"sku": "WIN-3", "quantity": 1}, user=SHOPPER)
    order = checkout(api, SHOPPER).body
    from datetime import datetime

    placed = datetime.fromisoformat(order["created_at"].replace("Z", "+00:00"))
    due = datetime.fromisoformat(order["payment_due_at"].replace("Z", "+00:00"))
    assert due - placed == timedelta(seconds=60)


def test_a_cancelled_order_is_left_alone_by_the_timer(api, aws, product, monkeypatch):
    product({"WIN-4": 1000}, stock=3)
    api("POST", "/cart/items", {"sku": "WIN-4", "quantity": 1}, user=SHOPPER)
    order = checkout(api, SHOPPER).body
    api("POST", f"/orders/{order['order_id']}/cancel", {}, user=SHOPPER)
    later = utcnow() + timedelta(seconds=900 + 11)  # the window and the grace for a payment in flight
    monkeypatch.setattr("functions.checkout.service.now", lambda: later)
    result, _ = deliver(aws, outbox_order_placed(aws), monkeypatch)
    assert result == {"batchItemFailures": []}
    stock = api("GET", "/admin/inventory/WIN-4", user=ADMIN).body
    assert stock["sellable"] == 3 and stock["reserved"] == 0  # released by the cancel only
    assert os.environ.get("CONSUMER_QUEUE_URL")
