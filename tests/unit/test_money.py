import pytest
from pydantic import ValidationError

from functions.shared.money import Money


def test_money_is_integer_minor_units_with_a_currency():
    assert Money(amount=1999, currency="CNY").model_dump() == {"amount": 1999, "currency": "CNY"}


@pytest.mark.parametrize("amount", [19.99, "1999", -1, 10**13, True])
def test_money_refuses_floats_strings_negatives_and_absurd_amounts(amount):
    with pytest.raises(ValidationError):
        Money.model_validate({"amount": amount, "currency": "CNY"})


@pytest.mark.parametrize("currency", ["cny", "YUAN", "", "C1Y"])
def test_money_refuses_currency_codes_that_are_not_iso_4217_shaped(currency):
    with pytest.raises(ValidationError):
        Money.model_validate({"amount": 1, "currency": currency})


def test_adding_money_in_two_currencies_is_refused():
    with pytest.raises(ValueError):
        Money(amount=1, currency="CNY") + Money(amount=1, currency="USD")


def test_arithmetic_keeps_integers():
    total = Money(amount=1050, currency="CNY").times(3) + Money(amount=1, currency="CNY")
    assert total == Money(amount=3151, currency="CNY")
    assert (Money(amount=9) - Money(amount=5)).amount == 4
    assert Money(amount=5).minus_capped(Money(amount=9)).amount == 0


def test_subtracting_more_than_there_is_is_an_error_not_a_silent_zero():
    with pytest.raises(ValueError):
        Money(amount=5) - Money(amount=9)
