"""From a paid order to the parcel at the door and back, over real HTTP on the local platform: the shipping context
allocates a paid order to warehouses, staff ship it, the carrier sandbox plays its tracking events (duplicates and
out of order among them) through signed callbacks, the shopper returns part of it and gets the money back through
the payment sandbox. Also a split shipment, an order that waits for stock, and shoppers racing for the last units.

Stock is checked at every step in two places: the shipping context's own figures and ledger
(``GET /admin/inventory/{sku}/movements``, exact), and ``GET /admin/inventory/{sku}``, where the checkout shows its
sellable and reserved stock with its copy of the warehouse stock, kept from the shipping events (so the tests poll
it until it shows the expected figures; it never shows them for a wrong reason).

Allocation, the order's progress (``fulfilling``, ``shipped``, ``delivered``) and refunds all follow events
asynchronously; every wait polls and ends as soon as the expected state is there."""

# ruff: noqa: F811 - the fixtures make_skus, new_shopper and refs come from test_checkout and are parameters here

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from local.seed import load_data
from tests.e2e.conftest import RunningPlatform
from tests.e2e.support import Client, error_of, eventually
from tests.e2e.test_checkout import (  # noqa: F401 - fixtures
    HOME,
    MakeSkus,
    add,
    check_out,
    make_skus,
    money,
    new_shopper,
    receive,
    refs,
    sellable_of,
    wait_for_stock,
    when,
)
from tests.e2e.test_payments import pay_in_sandbox, start_payment

pytestmark = pytest.mark.e2e
SEED = load_data()
NewShopper = Callable[[str], Client]


# --- helpers ----------------------------------------------------------------------------------------------------------


def tracking_number(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12].upper()}"


def place(shopper: Client, lines: Mapping[str, int]) -> dict[str, Any]:
    for sku, quantity in lines.items():
        add(shopper, sku, quantity)
    placed = check_out(shopper)
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    return order


def pay(platform: RunningPlatform, shopper: Client, order: dict[str, Any], method: str = "card") -> dict[str, Any]:
    started = start_payment(shopper, order, method)
    pay_in_sandbox(platform.sandbox_url, started)
    return started


def fulfilment(client: Client, order_id: str, status: str, path: str = "/orders") -> dict[str, Any]:
    """``GET /orders/{id}/shipments`` once the shipping context holds the order with ``status`` (allocated, waiting):
    it learns a paid order from the checkout's OrderPaid, and answers 404 until then."""

    def seen() -> dict[str, Any] | None:
        response = client("GET", f"{path}/{order_id}/shipments")
        if response.status_code == 404:
            assert error_of(response)["code"] == "ORDER_NOT_FOUND"
            return None
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["status"] == status, f"the order's fulfilment is {body['status']}"
        return body

    return eventually(seen, f"order {order_id} {status} in shipping")


def order_in(shopper: Client, order_id: str, status: str) -> dict[str, Any]:
    def seen() -> dict[str, Any]:
        order: dict[str, Any] = shopper("GET", f"/orders/{order_id}").json()
        assert order["status"] == status, f"the order is {order['status']}"
        return order

    return eventually(seen, f"order {order_id} {status}")


def history(order: Mapping[str, Any]) -> list[str]:
    return [h["status"] for h in order["history"]]


def ship(admin: Client, order_id: str, carrier: str, tracking: str, **extra: Any) -> dict[str, Any]:
    body = {"carrier": carrier, "tracking_number": tracking, **extra}
    response = admin("POST", f"/admin/orders/{order_id}/shipments", json=body)
    assert response.status_code == 201, response.text
    shipment: dict[str, Any] = response.json()
    return shipment


