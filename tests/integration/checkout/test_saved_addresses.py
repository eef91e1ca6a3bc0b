"""Saved addresses in the checkout: the copy CheckoutAddressProjector keeps from the accounts context's
AddressSaved / AddressDeleted (newer versions only, deletes leave a tombstone), and checkout with an ``address_id``:
read in the BatchGetItem that reads the cart, copied into the order, refused when not one of the shopper's."""

from __future__ import annotations

import uuid
from datetime import timedelta

import boto3
import pytest

from functions.accounts.events import AddressDeleted, AddressSaved, SavedAddressDetails
from functions.shared.events import utcnow
from functions.shared.ids import prefixed
from tests.conftest import ADMIN, OTHER_SHOPPER, SHOPPER
from tests.integration.checkout.conftest import ADDRESS, deliver

ORDER_ADDRESS = {**ADDRESS, "country": "CN"}


def saved(user, address_id, version, **changes):
    fields = {**ADDRESS, "country": "CN", **changes}
    details = SavedAddressDetails(
        address_id=address_id,
        is_default=version == 1,
        version=version,
        updated_at=utcnow() + timedelta(seconds=version),
        **fields,
    )
    return AddressSaved(user_id=user.sub, address=details)


def deleted(user, address_id, version):
    return AddressDeleted(user_id=user.sub, address_id=address_id, version=version, default_address_id=None)


def project(event):
    return deliver("address_projector", "CheckoutAddressProjector", event)


def stored(aws, user, address_id):
    item = boto3.client("dynamodb").get_item(
        TableName=aws.env["CHECKOUT_TABLE_NAME"],
        Key={"pk": {"S": f"ADDR#{user.sub}"}, "sk": {"S": address_id}},
    )
    return item.get("Item")


def orders_of(aws):
    items = boto3.client("dynamodb").scan(TableName=aws.env["CHECKOUT_TABLE_NAME"])["Items"]
    return [i for i in items if i["pk"]["S"].startswith("ORDER#")]


def place(api, user, key=None, **body):
    headers = {"Idempotency-Key": key or uuid.uuid4().hex}
    return api("POST", "/checkout", body, user=user, headers=headers)


@pytest.fixture
def cart(api, product):
    def fill(user=SHOPPER, sku=None):
        sku = sku or f"SA-{uuid.uuid4().hex[:6].upper()}"
        product({sku: 5000}, stock=5)
        assert api("POST", "/cart/items", {"sku": sku, "quantity": 1}, user=user).status in (200, 201)
        return sku

    return fill


# --- the projection ---------------------------------------------------------------------------------------------


def test_a_newer_version_wins_and_an_older_or_replayed_one_changes_nothing(aws):
    aid = prefixed("adr")
    v2 = saved(SHOPPER, aid, 2, street="新地址 2 号")
    project(v2)
    project(saved(SHOPPER, aid, 1, street="旧地址 1 号"))  # late, older
    project(v2)  # replay
    item = stored(aws, SHOPPER, aid)
    assert item["street"]["S"] == "新地址 2 号" and item["version"]["N"] == "2"
    project(saved(SHOPPER, aid, 3, street="新地址 3 号"))
    assert stored(aws, SHOPPER, aid)["street"]["S"] == "新地址 3 号"


def test_a_delete_leaves_a_tombstone_a_late_older_save_cannot_resurrect(aws):
    aid = prefixed("adr")
    project(saved(SHOPPER, aid, 1))
    project(deleted(SHOPPER, aid, 2))
    project(saved(SHOPPER, aid, 2))  # same version as the delete: older news
    project(saved(SHOPPER, aid, 1))  # replay of the first save
    project(deleted(SHOPPER, aid, 2))  # replayed delete
    item = stored(aws, SHOPPER, aid)
    assert item["deleted"]["BOOL"] is True and item["version"]["N"] == "2"
    assert "street" not in item and "phone" not in item  # a tombstone keeps nothing of the address


def test_a_delete_arriving_before_its_save_still_wins(aws):
    aid = prefixed("adr")
    project(deleted(SHOPPER, aid, 3))
    project(saved(SHOPPER, aid, 2))
    assert stored(aws, SHOPPER, aid)["deleted"]["BOOL"] is True


def test_an_event_that_is_not_an_address_fact_is_reported_failed(aws):
    from functions.checkout.handlers import address_projector
    from local.apigw import LambdaContext
    from tests.integration.checkout.conftest import sqs_event

    event = sqs_event("AddressSaved", "shop.accounts", {"user_id": SHOPPER.sub, "address": {"address_id": "x"}})
    result = address_projector.handler(event, LambdaContext("CheckoutAddressProjector"))
    assert len(result["batchItemFailures"]) == 1


