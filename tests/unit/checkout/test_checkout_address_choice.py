"""CheckoutInput: exactly one of ``address`` and ``address_id``; the idempotency digest over the body as sent; a
saved address copied into the order's address."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from functions.checkout.model import CheckoutInput, SavedAddress

ADDRESS = {
    "recipient": "李雷",
    "phone": "+8613812345678",
    "region": "上海市",
    "city": "上海市",
    "street": "世纪大道 100 号",
    "postcode": "200120",
}
AID = "adr_01J9Z8K2M4N6P8Q0R2S4T6V8W0"


def test_an_address_or_an_address_id_is_accepted():
    assert CheckoutInput.model_validate({"address": ADDRESS}).address_id is None
    chosen = CheckoutInput.model_validate({"address_id": AID})
    assert chosen.address is None and chosen.address_id == AID


@pytest.mark.parametrize(
    "body",
    [{}, {"address": ADDRESS, "address_id": AID}, {"address_id": "adr_short"}, {"address_id": 7}, {"address": None}],
)
def test_both_neither_or_a_malformed_id_is_refused(body):
    with pytest.raises(ValidationError):
        CheckoutInput.model_validate(body)


def test_the_digest_body_is_what_was_sent():
    assert "address_id" not in CheckoutInput.model_validate({"address": ADDRESS}).digest_body()
    body = CheckoutInput.model_validate({"address_id": AID, "note": "hi"}).digest_body()
    assert body == {"address_id": AID, "coupon_code": None, "note": "hi"}


def test_a_saved_address_becomes_the_order_address_without_its_book_fields():
    saved = SavedAddress(address_id=AID, version=4, is_default=True, district="浦东新区", **ADDRESS)
    order_address = saved.for_order()
    assert order_address.model_dump() == {**ADDRESS, "district": "浦东新区", "country": "CN"}
