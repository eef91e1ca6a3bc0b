"""Coupons: how much they take off, when and on what they apply, and which definitions are accepted."""

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from functions.checkout.model import CouponInput, CouponKind
from functions.shared.errors import Conflict, Unprocessable
from tests.unit.checkout.builders import NOW, cny, coupon, sku_info

# --- the discount ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "eligible", "discount"),
    [(10, 10000, 1000), (15, 999, 149), (33, 100, 33), (1, 99, 0), (50, 1, 0), (100, 4321, 4321)],
)
def test_a_percentage_discount_rounds_down(percent, eligible, discount):
    assert coupon(percent_off=percent).discount_on(cny(eligible)) == cny(discount)


def test_a_percentage_discount_is_capped_by_max_discount():
    capped = coupon(percent_off=20, max_discount=cny(1500))
    assert capped.discount_on(cny(5000)).amount == 1000  # under the cap
    assert capped.discount_on(cny(7500)).amount == 1500  # exactly the cap
    assert capped.discount_on(cny(100000)).amount == 1500  # capped


def test_a_fixed_discount_takes_its_amount_off():
    fixed = coupon(kind=CouponKind.FIXED, amount_off=cny(2000))
    assert fixed.discount_on(cny(9000)) == cny(2000)


def test_a_fixed_discount_is_never_more_than_the_eligible_amount():
    fixed = coupon(kind=CouponKind.FIXED, amount_off=cny(2000))
    assert fixed.discount_on(cny(1500)) == cny(1500)


def test_a_coupon_below_its_minimum_spend_does_not_apply():
    c = coupon(min_spend=cny(10000))
    with pytest.raises(Unprocessable) as caught:
        c.discount_on(cny(9999))
    assert caught.value.code == "COUPON_MIN_SPEND"
    assert c.discount_on(cny(10000)).amount == 1000  # the minimum itself qualifies


def test_a_coupon_with_nothing_eligible_does_not_apply():
    with pytest.raises(Unprocessable) as caught:
        coupon().discount_on(cny(0))
    assert caught.value.code == "COUPON_NOT_APPLICABLE"


def test_the_discount_is_in_the_currency_of_the_amount_it_discounts():
    assert coupon().discount_on(cny(5000)).currency == "CNY"


# --- the window and the limit ---------------------------------------------------------------------------------------


def test_a_coupon_applies_from_its_start_until_just_before_its_end():
    c = coupon(starts_at=NOW, ends_at=NOW + timedelta(days=1))
    c.check_window(NOW)
    c.check_window(NOW + timedelta(days=1) - timedelta(microseconds=1))


def test_a_coupon_does_not_apply_before_it_starts():
    with pytest.raises(Unprocessable) as caught:
        coupon(starts_at=NOW).check_window(NOW - timedelta(seconds=1))
    assert caught.value.code == "COUPON_NOT_STARTED"


def test_a_coupon_does_not_apply_from_its_end():
    with pytest.raises(Unprocessable) as caught:
        coupon(ends_at=NOW).check_window(NOW)
    assert caught.value.code == "COUPON_EXPIRED"


def test_a_coupon_used_up_to_its_limit_is_exhausted():
    coupon(usage_limit=5, used=4).check_window(NOW)
    with pytest.raises(Conflict) as caught:
        coupon(usage_limit=5, used=5).check_window(NOW)
    assert caught.value.code == "COUPON_EXHAUSTED"
    assert caught.value.status == 409


# --- the scope ------------------------------------------------------------------------------------------------------


def test_a_coupon_without_a_scope_covers_everything():
    assert coupon().in_scope(sku_info(category_path=[]))


def test_a_coupon_scoped_to_a_category_covers_its_subcategories_through_the_path():
    c = coupon(category_ids=["cat_electronics"])
    assert c.in_scope(sku_info(category_path=["cat_electronics", "cat_phones"]))
    assert not c.in_scope(sku_info(category_path=["cat_books"]))


def test_a_coupon_scoped_to_a_subcategory_does_not_cover_its_parent_or_siblings():
    c = coupon(category_ids=["cat_phones"])
    assert not c.in_scope(sku_info(category_path=["cat_electronics"]))
    assert not c.in_scope(sku_info(category_path=["cat_electronics", "cat_audio"]))


