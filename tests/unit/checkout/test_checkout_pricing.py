"""Pricing a cart: catalogue prices (or a running flash sale's), availability, coupon scope, the shipping fee and
totals that add up, in integer minor units only; and what makes a cart unfit for checkout."""

import random
from datetime import timedelta
from typing import Any

import pytest

from functions.checkout.model import (
    MAX_LINE_QUANTITY,
    PricedCart,
    Stock,
    price_cart,
    require_checkout_ready,
)
from functions.shared.errors import AppError, Conflict, NotFound, Unprocessable
from functions.shared.money import MAX_AMOUNT
from tests.unit.checkout.builders import NOW, cart, coupon, promo_ref, sku_info, stock

FEE = 800
FREE_FROM = 20000


@pytest.fixture(autouse=True)
def shop_settings(monkeypatch):
    monkeypatch.setenv("SHIPPING_FEE_AMOUNT", str(FEE))
    monkeypatch.setenv("FREE_SHIPPING_FROM_AMOUNT", str(FREE_FROM))
    monkeypatch.setenv("PAYMENT_WINDOW_SECONDS", "600")
    monkeypatch.delenv("SHOP_CURRENCY", raising=False)


def price(stored, infos, stock_=None, remaining=None, coupon_=None, now=NOW, strict=False) -> PricedCart:
    skus = {i.sku: i for i in infos}
    return price_cart(stored, skus, stock_ or {}, remaining or {}, coupon_, now, strict_coupon=strict)


def line(priced: PricedCart, sku: str) -> Any:
    return next(x for x in priced.cart.lines if x.sku == sku)


def moneys(value: Any) -> list[Any]:
    """Every ``{"amount": ..., "currency": ...}`` in a dumped structure."""
    if isinstance(value, dict):
        found = [value] if set(value) == {"amount", "currency"} else []
        return found + [m for v in value.values() for m in moneys(v)]
    if isinstance(value, list):
        return [m for v in value for m in moneys(v)]
    return []


# --- prices ---------------------------------------------------------------------------------------------------------


def test_a_line_is_priced_at_the_catalogue_price():
    priced = price(cart(("SKU-A", 3)), [sku_info("SKU-A", 12345)], stock(SKU_A=10))
    a = line(priced, "SKU-A")
    assert a.unit_price.amount == 12345
    assert a.line_total.amount == 3 * 12345
    assert a.regular_price is None
    assert a.promotion_id is None
    assert priced.order_lines[0].unit_price.amount == 12345


def test_a_running_flash_sale_prices_the_line_at_the_sale_price():
    info = sku_info("SKU-A", 10000, promotions={"prm_1": promo_ref(price=6000)})
    priced = price(cart(("SKU-A", 2)), [info], stock(SKU_A=0), {"prm_1": 5})
    a = line(priced, "SKU-A")
    assert (a.unit_price.amount, a.regular_price.amount, a.line_total.amount) == (6000, 10000, 12000)
    assert a.promotion_id == "prm_1"
    assert priced.promotion_lines["SKU-A"].promotion_id == "prm_1"
    assert priced.order_lines[0].promotion_id == "prm_1"


@pytest.mark.parametrize(
    ("moment", "sale_applies"),
    [
        (NOW - timedelta(seconds=1), False),  # before it starts
        (NOW, True),  # the first instant of the window
        (NOW + timedelta(hours=1) - timedelta(microseconds=1), True),  # the last instant
        (NOW + timedelta(hours=1), False),  # it has ended
        (NOW + timedelta(days=3), False),  # long after, not settled yet
    ],
)
def test_the_flash_sale_price_applies_only_inside_its_window(moment, sale_applies):
    ref = promo_ref(price=6000, starts_at=NOW, ends_at=NOW + timedelta(hours=1))
    info = sku_info("SKU-A", 10000, promotions={"prm_1": ref})
    priced = price(cart(("SKU-A", 1)), [info], stock(SKU_A=4), {"prm_1": 5}, now=moment)
    a = line(priced, "SKU-A")
    assert a.unit_price.amount == (6000 if sale_applies else 10000)
    assert (a.promotion_id == "prm_1") is sale_applies
    assert ("SKU-A" in priced.promotion_lines) is sale_applies


