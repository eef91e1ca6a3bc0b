"""Partner order routes: the change feed (``GET /partner/v1/orders``: order, paging without gaps or repeats while
orders change, the settle delay, every order transition moving the order in the feed) and one order
(``GET /partner/v1/orders/{order_id}``), personal data masked; who may call them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from functions.checkout.feed import SETTLE_S
from functions.checkout.handlers import complete_delivered_orders, expire_overdue_orders
from functions.checkout.model import payment_window_s
from local.apigw import LambdaContext
from tests.conftest import ADMIN, PARTNER_APP, SHOPPER, App, User
from tests.integration.checkout.conftest import ADDRESS, allocated, delivered, dispatched, fulfilment, pay

FULFILMENT = User("55555555-5555-4555-8555-555555555555", "ops@example.com", ("customer", "fulfilment"))
JOHN = User("66666666-6666-4666-8666-666666666666", "john.doe@example.com", ("customer",))
ANOTHER_APP = App("app_01M8SXN5K8V9NXKHF8QBX988RU", ("orders:read",), name="Another partner")
NO_ORDERS_APP = App("app_01M8SXN5K8V9NXKHF8QBX988RV", ("products:read", "shipments:write"))


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("functions.checkout.service.now", clock)
    return clock


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def place(api, sku, user=SHOPPER, address=None):
    assert api("POST", "/cart/items", {"sku": sku, "quantity": 1}, user=user).status == 200
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    r = api("POST", "/checkout", {"address": address or ADDRESS}, user=user, headers=headers)
    assert r.status == 201, r.body
    return r.body


def feed(api, app=PARTNER_APP, **query):
    r = api("GET", "/partner/v1/orders", query=query, app=app)
    assert r.status == 200, r.body
    return r.body


def sync(api, cursor, limit=20):
    """Follow next_cursor from ``cursor`` until caught up: (order id, status) of every item, and the resume point."""
    seen, page = [], {"next_cursor": cursor}
    while page["next_cursor"]:
        page = feed(api, cursor=page["next_cursor"], limit=limit)
        seen += [(o["order_id"], o["status"]) for o in page["items"]]
        assert page["resume_cursor"]
    return seen, page["resume_cursor"]


def test_pages_follow_changes_in_order_without_gaps_or_repeats_while_orders_change(api, product, clock):
    product({"FEED-1": 1000}, stock=20)
    start = clock.now
    placed = []
    for _ in range(5):
        clock.tick()
        placed.append(place(api, "FEED-1")["order_id"])
    clock.tick(20)
    first = feed(api, updated_since=iso(start), limit=2)
    assert [o["order_id"] for o in first["items"]] == placed[:2]
    assert first["next_cursor"] == first["resume_cursor"]

    # Between two page fetches: an order already handed out changes, and so does one not handed out yet.
    clock.tick()
    assert api("POST", f"/orders/{placed[0]}/cancel", {}, user=SHOPPER).status == 200
    clock.tick()
    assert api("POST", f"/orders/{placed[3]}/cancel", {}, user=SHOPPER).status == 200
    clock.tick(20)

    items = list(first["items"])
    page = first
    while page["next_cursor"]:
        page = feed(api, cursor=page["next_cursor"], limit=2)
        items += page["items"]
    assert [(o["order_id"], o["status"]) for o in items] == [
        (placed[0], "pending_payment"),
        (placed[1], "pending_payment"),
        (placed[2], "pending_payment"),
        (placed[4], "pending_payment"),
        (placed[0], "cancelled"),  # handed out before it changed: comes again, in its new state
        (placed[3], "cancelled"),  # changed before it was reached: once, in its new state
    ]
    keys = [(o["updated_at"], o["order_id"]) for o in items]
    assert keys == sorted(keys)

    # Caught up: the last page's resume_cursor picks up exactly what changes later.
    clock.tick()
    later = place(api, "FEED-1")["order_id"]
    clock.tick(SETTLE_S + 1)
    assert sync(api, page["resume_cursor"])[0] == [(later, "pending_payment")]
    # updated_since is inclusive: an order changed at exactly that moment is in the feed.
    at = api("GET", f"/partner/v1/orders/{later}", app=PARTNER_APP).body["updated_at"]
    assert [o["order_id"] for o in feed(api, updated_since=at)["items"]] == [later]


def test_changes_of_the_last_seconds_are_held_back_until_they_settle(api, product, clock):
    product({"FEED-2": 1000}, stock=5)
    start = clock.now
    order = place(api, "FEED-2")["order_id"]
    clock.tick(SETTLE_S - 1)
    early = feed(api, updated_since=iso(start))
    assert early["items"] == [] and early["next_cursor"] is None
    assert early["settled_until"] == iso(clock.now - timedelta(seconds=SETTLE_S))
    clock.tick(2)
    assert sync(api, early["resume_cursor"])[0] == [(order, "pending_payment")]


def test_every_order_transition_moves_the_order_in_the_feed(api, product, clock):
    product({"FEED-3": 1000, "FEED-4": 2000}, stock=10)
    resume = feed(api, updated_since=iso(clock.now))["resume_cursor"]

    def moved(order_id, status):
        nonlocal resume
        clock.tick(SETTLE_S + 1)
        seen, resume = sync(api, resume, limit=1)
        assert seen == [(order_id, status)]

    assert api("POST", "/cart/items", {"sku": "FEED-4", "quantity": 1}, user=SHOPPER).status == 200
    order = place(api, "FEED-3")  # two lines: FEED-3 and FEED-4
    moved(order["order_id"], "pending_payment")
    pay(order)
    moved(order["order_id"], "paid")
    fulfilment(allocated(order))
    moved(order["order_id"], "fulfilling")
    fulfilment(dispatched(order, "shp_1", parcel=[("FEED-3", 1)], order_shipped=False))
    moved(order["order_id"], "fulfilling")  # a parcel left: the status stays, the order changed
    fulfilment(dispatched(order, "shp_2", parcel=[("FEED-4", 1)]))
    moved(order["order_id"], "shipped")
    fulfilment(delivered(order, "shp_2", at=clock.now))
    moved(order["order_id"], "delivered")
    clock.tick(timedelta(days=8).total_seconds())
    assert complete_delivered_orders.handler({}, LambdaContext("CompleteDeliveredOrders"))["completed"]
    moved(order["order_id"], "completed")  # eight days later: a walk over more day partitions than one page reads

    cancelled = place(api, "FEED-3")["order_id"]
    moved(cancelled, "pending_payment")
    assert api("POST", f"/orders/{cancelled}/cancel", {}, user=SHOPPER).status == 200
    moved(cancelled, "cancelled")

    unpaid = place(api, "FEED-3")["order_id"]
    moved(unpaid, "pending_payment")
    clock.tick(payment_window_s() + 600)
    assert expire_overdue_orders.handler({}, LambdaContext("ExpireOverdueOrders"))["expired"] == [unpaid]
    moved(unpaid, "cancelled")
    versions = api("GET", f"/partner/v1/orders/{order['order_id']}", app=PARTNER_APP).body["version"]
    assert versions == 7  # placed, paid, fulfilling, parcel, shipped, delivered, completed


def test_a_partner_sees_every_personal_field_masked_and_no_internal_field(api, product, clock):
    product({"MASK-1": 1000}, stock=5)
    zhang = place(api, "MASK-1", address={**ADDRESS, "recipient": "张三", "phone": "13800001234"})
    john = place(
        api,
        "MASK-1",
        user=JOHN,
        address={
            **ADDRESS,
            "recipient": "John Doe",
            "phone": "+86 138 0000 1234",
            "street": "1 Infinite Loop, Apt 5",
            "postcode": "95014",
        },
    )
    clock.tick(SETTLE_S + 1)
    listed = {o["order_id"]: o for o in feed(api, updated_since=iso(clock.now - timedelta(minutes=1)))["items"]}
    for order, name, phone, email, postcode in (
        (zhang, "张*", "138****1234", "s***@example.com", "200120"),
        (john, "J*** D**", "+86 138****1234", "j***@example.com", "95014"),
    ):
        got = api("GET", f"/partner/v1/orders/{order['order_id']}", app=PARTNER_APP)
        assert got.status == 200, got.body
        assert listed[order["order_id"]] == got.body  # the feed's items have the same masked shape
        assert got.body["shipping_address"] == {
            "recipient": name,
            "phone": phone,
            "region": "上海市",
            "city": "上海市",
            "district": "浦东新区",
            "street": "***",
            "postcode": postcode,
            "country": "CN",
        }
        assert got.body["contact_email"] == email
        assert got.body["totals"] == order["totals"] and got.body["lines"][0]["sku"] == "MASK-1"
        text = str(got.body)
        for secret in (order["user_id"], order["address"]["street"], order["address"]["recipient"], "pk", "note"):
            assert f"'{secret}'" not in text and secret not in got.body
        assert "user_id" not in got.body and "promotion_shards" not in got.body["lines"][0]

    refs = {api("GET", f"/partner/v1/orders/{o['order_id']}", app=app).body["customer_ref"] for o in (zhang, john)
            for app in (PARTNER_APP, ANOTHER_APP)}  # fmt: skip
    assert len(refs) == 4 and all(r.startswith("cus_") and SHOPPER.sub not in r for r in refs)
    again = place(api, "MASK-1")
    mine = api("GET", f"/partner/v1/orders/{again['order_id']}", app=PARTNER_APP).body["customer_ref"]
    assert mine == api("GET", f"/partner/v1/orders/{zhang['order_id']}", app=PARTNER_APP).body["customer_ref"]


def test_only_apps_with_the_orders_scope_may_call_the_partner_order_routes(api, product, clock):
    product({"SCOPE-1": 1000}, stock=5)
    order_id = place(api, "SCOPE-1")["order_id"]
    query = {"updated_since": iso(clock.now)}
    for path, q in (("/partner/v1/orders", query), (f"/partner/v1/orders/{order_id}", None)):
        refused = api("GET", path, query=q, app=NO_ORDERS_APP)
        assert refused.status == 403 and refused.body["error"]["code"] == "FORBIDDEN", refused.body
        assert api("GET", path, query=q).status == 401  # not signed
        for staff in (FULFILMENT, ADMIN):
            # A user's token is no signature: API Gateway's partner authorizer answers 401, and so does the function
            # (tests/integration/test_role_matrix.py).
            assert api("GET", path, query=q, user=staff).status == 401
        assert api("GET", path, query=q, app=PARTNER_APP).status == 200
    unknown = api("GET", "/partner/v1/orders/ord_01M8SXN5K8V9NXKHF8QBX988RT", app=PARTNER_APP)
    assert unknown.status == 404 and unknown.body["error"]["code"] == "ORDER_NOT_FOUND"


def test_updated_since_must_be_a_recent_past_iso_time(api, clock):
    for bad in (
        None,
        "yesterday",
        "2026-13-01T00:00:00Z",
        iso(clock.now).rstrip("Z"),  # no time zone
        iso(clock.now + timedelta(minutes=1)),  # in the future
        iso(clock.now - timedelta(days=91)),  # further back than the feed keeps
    ):
        r = api("GET", "/partner/v1/orders", query={"updated_since": bad} if bad else {}, app=PARTNER_APP)
        assert r.status == 422, (bad, r.body)
        assert r.body["error"]["details"][0]["field"] == "updated_since"
    resume = feed(api, updated_since=iso(clock.now - timedelta(days=89)))["resume_cursor"]
    elsewhere = api("GET", "/partner/v1/orders", query={"cursor": resume}, app=ANOTHER_APP)
    assert elsewhere.status == 400  # a cursor belongs to its app
    clock.tick(timedelta(days=91).total_seconds())
    stale = api("GET", "/partner/v1/orders", query={"cursor": resume}, app=PARTNER_APP)
    assert stale.status == 422 and stale.body["error"]["code"] == "CURSOR_TOO_OLD"
