"""Buying over real HTTP: a guest's cart merged at sign-in, checkout with an Idempotency-Key (replayed, reused), the
shopper's orders, another shopper kept out, cancelling and the payment window putting stock back; the seeded shop
(stock, coupon, flash sale); and the requests a client gets wrong.

Each journey creates its own product (as the admin), receives its stock in a seeded warehouse (an inbound movement,
``POST /admin/inventory/{sku}/movements``, served by the shipping context) and waits until the checkout can sell it:
the checkout learns a SKU from the catalogue's ProductCreated event and its sellable stock from the shipping
context's StockMovementRecorded, both asynchronously; ``GET /admin/inventory/{sku}`` answers 404 ``SKU_NOT_FOUND``
until the first and shows the units once the second has arrived.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from local.seed import load_data
from tests.e2e.support import Client, error_of, eventually, log_in

pytestmark = pytest.mark.e2e
PASSWORD = "Checkout-Passw0rd!"
KNOWN_WAIT_S = 60.0  # the catalogue -> checkout projection takes about a second; generous for a busy machine
HOME = "WH-SH"  # the seeded warehouse in the region the tests deliver to (上海市), where allocation looks first
EXPIRY_WAIT_S = 60.0  # past the payment window: the timer's message comes back when the order is due
ADDRESS = {
    "recipient": "韩梅梅 Han Meimei",
    "phone": "+8613812345678",
    "region": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "street": "世纪大道 100 号",
    "postcode": "200120",
}
SEED = load_data()

MakeSkus = Callable[..., list[str]]


def money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "CNY"}


def when(raw: str) -> datetime:
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


def sign_up(url: str, email: str) -> Client:
    response = requests.post(f"{url}/auth/signup", json={"email": email, "password": PASSWORD}, timeout=30)
    assert response.status_code == 201, response.text
    return Client(url, log_in(url, email, PASSWORD)["id_token"])


def stock_of(admin: Client, sku: str) -> dict[str, Any]:
    response = admin("GET", f"/admin/inventory/{sku}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def sellable_of(admin: Client, sku: str) -> dict[str, Any]:
    """The checkout's own (exact) figures of a SKU: sellable, reserved and in flash sales."""
    view = stock_of(admin, sku)
    return {k: view[k] for k in ("sku", "sellable", "reserved", "in_promotions")}