# --- checkout with an address_id ----------------------------------------------------------------------------


def test_checkout_with_a_saved_address_copies_it_into_the_order(api, aws, cart):
    aid = prefixed("adr")
    project(saved(SHOPPER, aid, 1, recipient="韩梅梅"))
    cart()
    r = place(api, SHOPPER, address_id=aid)
    assert r.status == 201, r.body
    assert r.body["address"] == {**ORDER_ADDRESS, "recipient": "韩梅梅"}
    # Later edits (and a delete) of the saved address do not change the placed order.
    project(saved(SHOPPER, aid, 2, recipient="王五", street="别处 9 号"))
    project(deleted(SHOPPER, aid, 3))
    order = api("GET", f"/orders/{r.body['order_id']}", user=SHOPPER).body
    assert order["address"]["recipient"] == "韩梅梅" and order["address"]["street"] == ADDRESS["street"]


def test_the_newest_version_of_the_saved_address_is_used(api, cart):
    aid = prefixed("adr")
    project(saved(SHOPPER, aid, 1))
    project(saved(SHOPPER, aid, 2, city="杭州市"))
    cart()
    r = place(api, SHOPPER, address_id=aid)
    assert r.status == 201, r.body
    assert r.body["address"]["city"] == "杭州市"


@pytest.mark.parametrize("case", ["unknown", "other_shopper", "deleted"])
def test_an_address_id_that_is_not_one_of_mine_is_a_422_and_writes_nothing(api, aws, cart, case):
    aid = prefixed("adr")
    if case == "other_shopper":
        project(saved(OTHER_SHOPPER, aid, 1))
    elif case == "deleted":
        project(saved(SHOPPER, aid, 1))
        project(deleted(SHOPPER, aid, 2))
    sku = cart()
    r = place(api, SHOPPER, address_id=aid)
    assert r.status == 422, r.body
    assert r.body["error"]["code"] == "ADDRESS_NOT_FOUND"
    assert orders_of(aws) == []
    stock = api("GET", f"/admin/inventory/{sku}", user=ADMIN).body
    assert stock["reserved"] == 0
    assert [li["sku"] for li in api("GET", "/cart", user=SHOPPER).body["lines"]] == [sku]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"note": "no address"},
        {"address": ADDRESS, "address_id": "adr_01J9Z8K2M4N6P8Q0R2S4T6V8W0"},
        {"address_id": "not-an-address-id"},
        {"address_id": None},
    ],
)
def test_exactly_one_of_address_and_address_id_is_required(api, aws, cart, body):
    cart()
    r = place(api, SHOPPER, **body)
    assert r.status == 422, r.body
    assert orders_of(aws) == []


def test_replaying_a_checkout_with_an_address_id_returns_the_same_order(api, aws, cart):
    aid = prefixed("adr")
    project(saved(SHOPPER, aid, 1))
    cart()
    key = uuid.uuid4().hex
    first = place(api, SHOPPER, key, address_id=aid)
    assert first.status == 201, first.body
    project(deleted(SHOPPER, aid, 2))  # the replay answers from the order, not from the address book
    again = place(api, SHOPPER, key, address_id=aid)
    assert again.status == 200, again.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.body["order_id"] == first.body["order_id"]
    # The digest is over the body as sent: the same key with the address spelt out is another request.
    other = place(api, SHOPPER, key, address=ADDRESS)
    assert other.status == 422 and other.body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(orders_of(aws)) == 1


def test_the_digest_of_a_body_with_address_is_unchanged():
    """Idempotency records written before ``address_id`` existed still match their retries."""
    from functions.checkout.model import CheckoutInput
    from functions.shared.idempotency import request_hash

    body = {"address": ADDRESS, "coupon_code": None, "note": ""}
    data = CheckoutInput.model_validate({"address": ADDRESS})
    assert request_hash(data.digest_body()) == request_hash({**body, "address": ORDER_ADDRESS})


def test_a_saved_address_costs_checkout_no_extra_request(api, cart):
    from functions.shared.aws import client

    calls: list[str] = []

    def count(model, **_):
        calls.append(model.name)

    events = client("dynamodb").meta.events
    events.register("before-call.dynamodb", count)
    try:
        aid = prefixed("adr")
        project(saved(SHOPPER, aid, 1))
        runs = {}
        for label, body in (("address", {"address": ADDRESS}), ("address_id", {"address_id": aid})):
            cart()
            calls.clear()
            r = place(api, SHOPPER, **body)
            assert r.status == 201, r.body
            runs[label] = list(calls)
    finally:
        events.unregister("before-call.dynamodb", count)
    assert runs["address_id"] == runs["address"]
    assert runs["address"].count("BatchGetItem") == 2 and runs["address"].count("TransactWriteItems") == 1