def play(platform: RunningPlatform, carrier: str, tracking: str, **body: Any) -> dict[str, Any]:
    """Ask the carrier sandbox to play tracking events; its answer says what the platform replied to each callback."""
    response = requests.post(
        f"{platform.carrier_url}/carriers/{carrier}/shipments/{tracking}/play", json=body, timeout=60
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def resend(platform: RunningPlatform, carrier: str, tracking: str) -> dict[str, Any]:
    response = requests.post(f"{platform.carrier_url}/carriers/{carrier}/shipments/{tracking}/resend", timeout=60)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def replies(answer: Mapping[str, Any]) -> list[tuple[int, str]]:
    """(status, outcome or error code) of every callback the sandbox sent, in the order sent."""
    out = []
    for delivery in answer["deliveries"]:
        body = delivery["response"] or {}
        out.append((delivery["status"], body.get("outcome") or body.get("error", {}).get("code")))
    return out


def shipping_stock(admin: Client, sku: str) -> dict[str, tuple[int, int]]:
    """The shipping context's own stock of ``sku`` (warehouse -> (on hand, allocated)), checked against its ledger:
    every warehouse's entries add up to its on hand."""
    response = admin("GET", f"/admin/inventory/{sku}/movements", params={"limit": 100})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    stock = {w["warehouse"]: (w["on_hand"], w["allocated"]) for w in body["stock"]["warehouses"]}
    ledger: dict[str, int] = {}
    for entry in body["items"]:
        ledger[entry["warehouse"]] = ledger.get(entry["warehouse"], 0) + entry["delta"]
    assert ledger == {w: on_hand for w, (on_hand, _) in stock.items()}, body
    assert all(0 <= allocated <= on_hand for on_hand, allocated in stock.values()), body
    return {w: lv for w, lv in stock.items() if lv != (0, 0)}


def ledger_kinds(admin: Client, sku: str) -> list[tuple[str, str, int]]:
    """(kind, warehouse, delta) of the SKU's ledger, oldest first."""
    body = admin("GET", f"/admin/inventory/{sku}/movements", params={"limit": 100}).json()
    return [(e["kind"], e["warehouse"], e["delta"]) for e in reversed(body["items"])]


def outbound(admin: Client, sku: str, warehouse: str, units: int, reason: str) -> requests.Response:
    body = {"type": "outbound", "warehouse": warehouse, "quantity": units, "reason": reason}
    return admin("POST", f"/admin/inventory/{sku}/movements", json=body)


def stripe_refunds(platform: RunningPlatform, payment_intent: str) -> list[int]:
    """The refunds the (sandbox) provider made on a PaymentIntent, as Stripe lists them."""
    assert platform.payment_keys is not None
    secret = json.loads(platform.payment_keys.read_text())["stripe_secret_key"]
    response = requests.get(
        f"{platform.sandbox_url}/card/v1/refunds",
        params={"payment_intent": payment_intent},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return [int(r["amount"]) for r in response.json()["data"]]


# --- the seeded warehouses --------------------------------------------------------------------------------------------


def test_the_seeded_warehouses_hold_the_seeded_stock(admin: Client) -> None:
    listed = admin("GET", "/admin/warehouses")
    assert listed.status_code == 200, listed.text
    houses = {w["code"]: w for w in listed.json()["items"]}
    for seeded in SEED.warehouses:
        assert houses[seeded.code]["priority"] == seeded.priority
        assert houses[seeded.code]["address"]["region"] == seeded.address.region
        assert houses[seeded.code]["active"] is True
    placed: dict[str, dict[str, int]] = {}
    for sku, warehouse, units in SEED.inbound_plan():
        placed.setdefault(sku, {})[warehouse] = units
    on_sale = {s.sku for s in SEED.flash_sales}
    split = next(sku for sku, where in placed.items() if len(where) == 2 and sku not in on_sale)
    view = wait_for_stock(admin, split, {w: (u, 0) for w, u in placed[split].items()})
    assert view["sellable"] == sum(placed[split].values())
    assert shipping_stock(admin, split) == {w: (u, 0) for w, u in placed[split].items()}


# --- the whole journey ------------------------------------------------------------------------------------------------


def test_an_order_is_paid_allocated_shipped_tracked_delivered_returned_and_refunded(
    platform: RunningPlatform, admin: Client, make_skus: MakeSkus, new_shopper: NewShopper
) -> None:
    phone, case = make_skus(30000, 12000, stock=5)
    shopper, stranger = new_shopper("journey"), new_shopper("journey-other")
    order = place(shopper, {phone: 2, case: 1})
    order_id, total = order["order_id"], order["totals"]["total"]
    assert total == money(72000)
    assert sellable_of(admin, phone) == {"sku": phone, "sellable": 3, "reserved": 2, "in_promotions": 0}

    # Paid: the shipping context allocates it, in one parcel from the warehouse in the shopper's region.
    started = pay(platform, shopper, order, "card")
    allocated = fulfilment(shopper, order_id, "allocated")
    assert allocated["parcels"] == [
        {"parcel_id": "P1", "warehouse": HOME, "lines": {phone: 2, case: 1}, "shipped": {}, "replacement_for": None}
    ]
    assert allocated["items"] == []
    assert history(order_in(shopper, order_id, "fulfilling")) == ["pending_payment", "paid", "fulfilling"]
    assert shipping_stock(admin, phone) == {HOME: (5, 2)}
    wait_for_stock(admin, phone, {HOME: (5, 2)}, sellable=3, reserved=2)
    wait_for_stock(admin, case, {HOME: (5, 1)}, sellable=4, reserved=1)
    assert stranger("GET", f"/orders/{order_id}/shipments").status_code == 404

    # Shipped by staff (a retry with the same Idempotency-Key ships nothing more): on hand goes down.
    path = f"/admin/orders/{order_id}/shipments"
    tracking = tracking_number("SF")
    forbidden = shopper("POST", path, json={"carrier": "sf-express", "tracking_number": tracking})
    assert forbidden.status_code == 403, forbidden.text
    key = uuid.uuid4().hex
    shipped = admin(
        "POST", path, json={"carrier": "sf-express", "tracking_number": tracking}, headers={"Idempotency-Key": key}
    )
    assert shipped.status_code == 201, shipped.text
    shipment = shipped.json()
    assert (shipment["warehouse"], shipment["lines"], shipment["status"]) == (HOME, {phone: 2, case: 1}, "dispatched")
    again = admin(
        "POST", path, json={"carrier": "sf-express", "tracking_number": tracking}, headers={"Idempotency-Key": key}
    )
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true", again.text
    assert again.json()["shipment_id"] == shipment["shipment_id"]
    order_in(shopper, order_id, "shipped")
    assert shipping_stock(admin, phone) == {HOME: (3, 0)}
    assert ledger_kinds(admin, phone) == [("inbound", HOME, 5), ("dispatch", HOME, -2)]
    wait_for_stock(admin, phone, {HOME: (3, 0)}, sellable=3, reserved=0)
    wait_for_stock(admin, case, {HOME: (4, 0)}, sellable=4, reserved=0)

    # The carrier reports: in transit (its callback sent twice), then delivery before the out-for-delivery scan.
    transit = play(platform, "sf-express", tracking, events=["in_transit"], duplicates=2)
    assert replies(transit) == [(200, "in_transit"), (200, "duplicate")]
    assert shopper("GET", f"/orders/{order_id}/shipments").json()["items"][0]["status"] == "in_transit"
    late = play(platform, "sf-express", tracking, events=["out_for_delivery", "delivered"], order="reversed")
    assert replies(late) == [(200, "delivered"), (200, "delivered")]  # delivered is final
    assert {outcome for _, outcome in replies(resend(platform, "sf-express", tracking))} == {"duplicate"}
    forged = play(platform, "sf-express", tracking, status="exception", tamper="signature")
    assert replies(forged) == [(401, "SIGNATURE_INVALID")]
    stale = play(platform, "sf-express", tracking, status="exception", tamper="stale")
    assert replies(stale) == [(401, "SIGNATURE_EXPIRED")]
    unknown = play(platform, "sf-express", tracking_number("SF"), events=["in_transit"])
    assert replies(unknown) == [(404, "SHIPMENT_NOT_FOUND")]

    tracked = shopper("GET", f"/orders/{order_id}/shipments").json()["items"]
    assert len(tracked) == 1
    timeline = tracked[0]["timeline"]
    assert [e["status"] for e in timeline] == ["in_transit", "out_for_delivery", "delivered"]
    assert len({e["event_id"] for e in timeline}) == 3
    delivered_event = next(e for e in late["events"] if e["status"] == "delivered")
    assert tracked[0]["status"] == "delivered"
    assert when(tracked[0]["delivered_at"]) == when(delivered_event["occurred_at"])
    delivered = order_in(shopper, order_id, "delivered")
    assert history(delivered) == ["pending_payment", "paid", "fulfilling", "shipped", "delivered"]

    # The shopper returns both phones (not more than delivered, not twice, not someone else's order).
    returns = f"/orders/{order_id}/returns"
    line = {"kind": "return", "reason": "屏幕有划痕 The screen is scratched"}
    too_many = shopper("POST", returns, json={**line, "lines": [{"sku": case, "quantity": 2}]})
    assert too_many.status_code == 422 and error_of(too_many)["code"] == "NOT_RETURNABLE", too_many.text
    theirs = stranger("POST", returns, json={**line, "lines": [{"sku": phone, "quantity": 1}]})
    assert theirs.status_code == 404, theirs.text
    requested = shopper("POST", returns, json={**line, "lines": [{"sku": phone, "quantity": 2}]})
    assert requested.status_code == 201, requested.text
    record = requested.json()
    return_id = record["return_id"]
    assert (record["status"], record["lines"], record["refund"]) == ("requested", {phone: 2}, money(60000))
    twice = shopper("POST", returns, json={**line, "lines": [{"sku": phone, "quantity": 1}]})
    assert twice.status_code == 409 and error_of(twice)["code"] == "RETURN_EXISTS", twice.text
    assert shopper("GET", f"/returns/{return_id}").json()["status"] == "requested"
    assert stranger("GET", f"/returns/{return_id}").status_code == 404

    # Staff approve it and receive the goods in a resellable state: they are back on the shelf and on sale.
    approved = admin("POST", f"/admin/returns/{return_id}/approve", json={})
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    twice = admin("POST", f"/admin/returns/{return_id}/approve", json={})
    assert twice.status_code == 409 and error_of(twice)["code"] == "INVALID_RETURN_STATE", twice.text
    received = admin("POST", f"/admin/returns/{return_id}/receive", json={"condition": "resellable"})
    assert received.status_code == 200, received.text
    assert (received.json()["status"], received.json()["restocked"]) == ("received", {phone: 2})
    assert shipping_stock(admin, phone) == {HOME: (5, 0)}
    assert ledger_kinds(admin, phone)[-1] == ("return", HOME, 2)
    wait_for_stock(admin, phone, {HOME: (5, 0)}, sellable=5, reserved=0)

    # The payments context refunds the phones' price through the provider, once.
    def refunded() -> dict[str, Any]:
        current: dict[str, Any] = shopper("GET", f"/returns/{return_id}").json()
        assert current["status"] == "refunded", f"the return is {current['status']}"
        return current

    done = eventually(refunded, f"return {return_id} refunded")
    assert done["refund"] == money(60000) and done["refund_id"]
    assert history(done) == ["requested", "approved", "received", "refunded"]
    assert stripe_refunds(platform, started["payment"]["provider_reference"]) == [60000]
    over = admin(
        "POST",
        f"/admin/orders/{order_id}/refunds",
        json={"amount": total["amount"] - 60000 + 1, "reason": "more than is left"},
    )
    assert over.status_code == 409 and error_of(over)["code"] == "REFUND_EXCEEDS_CAPTURED", over.text


# --- split shipment ---------------------------------------------------------------------------------------------------


def test_an_order_no_one_warehouse_can_ship_is_split_into_parcels_and_delivered_when_both_arrive(
    platform: RunningPlatform, admin: Client, make_skus: MakeSkus, new_shopper: NewShopper
) -> None:
    here, there = make_skus(15000, 16000, where=[{HOME: 2}, {"WH-GZ": 2}])
    shopper = new_shopper("split")
    order = place(shopper, {here: 1, there: 1})
    order_id = order["order_id"]
    pay(platform, shopper, order, "wechat_pay")
    allocated = fulfilment(admin, order_id, "allocated", path="/admin/orders")
    parcels = {p["warehouse"]: p for p in allocated["parcels"]}
    assert {w: p["lines"] for w, p in parcels.items()} == {HOME: {here: 1}, "WH-GZ": {there: 1}}
    order_in(shopper, order_id, "fulfilling")
    assert shipping_stock(admin, here) == {HOME: (2, 1)}
    assert shipping_stock(admin, there) == {"WH-GZ": (2, 1)}

    path = f"/admin/orders/{order_id}/shipments"
    which = admin("POST", path, json={"carrier": "yto", "tracking_number": tracking_number("YT")})
    assert which.status_code == 422 and error_of(which)["code"] == "PARCEL_REQUIRED", which.text
    over = admin(
        "POST",
        path,
        json={"carrier": "yto", "tracking_number": tracking_number("YT"), "lines": [{"sku": there, "quantity": 2}]},
    )
    assert over.status_code == 422 and error_of(over)["code"] == "MORE_THAN_ORDERED", over.text
    stranger = admin(
        "POST",
        path,
        json={
            "carrier": "yto",
            "tracking_number": tracking_number("YT"),
            "lines": [{"sku": "NOT-IN-ORDER", "quantity": 1}],
        },
    )
    assert stranger.status_code == 422 and error_of(stranger)["code"] == "LINE_NOT_IN_ORDER", stranger.text

    first_tracking, second_tracking = tracking_number("YT"), tracking_number("JD")
    first = ship(admin, order_id, "yto", first_tracking, parcel_id=parcels[HOME]["parcel_id"])
    assert (first["warehouse"], first["lines"]) == (HOME, {here: 1})
    second = ship(admin, order_id, "jd-logistics", second_tracking, lines=[{"sku": there, "quantity": 1}])
    assert (second["warehouse"], second["lines"]) == ("WH-GZ", {there: 1})
    assert history(order_in(shopper, order_id, "shipped")) == ["pending_payment", "paid", "fulfilling", "shipped"]
    assert shipping_stock(admin, here) == {HOME: (1, 0)}
    assert shipping_stock(admin, there) == {"WH-GZ": (1, 0)}

    assert replies(play(platform, "yto", first_tracking, events=["in_transit", "delivered"])) == [
        (200, "in_transit"),
        (200, "delivered"),
    ]
    assert shopper("GET", f"/orders/{order_id}").json()["status"] == "shipped"  # one parcel of two is there
    # The other parcel meets a problem on the way (the shopper sees where), then arrives.
    hitch = play(platform, "jd-logistics", second_tracking, status="exception", location="广州白云营业部 Baiyun depot")
    assert replies(hitch) == [(200, "exception")]
    (held,) = [s for s in shopper("GET", f"/orders/{order_id}/shipments").json()["items"] if s["carrier"] != "yto"]
    assert held["status"] == "exception"
    assert [(e["status"], e["location"]) for e in held["timeline"]] == [("exception", "广州白云营业部 Baiyun depot")]
    assert replies(play(platform, "jd-logistics", second_tracking, events=["delivered"])) == [(200, "delivered")]
    delivered = order_in(shopper, order_id, "delivered")
    assert history(delivered).count("delivered") == 1
    statuses = {s["carrier"]: s["status"] for s in shopper("GET", f"/orders/{order_id}/shipments").json()["items"]}
    assert statuses == {"yto": "delivered", "jd-logistics": "delivered"}
    wait_for_stock(admin, here, {HOME: (1, 0)}, sellable=1, reserved=0)
    wait_for_stock(admin, there, {"WH-GZ": (1, 0)}, sellable=1, reserved=0)


# --- no stock ---------------------------------------------------------------------------------------------------------


def test_a_paid_order_whose_stock_was_lost_waits_and_is_allocated_when_goods_arrive(
    platform: RunningPlatform, admin: Client, make_skus: MakeSkus, new_shopper: NewShopper
) -> None:
    (sku,) = make_skus(21000, stock=2)
    shopper = new_shopper("backorder")
    order = place(shopper, {sku: 2})
    order_id = order["order_id"]
    # Between checkout and payment the warehouse finds both units damaged: sellable stock is now short.
    lost = outbound(admin, sku, HOME, 2, "水浸损坏 Water damage")
    assert lost.status_code == 201, lost.text
    pay(platform, shopper, order, "alipay")

    waiting = fulfilment(shopper, order_id, "waiting")
    assert waiting["parcels"] == [] and waiting["items"] == []
    paid = shopper("GET", f"/orders/{order_id}").json()
    assert history(paid) == ["pending_payment", "paid"]
    not_yet = admin(
        "POST",
        f"/admin/orders/{order_id}/shipments",
        json={"carrier": "sf-express", "tracking_number": tracking_number("SF")},
    )
    assert not_yet.status_code == 409 and error_of(not_yet)["code"] == "ORDER_NOT_ALLOCATED", not_yet.text
    assert shipping_stock(admin, sku) == {}
    wait_for_stock(admin, sku, {}, sellable=0, short=2, reserved=2)

    # Goods arrive in another warehouse; the AllocateWaitingOrders schedule allocates the order from there.
    receive(admin, sku, "WH-BJ", 2)
    allocated = fulfilment(shopper, order_id, "allocated")
    assert [(p["warehouse"], p["lines"]) for p in allocated["parcels"]] == [("WH-BJ", {sku: 2})]
    assert history(order_in(shopper, order_id, "fulfilling")) == ["pending_payment", "paid", "fulfilling"]
    assert shipping_stock(admin, sku) == {"WH-BJ": (2, 2)}
    wait_for_stock(admin, sku, {"WH-BJ": (2, 2)}, sellable=0, short=0, reserved=2)


# --- shoppers racing for the last units -------------------------------------------------------------------------------


def test_shoppers_paying_for_the_last_units_at_once_never_get_more_than_the_warehouses_hold(
    platform: RunningPlatform, admin: Client, make_skus: MakeSkus, new_shopper: NewShopper
) -> None:
    (sku,) = make_skus(9900, where=[{"WH-GZ": 4}])
    shoppers = [new_shopper(f"race{n}") for n in range(5)]
    for shopper in shoppers:
        add(shopper, sku, 1)
    with ThreadPoolExecutor(max_workers=len(shoppers)) as pool:
        placed = list(pool.map(check_out, shoppers))
    assert sorted(r.status_code for r in placed) == [201, 201, 201, 201, 409], [r.text for r in placed]
    (refused,) = [r for r in placed if r.status_code == 409]
    assert error_of(refused)["code"] == "OUT_OF_STOCK"
    buyers = [(s, r.json()) for s, r in zip(shoppers, placed, strict=True) if r.status_code == 201]

    # All four pay at once; as soon as the first of them is allocated, a unit is found lost in the warehouse: the
    # loss races the allocations of the others (whoever writes the SKU's stock first wins, the other is decided again).
    def first_allocation_then_a_loss() -> requests.Response:
        def one_allocated() -> bool:
            for shopper, order in buyers:
                seen = shopper("GET", f"/orders/{order['order_id']}/shipments")
                if seen.status_code == 200 and seen.json()["status"] == "allocated":
                    return True
            return False

        eventually(one_allocated, "a first allocation")
        return outbound(admin, sku, "WH-GZ", 1, "丢失 Lost in the warehouse")

    with ThreadPoolExecutor(max_workers=len(buyers) + 1) as pool:
        loss = pool.submit(first_allocation_then_a_loss)
        payments = [pool.submit(pay, platform, shopper, order) for shopper, order in buyers]
        for payment in payments:
            payment.result()
        lost = loss.result()
    assert lost.status_code in (201, 409), lost.text
    if lost.status_code == 409:  # every unit was allocated first: none was free to lose
        assert error_of(lost)["code"] == "INSUFFICIENT_STOCK"
    units = 3 if lost.status_code == 201 else 4

    def settled() -> list[str]:
        statuses = []
        for shopper, order in buyers:
            response = shopper("GET", f"/orders/{order['order_id']}/shipments")
            assert response.status_code == 200, f"{order['order_id']} not in shipping yet"
            statuses.append(response.json()["status"])
        assert statuses.count("allocated") == units, statuses
        return statuses

    statuses = eventually(settled, f"{units} of the 4 orders allocated")
    assert sorted(statuses) == ["allocated"] * units + ["waiting"] * (4 - units)
    assert shipping_stock(admin, sku) == {"WH-GZ": (units, units)}  # allocated == on hand, never more

    # The missing unit arrives elsewhere: the last order is allocated from there.
    if units == 3:
        receive(admin, sku, HOME, 1)
        for shopper, order in buyers:
            fulfilment(shopper, order["order_id"], "allocated")
        assert shipping_stock(admin, sku) == {"WH-GZ": (3, 3), HOME: (1, 1)}
        wait_for_stock(admin, sku, {"WH-GZ": (3, 3), HOME: (1, 1)}, sellable=0, short=0, reserved=4)
    else:
        wait_for_stock(admin, sku, {"WH-GZ": (4, 4)}, sellable=0, short=0, reserved=4)
    for shopper, order in buyers:
        order_in(shopper, order["order_id"], "fulfilling")