def test_outside_the_sale_window_availability_comes_from_sellable_stock():
    ref = promo_ref(starts_at=NOW + timedelta(hours=1), ends_at=NOW + timedelta(hours=2))
    info = sku_info("SKU-A", promotions={"prm_1": ref})
    priced = price(cart(("SKU-A", 1)), [info], stock(SKU_A=0), {"prm_1": 5})
    assert line(priced, "SKU-A").availability == "out_of_stock"


def test_a_flash_sale_line_is_sold_out_when_no_unit_is_left():
    info = sku_info("SKU-A", promotions={"prm_1": promo_ref()})
    priced = price(cart(("SKU-A", 1)), [info], stock(SKU_A=50), {"prm_1": 0})
    a = line(priced, "SKU-A")
    assert (a.availability, a.max_quantity) == ("sold_out", 0)
    assert priced.cart.checkout_ready is False


def test_a_flash_sale_line_above_the_per_shopper_limit_is_over_the_limit():
    info = sku_info("SKU-A", promotions={"prm_1": promo_ref(per_user_limit=2)})
    for left in (10, 1):  # whatever is left
        priced = price(cart(("SKU-A", 3)), [info], stock(SKU_A=50), {"prm_1": left})
        a = line(priced, "SKU-A")
        assert (a.availability, a.max_quantity) == ("over_limit", min(2, left))
        assert priced.cart.checkout_ready is False


def test_a_flash_sale_line_can_take_at_most_the_units_left():
    info = sku_info("SKU-A", promotions={"prm_1": promo_ref(per_user_limit=5)})
    priced = price(cart(("SKU-A", 2)), [info], stock(SKU_A=50), {"prm_1": 1})
    a = line(priced, "SKU-A")
    assert (a.availability, a.max_quantity) == ("insufficient_stock", 1)


def test_a_flash_sale_line_is_in_stock_from_its_shards_even_with_no_sellable_stock():
    info = sku_info("SKU-A", promotions={"prm_1": promo_ref(per_user_limit=2)})
    priced = price(cart(("SKU-A", 2)), [info], stock(SKU_A=0), {"prm_1": 2})
    assert line(priced, "SKU-A").availability == "in_stock"
    assert priced.cart.checkout_ready is True


# --- availability ---------------------------------------------------------------------------------------------------


def test_a_line_within_sellable_stock_is_in_stock():
    priced = price(cart(("SKU-A", 3)), [sku_info("SKU-A")], stock(SKU_A=3))
    a = line(priced, "SKU-A")
    assert (a.availability, a.max_quantity) == ("in_stock", 3)
    assert priced.cart.checkout_ready is True


def test_a_line_above_sellable_stock_is_insufficient_and_says_how_many_can_be_bought():
    priced = price(cart(("SKU-A", 4)), [sku_info("SKU-A")], stock(SKU_A=3))
    a = line(priced, "SKU-A")
    assert (a.availability, a.max_quantity) == ("insufficient_stock", 3)
    assert priced.cart.checkout_ready is False


def test_a_line_with_no_sellable_stock_is_out_of_stock():
    for stock_ in (stock(SKU_A=0), {}, {"SKU-A": Stock(sku="SKU-A", sellable=-2)}):
        a = line(price(cart(("SKU-A", 1)), [sku_info("SKU-A")], stock_), "SKU-A")
        assert (a.availability, a.max_quantity) == ("out_of_stock", 0)


def test_the_most_one_line_can_take_is_99_however_much_is_in_stock():
    a = line(price(cart(("SKU-A", 1)), [sku_info("SKU-A")], stock(SKU_A=10_000)), "SKU-A")
    assert a.max_quantity == MAX_LINE_QUANTITY


