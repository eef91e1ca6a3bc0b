"""Orders: my orders, BOLA (another shopper's order is a 404 to read and to cancel), cancellation, back office."""

from __future__ import annotations

from tests.conftest import ADMIN, CATALOG_STAFF, OTHER_SHOPPER, SHOPPER, User
from tests.integration.checkout.conftest import checkout

FULFILMENT = User("55555555-5555-4555-8555-555555555555", "ops@example.com", ("customer", "fulfilment"))


def place(api, user, sku, quantity=1):
    assert api("POST", "/cart/items", {"sku": sku, "quantity": quantity}, user=user).status == 200
    r = checkout(api, user)
    assert r.status == 201, r.body
    return r.body


def test_my_orders_newest_first_and_paged(api, product):
    product({"ORD-1": 1000}, stock=10)
    placed = [place(api, SHOPPER, "ORD-1")["order_id"] for _ in range(3)]
    page = api("GET", "/orders", user=SHOPPER, query={"limit": 2}).body
    assert [o["order_id"] for o in page["items"]] == placed[::-1][:2]
    rest = api("GET", "/orders", user=SHOPPER, query={"limit": 2, "cursor": page["next_cursor"]}).body
    assert [o["order_id"] for o in rest["items"]] == placed[:1]
    assert api("GET", "/orders", user=OTHER_SHOPPER).body["items"] == []
    forged = api("GET", "/orders", user=OTHER_SHOPPER, query={"cursor": page["next_cursor"]})
    assert forged.status == 400  # a cursor belongs to its shopper's query


def test_another_shoppers_order_is_a_404_to_read_and_to_cancel(api, product):
    product({"BOLA-1": 1000}, stock=10)
    order = place(api, SHOPPER, "BOLA-1")
    for r in (
        api("GET", f"/orders/{order['order_id']}", user=OTHER_SHOPPER),
        api("POST", f"/orders/{order['order_id']}/cancel", {}, user=OTHER_SHOPPER),
    ):
        assert r.status == 404 and r.body["error"]["code"] == "ORDER_NOT_FOUND"
    assert api("GET", f"/orders/{order['order_id']}", user=SHOPPER).body["status"] == "pending_payment"
    assert api("GET", "/orders/ord_nope", user=SHOPPER).status == 404


def test_cancelling_releases_the_stock_exactly_once(api, product):
    product({"CAN-1": 1000}, stock=5)
    order = place(api, SHOPPER, "CAN-1", quantity=2)
    first = api("POST", f"/orders/{order['order_id']}/cancel", {"reason": "changed my mind"}, user=SHOPPER)
    assert first.status == 200
    assert first.body["status"] == "cancelled" and first.body["cancel_reason"] == "changed my mind"
    again = api("POST", f"/orders/{order['order_id']}/cancel", {}, user=SHOPPER)
    assert again.status == 200 and again.body["version"] == first.body["version"]
    stock = api("GET", "/admin/inventory/CAN-1", user=ADMIN).body
    assert stock["sellable"] == 5 and stock["reserved"] == 0
    assert [h["status"] for h in first.body["history"]] == ["pending_payment", "cancelled"]


def test_an_order_past_shipment_cannot_be_cancelled(api, aws, product):
    import boto3

    product({"SHIP-1": 1000}, stock=5)
    order = place(api, SHOPPER, "SHIP-1")
    boto3.client("dynamodb").update_item(
        TableName=aws.env["CHECKOUT_TABLE_NAME"],
        Key={"pk": {"S": f"ORDER#{order['order_id']}"}, "sk": {"S": "ORDER"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "shipped"}},
    )
    r = api("POST", f"/orders/{order['order_id']}/cancel", {}, user=SHOPPER)
    assert r.status == 409 and r.body["error"]["code"] == "INVALID_ORDER_STATE"


def test_back_office_lists_orders_by_status_and_date_range(api, product):
    product({"ADM-1": 1000}, stock=10)
    a = place(api, SHOPPER, "ADM-1")
    b = place(api, OTHER_SHOPPER, "ADM-1")
    api("POST", f"/orders/{a['order_id']}/cancel", {}, user=SHOPPER)
    every = api("GET", "/admin/orders", user=FULFILMENT).body["items"]
    assert [o["order_id"] for o in every] == [b["order_id"], a["order_id"]]
    pending = api("GET", "/admin/orders", user=FULFILMENT, query={"status": "pending_payment"}).body["items"]
    assert [o["order_id"] for o in pending] == [b["order_id"]]
    cancelled = api("GET", "/admin/orders", user=ADMIN, query={"status": "cancelled"}).body["items"]
    assert [o["order_id"] for o in cancelled] == [a["order_id"]]
    window = {"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"}
    assert api("GET", "/admin/orders", user=FULFILMENT, query=window).body["items"] == []
    one = api("GET", "/admin/orders", user=FULFILMENT, query={"limit": 1})
    assert len(one.body["items"]) == 1 and one.body["next_cursor"]
    nxt = api("GET", "/admin/orders", user=FULFILMENT, query={"limit": 1, "cursor": one.body["next_cursor"]})
    assert nxt.status == 200, nxt.body
    assert [o["order_id"] for o in nxt.body["items"]] == [a["order_id"]]
    assert api("GET", f"/admin/orders/{a['order_id']}", user=FULFILMENT).body["user_id"] == SHOPPER.sub


def test_back_office_order_routes_refuse_shoppers_and_other_staff(api):
    assert api("GET", "/admin/orders", user=SHOPPER).status == 403
    assert api("GET", "/admin/orders", user=CATALOG_STAFF).status == 403
    assert api("GET", "/admin/orders").status == 401
    bad = api("GET", "/admin/orders", user=FULFILMENT, query={"from": "yesterday"})
    assert bad.status == 422
    backwards = {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    assert api("GET", "/admin/orders", user=FULFILMENT, query=backwards).status == 422
    assert api("GET", "/admin/orders", user=FULFILMENT, query={"status": "lost"}).status == 422


def test_back_office_pages_walk_every_index_shard_newest_first_without_gaps(api, product):
    from functions.checkout.repository import ORDER_INDEX_SHARDS, index_shard

    product({"ADM-PAGE": 1000}, stock=20)
    placed = [place(api, SHOPPER, "ADM-PAGE")["order_id"] for _ in range(7)]
    assert len({index_shard(o) for o in placed}) > 1 and ORDER_INDEX_SHARDS > 1  # spread over several shards
    for query in ({}, {"status": "pending_payment"}):
        seen, cursor = [], None
        while True:
            page = api(
                "GET",
                "/admin/orders",
                user=FULFILMENT,
                query={**query, "limit": 3, **({"cursor": cursor} if cursor else {})},
            )
            assert page.status == 200, page.body
            seen += [o["order_id"] for o in page.body["items"]]
            cursor = page.body["next_cursor"]
            if not cursor:
                break
        assert seen == placed[::-1], query
