"""The checkout's invariants under concurrent shoppers, against the serialised moto server the local platform uses
(in-process moto is not atomic across threads, DESIGN.md §8): stock never oversold, a coupon never used beyond its
limit, a flash sale never beyond its units or a shopper's share, one order per Idempotency-Key, and a cancelled
order's stock released exactly once however the payment window's expiry and the shopper's cancel race.

Threads drive :class:`functions.checkout.service.CheckoutService` directly, one instance per call (it keeps
per-call state), never the handler modules (Powertools resolvers keep per-request state in module globals).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.checkout.model import (
    CheckoutInput,
    CouponInput,
    Order,
    OrderStatus,
    Promotion,
    PromotionInput,
    SkuInfo,
    payment_window_s,
)
from functions.checkout.repository import coupon_key, promo_key, sku_key
from functions.checkout.service import PAYMENT_ARRIVAL_GRACE_S, CheckoutService, service
from functions.manifest import PLATFORM
from functions.shared import aws as shared_aws
from functions.shared.aws import client
from functions.shared.errors import AppError
from functions.shared.money import Money
from local.moto_server import MotoServer
from local.resources import Created, create_all
from tests.integration.checkout.conftest import ADDRESS

NOW = datetime.now(UTC).replace(microsecond=0)
PRICE = 10000


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def local_aws() -> Iterator[Created]:
    """A serialised moto server with every manifest resource; boto3 (and the functions' clients) pointed at it."""
    server = MotoServer()
    endpoint = server.start()
    saved = {"AWS_ENDPOINT_URL": os.environ.get("AWS_ENDPOINT_URL")}
    try:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        shared_aws.reset()
        created = create_all(PLATFORM, prefix=f"conc-{uuid.uuid4().hex[:6]}")
        saved.update({k: os.environ.get(k) for k in created.env})
        os.environ.update(created.env)
        service()  # create the shared boto3 client here, not racing in many threads
        yield created
    finally:
        client("dynamodb").close()  # pooled keep-alive connections would hold the server's threads at shutdown
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shared_aws.reset()
        server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def svc(local_aws: Created, clock: FakeClock) -> Callable[[], CheckoutService]:
    """A fresh service per call, sharing the (thread-safe) boto3 client."""
    return lambda: CheckoutService(service().repo, clock=clock)


# --- helpers ----------------------------------------------------------------------------------------------------


def race(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, released together; each outcome is the result or the exception raised."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def parallel(calls: Sequence[Callable[[], Any]], workers: int = 8) -> list[Any]:
    """Set-up work in a few threads; any exception fails the test."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [f.result() for f in [pool.submit(c) for c in calls]]


def error_codes(outcomes: list[Any]) -> Counter[str]:
    """The AppError codes among the outcomes; anything else raised is a bug and fails the test here."""
    unexpected = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, AppError)]
    if unexpected:
        raise unexpected[0]
    return Counter(o.code for o in outcomes if isinstance(o, AppError))


def new_sku(svc: Callable[[], CheckoutService], stock: int) -> str:
    """A SKU on sale in the checkout's projection (as its catalogue consumer writes it), with ``stock`` units."""
    sku = f"C{uuid.uuid4().hex[:10].upper()}"
    info = SkuInfo(
        sku=sku,
        product_id=f"prd_{sku.lower()}",
        product_name=f"Concurrency {sku}",
        price=Money(amount=PRICE, currency="CNY"),
        category_path=["cat_conc"],
        active=True,
        product_version=1,
    )
    assert svc().repo.project_product(info.product_id, 1, [info], [], known_version=0)
    svc().record_stock_movement(f"mv_{uuid.uuid4().hex}", sku, stock)  # goods received (shipping's movement)
    return sku


def shoppers(n: int) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"u-{run}-{i:03d}" for i in range(n)]


def fill_carts(svc: Callable[[], CheckoutService], users: list[str], sku: str, quantity: int = 1) -> None:
    parallel([lambda u=u: svc().change_cart(u, None, sku, quantity, "add") for u in users])


def body(**extra: Any) -> CheckoutInput:
    return CheckoutInput.model_validate({"address": ADDRESS, **extra})


def orders_of(svc: Callable[[], CheckoutService], user: str) -> list[Order]:
    items, _ = svc().repo.orders_of(user, 100, None)
    return items


def stock_of(svc: Callable[[], CheckoutService], sku: str) -> dict[str, int]:
    data = svc().repo.get(sku_key(sku, "STOCK")) or {}
    return {k: int(data.get(k, 0)) for k in ("sellable", "reserved", "in_promotions")}


def outbox_events(local_aws: Created, detail_type: str) -> list[dict[str, Any]]:
    ddb = client("dynamodb")
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": local_aws.env["CHECKOUT_TABLE_NAME"],
        "FilterExpression": "begins_with(pk, :p) AND detail_type = :t",
        "ExpressionAttributeValues": {":p": {"S": "OUTBOX#"}, ":t": {"S": detail_type}},
    }
    while True:
        page = ddb.scan(**kwargs)
        found += [json.loads(item["detail"]["S"]) for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --- (a) stock --------------------------------------------------------------------------------------------------


def test_forty_shoppers_racing_for_ten_units_get_exactly_ten_orders(svc):
    sku = new_sku(svc, stock=10)
    users = shoppers(40)
    fill_carts(svc, users, sku)

    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:  # the stock as others see it while the race runs
        while not done.is_set():
            seen.append(stock_of(svc, sku)["sellable"])

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        outcomes = race([lambda u=u: svc().checkout(u, uuid.uuid4().hex, body(), None) for u in users])
    finally:
        done.set()
        watcher.join()

    placed = [o for o in outcomes if isinstance(o, tuple)]
    assert len(placed) == 10
    assert error_codes(outcomes) == {"OUT_OF_STOCK": 30}
    assert stock_of(svc, sku) == {"sellable": 0, "reserved": 10, "in_promotions": 0}
    assert seen
    assert min(seen) >= 0
    per_user = {u: orders_of(svc, u) for u in users}
    assert sum(len(o) for o in per_user.values()) == 10
    assert all(len(o) <= 1 for o in per_user.values())
    assert {order.order_id for order, _ in placed} == {o.order_id for orders in per_user.values() for o in orders}


# --- (b) coupon -------------------------------------------------------------------------------------------------


# The figure is 100 uses among 200 shoppers; scaled down to keep this file fast on two cores, still more than
# twice oversubscribed.
COUPON_LIMIT, COUPON_SHOPPERS = 50, 120


def test_a_coupon_is_used_exactly_up_to_its_limit_by_many_more_shoppers_at_once(svc):
    sku = new_sku(svc, stock=1000)
    code = f"RUSH{uuid.uuid4().hex[:8].upper()}"
    svc().create_coupon(
        CouponInput(
            code=code,
            kind="fixed",
            amount_off=Money(amount=1000, currency="CNY"),
            starts_at=NOW - timedelta(days=1),
            ends_at=NOW + timedelta(days=1),
            usage_limit=COUPON_LIMIT,
        )
    )
    users = shoppers(COUPON_SHOPPERS)
    fill_carts(svc, users, sku)

    outcomes = race([lambda u=u: svc().checkout(u, uuid.uuid4().hex, body(coupon_code=code), None) for u in users])

    placed = [o for o, _ in (x for x in outcomes if isinstance(x, tuple))]
    assert len(placed) == COUPON_LIMIT
    assert all(o.coupon_code == code and o.totals.discount.amount == 1000 for o in placed)
    assert error_codes(outcomes) == {"COUPON_EXHAUSTED": COUPON_SHOPPERS - COUPON_LIMIT}
    coupon = svc().repo.coupon(svc().repo.get(coupon_key(code)))
    assert coupon is not None
    assert coupon.used == COUPON_LIMIT
    with_coupon = [o for u in users for o in orders_of(svc, u) if o.coupon_code == code]
    assert len(with_coupon) == COUPON_LIMIT
    assert stock_of(svc, sku)["reserved"] == COUPON_LIMIT  # the shoppers turned away reserved nothing


# --- (c) flash sale ---------------------------------------------------------------------------------------------


def flash_sale(svc: Callable[[], CheckoutService], sku: str, quantity: int) -> Promotion:
    promotion = svc().create_promotion(
        PromotionInput(
            name="Flash",
            sku=sku,
            price=Money(amount=5000, currency="CNY"),
            quantity=quantity,
            starts_at=NOW - timedelta(minutes=1),
            ends_at=NOW + timedelta(hours=1),
            per_user_limit=1,
            expected_peak_per_second=2000,  # 5 shards
        )
    )
    assert promotion.shards > 1
    return promotion


def promo_bought(svc: Callable[[], CheckoutService], promotion: Promotion, user: str) -> int:
    return int((svc().repo.get(promo_key(promotion.promotion_id, f"USER#{user}")) or {}).get("bought", 0))


def test_a_flash_sale_of_twenty_units_over_several_shards_sells_exactly_twenty_to_sixty_buyers(svc):
    sku = new_sku(svc, stock=100)
    promotion = flash_sale(svc, sku, 20)
    users = shoppers(60)
    fill_carts(svc, users, sku)

    def buy(user: str) -> Any:
        return svc().checkout(user, uuid.uuid4().hex, body(), None)

    def buy_twice(user: str) -> list[Any]:
        """A shopper who comes back for another one after the first checkout, whatever its outcome."""
        outcomes = []
        for attempt in range(2):
            if attempt:
                svc().change_cart(user, None, sku, 1, "add")
            try:
                outcomes.append(buy(user))
            except AppError as exc:
                outcomes.append(exc)
        return outcomes

    calls: list[Callable[[], Any]] = []
    for i, user in enumerate(users):
        calls.append((lambda u=user: buy_twice(u)) if i % 3 == 0 else (lambda u=user: buy(u)))
        if i % 5 == 0:
            calls.append(lambda u=user: buy(u))  # a double click: the same cart checked out twice at once
    outcomes = race(calls)

    flat = [x for o in outcomes for x in (o if isinstance(o, list) else [o])]
    placed = [o for o, _ in (x for x in flat if isinstance(x, tuple))]
    assert sum(line.quantity for o in placed for line in o.lines) == 20
    codes = error_codes(flat)
    assert set(codes) <= {"SOLD_OUT", "PROMOTION_LIMIT_REACHED", "CART_CHANGED", "CART_EMPTY", "TRY_AGAIN"}

    units = Counter()
    for user in users:
        for order in orders_of(svc, user):
            for line in order.lines:
                assert line.promotion_id == promotion.promotion_id
                assert line.unit_price.amount == 5000
                assert sum(line.promotion_shards.values()) == line.quantity
                units[user] += line.quantity
    assert sum(units.values()) == 20
    assert max(units.values()) <= 1
    assert {u: promo_bought(svc, promotion, u) for u in users} == {u: units[u] for u in users}
    left = svc().repo.shard_remaining([promotion.ref()], consistent=True)[promotion.promotion_id]
    assert len(left) == promotion.shards
    assert sum(left.values()) == 0
    assert min(left.values()) == 0
    # Flash-sale units come from the shards only: the SKU's own sellable stock is untouched by the sale's buyers.
    assert stock_of(svc, sku) == {"sellable": 80, "reserved": 0, "in_promotions": 20}


def test_shoppers_who_bought_their_share_of_a_flash_sale_are_refused_more_while_units_remain(svc):
    sku = new_sku(svc, stock=100)
    promotion = flash_sale(svc, sku, 30)
    users = shoppers(10)
    fill_carts(svc, users, sku)
    first = race([lambda u=u: svc().checkout(u, uuid.uuid4().hex, body(), None) for u in users])
    assert error_codes(first) == {}  # plenty left: everyone gets their one
    fill_carts(svc, users, sku)

    # Each comes back for more, with a double click: two checkouts of the same cart at once.
    again = race([lambda u=u: svc().checkout(u, uuid.uuid4().hex, body(), None) for u in users for _ in "ab"])

    assert error_codes(again) == {"PROMOTION_LIMIT_REACHED": 2 * len(users)}
    assert all(len(orders_of(svc, u)) == 1 for u in users)
    assert all(promo_bought(svc, promotion, u) == 1 for u in users)
    left = svc().repo.shard_remaining([promotion.ref()], consistent=True)[promotion.promotion_id]
    assert sum(left.values()) == 20


# --- (d) idempotency --------------------------------------------------------------------------------------------


def test_concurrent_checkouts_with_the_same_idempotency_key_and_body_place_one_order(svc):
    sku = new_sku(svc, stock=100)
    users = shoppers(8)
    fill_carts(svc, users, sku)
    keys = {u: f"key-{uuid.uuid4().hex}" for u in users}

    same = body(note="leave at the door")
    outcomes = race([lambda u=u: svc().checkout(u, keys[u], same, None) for u in users for _ in "abcd"])

    assert error_codes(outcomes) == {}
    by_user: dict[str, list[tuple[Order, bool]]] = {}
    for (order, replayed), call_user in zip(outcomes, [u for u in users for _ in "abcd"], strict=True):
        assert order.user_id == call_user
        by_user.setdefault(call_user, []).append((order, replayed))
    for user, answers in by_user.items():
        assert len({order.order_id for order, _ in answers}) == 1
        assert [replayed for _, replayed in answers].count(False) == 1
        stored = orders_of(svc, user)
        assert [o.order_id for o in stored] == [answers[0][0].order_id]
    assert stock_of(svc, sku)["reserved"] == len(users)


def test_concurrent_checkouts_with_the_same_key_and_another_body_place_at_most_one_order(svc):
    sku = new_sku(svc, stock=100)
    users = shoppers(6)
    fill_carts(svc, users, sku)
    keys = {u: f"key-{uuid.uuid4().hex}" for u in users}

    calls = [lambda u=u, n=n: svc().checkout(u, keys[u], body(note=n), None) for u in users for n in ("one", "two")]
    outcomes = race(calls)

    assert set(error_codes(outcomes)) <= {"IDEMPOTENCY_KEY_REUSED"}
    for user in users:
        stored = orders_of(svc, user)
        assert len(stored) == 1
    assert sum(1 for o in outcomes if isinstance(o, tuple) and o[1] is False) == len(users)
    assert stock_of(svc, sku)["reserved"] == len(users)


# --- (e) expiry racing a cancel -----------------------------------------------------------------------------------


def test_the_payment_window_expiring_while_the_shopper_cancels_releases_stock_exactly_once(svc, clock, local_aws):
    sku = new_sku(svc, stock=24)
    code = f"BACK{uuid.uuid4().hex[:8].upper()}"
    svc().create_coupon(
        CouponInput(
            code=code,
            kind="percentage",
            percent_off=10,
            starts_at=NOW - timedelta(days=1),
            ends_at=NOW + timedelta(days=1),
            usage_limit=100,
        )
    )
    users = shoppers(24)
    fill_carts(svc, users, sku)
    # Every other order uses the coupon: its give-back is checked too, and the orders without one show a release done
    # twice even where the shopper's own coupon counter ("used >= 1") would refuse a second give-back.
    orders = parallel(
        [
            lambda u=u, i=i: svc().checkout(u, uuid.uuid4().hex, body(coupon_code=code if i % 2 else None), None)[0]
            for i, u in enumerate(users)
        ]
    )
    # Half the orders race; the other half stay open, so their reservations and coupon uses would show a release
    # done twice (the condition "reserved >= q" alone would hide it once everything is released).
    placed, bystanders = orders[:12], orders[12:]
    assert stock_of(svc, sku) == {"sellable": 0, "reserved": 24, "in_promotions": 0}
    assert svc().repo.coupon(svc().repo.get(coupon_key(code))).used == 12
    assert all(svc().expire(o.order_id) > 0 for o in placed[:2])  # not due yet: nothing happens

    clock.now = NOW + timedelta(seconds=payment_window_s() + PAYMENT_ARRIVAL_GRACE_S + 1)
    calls: list[Callable[[], Any]] = []
    for order in placed:
        calls += [
            lambda o=order: svc().expire(o.order_id),
            lambda o=order: svc().cancel(o.order_id, o.user_id, "shopper"),
            lambda o=order: svc().expire(o.order_id),
            lambda o=order: svc().cancel(o.order_id, o.user_id, "shopper"),
        ]
    outcomes = race(calls)

    assert error_codes(outcomes) == {}
    assert all(o is None for o in outcomes[0::2])  # every expiry finished (done, or nothing left to do)
    assert all(o.status is OrderStatus.CANCELLED for o in outcomes[1::2])
    for order in placed:
        stored = svc().repo.get_order(order.order_id)
        assert stored is not None
        assert stored.status is OrderStatus.CANCELLED
        assert stored.version == 2
        assert [h.status for h in stored.history] == [OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED]
    assert stock_of(svc, sku) == {"sellable": 12, "reserved": 12, "in_promotions": 0}
    assert svc().repo.coupon(svc().repo.get(coupon_key(code))).used == 6  # the bystanders' uses only
    assert all(svc().repo.get_order(o.order_id).status is OrderStatus.PENDING_PAYMENT for o in bystanders)
    mine = {o.order_id for o in placed}
    cancelled = Counter(e["order"]["order_id"] for e in outbox_events(local_aws, "OrderCancelled"))
    assert {oid: n for oid, n in cancelled.items() if oid in mine} == dict.fromkeys(mine, 1)