def test_a_sku_no_longer_sold_is_unavailable_unpriced_and_not_charged():
    priced = price(
        cart(("SKU-A", 1), ("SKU-GONE", 2), ("SKU-OFF", 1)),
        [sku_info("SKU-A", 5000), sku_info("SKU-OFF", 7000, active=False)],
        stock(SKU_A=5, SKU_OFF=5),
    )
    for sku in ("SKU-GONE", "SKU-OFF"):
        x = line(priced, sku)
        assert (x.availability, x.max_quantity, x.unit_price, x.line_total) == ("unavailable", 0, None, None)
    assert priced.cart.totals.subtotal.amount == 5000
    assert [o.sku for o in priced.order_lines] == ["SKU-A"]
    assert priced.cart.checkout_ready is False


# --- coupons in a cart ------------------------------------------------------------------------------------------------


def test_a_coupon_does_not_discount_flash_sale_lines():
    sale = sku_info("SKU-SALE", 10000, promotions={"prm_1": promo_ref(price=6000)})
    regular = sku_info("SKU-A", 10000)
    priced = price(
        cart(("SKU-SALE", 1), ("SKU-A", 2)), [sale, regular], stock(SKU_A=5), {"prm_1": 5}, coupon(percent_off=10)
    )
    assert line(priced, "SKU-SALE").in_coupon_scope is False
    assert line(priced, "SKU-A").in_coupon_scope is True
    assert priced.cart.totals.discount.amount == 2000  # 10 % of the regular lines only (20000)
    assert priced.cart.coupon is not None
    assert priced.cart.coupon.discount.amount == 2000


def test_a_coupon_on_a_cart_of_flash_sale_lines_only_does_not_apply():
    sale = sku_info("SKU-SALE", promotions={"prm_1": promo_ref()})
    args = (cart(("SKU-SALE", 1)), [sale], {}, {"prm_1": 5}, coupon())
    shown = price(*args)
    assert shown.cart.coupon is None
    assert shown.cart.coupon_error == "COUPON_NOT_APPLICABLE"
    assert shown.cart.totals.discount.amount == 0
    with pytest.raises(Unprocessable) as caught:
        price(*args, strict=True)
    assert caught.value.code == "COUPON_NOT_APPLICABLE"


def test_a_coupon_discounts_only_the_lines_in_its_scope():
    phone = sku_info("SKU-PHONE", 10000, category_path=["cat_electronics", "cat_phones"])
    book = sku_info("SKU-BOOK", 3000, category_path=["cat_books"])
    priced = price(
        cart(("SKU-PHONE", 1), ("SKU-BOOK", 2)),
        [phone, book],
        stock(SKU_PHONE=5, SKU_BOOK=5),
        coupon_=coupon(percent_off=50, category_ids=["cat_books"]),
    )
    assert priced.cart.totals.discount.amount == 3000
    assert line(priced, "SKU-PHONE").in_coupon_scope is False
    assert line(priced, "SKU-BOOK").in_coupon_scope is True


def test_an_expired_coupon_is_shown_as_not_applying_in_the_cart_and_refused_at_checkout():
    expired = coupon(starts_at=NOW - timedelta(days=2), ends_at=NOW - timedelta(days=1))
    args = (cart(("SKU-A", 1)), [sku_info("SKU-A")], stock(SKU_A=5), {}, expired)
    shown = price(*args)
    assert (shown.cart.coupon, shown.cart.coupon_error) == (None, "COUPON_EXPIRED")
    assert shown.cart.totals.discount.amount == 0
    with pytest.raises(Unprocessable):
        price(*args, strict=True)


def test_a_used_up_coupon_is_refused_at_checkout_as_a_conflict():
    used_up = coupon(usage_limit=3, used=3)
    with pytest.raises(Conflict) as caught:
        price(cart(("SKU-A", 1)), [sku_info("SKU-A")], stock(SKU_A=5), coupon_=used_up, strict=True)
    assert caught.value.code == "COUPON_EXHAUSTED"