def test_a_coupon_scoped_to_products_covers_only_those_products():
    c = coupon(product_ids=["prd_1"])
    assert c.in_scope(sku_info(product_id="prd_1", category_path=["cat_books"]))
    assert not c.in_scope(sku_info(product_id="prd_2"))


def test_a_coupon_scoped_to_categories_and_products_covers_either():
    c = coupon(category_ids=["cat_books"], product_ids=["prd_1"])
    assert c.in_scope(sku_info(product_id="prd_1", category_path=["cat_phones"]))
    assert c.in_scope(sku_info(product_id="prd_9", category_path=["cat_books"]))
    assert not c.in_scope(sku_info(product_id="prd_9", category_path=["cat_phones"]))


# --- the definition ---------------------------------------------------------------------------------------------------


def coupon_body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": "welcome10",
        "kind": "percentage",
        "percent_off": 10,
        "starts_at": "2030-01-01T00:00:00Z",
        "ends_at": "2030-02-01T00:00:00+08:00",
        "usage_limit": 100,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_a_percentage_coupon_definition_is_accepted_and_its_code_upper_cased():
    c = CouponInput.model_validate(coupon_body(max_discount={"amount": 500, "currency": "CNY"}))
    assert c.code == "WELCOME10"
    assert c.per_user_limit == 1


def test_a_fixed_coupon_definition_is_accepted():
    body = coupon_body(kind="fixed", percent_off=None, amount_off={"amount": 500, "currency": "CNY"})
    assert CouponInput.model_validate(body).amount_off == cny(500)


@pytest.mark.parametrize(
    "change",
    [
        {"percent_off": None},  # a percentage coupon without a percentage
        {"amount_off": {"amount": 500, "currency": "CNY"}},  # a percentage coupon with an amount too
        {"kind": "fixed"},  # a fixed coupon with a percentage and no amount
        {"kind": "fixed", "percent_off": None},  # a fixed coupon with no amount
        {"kind": "fixed", "percent_off": None, "amount_off": {"amount": 0, "currency": "CNY"}},
        {
            "kind": "fixed",
            "percent_off": None,
            "amount_off": {"amount": 5, "currency": "CNY"},
            "max_discount": {
                "amount": 5,
                "currency": "CNY",
            },
        },
        {"kind": "free"},
        {"percent_off": 0},
        {"percent_off": 101},
        {"percent_off": 12.5},
        {"amount_off": None, "percent_off": "10"},
        {"usage_limit": 0},
        {"per_user_limit": 0},
        {"code": "ab"},
        {"code": "has space"},
        {"used": 5},  # not settable by the client
    ],
)
def test_an_inconsistent_coupon_definition_is_refused(change):
    with pytest.raises(ValidationError):
        CouponInput.model_validate(coupon_body(**change))


def test_a_coupon_window_must_end_after_it_starts():
    with pytest.raises(ValidationError, match="ends_at must be after starts_at"):
        CouponInput.model_validate(coupon_body(starts_at="2030-01-01T00:00:00Z", ends_at="2030-01-01T00:00:00Z"))
    with pytest.raises(ValidationError, match="ends_at must be after starts_at"):
        CouponInput.model_validate(coupon_body(starts_at="2030-01-02T00:00:00Z", ends_at="2030-01-01T00:00:00Z"))


def test_coupon_window_order_is_compared_across_time_zones():
    # 08:00 in Shanghai is midnight UTC: this window is empty.
    with pytest.raises(ValidationError, match="ends_at must be after starts_at"):
        CouponInput.model_validate(coupon_body(starts_at="2030-01-01T00:00:00Z", ends_at="2030-01-01T08:00:00+08:00"))


@pytest.mark.parametrize(
    ("starts_at", "ends_at"),
    [
        ("2030-01-01T00:00:00", "2030-02-01T00:00:00"),
        # One time with a zone and one without: must be a validation error, not a TypeError from comparing them.
        ("2030-01-01T00:00:00", "2030-02-01T00:00:00Z"),
        ("2030-01-01T00:00:00Z", "2030-02-01T00:00:00"),
    ],
)
def test_coupon_times_need_a_time_zone(starts_at, ends_at):
    with pytest.raises(ValidationError, match="time zone"):
        CouponInput.model_validate(coupon_body(starts_at=starts_at, ends_at=ends_at))
