"""Paying over real HTTP against the local payment sandbox: a shopper pays an order with each method (card confirmed
as Stripe.js would, Alipay and WeChat Pay by "scanning" the QR code page) and sees it become paid; a declined card
leaves the order waiting; a duplicate callback changes nothing; staff refund part of a paid order.

Payments learns an order from the checkout's OrderPlaced event, asynchronously: ``POST /orders/{id}/payments`` is a
404 until then, so the tests poll for a moment, as a client would retry. A paid order goes on by itself (the shipping
context allocates its stock and it becomes ``fulfilling``), so "paid" is read from the order's history."""

# ruff: noqa: F811 - the fixtures make_skus, new_shopper and refs come from test_checkout and are parameters here

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.conftest import RunningPlatform
from tests.e2e.support import Client, error_of
from tests.e2e.test_checkout import (  # noqa: F401 - fixtures
    MakeSkus,
    add,
    check_out,
    make_skus,
    new_shopper,
    refs,
)

pytestmark = pytest.mark.e2e
WAIT_S = 30.0


def place(make_skus: MakeSkus, shopper: Client, price: int = 25000) -> dict[str, Any]:
    (sku,) = make_skus(price)
    add(shopper, sku, 1)
    r = check_out(shopper)
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    return order


def start_payment(shopper: Client, order: dict[str, Any], method: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    key = uuid.uuid4().hex
    while True:
        r = shopper(
            "POST", f"/orders/{order['order_id']}/payments", json={"method": method}, headers={"Idempotency-Key": key}
        )
        if r.status_code != 404:
            break
        assert time.monotonic() < deadline, "payments never learnt the order"
        time.sleep(0.2)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    assert body["payment"]["amount"] == order["totals"]["total"]
    return body


def wait_for_status(shopper: Client, order_id: str, status: str) -> dict[str, Any]:
    """The order once it has been ``status`` (it may have gone further since: a paid order is allocated at once)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        order: dict[str, Any] = shopper("GET", f"/orders/{order_id}").json()
        if status in [h["status"] for h in order["history"]]:
            return order
        assert time.monotonic() < deadline, f"order stayed {order['status']}, expected {status}"
        time.sleep(0.2)


def pay_in_sandbox(sandbox: str, started: dict[str, Any], approve: bool = True, query: str = "") -> None:
    action = started["next_action"]
    if action["kind"] == "client_secret":
        method = "pm_card_visa" if approve else "pm_card_chargeDeclined"
        pi = started["payment"]["provider_reference"]
        r = requests.post(
            f"{sandbox}/card/v1/payment_intents/{pi}/confirm{query}",
            data={"client_secret": action["client_secret"], "payment_method": method},
            timeout=30,
        )
        assert r.status_code == (200 if approve else 402), r.text
    else:
        if action["kind"] == "redirect":  # Alipay page pay: the browser goes to the signed gateway URL
            hop = requests.get(action["redirect_url"], allow_redirects=False, timeout=30)
            assert hop.status_code == 302, hop.text
            page = f"{sandbox}{hop.headers['Location']}"
        else:
            assert action["kind"] == "qr_code"  # WeChat Native: the QR code's URL is the pay page
            page = action["qr_code_url"]
        verb = "approve" if approve else "decline"
        r = requests.post(f"{page}/{verb}{query}", headers={"Accept": "application/json"}, timeout=30)
        assert r.status_code == 200, r.text


@pytest.mark.parametrize("method", ["card", "alipay", "wechat_pay"])
def test_a_shopper_pays_with_each_method_and_the_order_becomes_paid(
    platform: RunningPlatform, make_skus: MakeSkus, new_shopper: Callable[[str], Client], method: str
) -> None:
    shopper = new_shopper(f"pay-{method}")
    order = place(make_skus, shopper)
    started = start_payment(shopper, order, method)
    pay_in_sandbox(platform.sandbox_url, started, query="?duplicates=2")  # the provider notifies twice
    paid = wait_for_status(shopper, order["order_id"], "paid")
    assert paid["payment_id"] == started["payment"]["payment_id"]
    assert [h["status"] for h in paid["history"]][:2] == ["pending_payment", "paid"]


def test_a_declined_card_leaves_the_order_waiting_for_another_attempt(
    platform: RunningPlatform, make_skus: MakeSkus, new_shopper: Callable[[str], Client]
) -> None:
    shopper = new_shopper("pay-declined")
    order = place(make_skus, shopper)
    pay_in_sandbox(platform.sandbox_url, start_payment(shopper, order, "card"), approve=False)
    time.sleep(1.0)
    assert shopper("GET", f"/orders/{order['order_id']}").json()["status"] == "pending_payment"
    second = start_payment(shopper, order, "alipay")
    pay_in_sandbox(platform.sandbox_url, second)
    assert wait_for_status(shopper, order["order_id"], "paid")["payment_id"] == second["payment"]["payment_id"]


def test_staff_refund_part_of_a_paid_order_and_never_more_than_was_paid(
    platform: RunningPlatform, admin: Client, make_skus: MakeSkus, new_shopper: Callable[[str], Client]
) -> None:
    shopper = new_shopper("pay-refund")
    order = place(make_skus, shopper)
    pay_in_sandbox(platform.sandbox_url, start_payment(shopper, order, "wechat_pay"))
    wait_for_status(shopper, order["order_id"], "paid")
    path = f"/admin/orders/{order['order_id']}/refunds"
    total = order["totals"]["total"]["amount"]
    deadline = time.monotonic() + WAIT_S
    while (first := admin("POST", path, json={"amount": 5000, "reason": "scratched"})).status_code == 409:
        assert time.monotonic() < deadline, first.text  # payments learns the payment's success first
        time.sleep(0.2)
    assert first.status_code == 201, first.text
    assert first.json()["amount"]["amount"] == 5000
    too_much = admin("POST", path, json={"amount": total, "reason": "all of it"})
    assert too_much.status_code == 409 and error_of(too_much)["code"] == "REFUND_EXCEEDS_CAPTURED"
    assert shopper("POST", path, json={"reason": "me"}).status_code == 403


def test_a_forged_callback_is_refused_and_changes_nothing(
    url: str, make_skus: MakeSkus, new_shopper: Callable[[str], Client]
) -> None:
    shopper = new_shopper("pay-forged")
    order = place(make_skus, shopper)
    started = start_payment(shopper, order, "card")
    intent = {
        "id": started["payment"]["provider_reference"],
        "object": "payment_intent",
        "amount_received": order["totals"]["total"]["amount"],
        "currency": "cny",
        "metadata": {"payment_id": started["payment"]["payment_id"]},
    }
    event = {"id": "evt_forged", "object": "event", "type": "payment_intent.succeeded", "created": int(time.time())}
    body = json.dumps({**event, "data": {"object": intent}})
    forged = requests.post(
        f"{url}/callbacks/payments/card",
        data=body,
        timeout=30,
        headers={"Content-Type": "application/json", "Stripe-Signature": f"t={int(time.time())},v1={'0' * 64}"},
    )
    assert forged.status_code in (400, 401), forged.text
    time.sleep(1.0)
    assert shopper("GET", f"/orders/{order['order_id']}").json()["status"] == "pending_payment"