# --- shipping and totals --------------------------------------------------------------------------------------------


def test_an_order_below_the_free_shipping_threshold_pays_the_flat_fee():
    priced = price(cart(("SKU-A", 1)), [sku_info("SKU-A", FREE_FROM - 1)], stock(SKU_A=5))
    assert priced.cart.totals.shipping.amount == FEE
    assert priced.cart.totals.total.amount == FREE_FROM - 1 + FEE


def test_shipping_is_free_from_the_threshold():
    for amount in (FREE_FROM, FREE_FROM + 1, FREE_FROM * 10):
        priced = price(cart(("SKU-A", 1)), [sku_info("SKU-A", amount)], stock(SKU_A=5))
        assert priced.cart.totals.shipping.amount == 0
        assert priced.cart.totals.total.amount == amount


def test_the_free_shipping_threshold_applies_to_what_is_paid_after_the_discount():
    priced = price(cart(("SKU-A", 1)), [sku_info("SKU-A", FREE_FROM)], stock(SKU_A=5), coupon_=coupon(percent_off=10))
    assert priced.cart.totals.discount.amount == FREE_FROM // 10
    assert priced.cart.totals.shipping.amount == FEE


def test_the_shipping_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHIPPING_FEE_AMOUNT", "1234")
    monkeypatch.setenv("FREE_SHIPPING_FROM_AMOUNT", "100000")
    priced = price(cart(("SKU-A", 1)), [sku_info("SKU-A", 99999)], stock(SKU_A=5))
    assert priced.cart.totals.shipping.amount == 1234
    monkeypatch.setenv("FREE_SHIPPING_FROM_AMOUNT", "99999")
    priced = price(cart(("SKU-A", 1)), [sku_info("SKU-A", 99999)], stock(SKU_A=5))
    assert priced.cart.totals.shipping.amount == 0


def test_an_empty_cart_costs_nothing_not_even_shipping():
    totals = price(cart(), []).cart.totals
    assert [totals.subtotal.amount, totals.discount.amount, totals.shipping.amount, totals.total.amount] == [0] * 4


def test_a_cart_of_only_unavailable_lines_is_not_charged_shipping():
    priced = price(cart(("SKU-GONE", 1)), [])
    assert priced.cart.totals.shipping.amount == 0
    assert priced.cart.totals.total.amount == 0


def test_totals_add_up_and_every_amount_is_an_integer():
    rnd = random.Random(20300601)
    for _ in range(200):
        n = rnd.randint(1, 6)
        infos, lines, stock_, remaining = [], [], {}, {}
        for i in range(n):
            sku = f"SKU-{i}"
            promos = {}
            if rnd.random() < 0.3:
                promos = {f"prm_{i}": promo_ref(promotion_id=f"prm_{i}", price=rnd.randint(1, 500))}
                remaining[f"prm_{i}"] = rnd.randint(0, 5)
            infos.append(
                sku_info(sku, rnd.randint(1, 50_000), category_path=[rnd.choice(["c1", "c2"])], promotions=promos)
            )
            lines.append((sku, rnd.randint(1, MAX_LINE_QUANTITY)))
            stock_[sku] = Stock(sku=sku, sellable=rnd.randint(0, 120))
        c = coupon(
            percent_off=rnd.randint(1, 100),
            category_ids=rnd.choice([[], ["c1"]]),
            max_discount=rnd.choice([None, {"amount": rnd.randint(1, 10_000), "currency": "CNY"}]),
        )
        priced = price(cart(*lines), infos, stock_, remaining, rnd.choice([None, c]))
        totals = priced.cart.totals
        priced_lines = [x for x in priced.cart.lines if x.line_total is not None]
        assert all(x.line_total.amount == x.unit_price.amount * x.quantity for x in priced_lines)
        assert totals.subtotal.amount == sum(x.line_total.amount for x in priced_lines)
        assert 0 <= totals.discount.amount <= totals.subtotal.amount
        assert totals.total.amount == totals.subtotal.amount - totals.discount.amount + totals.shipping.amount
        assert totals.shipping.amount in (0, FEE)
        found = moneys(priced.model_dump(mode="json"))
        assert len(found) >= 4
        assert all(type(m["amount"]) is int and m["currency"] == "CNY" for m in found)


