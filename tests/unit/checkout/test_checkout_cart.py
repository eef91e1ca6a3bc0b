"""The stored cart's rules: at most 50 lines, 1..99 of each SKU, and how a guest cart folds in at sign-in."""

import pytest
from pydantic import ValidationError

from functions.checkout.model import MAX_CART_LINES, MAX_LINE_QUANTITY, CartLineInput, QuantityInput, StoredCart
from functions.shared.errors import Unprocessable
from tests.unit.checkout.builders import NOW, cart


def full_cart() -> StoredCart:
    return cart(*[(f"SKU-{i}", 1) for i in range(MAX_CART_LINES)])


def test_adding_a_new_sku_appends_a_line():
    c = cart()
    c.add("SKU-A", 2, NOW)
    assert [(line.sku, line.quantity) for line in c.lines] == [("SKU-A", 2)]


def test_adding_a_sku_already_in_the_cart_adds_to_its_quantity():
    c = cart(("SKU-A", 2))
    c.add("SKU-A", 3, NOW)
    assert [(line.sku, line.quantity) for line in c.lines] == [("SKU-A", 5)]


def test_adding_up_to_99_of_one_sku_is_allowed():
    c = cart(("SKU-A", 98))
    c.add("SKU-A", 1, NOW)
    assert c.quantity_of("SKU-A") == MAX_LINE_QUANTITY


def test_adding_beyond_99_of_one_sku_is_refused_and_changes_nothing():
    c = cart(("SKU-A", 98))
    with pytest.raises(Unprocessable) as caught:
        c.add("SKU-A", 2, NOW)
    assert caught.value.code == "QUANTITY_LIMIT"
    assert caught.value.status == 422
    assert c.quantity_of("SKU-A") == 98


def test_a_cart_holds_50_lines():
    c = cart(*[(f"SKU-{i}", 1) for i in range(MAX_CART_LINES - 1)])
    c.add("SKU-LAST", 1, NOW)
    assert len(c.lines) == MAX_CART_LINES


def test_a_51st_line_is_refused():
    c = full_cart()
    with pytest.raises(Unprocessable) as caught:
        c.add("SKU-NEW", 1, NOW)
    assert caught.value.code == "CART_FULL"
    assert len(c.lines) == MAX_CART_LINES


def test_a_full_cart_still_takes_more_of_a_sku_it_has():
    c = full_cart()
    c.add("SKU-7", 4, NOW)
    assert c.quantity_of("SKU-7") == 5
    assert len(c.lines) == MAX_CART_LINES


def test_setting_a_quantity_replaces_it():
    c = cart(("SKU-A", 7))
    c.set("SKU-A", 2, NOW)
    assert c.quantity_of("SKU-A") == 2


def test_removing_a_line_reports_whether_it_was_there():
    c = cart(("SKU-A", 1), ("SKU-B", 1))
    assert c.remove("SKU-A") is True
    assert c.remove("SKU-A") is False
    assert [line.sku for line in c.lines] == ["SKU-B"]


@pytest.mark.parametrize("quantity", [0, -1, 100, 1.0, "2", True])
def test_a_line_quantity_outside_1_to_99_or_not_an_integer_is_refused(quantity):
    with pytest.raises(ValidationError):
        CartLineInput.model_validate({"sku": "SKU-A", "quantity": quantity})
    with pytest.raises(ValidationError):
        QuantityInput.model_validate({"quantity": quantity})


@pytest.mark.parametrize("quantity", [1, 99])
def test_line_quantities_1_and_99_are_accepted(quantity):
    assert CartLineInput.model_validate({"sku": "SKU-A", "quantity": quantity}).quantity == quantity


def test_a_client_cannot_send_a_price_with_a_cart_line():
    with pytest.raises(ValidationError):
        CartLineInput.model_validate({"sku": "SKU-A", "quantity": 1, "price": {"amount": 1, "currency": "CNY"}})


def test_merging_adds_the_guest_quantities_to_the_shoppers():
    mine = cart(("SKU-A", 2))
    guest = cart(("SKU-A", 3), ("SKU-B", 1), owner="G#token")
    dropped = mine.merge(guest, NOW)
    assert dropped == []
    assert {line.sku: line.quantity for line in mine.lines} == {"SKU-A": 5, "SKU-B": 1}


def test_merging_caps_a_line_at_99():
    mine = cart(("SKU-A", 60))
    dropped = mine.merge(cart(("SKU-A", 60), owner="G#token"), NOW)
    assert dropped == []
    assert mine.quantity_of("SKU-A") == MAX_LINE_QUANTITY


def test_merging_drops_the_guest_lines_beyond_50_and_reports_them():
    mine = cart(*[(f"SKU-{i}", 1) for i in range(MAX_CART_LINES - 1)])
    guest = cart(("SKU-X", 1), ("SKU-3", 2), ("SKU-Y", 1), ("SKU-Z", 1), owner="G#token")
    dropped = mine.merge(guest, NOW)
    assert dropped == ["SKU-Y", "SKU-Z"]
    assert len(mine.lines) == MAX_CART_LINES
    assert mine.quantity_of("SKU-X") == 1
    assert mine.quantity_of("SKU-3") == 3  # a SKU already in the cart still merges into a full cart
    assert mine.quantity_of("SKU-Y") == 0


def test_merging_an_empty_guest_cart_changes_nothing():
    mine = cart(("SKU-A", 2))
    assert mine.merge(cart(owner="G#token"), NOW) == []
    assert [(line.sku, line.quantity) for line in mine.lines] == [("SKU-A", 2)]
