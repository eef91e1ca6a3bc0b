"""The rules the shipping events are applied by: an order moves only forward along the life cycle, possibly several
steps at once, and a dispatched parcel takes only regular lines' units out of reserved stock."""

import pytest

from functions.checkout.model import (
    AddressInput,
    Order,
    OrderLine,
    OrderStatus,
    Totals,
    forward_path,
    reserved_units_shipped,
)
from tests.unit.checkout.builders import NOW, cny

S = OrderStatus


@pytest.mark.parametrize(
    ("current", "target", "path"),
    [
        (S.PAID, S.FULFILLING, [S.FULFILLING]),
        (S.PAID, S.SHIPPED, [S.FULFILLING, S.SHIPPED]),  # the dispatch came before the allocation
        (S.PAID, S.DELIVERED, [S.FULFILLING, S.SHIPPED, S.DELIVERED]),
        (S.FULFILLING, S.DELIVERED, [S.SHIPPED, S.DELIVERED]),
        (S.DELIVERED, S.COMPLETED, [S.COMPLETED]),
        (S.SHIPPED, S.SHIPPED, []),  # already there
    ],
)
def test_an_order_moves_forward_through_every_step_between(current, target, path):
    assert forward_path(current, target) == path


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.SHIPPED, S.FULFILLING),  # a late allocation
        (S.DELIVERED, S.SHIPPED),  # a late dispatch
        (S.COMPLETED, S.DELIVERED),
        (S.CANCELLED, S.FULFILLING),  # a cancelled order goes nowhere
        (S.CANCELLED, S.DELIVERED),
    ],
)
def test_an_order_never_moves_back_nor_out_of_cancelled(current, target):
    assert forward_path(current, target) is None


def test_shipping_never_cancels_an_order_nor_passes_through_cancelled():
    for current in OrderStatus:
        assert all(S.CANCELLED not in (forward_path(current, target) or []) for target in OrderStatus)
        if current is not S.CANCELLED:
            assert forward_path(current, S.CANCELLED) is None


def order(*lines: tuple[str, int, str | None]) -> Order:
    order_lines = [
        OrderLine(
            sku=sku,
            product_id=f"prd_{sku.lower()}",
            name=sku,
            quantity=quantity,
            unit_price=cny(1000),
            line_total=cny(1000 * quantity),
            promotion_id=promotion,
        )
        for sku, quantity, promotion in lines
    ]
    zero = cny(0)
    return Order(
        order_id="ord_1",
        user_id="u1",
        status=S.PAID,
        lines=order_lines,
        totals=Totals(subtotal=zero, discount=zero, shipping=zero, total=zero),
        address=AddressInput(
            recipient="李雷", phone="+8613812345678", region="上海市", city="上海市", street="1", postcode="200120"
        ),
        created_at=NOW,
        updated_at=NOW,
        payment_due_at=NOW,
    )


def test_a_parcel_takes_its_regular_units_out_of_reserved_stock():
    assert reserved_units_shipped(order(("A", 2, None), ("B", 1, None)), [("A", 2), ("B", 1)]) == {"A": 2, "B": 1}


def test_flash_sale_units_never_were_reserved_so_none_leave():
    assert reserved_units_shipped(order(("A", 1, None), ("F", 1, "prm_1")), [("A", 1), ("F", 1)]) == {"A": 1}


def test_a_parcel_never_takes_more_than_the_order_reserved_or_skus_it_does_not_hold():
    shipped = [("A", 5), ("a", 1), ("X", 3), ("B", -1)]
    assert reserved_units_shipped(order(("A", 2, None), ("B", 1, None)), shipped) == {"A": 2}
