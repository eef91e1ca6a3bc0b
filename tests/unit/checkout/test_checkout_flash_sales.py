"""Flash sales: how many stock shards a sale gets, how an order's units are taken from them, and which sale
definitions are accepted."""

import random
from collections import Counter
from typing import Any

import pytest
from pydantic import ValidationError

from functions.checkout.model import MAX_SHARDS, SHARD_TX_PER_SECOND, PromotionInput, shards_for
from functions.checkout.repository import allocate

# --- shards_for -----------------------------------------------------------------------------------------------------


def test_a_quiet_sale_gets_one_shard():
    assert shards_for(1000, 1) == 1
    assert shards_for(1000, SHARD_TX_PER_SECOND) == 1


def test_a_busier_sale_gets_a_shard_per_slice_of_the_peak_rate():
    assert shards_for(1000, SHARD_TX_PER_SECOND + 1) == 2
    assert shards_for(1000, 2000) == 5
    assert shards_for(1000, 2001) == 6


def test_a_sale_never_has_more_shards_than_units():
    assert shards_for(3, 100_000) == 3
    assert shards_for(1, 100_000) == 1


def test_the_shard_count_is_capped():
    assert shards_for(1_000_000, 100_000) == MAX_SHARDS


def test_the_shard_count_is_always_between_one_and_the_cap():
    for quantity in (1, 2, 7, 50, 999, 1_000_000):
        for peak in (1, 399, 400, 401, 5000, 100_000):
            n = shards_for(quantity, peak)
            assert 1 <= n <= min(MAX_SHARDS, quantity)
            assert n * SHARD_TX_PER_SECOND >= peak or n == min(MAX_SHARDS, quantity)


# --- allocate -------------------------------------------------------------------------------------------------------


def check_allocation(shards: dict[int, int], quantity: int, taken: list[tuple[int, int]]) -> None:
    assert sum(q for _, q in taken) == quantity
    assert all(q > 0 for _, q in taken)
    assert len({k for k, _ in taken}) == len(taken)  # each shard at most once
    assert all(q <= shards[k] for k, q in taken)  # never more than a shard holds


def test_allocation_takes_exactly_the_quantity_from_one_shard_that_holds_it():
    shards = {0: 5, 1: 5, 2: 5}
    taken = allocate(shards, 3)
    assert taken is not None
    check_allocation(shards, 3, taken)
    assert len(taken) == 1


def test_allocation_prefers_a_shard_that_covers_the_whole_line():
    shards = {0: 1, 1: 1, 2: 4, 3: 1}
    for _ in range(50):
        assert allocate(shards, 3) == [(2, 3)]


def test_allocation_covers_a_line_from_several_shards_when_no_one_shard_can():
    shards = {0: 2, 1: 2, 2: 2}
    taken = allocate(shards, 5)
    assert taken is not None
    check_allocation(shards, 5, taken)
    assert len(taken) == 3


def test_allocation_can_take_every_last_unit():
    shards = {0: 1, 1: 0, 2: 3}
    taken = allocate(shards, 4)
    assert taken is not None
    check_allocation(shards, 4, taken)
    assert sorted(taken) == [(0, 1), (2, 3)]


def test_allocation_is_none_when_the_shards_hold_too_few_units():
    assert allocate({0: 1, 1: 2}, 4) is None
    assert allocate({0: 0, 1: 0}, 1) is None
    assert allocate({}, 1) is None


def test_allocation_never_uses_an_empty_shard():
    for _ in range(50):
        taken = allocate({0: 0, 1: 3, 2: 0}, 1)
        assert taken == [(1, 1)]


def test_allocation_spreads_buyers_over_the_shards():
    shards = dict.fromkeys(range(5), 100)
    used = Counter(allocate(shards, 1)[0][0] for _ in range(500))  # type: ignore[index]
    assert set(used) == set(shards)
    assert min(used.values()) > 50  # about 100 each; a fixed order would give one shard all 500


def test_allocation_never_over_allocates_whatever_the_shards_hold():
    rnd = random.Random(7)
    for _ in range(2000):
        shards = {k: rnd.randint(0, 5) for k in range(rnd.randint(1, 8))}
        quantity = rnd.randint(1, 12)
        taken = allocate(shards, quantity)
        if sum(shards.values()) < quantity:
            assert taken is None
        else:
            assert taken is not None
            check_allocation(shards, quantity, taken)


# --- PromotionInput ---------------------------------------------------------------------------------------------------


def promotion_body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Midnight sale",
        "sku": "SKU-A",
        "price": {"amount": 5000, "currency": "CNY"},
        "quantity": 100,
        "starts_at": "2030-01-01T00:00:00Z",
        "ends_at": "2030-01-01T01:00:00Z",
    }
    data.update(overrides)
    return data


def test_a_flash_sale_definition_is_accepted_with_defaults():
    p = PromotionInput.model_validate(promotion_body())
    assert (p.per_user_limit, p.expected_peak_per_second) == (1, 2000)


@pytest.mark.parametrize(
    "change",
    [
        {"ends_at": "2030-01-01T00:00:00Z"},
        {"ends_at": "2029-12-31T23:00:00Z"},
        {"starts_at": "2030-01-01T00:00:00"},
        {"starts_at": "2030-01-01T00:00:00", "ends_at": "2030-01-01T01:00:00"},
        {"price": {"amount": 0, "currency": "CNY"}},
        {"price": {"amount": 49.5, "currency": "CNY"}},
        {"quantity": 0},
        {"per_user_limit": 0},
        {"per_user_limit": 100},
        {"expected_peak_per_second": 0},
        {"name": ""},
        {"shards": 3},
    ],
)
def test_an_invalid_flash_sale_definition_is_refused(change):
    with pytest.raises(ValidationError):
        PromotionInput.model_validate(promotion_body(**change))
