"""Returns and exchanges: POST /orders/{order_id}/returns, GET /returns/{return_id}, GET /admin/returns and
POST /admin/returns/{return_id}/{action}, and the ReturnRefundRecorder consumer. A return is for delivered units of
the shopper's own order, inside the window, never twice for the same units; receiving it puts resellable units back
on the shelf (and on sale) and not damaged ones; a refund whose reference is the return marks it refunded once; an
exchange gets a replacement parcel allocated and shipped."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.shared.ids import new_id
from functions.shipping import service as shipping_service
from functions.shipping.handlers import allocate_waiting
from local.apigw import LambdaContext
from tests.conftest import ADMIN, CATALOG_STAFF, OTHER_SHOPPER, SHOPPER
from tests.integration.shipping.conftest import (
    FULFILMENT_STAFF,
    assert_ledger_matches_stock,
    carrier_time,
    consume,
    ledger,
    levels,
    money,
    outbox,
    paid_order,
    pay,
    ship,
    shipments_of,
)


@pytest.fixture
def delivered(api, warehouse, inbound, callback) -> Callable[..., dict[str, Any]]:
    """A paid order shipped from WH-SH and delivered (by carrier time) ``hours_ago``."""
    warehouse("WH-SH")
    warehouse("WH-BJ", region="Beijing", priority=900)
    count = iter(range(100, 1000))

    def make(lines: dict[str, int] | None = None, user=SHOPPER, discount: int = 0, hours_ago: float = 2):
        lines = lines or {"SKU-A": 2, "SKU-B": 1}
        for sku, q in lines.items():
            inbound(sku, "WH-SH", q)
        order = pay(paid_order(lines, user=user, discount=discount))
        tracking = f"SF000000{next(count)}"
        assert ship(api, order["order_id"], tracking).status == 201
        assert callback(tracking, ("delivered", carrier_time(hours_ago))).body["outcome"] == "delivered"
        return order

    return make


def request(api, order, *lines: tuple[str, int], kind: str = "return", user=SHOPPER, headers=None, reason="too big"):
    body = {"kind": kind, "reason": reason, "lines": [{"sku": s, "quantity": q} for s, q in lines]}
    return api("POST", f"/orders/{order['order_id']}/returns", body, user=user, headers=headers)


def act(api, return_id: str, action: str, body: dict[str, Any] | None = None, user=FULFILMENT_STAFF):
    return api("POST", f"/admin/returns/{return_id}/{action}", body if body is not None else {}, user=user)


def refund_succeeded(return_id: str | None, refund_id: str = "rf_1", amount: int = 1000, reference=None):
    detail = {
        "event_id": new_id(),
        "refund_id": refund_id,
        "payment_id": "pay_1",
        "order_id": "ord_1",
        "amount": money(amount),
        "refunded_total": money(amount),
        "reference": reference if reference is not None else (f"return:{return_id}" if return_id else None),
    }
    return consume("refund_recorder", "RefundSucceeded", "shop.payments", detail)


def refund_failed(return_id: str, refund_id: str = "rf_1", reason: str = "card expired"):
    detail = {
        "event_id": new_id(),
        "refund_id": refund_id,
        "payment_id": "pay_1",
        "order_id": "ord_1",
        "amount": money(1000),
        "reason": reason,
        "reference": f"return:{return_id}",
    }
    return consume("refund_recorder", "RefundFailed", "shop.payments", detail)


def later(monkeypatch: pytest.MonkeyPatch, days: float) -> None:
    """The service's clock ``days`` from now (after the delivery, so the carrier's signature time is unaffected)."""
    real = shipping_service.now
    monkeypatch.setattr(shipping_service, "now", lambda: real() + timedelta(days=days))


# --- requesting ---------------------------------------------------------------------------------------------------


def test_a_shopper_returns_delivered_units_and_sees_the_request(aws, api, delivered):
    order = delivered()

    r = request(api, order, ("sku-a", 1))

    assert r.status == 201, r.body
    assert (r.body["status"], r.body["kind"], r.body["lines"]) == ("requested", "return", {"SKU-A": 1})
    assert r.body["refund"] == money(1000)
    assert r.body["user_id"] == SHOPPER.sub
    seen = api("GET", f"/returns/{r.body['return_id']}", user=SHOPPER)
    assert seen.status == 200, seen.body
    assert seen.body == r.body
    (event,) = outbox(aws, "ReturnRequested")
    assert (event["return_id"], event["kind"], event["reason"]) == (r.body["return_id"], "return", "too big")
    assert event["lines"] == [{"sku": "SKU-A", "quantity": 1}]


def test_the_refund_is_the_lines_share_of_what_was_paid_after_the_discount_rounded_down(api, delivered):
    order = delivered({"SKU-A": 3}, discount=100)  # 2900 paid for three units
    r = request(api, order, ("SKU-A", 1))
    assert r.status == 201, r.body
    assert r.body["refund"] == money(966)


def test_another_shoppers_return_or_order_is_not_found(api, delivered):
    order = delivered()
    mine = request(api, order, ("SKU-A", 1))

    assert api("GET", f"/returns/{mine.body['return_id']}", user=OTHER_SHOPPER).status == 404
    theirs = request(api, order, ("SKU-B", 1), user=OTHER_SHOPPER)
    assert theirs.status == 404, theirs.body
    assert theirs.body["error"]["code"] == "ORDER_NOT_FOUND"
    assert api("GET", "/returns/no-such-return", user=SHOPPER).status == 404


def test_a_return_outside_the_window_is_a_conflict(aws, api, delivered, monkeypatch):
    order = delivered()
    later(monkeypatch, days=7.5)

    r = request(api, order, ("SKU-A", 1))

    assert r.status == 409, r.body
    assert r.body["error"]["code"] == "RETURN_WINDOW_CLOSED"
    assert outbox(aws, "ReturnRequested") == []


def test_a_return_on_the_last_day_of_the_window_is_accepted(api, delivered, monkeypatch):
    order = delivered(hours_ago=1)
    later(monkeypatch, days=6.9)
    assert request(api, order, ("SKU-A", 1)).status == 201


def test_the_return_window_is_configurable(api, delivered, monkeypatch):
    order = delivered(hours_ago=30)
    monkeypatch.setenv("RETURN_WINDOW_DAYS", "1")

    r = request(api, order, ("SKU-A", 1))

    assert r.status == 409, r.body
    assert r.body["error"]["code"] == "RETURN_WINDOW_CLOSED"
    monkeypatch.setenv("RETURN_WINDOW_DAYS", "2")
    assert request(api, order, ("SKU-A", 1)).status == 201


def test_the_window_runs_from_the_carriers_delivery_time_not_from_when_we_heard_of_it(api, delivered, monkeypatch):
    order = delivered(hours_ago=20)  # the carrier reports, only now, a delivery 20 hours ago
    later = datetime.now(UTC) + timedelta(days=7) - timedelta(hours=10)  # 7 d 10 h after it, 6 d 14 h after we heard
    monkeypatch.setattr("functions.shipping.service.now", lambda: later)

    r = request(api, order, ("SKU-A", 1))

    assert r.status == 409, r.body
    assert r.body["error"]["code"] == "RETURN_WINDOW_CLOSED"


def test_a_delivery_time_days_before_the_parcel_left_is_not_believed(api, delivered):
    order = delivered(hours_ago=24 * 8)  # impossible: the parcel left just now

    r = request(api, order, ("SKU-A", 1))

    assert r.status == 201, r.body  # the window runs from a day before dispatch at the earliest


@pytest.mark.parametrize(
    ("lines", "issue"),
    [
        ((("SKU-A", 3),), "more than delivered"),
        ((("SKU-Z", 1),), "not in this order"),
        ((("SKU-A", 1), ("SKU-Z", 1)), "not in this order"),
    ],
)
def test_a_return_of_units_the_order_did_not_deliver_is_invalid(aws, api, delivered, lines, issue):
    order = delivered()

    r = request(api, order, *lines)

    assert r.status == 422, r.body
    assert r.body["error"]["code"] == "NOT_RETURNABLE"
    assert issue in [d["issue"] for d in r.body["error"]["details"]]
    assert outbox(aws, "ReturnRequested") == []


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "1"])
def test_a_return_of_a_quantity_that_is_not_a_positive_whole_number_is_invalid(api, delivered, quantity):
    order = delivered()
    r = request(api, order, ("SKU-A", quantity))
    assert r.status == 422, r.body
    assert r.body["error"]["code"] == "VALIDATION_FAILED"


def test_a_second_return_of_the_same_units_is_a_conflict(aws, api, delivered):
    order = delivered()
    assert request(api, order, ("SKU-A", 2)).status == 201

    again = request(api, order, ("SKU-A", 1))

    assert again.status == 409, again.body
    assert again.body["error"]["code"] == "RETURN_EXISTS"
    assert len(outbox(aws, "ReturnRequested")) == 1


def test_the_units_of_a_line_not_yet_claimed_can_still_be_returned(api, delivered):
    order = delivered()
    assert request(api, order, ("SKU-A", 1)).status == 201
    more = request(api, order, ("SKU-A", 2))
    assert more.status == 422, more.body  # only one is left to return
    assert request(api, order, ("SKU-A", 1)).status == 201
    assert request(api, order, ("SKU-B", 1)).status == 201


def test_units_that_have_not_been_delivered_cannot_be_returned(api, warehouse, inbound, callback):
    warehouse("WH-SH")
    inbound("SKU-A", "WH-SH", 5)
    allocated = pay(paid_order({"SKU-A": 1}))
    on_the_way = pay(paid_order({"SKU-A": 1}))
    assert ship(api, on_the_way["order_id"], "SF000000777").status == 201
    callback("SF000000777", ("out_for_delivery", carrier_time(1)))

    for order in (allocated, on_the_way):
        r = request(api, order, ("SKU-A", 1))
        assert r.status == 422, r.body
        assert r.body["error"]["details"] == [{"sku": "SKU-A", "issue": "not delivered yet"}]


def test_a_return_request_retried_with_the_same_key_is_answered_once(aws, api, delivered):
    order = delivered()
    key = {"Idempotency-Key": "return-0001-x"}

    first = request(api, order, ("SKU-A", 1), headers=key)
    again = request(api, order, ("SKU-A", 1), headers=key)
    other = request(api, order, ("SKU-A", 2), headers=key)

    assert (first.status, again.status, other.status) == (201, 200, 422), (first.body, again.body, other.body)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.body == first.body
    assert other.body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(outbox(aws, "ReturnRequested")) == 1


# --- approving, rejecting, receiving ------------------------------------------------------------------------------


def test_a_rejection_needs_a_reason_and_frees_the_units_for_a_new_request(aws, api, delivered):
    order = delivered()
    first = request(api, order, ("SKU-A", 2)).body

    bare = act(api, first["return_id"], "reject")
    assert bare.status == 422, bare.body
    assert bare.body["error"]["code"] == "REASON_REQUIRED"
    assert api("GET", f"/returns/{first['return_id']}", user=SHOPPER).body["status"] == "requested"

    rejected = act(api, first["return_id"], "reject", {"reason": "worn"})
    assert rejected.status == 200, rejected.body
    assert (rejected.body["status"], rejected.body["reject_reason"]) == ("rejected", "worn")
    (event,) = outbox(aws, "ReturnRejected")
    assert event["reason"] == "worn"

    again = request(api, order, ("SKU-A", 2))
    assert again.status == 201, again.body
    assert act(api, first["return_id"], "approve").status == 409  # rejected is final


def test_an_approved_return_is_received_line_by_line_resellable_back_on_the_shelf_damaged_not(aws, api, delivered):
    order = delivered({"SKU-A": 2, "SKU-B": 1})
    created = request(api, order, ("SKU-A", 2), ("SKU-B", 1)).body
    assert levels(api, "SKU-A") == {"WH-SH": (0, 0, 0)}
    movements_before = len(outbox(aws, "StockMovementRecorded"))

    approved = act(api, created["return_id"], "approve")
    assert approved.status == 200, approved.body
    assert approved.body["status"] == "approved"
    received = act(
        api,
        created["return_id"],
        "receive",
        {
            "lines": [
                {"sku": "SKU-A", "quantity": 1, "condition": "resellable"},
                {"sku": "SKU-A", "quantity": 1, "condition": "damaged"},
                {"sku": "SKU-B", "quantity": 1, "condition": "damaged"},
            ]
        },
    )

    assert received.status == 200, received.body
    assert received.body["status"] == "received"
    assert (received.body["restocked"], received.body["damaged"]) == ({"SKU-A": 1}, {"SKU-A": 1, "SKU-B": 1})
    assert levels(api, "SKU-A") == {"WH-SH": (1, 0, 1)}
    assert levels(api, "SKU-B") == {"WH-SH": (0, 0, 0)}
    _, entries = ledger(api, "SKU-A")
    assert (entries[0]["kind"], entries[0]["delta"], entries[0]["warehouse"]) == ("return", 1, "WH-SH")
    assert entries[0]["movement_id"] == created["return_id"]
    assert_ledger_matches_stock(api, "SKU-A")
    assert_ledger_matches_stock(api, "SKU-B")
    (movement,) = outbox(aws, "StockMovementRecorded")[movements_before:]
    assert (movement["sku"], movement["type"], movement["sellable_delta"]) == ("SKU-A", "return", 1)
    assert movement["stock"]["warehouses"] == [{"warehouse": "WH-SH", "on_hand": 1, "allocated": 0, "available": 1}]
    (event,) = outbox(aws, "ReturnReceived")
    assert event["refund"] == money(3000)
    assert event["restocked"] == [{"sku": "SKU-A", "quantity": 1}]
    assert event["damaged"] == [{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-B", "quantity": 1}]
    history = api("GET", f"/returns/{created['return_id']}", user=SHOPPER).body["history"]
    assert [h["status"] for h in history] == ["requested", "approved", "received"]


def test_a_return_received_as_damaged_puts_nothing_back(aws, api, delivered):
    order = delivered({"SKU-A": 1})
    rid = request(api, order, ("SKU-A", 1)).body["return_id"]
    act(api, rid, "approve")
    before = (ledger(api, "SKU-A"), outbox(aws, "StockMovementRecorded"))

    r = act(api, rid, "receive", {"condition": "damaged"})

    assert r.status == 200, r.body
    assert (ledger(api, "SKU-A"), outbox(aws, "StockMovementRecorded")) == before


def test_resellable_goods_may_come_back_to_another_warehouse(api, delivered):
    order = delivered({"SKU-A": 1})
    rid = request(api, order, ("SKU-A", 1)).body["return_id"]
    act(api, rid, "approve")

    r = act(api, rid, "receive", {"condition": "resellable", "warehouse": "WH-BJ"})

    assert r.status == 200, r.body
    assert levels(api, "SKU-A") == {"WH-SH": (0, 0, 0), "WH-BJ": (1, 0, 1)}
    assert_ledger_matches_stock(api, "SKU-A")


def test_a_return_cannot_be_received_before_it_is_approved(aws, api, delivered):
    order = delivered({"SKU-A": 1})
    rid = request(api, order, ("SKU-A", 1)).body["return_id"]

    r = act(api, rid, "receive", {"condition": "resellable"})

    assert r.status == 409, r.body
    assert r.body["error"]["code"] == "INVALID_RETURN_STATE"
    assert levels(api, "SKU-A") == {"WH-SH": (0, 0, 0)}
    assert outbox(aws, "ReturnReceived") == []


def test_a_return_is_approved_and_received_only_once(aws, api, delivered):
    order = delivered({"SKU-A": 1})
    rid = request(api, order, ("SKU-A", 1)).body["return_id"]
    assert act(api, rid, "approve").status == 200
    assert act(api, rid, "approve").status == 409
    assert act(api, rid, "receive", {"condition": "resellable"}).status == 200

    again = act(api, rid, "receive", {"condition": "resellable"})

    assert again.status == 409, again.body
    assert levels(api, "SKU-A") == {"WH-SH": (1, 0, 1)}
    assert len(outbox(aws, "ReturnReceived")) == 1
    assert act(api, rid, "reject", {"reason": "late"}).status == 409


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "CONDITION_REQUIRED"),
        ({"lines": [{"sku": "SKU-A", "quantity": 1, "condition": "resellable"}]}, "RECEIVED_LINES_MISMATCH"),
        ({"lines": [{"sku": "SKU-A", "quantity": 3, "condition": "resellable"}]}, "RECEIVED_LINES_MISMATCH"),
        ({"lines": [{"sku": "SKU-Z", "quantity": 2, "condition": "damaged"}]}, "RECEIVED_LINES_MISMATCH"),
        ({"condition": "resellable", "warehouse": "WH-XX"}, "WAREHOUSE_NOT_FOUND"),
        ({"condition": "like new"}, "VALIDATION_FAILED"),
    ],
)
def test_a_receipt_that_does_not_account_for_the_returned_goods_is_invalid(aws, api, delivered, body, code):
    order = delivered({"SKU-A": 2})
    rid = request(api, order, ("SKU-A", 2)).body["return_id"]
    act(api, rid, "approve")

    r = act(api, rid, "receive", body)

    assert r.status == 422, r.body
    assert r.body["error"]["code"] == code
    assert api("GET", f"/returns/{rid}", user=SHOPPER).body["status"] == "approved"
    assert levels(api, "SKU-A") == {"WH-SH": (0, 0, 0)}


def test_an_action_on_an_unknown_return_is_not_found(api, delivered):
    r = act(api, "no-such-return", "approve")
    assert r.status == 404, r.body


@pytest.mark.parametrize(("user", "status"), [(SHOPPER, 403), (CATALOG_STAFF, 403), (None, 401)])
def test_only_fulfilment_staff_and_admins_act_on_returns(api, delivered, user, status):
    order = delivered({"SKU-A": 1})
    rid = request(api, order, ("SKU-A", 1)).body["return_id"]

    assert act(api, rid, "approve", user=user).status == status
    assert api("GET", "/admin/returns", user=user).status == status
    assert api("GET", f"/returns/{rid}", user=SHOPPER).body["status"] == "requested"


# --- refunds ------------------------------------------------------------------------------------------------------


def received_return(api, delivered) -> str:
    order = delivered({"SKU-A": 1})
    rid = request(api, order, ("SKU-A", 1)).body["return_id"]
    assert act(api, rid, "approve").status == 200
    assert act(api, rid, "receive", {"condition": "resellable"}).status == 200
    return str(rid)


def test_the_refund_of_a_received_return_marks_it_refunded_once(aws, api, delivered):
    rid = received_return(api, delivered)

    assert refund_succeeded(rid, refund_id="rf_42") == {"batchItemFailures": []}
    assert refund_succeeded(rid, refund_id="rf_42") == {"batchItemFailures": []}

    record = api("GET", f"/returns/{rid}", user=SHOPPER).body
    assert (record["status"], record["refund_id"]) == ("refunded", "rf_42")
    assert [h["status"] for h in record["history"]] == ["requested", "approved", "received", "refunded"]
    assert record["refunded"] == money(1000)
    (event,) = outbox(aws, "ReturnRefunded")
    assert (event["return_id"], event["refund_id"], event["amount"]) == (rid, "rf_42", money(1000))


def test_a_return_refunded_less_than_asked_shows_what_was_refunded(aws, api, delivered):
    rid = received_return(api, delivered)

    assert refund_succeeded(rid, amount=800) == {"batchItemFailures": []}

    record = api("GET", f"/returns/{rid}", user=SHOPPER).body
    assert (record["refund"], record["refunded"]) == (money(1000), money(800))
    assert outbox(aws, "ReturnRefunded")[0]["amount"] == money(800)


def test_recording_a_returns_refund_stores_the_amount_as_money(api, delivered):
    """The refunded amount is kept as a Money, not as the raw dict of the event: storing it is clean (pydantic warns
    when a model holds a value of another type than its field's, and a warning here is a type error waiting)."""
    rid = received_return(api, delivered)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert refund_succeeded(rid) == {"batchItemFailures": []}

    assert api("GET", f"/returns/{rid}", user=SHOPPER).body["status"] == "refunded"


def test_a_failed_refund_leaves_the_return_received_with_the_reason_for_staff(aws, api, delivered):
    rid = received_return(api, delivered)

    assert refund_failed(rid, refund_id="rf_9", reason="card expired") == {"batchItemFailures": []}
    assert refund_failed(rid, refund_id="rf_9", reason="card expired") == {"batchItemFailures": []}

    record = api("GET", f"/returns/{rid}", user=SHOPPER).body
    assert (record["status"], record["refund_error"], record["refund_id"]) == ("received", "card expired", "rf_9")
    assert [h["status"] for h in record["history"]] == ["requested", "approved", "received"]
    assert outbox(aws, "ReturnRefunded") == []
    # Staff refund by hand; when that succeeds the return is refunded and the error is gone.
    assert refund_succeeded(rid, refund_id="rf_10") == {"batchItemFailures": []}
    record = api("GET", f"/returns/{rid}", user=SHOPPER).body
    assert (record["status"], record["refund_error"], record["refund_id"]) == ("refunded", None, "rf_10")


def test_a_failed_refund_arriving_after_the_return_was_refunded_changes_nothing(aws, api, delivered):
    rid = received_return(api, delivered)
    refund_succeeded(rid, refund_id="rf_1")

    assert refund_failed(rid, refund_id="rf_2") == {"batchItemFailures": []}

    record = api("GET", f"/returns/{rid}", user=SHOPPER).body
    assert (record["status"], record["refund_error"], record["refund_id"]) == ("refunded", None, "rf_1")


@pytest.mark.parametrize("reference", ["", "order:abc", "returns:x", "RETURN:x"])
def test_refunds_that_are_not_a_returns_are_ignored(aws, api, delivered, reference):
    rid = received_return(api, delivered)
    if reference.endswith(":x"):
        reference = reference.replace(":x", f":{rid}")

    assert refund_succeeded(None, reference=reference) == {"batchItemFailures": []}
    assert refund_succeeded(None) == {"batchItemFailures": []}  # a back-office refund: no reference at all

    assert api("GET", f"/returns/{rid}", user=SHOPPER).body["status"] == "received"
    assert outbox(aws, "ReturnRefunded") == []


def test_a_refund_for_a_return_we_do_not_know_changes_nothing(aws, api, delivered):
    assert refund_succeeded("no-such-return") == {"batchItemFailures": []}
    assert outbox(aws, "ReturnRefunded") == []


# --- exchanges ----------------------------------------------------------------------------------------------------


def test_an_exchange_is_received_then_exchanged_with_a_replacement_parcel_that_ships(
    aws, api, delivered, inbound, callback
):
    order = delivered({"SKU-A": 1})
    inbound("SKU-A", "WH-SH", 1)  # one more on the shelf for the replacement
    ex = request(api, order, ("SKU-A", 1), kind="exchange", reason="wrong colour").body
    assert ex["refund"] is None
    act(api, ex["return_id"], "approve")

    r = act(api, ex["return_id"], "receive", {"condition": "damaged"})

    assert r.status == 200, r.body
    assert r.body["status"] == "exchanged"
    assert [h["status"] for h in r.body["history"]] == ["requested", "approved", "received", "exchanged"]
    assert outbox(aws, "ReturnReceived")[-1]["refund"] is None
    view = shipments_of(api, order["order_id"])
    replacement = [p for p in view["parcels"] if p["replacement_for"] == ex["return_id"]]
    assert [(p["warehouse"], p["lines"]) for p in replacement] == [("WH-SH", {"SKU-A": 1})]
    assert view["status"] == "allocated"
    allocated = [e for e in outbox(aws, "OrderAllocated") if e["order_id"] == order["order_id"]]
    assert allocated[-1]["parcels"][0]["replacement_for"] == ex["return_id"]
    assert levels(api, "SKU-A") == {"WH-SH": (1, 1, 0)}

    sent = ship(api, order["order_id"], "SF000000999")

    assert sent.status == 201, sent.body
    assert (sent.body["replacement_for"], sent.body["lines"]) == (ex["return_id"], {"SKU-A": 1})
    assert outbox(aws, "ShipmentDispatched")[-1]["replacement_for"] == ex["return_id"]
    assert levels(api, "SKU-A") == {"WH-SH": (0, 0, 0)}
    assert_ledger_matches_stock(api, "SKU-A")
    callback("SF000000999", ("delivered", carrier_time(0.5)))
    delivered_events = outbox(aws, "ShipmentDelivered")
    assert delivered_events[-1]["replacement_for"] == ex["return_id"]
    assert [e["order_delivered"] for e in delivered_events] == [True, False]  # the order was delivered once


def test_a_resellable_exchange_can_be_replaced_with_the_unit_that_came_back(aws, api, delivered):
    order = delivered({"SKU-A": 1})
    ex = request(api, order, ("SKU-A", 1), kind="exchange", reason="size").body
    act(api, ex["return_id"], "approve")
    movements_before = len(outbox(aws, "StockMovementRecorded"))

    r = act(api, ex["return_id"], "receive", {"condition": "resellable"})

    assert r.status == 200, r.body
    assert levels(api, "SKU-A") == {"WH-SH": (1, 1, 0)}
    assert shipments_of(api, order["order_id"])["parcels"][-1]["replacement_for"] == ex["return_id"]
    # The unit is back on the shelf but promised to the shopper again: the shop may not sell it.
    (movement,) = outbox(aws, "StockMovementRecorded")[movements_before:]
    assert (movement["type"], movement["sellable_delta"]) == ("return", 0)
    assert_ledger_matches_stock(api, "SKU-A")


def test_the_replacement_of_a_damaged_exchange_comes_off_sale(aws, api, delivered, inbound):
    order = delivered({"SKU-A": 2})
    inbound("SKU-A", "WH-SH", 5)
    ex = request(api, order, ("SKU-A", 2), kind="exchange", reason="broken").body
    act(api, ex["return_id"], "approve")
    movements_before = len(outbox(aws, "StockMovementRecorded"))

    assert act(api, ex["return_id"], "receive", {"condition": "damaged"}).status == 200

    (movement,) = outbox(aws, "StockMovementRecorded")[movements_before:]
    assert (movement["sku"], movement["type"], movement["sellable_delta"]) == ("SKU-A", "return", -2)
    assert levels(api, "SKU-A") == {"WH-SH": (5, 2, 3)}
    assert_ledger_matches_stock(api, "SKU-A")


def test_an_exchange_without_stock_waits_and_the_schedule_allocates_it_when_stock_arrives(api, delivered, inbound):
    order = delivered({"SKU-A": 1})
    ex = request(api, order, ("SKU-A", 1), kind="exchange", reason="size").body
    act(api, ex["return_id"], "approve")
    assert act(api, ex["return_id"], "receive", {"condition": "damaged"}).status == 200
    assert shipments_of(api, order["order_id"])["status"] == "waiting"

    inbound("SKU-A", "WH-BJ", 1)
    out = allocate_waiting.handler({}, LambdaContext("aw"))

    assert out["allocated"] == [order["order_id"]]
    view = shipments_of(api, order["order_id"])
    assert view["status"] == "allocated"
    assert [(p["warehouse"], p["replacement_for"]) for p in view["parcels"][1:]] == [("WH-BJ", ex["return_id"])]


def test_shipping_an_order_whose_replacement_waits_for_stock_is_a_conflict(api, delivered):
    order = delivered({"SKU-A": 1})
    ex = request(api, order, ("SKU-A", 1), kind="exchange", reason="size").body
    act(api, ex["return_id"], "approve")
    assert act(api, ex["return_id"], "receive", {"condition": "damaged"}).status == 200

    r = ship(api, order["order_id"], "SF000000555")

    # Nothing is allocated to ship: a state conflict (409, as for an order that waits for stock), not a 422 that
    # asks to name one of "0 parcels".
    assert r.status == 409, r.body
    assert r.body["error"]["code"] == "ORDER_NOT_ALLOCATED"


# --- the back office's list ---------------------------------------------------------------------------------------


def test_staff_list_returns_newest_first_by_status_a_page_at_a_time(api, delivered):
    order = delivered({"SKU-A": 1, "SKU-B": 1, "SKU-C": 1})
    ids = [request(api, order, (s, 1)).body["return_id"] for s in ("SKU-A", "SKU-B", "SKU-C")]
    act(api, ids[0], "approve")

    everything = api("GET", "/admin/returns", user=FULFILMENT_STAFF)
    assert everything.status == 200, everything.body
    assert [r["return_id"] for r in everything.body["items"]] == ids[::-1]
    approved = api("GET", "/admin/returns", user=ADMIN, query={"status": "approved"}).body
    assert [r["return_id"] for r in approved["items"]] == [ids[0]]
    assert approved["next_cursor"] is None

    seen, cursor = [], None
    for _ in range(5):
        query = {"status": "requested", "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = api("GET", "/admin/returns", user=ADMIN, query=query)
        assert page.status == 200, page.body
        assert len(page.body["items"]) <= 1
        seen += [r["return_id"] for r in page.body["items"]]
        cursor = page.body["next_cursor"]
        if not cursor:
            break
    assert seen == [ids[2], ids[1]]


def test_a_returns_cursor_from_another_status_is_refused(api, delivered):
    order = delivered({"SKU-A": 1, "SKU-B": 1})
    for s in ("SKU-A", "SKU-B"):
        request(api, order, (s, 1))
    page = api("GET", "/admin/returns", user=ADMIN, query={"status": "requested", "limit": 1}).body
    assert page["next_cursor"]

    r = api(
        "GET", "/admin/returns", user=ADMIN, query={"status": "approved", "limit": 1, "cursor": page["next_cursor"]}
    )

    assert r.status == 400, r.body
    assert r.body["error"]["code"] == "INVALID_CURSOR"


@pytest.mark.parametrize("query", [{"status": "lost"}, {"limit": 0}, {"limit": 101}])
def test_a_malformed_returns_query_is_invalid(api, query):
    assert api("GET", "/admin/returns", user=ADMIN, query=query).status == 422