def levels(view: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """Warehouse -> (on hand, allocated) of an inventory view (the checkout's copy of the shipping stock)."""
    return {w["warehouse"]: (w["on_hand"], w["allocated"]) for w in view["warehouses"]}


def receive(admin: Client, sku: str, warehouse: str, units: int, reason: str = "e2e goods received") -> dict[str, Any]:
    """An inbound movement: ``units`` of ``sku`` arrive in ``warehouse``."""
    body = {"type": "inbound", "warehouse": warehouse, "quantity": units, "reason": reason, "reference": "e2e"}
    moved = admin("POST", f"/admin/inventory/{sku}/movements", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert moved.status_code == 201, moved.text
    result: dict[str, Any] = moved.json()
    return result


def wait_for_stock(
    admin: Client, sku: str, levels_now: Mapping[str, tuple[int, int]] | None = None, **figures: int
) -> dict[str, Any]:
    """Poll ``GET /admin/inventory/{sku}`` until it shows ``figures`` (sellable, reserved, short, ...) and, when given,
    ``levels_now`` (warehouse -> (on hand, allocated), warehouses not named holding nothing): the checkout follows the
    shipping context's stock through its events, a moment after each change."""

    def shows() -> dict[str, Any] | None:
        response = admin("GET", f"/admin/inventory/{sku}")
        assert response.status_code in (200, 404), response.text
        if response.status_code == 404:
            assert error_of(response)["code"] == "SKU_NOT_FOUND"
            return None
        view: dict[str, Any] = response.json()
        now = {w: lv for w, lv in levels(view).items() if lv != (0, 0)}
        expected = {w: lv for w, lv in (levels_now or {}).items() if lv != (0, 0)}
        got = {k: view.get(k) for k in figures}
        assert got == figures and (levels_now is None or now == expected), f"{sku} shows {got}, {now}"
        return view

    return eventually(shows, f"the stock of {sku} as expected ({figures}, {levels_now})", KNOWN_WAIT_S)


def check_out(client: Client, key: str | None = None, token: str | None = None, **body: Any) -> requests.Response:
    headers = {"Idempotency-Key": key or uuid.uuid4().hex}
    if token:
        headers["X-Cart-Token"] = token
    return client("POST", "/checkout", json={"address": ADDRESS, **body}, headers=headers)


def add(client: Client, sku: str, quantity: int, token: str | None = None) -> dict[str, Any]:
    headers = {"X-Cart-Token": token} if token else {}
    response = client("POST", "/cart/items", json={"sku": sku, "quantity": quantity}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def refs(anonymous: Client) -> tuple[str, str]:
    """A seeded leaf category and brand to put the tests' products in."""
    category = anonymous("GET", "/categories").json()["items"][0]["children"][0]["category_id"]
    brand = anonymous("GET", "/brands").json()["items"][0]["brand_id"]
    return category, brand


@pytest.fixture
def make_skus(admin: Client, refs: tuple[str, str], unique: Callable[[str], str]) -> MakeSkus:
    """Create an active product with one SKU per price; receive ``stock`` units of each in WH-SH (or, per SKU, the
    units per warehouse in ``where``); return once the checkout can sell them all."""

    def make(*prices: int, stock: int = 10, where: Sequence[Mapping[str, int]] | None = None) -> list[str]:
        places = list(where) if where is not None else [{HOME: stock}] * len(prices)
        assert len(places) == len(prices)
        skus = [unique(f"CO{n}").upper() for n in range(len(prices))]
        body = {
            "name": "结账测试商品 Checkout test product",
            "description": "端到端测试。End-to-end test.",
            "category_id": refs[0],
            "brand_id": refs[1],
            "status": "active",
            "variants": [
                {"sku": sku, "options": {"n": str(n)}, "price": money(price), "weight_grams": 100}
                for n, (sku, price) in enumerate(zip(skus, prices, strict=True))
            ],
        }
        created = admin("POST", "/admin/products", json=body)
        assert created.status_code == 201, created.text
        for sku, place in zip(skus, places, strict=True):
            received = 0
            for warehouse, units in place.items():
                if units:
                    received += units
                    assert receive(admin, sku, warehouse, units)["stock"]["on_hand"] == received  # shipping: at once
        for sku, place in zip(skus, places, strict=True):
            units = sum(place.values())
            wait_for_stock(admin, sku, {w: (u, 0) for w, u in place.items()}, sellable=units, reserved=0)
        return skus

    return make


@pytest.fixture
def new_shopper(url: str, unique: Callable[[str], str]) -> Callable[[str], Client]:
    def make(name: str) -> Client:
        return sign_up(url, f"{unique(name)}@example.com")

    return make


def test_a_guest_cart_is_merged_at_sign_in_and_checked_out_exactly_once(
    url: str, admin: Client, make_skus: MakeSkus, new_shopper: Callable[[str], Client]
) -> None:
    phone, case = make_skus(19900, 4900)
    guest = Client(url)
    first = add(guest, phone, 2)
    token = first["cart_token"]
    assert token and first["lines"][0]["quantity"] == 2
    second = add(guest, case, 1, token)
    assert second["cart_token"] == token
    assert [(line["sku"], line["quantity"]) for line in second["lines"]] == [(phone, 2), (case, 1)]

    shopper = new_shopper("merge")
    own = add(shopper, phone, 1)  # a signed-in shopper's own cart: no token
    assert own["cart_token"] is None
    merged = shopper("GET", "/cart", headers={"X-Cart-Token": token})
    assert merged.status_code == 200, merged.text
    cart = merged.json()
    assert {line["sku"]: line["quantity"] for line in cart["lines"]} == {phone: 3, case: 1}
    assert all(line["availability"] == "in_stock" for line in cart["lines"])
    assert cart["totals"] == {
        "subtotal": money(3 * 19900 + 4900),
        "discount": money(0),
        "shipping": money(0),  # free from ¥99
        "total": money(3 * 19900 + 4900),
    }
    assert cart["checkout_ready"] is True and cart["dropped_skus"] == []
    preview = shopper("GET", "/cart", params={"coupon": "WELCOME10"}, headers={"X-Cart-Token": token}).json()
    assert preview["coupon"] == {"code": "WELCOME10", "discount": money(6460)}  # the seeded coupon: 10% off

    key = f"e2e-{uuid.uuid4().hex}"
    placed = check_out(shopper, key, token, coupon_code="WELCOME10")
    assert placed.status_code == 201, placed.text
    assert "Idempotent-Replayed" not in placed.headers
    order = placed.json()
    assert order["status"] == "pending_payment"
    assert {line["sku"]: line["quantity"] for line in order["lines"]} == {phone: 3, case: 1}
    assert order["totals"] == {
        "subtotal": money(64600),
        "discount": money(6460),
        "shipping": money(0),
        "total": money(58140),
    }
    assert order["coupon_code"] == "WELCOME10"
    assert when(order["payment_due_at"]) > when(order["created_at"])
    after = shopper("GET", "/cart", headers={"X-Cart-Token": token}).json()
    assert after["lines"] == []  # the cart was bought and the guest cart is gone
    assert Client(url)("GET", "/cart", headers={"X-Cart-Token": token}).json()["lines"] == []

    replayed = check_out(shopper, key, token, coupon_code="WELCOME10")
    assert replayed.status_code == 200, replayed.text
    assert replayed.headers["Idempotent-Replayed"] == "true"
    again = replayed.json()
    assert (again["order_id"], again["lines"], again["totals"]) == (order["order_id"], order["lines"], order["totals"])

    reused = check_out(shopper, key, coupon_code="WELCOME10", note="请放门口 Leave it at the door")
    assert reused.status_code == 422, reused.text
    assert error_of(reused)["code"] == "IDEMPOTENCY_KEY_REUSED"

    mine = shopper("GET", "/orders")
    assert mine.status_code == 200, mine.text
    assert [o["order_id"] for o in mine.json()["items"]] == [order["order_id"]]
    assert mine.json()["next_cursor"] is None
    assert shopper("GET", f"/orders/{order['order_id']}").json()["order_id"] == order["order_id"]
    staff = admin("GET", f"/admin/orders/{order['order_id']}")
    assert staff.status_code == 200, staff.text
    assert staff.json()["user_id"] == order["user_id"]


def test_only_the_owner_sees_and_cancels_an_order_and_cancelling_puts_the_stock_back(
    admin: Client, make_skus: MakeSkus, new_shopper: Callable[[str], Client]
) -> None:
    (sku,) = make_skus(25900, stock=10)
    owner, other = new_shopper("owner"), new_shopper("other")
    add(owner, sku, 4)
    placed = check_out(owner)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    assert sellable_of(admin, sku) == {"sku": sku, "sellable": 6, "reserved": 4, "in_promotions": 0}

    for response in (other("GET", f"/orders/{order_id}"), other("POST", f"/orders/{order_id}/cancel", json={})):
        assert response.status_code == 404, response.text
        assert error_of(response)["code"] == "ORDER_NOT_FOUND"
    assert other("GET", "/orders").json()["items"] == []

    cancelled = owner("POST", f"/orders/{order_id}/cancel", json={"reason": "买错了 Ordered the wrong one"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_reason"] == "买错了 Ordered the wrong one"  # the shopper's, not the timer's
    assert sellable_of(admin, sku) == {"sku": sku, "sellable": 10, "reserved": 0, "in_promotions": 0}
    assert owner("GET", f"/orders/{order_id}").json()["status"] == "cancelled"
    twice = owner("POST", f"/orders/{order_id}/cancel", json={})
    assert twice.status_code == 200 and twice.json()["status"] == "cancelled"
    assert stock_of(admin, sku)["sellable"] == 10  # released once


def test_an_unpaid_order_is_cancelled_when_the_payment_window_ends_and_its_stock_comes_back(
    admin: Client, make_skus: MakeSkus, new_shopper: Callable[[str], Client], payment_window_s: int
) -> None:
    (sku,) = make_skus(12900, stock=5)
    shopper = new_shopper("late")
    add(shopper, sku, 2)
    placed = check_out(shopper)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    due = when(order["payment_due_at"])
    assert due - when(order["created_at"]) == timedelta(seconds=payment_window_s)  # the platform's setting
    assert stock_of(admin, sku)["reserved"] == 2

    deadline = time.monotonic() + payment_window_s + EXPIRY_WAIT_S
    while (current := shopper("GET", f"/orders/{order['order_id']}").json())["status"] == "pending_payment":
        assert time.monotonic() < deadline, "the payment window never closed"
        time.sleep(0.5)
    assert current["status"] == "cancelled"
    assert current["cancel_reason"] == "payment window expired"
    assert when(current["history"][-1]["at"]) >= due  # not before it was due
    assert sellable_of(admin, sku) == {"sku": sku, "sellable": 5, "reserved": 0, "in_promotions": 0}


def test_the_seeded_shop_has_stock_a_welcome_coupon_and_a_running_flash_sale(
    url: str, admin: Client, anonymous: Client
) -> None:
    (sale,) = SEED.flash_sales
    promotions = anonymous("GET", "/promotions")
    assert promotions.status_code == 200, promotions.text
    (running,) = [p for p in promotions.json()["items"] if p["sku"] == sale.sku]
    assert running["status"] == "running"
    assert running["price"] == sale.price.model_dump() and 0 < running["remaining"] <= sale.quantity
    assert stock_of(admin, sale.sku)["in_promotions"] == sale.quantity

    plan = dict(SEED.stock_plan())
    prices = {v.sku: v.price.amount for v in SEED.variants()}
    regular = [s for s, units in plan.items() if units > 0 and s != sale.sku and prices[s] >= 10000][-1]
    assert stock_of(admin, regular)["sellable"] == plan[regular]
    coupons = [c["code"] for c in admin("GET", "/admin/coupons", params={"limit": 100}).json()["items"]]
    assert "WELCOME10" in coupons

    guest = Client(url)
    token = add(guest, sale.sku, 1)["cart_token"]
    add(guest, regular, 1, token)
    cart = guest("GET", "/cart", params={"coupon": "WELCOME10"}, headers={"X-Cart-Token": token}).json()
    flash, plain = cart["lines"]
    assert flash["unit_price"] == sale.price.model_dump() and flash["regular_price"] == money(prices[sale.sku])
    assert flash["promotion_id"] == running["promotion_id"] and flash["max_quantity"] == sale.per_user_limit
    assert plain["unit_price"] == money(prices[regular]) and plain["promotion_id"] is None
    # The coupon does not stack on the flash sale: 10% of the regular line only.
    assert cart["coupon"] == {"code": "WELCOME10", "discount": money(prices[regular] // 10)}
    assert cart["checkout_ready"] is True

    for sku in SEED.stock.out_of_stock:
        assert stock_of(admin, sku)["sellable"] == 0
        add(guest, sku, 1, token)
    cart = guest("GET", "/cart", headers={"X-Cart-Token": token}).json()
    shown = {line["sku"]: (line["availability"], line["max_quantity"]) for line in cart["lines"]}
    assert {sku: shown[sku] for sku in SEED.stock.out_of_stock} == dict.fromkeys(
        SEED.stock.out_of_stock, ("out_of_stock", 0)
    )
    assert cart["checkout_ready"] is False


def test_checkout_of_an_empty_cart_is_422(new_shopper: Callable[[str], Client]) -> None:
    response = check_out(new_shopper("empty"))
    assert response.status_code == 422, response.text
    assert error_of(response)["code"] == "CART_EMPTY"


@pytest.mark.parametrize(("key", "code"), [(None, "IDEMPOTENCY_KEY_REQUIRED"), ("short", "INVALID_IDEMPOTENCY_KEY")])
def test_checkout_needs_a_well_formed_idempotency_key(shopper: Client, key: str | None, code: str) -> None:
    headers = {"Idempotency-Key": key} if key else {}
    response = shopper("POST", "/checkout", json={"address": ADDRESS}, headers=headers)
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == code


SEEDED_SKU = next(sku for sku, units in SEED.stock_plan() if units > 0)


@pytest.mark.parametrize("quantity", [0, 100, 1.5, "two", None])
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_quantity_that_is_not_1_to_99_is_422(anonymous: Client, method: str, quantity: Any) -> None:
    if method == "POST":
        response = anonymous("POST", "/cart/items", json={"sku": SEEDED_SKU, "quantity": quantity})
    else:
        response = anonymous("PUT", f"/cart/items/{SEEDED_SKU}", json={"quantity": quantity})
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == "VALIDATION_FAILED"
    assert [d["field"] for d in error["details"]] == ["quantity"]


def test_an_unknown_sku_is_404(anonymous: Client) -> None:
    response = anonymous("POST", "/cart/items", json={"sku": "NO-SUCH-SKU-E2E", "quantity": 1})
    assert response.status_code == 404, response.text
    assert error_of(response)["code"] == "SKU_NOT_FOUND"
    assert "cart_token" not in response.text


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/checkout"), ("GET", "/orders"), ("POST", "/orders/ord_x/cancel")]
)
def test_orders_need_a_signed_in_shopper(anonymous: Client, method: str, path: str) -> None:
    response = anonymous(method, path, json={"address": ADDRESS}, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 401, response.text
    assert error_of(response)["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/admin/orders", None),
        ("GET", "/admin/orders/ord_x", None),
        ("GET", f"/admin/inventory/{SEEDED_SKU}", None),
        (
            "POST",
            f"/admin/inventory/{SEEDED_SKU}/movements",
            {"type": "inbound", "warehouse": HOME, "quantity": 5, "reason": "mine now"},
        ),
        ("GET", "/admin/warehouses", None),
        ("POST", "/admin/warehouses", {"code": "WH-MINE", "name": "mine"}),
        ("POST", "/admin/coupons", {"code": "FREE100"}),
        ("POST", "/admin/promotions", {"name": "x"}),
    ],
)
def test_a_shopper_may_not_use_the_order_and_stock_back_office(
    shopper: Client, method: str, path: str, body: Any
) -> None:
    response = shopper(method, path, json=body)
    assert response.status_code == 403, response.text
    assert error_of(response)["code"] == "FORBIDDEN"