# --- checkout readiness -----------------------------------------------------------------------------------------------


def test_checkout_fails_when_the_cart_is_empty():
    with pytest.raises(Unprocessable) as caught:
        require_checkout_ready(price(cart(), []))
    assert caught.value.code == "CART_EMPTY"


def test_checkout_fails_when_one_line_is_out_of_stock():
    priced = price(
        cart(("SKU-A", 1), ("SKU-B", 2), ("SKU-C", 5)),
        [sku_info("SKU-A"), sku_info("SKU-B"), sku_info("SKU-C")],
        stock(SKU_A=1, SKU_B=0, SKU_C=3),
    )
    with pytest.raises(Conflict) as caught:
        require_checkout_ready(priced)
    assert caught.value.code == "OUT_OF_STOCK"
    assert caught.value.status == 409
    assert caught.value.details == [
        {"sku": "SKU-B", "issue": "out_of_stock", "max_quantity": 0},
        {"sku": "SKU-C", "issue": "insufficient_stock", "max_quantity": 3},
    ]


def test_checkout_fails_as_not_found_when_a_line_is_no_longer_sold():
    priced = price(cart(("SKU-A", 1), ("SKU-GONE", 1)), [sku_info("SKU-A")], stock(SKU_A=0))
    with pytest.raises(NotFound) as caught:
        require_checkout_ready(priced)
    assert caught.value.code == "SKU_UNAVAILABLE"
    assert caught.value.details == [{"sku": "SKU-GONE", "issue": "unavailable"}]


def test_checkout_fails_when_a_flash_sale_line_is_above_the_per_shopper_limit():
    info = sku_info("SKU-A", promotions={"prm_1": promo_ref(per_user_limit=2)})
    priced = price(cart(("SKU-A", 3), ("SKU-B", 1)), [info, sku_info("SKU-B")], stock(SKU_B=0), {"prm_1": 10})
    with pytest.raises(Unprocessable) as caught:
        require_checkout_ready(priced)
    assert caught.value.code == "PROMOTION_LIMIT_EXCEEDED"
    assert caught.value.details == [{"sku": "SKU-A", "max_quantity": 2}]


def test_checkout_fails_as_sold_out_when_only_flash_sale_lines_ran_out():
    info = sku_info("SKU-A", promotions={"prm_1": promo_ref()})
    with pytest.raises(Conflict) as caught:
        require_checkout_ready(price(cart(("SKU-A", 1)), [info], {}, {"prm_1": 0}))
    assert caught.value.code == "SOLD_OUT"


def test_checkout_fails_as_out_of_stock_when_a_sold_out_sale_and_a_short_line_mix():
    sale = sku_info("SKU-A", promotions={"prm_1": promo_ref()})
    priced = price(cart(("SKU-A", 1), ("SKU-B", 1)), [sale, sku_info("SKU-B")], stock(SKU_B=0), {"prm_1": 0})
    with pytest.raises(Conflict) as caught:
        require_checkout_ready(priced)
    assert caught.value.code == "OUT_OF_STOCK"


def test_a_cart_where_every_line_is_in_stock_is_ready_for_checkout():
    priced = price(cart(("SKU-A", 2), ("SKU-B", 1)), [sku_info("SKU-A"), sku_info("SKU-B")], stock(SKU_A=2, SKU_B=1))
    require_checkout_ready(priced)
    assert priced.cart.checkout_ready is True


def test_a_cart_worth_more_than_the_money_limit_is_refused_not_a_crash():
    priced_at_limit = sku_info("SKU-A", MAX_AMOUNT)
    with pytest.raises(AppError):
        require_checkout_ready(price(cart(("SKU-A", 2)), [priced_at_limit], stock(SKU_A=5), strict=True))
