"""What a return refunds (functions.shipping.model.refund_for) and the return life cycle (DESIGN.md §5a)."""

from __future__ import annotations

import itertools

import pytest

from functions.shared.errors import Conflict
from functions.shipping.model import RETURN_TRANSITIONS, ReturnStatus, check_return_transition, refund_for
from tests.unit.shipping.shipping_builders import cny, fulfilment

R = ReturnStatus

# --- refund_for ---------------------------------------------------------------------------------------------------


def test_a_return_without_a_discount_refunds_the_lines_as_ordered():
    order = fulfilment({"A": (2, 1000), "B": (1, 2500)})
    assert refund_for(order, {"A": 1}) == cny(1000)
    assert refund_for(order, {"A": 2, "B": 1}) == cny(4500)


def test_a_return_refunds_its_share_of_the_order_discount_less():
    order = fulfilment({"A": (1, 3000), "B": (1, 1000)}, discount=1000)  # 25 % off the whole order
    assert refund_for(order, {"A": 1}) == cny(2250)
    assert refund_for(order, {"B": 1}) == cny(750)
    assert refund_for(order, {"A": 1, "B": 1}) == cny(3000)


def test_a_discount_share_that_is_not_a_whole_amount_is_rounded_down():
    order = fulfilment({"A": (3, 1000)}, discount=100)  # 2900 paid for 3 units: 966.67 each
    assert refund_for(order, {"A": 1}) == cny(966)


def test_returning_an_order_in_parts_never_refunds_more_than_was_paid():
    order = fulfilment({"A": (3, 333), "B": (2, 1001)}, discount=77)
    paid = 3 * 333 + 2 * 1001 - 77
    parts = [refund_for(order, {"A": 1}), refund_for(order, {"A": 2}), refund_for(order, {"B": 1})]
    parts.append(refund_for(order, {"B": 1}))
    assert all(p is not None for p in parts)
    assert sum(p.amount for p in parts if p) <= paid
    whole = refund_for(order, {"A": 3, "B": 2})
    assert whole is not None
    assert whole.amount <= paid


def test_a_line_whose_total_does_not_divide_by_its_units_refunds_each_unit_rounded_down():
    order = fulfilment({"A": (3, 1000)})
    order.lines[0].line_total = cny(1000)  # e.g. a bundle price: 333.33 a unit
    assert refund_for(order, {"A": 1}) == cny(333)
    assert refund_for(order, {"A": 3}) == cny(1000)


def test_a_sku_not_in_the_order_refunds_nothing():
    assert refund_for(fulfilment({"A": (1, 1000)}), {"Z": 1}) == cny(0)


def test_an_order_without_totals_has_no_refund_figure():
    order = fulfilment({"A": (1, 1000)}).model_copy(update={"subtotal": None})
    assert refund_for(order, {"A": 1}) is None


def test_the_refund_is_in_the_orders_currency():
    order = fulfilment({"A": (1, 1000)})
    refund = refund_for(order, {"A": 1})
    assert refund is not None
    assert refund.currency == "CNY"


# --- transitions --------------------------------------------------------------------------------------------------

ALLOWED = [
    (R.REQUESTED, R.APPROVED),
    (R.REQUESTED, R.REJECTED),
    (R.APPROVED, R.RECEIVED),
    (R.RECEIVED, R.REFUNDED),
    (R.RECEIVED, R.EXCHANGED),
]


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_an_allowed_return_transition_passes(current, target):
    check_return_transition(current, target)


@pytest.mark.parametrize(("current", "target"), [p for p in itertools.product(list(R), repeat=2) if p not in ALLOWED])
def test_every_other_return_transition_is_a_conflict(current, target):
    with pytest.raises(Conflict) as caught:
        check_return_transition(current, target)
    assert caught.value.code == "INVALID_RETURN_STATE"


def test_a_return_cannot_be_received_before_it_is_approved():
    with pytest.raises(Conflict):
        check_return_transition(R.REQUESTED, R.RECEIVED)


@pytest.mark.parametrize("final", [R.REJECTED, R.REFUNDED, R.EXCHANGED])
def test_rejected_refunded_and_exchanged_are_final(final):
    assert RETURN_TRANSITIONS[final] == frozenset()
