"""The order life cycle (DESIGN.md §5a): the allowed transitions, and every other change refused as a conflict."""

import itertools

import pytest

from functions.checkout.model import CANCELLABLE, TRANSITIONS, OrderStatus, check_transition
from functions.shared.errors import Conflict

S = OrderStatus
ALLOWED = [
    (S.PENDING_PAYMENT, S.PAID),
    (S.PENDING_PAYMENT, S.CANCELLED),
    (S.PAID, S.FULFILLING),
    (S.PAID, S.CANCELLED),
    (S.FULFILLING, S.SHIPPED),
    (S.FULFILLING, S.CANCELLED),
    (S.SHIPPED, S.DELIVERED),
    (S.DELIVERED, S.COMPLETED),
]


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_an_allowed_transition_passes(current, target):
    check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.PENDING_PAYMENT, S.SHIPPED),  # skipping payment
        (S.PENDING_PAYMENT, S.FULFILLING),
        (S.PENDING_PAYMENT, S.COMPLETED),
        (S.PAID, S.PENDING_PAYMENT),  # going back
        (S.PAID, S.DELIVERED),
        (S.SHIPPED, S.CANCELLED),  # too late to cancel once shipped
        (S.DELIVERED, S.CANCELLED),
        (S.COMPLETED, S.CANCELLED),
        (S.CANCELLED, S.PAID),  # a cancelled order stays cancelled
        (S.CANCELLED, S.PENDING_PAYMENT),
        (S.COMPLETED, S.DELIVERED),
        (S.PAID, S.PAID),  # not a transition
        (S.CANCELLED, S.CANCELLED),
    ],
)
def test_a_refused_transition_is_a_conflict_naming_both_states(current, target):
    with pytest.raises(Conflict) as caught:
        check_transition(current, target)
    assert caught.value.code == "INVALID_ORDER_STATE"
    assert caught.value.status == 409
    assert current.value in caught.value.message
    assert target.value in caught.value.message


def test_exactly_the_documented_transitions_are_allowed():
    allowed = set()
    for current, target in itertools.product(OrderStatus, OrderStatus):
        try:
            check_transition(current, target)
        except Conflict:
            continue
        allowed.add((current, target))
    assert allowed == set(ALLOWED)


def test_completed_and_cancelled_are_final():
    assert TRANSITIONS[S.COMPLETED] == frozenset()
    assert TRANSITIONS[S.CANCELLED] == frozenset()


def test_an_order_can_be_cancelled_only_before_shipment():
    assert set(CANCELLABLE) == {S.PENDING_PAYMENT, S.PAID, S.FULFILLING}
