"""Where a paid order ships from (functions.shipping.model.rank_warehouses and plan_allocation): one warehouse
that holds everything, nearest region first, then priority, then code; a split only when no single warehouse can
fill the order, by the documented greedy rule; nothing at all when the warehouses together fall short."""

from __future__ import annotations

from functions.shipping.model import Level, SkuStock, plan_allocation, rank_warehouses
from tests.unit.shipping.shipping_builders import stock, warehouse


def codes(ranked):
    return [w.code for w in ranked]


# --- ranking ------------------------------------------------------------------------------------------------------


def test_warehouses_in_the_delivery_region_rank_before_better_priorities_elsewhere():
    houses = [warehouse("WH-BJ", "Beijing", priority=1), warehouse("WH-SH", "Shanghai", priority=500)]
    assert codes(rank_warehouses(houses, "Shanghai")) == ["WH-SH", "WH-BJ"]


def test_within_a_region_a_lower_priority_number_ranks_first_and_the_code_breaks_ties():
    houses = [
        warehouse("WH-C", "Beijing", priority=20),
        warehouse("WH-B", "Beijing", priority=10),
        warehouse("WH-A", "Beijing", priority=20),
        warehouse("WH-Z", "Shanghai", priority=900),
    ]
    assert codes(rank_warehouses(houses, "Shanghai")) == ["WH-Z", "WH-B", "WH-A", "WH-C"]


def test_the_region_matches_whatever_its_case():
    houses = [warehouse("WH-BJ", "Beijing", priority=1), warehouse("WH-SH", "SHANGHAI", priority=50)]
    assert codes(rank_warehouses(houses, "shanghai")) == ["WH-SH", "WH-BJ"]


def test_inactive_warehouses_are_not_ranked():
    houses = [warehouse("WH-SH", "Shanghai", active=False), warehouse("WH-BJ", "Beijing")]
    assert codes(rank_warehouses(houses, "Shanghai")) == ["WH-BJ"]


# --- one parcel ---------------------------------------------------------------------------------------------------


def test_an_order_one_warehouse_can_fill_ships_as_one_parcel_from_the_nearest_such_warehouse():
    ranked = rank_warehouses(
        [warehouse("WH-BJ", "Beijing", priority=1), warehouse("WH-SH", "Shanghai", priority=100)], "Shanghai"
    )
    have = stock(A={"WH-BJ": 10, "WH-SH": 2}, B={"WH-BJ": 10, "WH-SH": 1})

    parcels, shortages = plan_allocation({"A": 2, "B": 1}, have, ranked)

    assert parcels == [("WH-SH", {"A": 2, "B": 1})]
    assert shortages == {}


def test_a_nearer_warehouse_that_holds_only_part_of_the_order_is_skipped_for_one_that_holds_all_of_it():
    ranked = rank_warehouses([warehouse("WH-SH", "Shanghai"), warehouse("WH-BJ", "Beijing")], "Shanghai")
    have = stock(A={"WH-SH": 5, "WH-BJ": 5}, B={"WH-BJ": 1})

    parcels, shortages = plan_allocation({"A": 3, "B": 1}, have, ranked)

    assert parcels == [("WH-BJ", {"A": 3, "B": 1})]
    assert shortages == {}


def test_among_equally_near_warehouses_that_hold_everything_the_better_priority_ships():
    ranked = rank_warehouses(
        [warehouse("WH-2", "Beijing", priority=50), warehouse("WH-1", "Beijing", priority=60)], "Shanghai"
    )
    parcels, _ = plan_allocation({"A": 1}, stock(A={"WH-1": 5, "WH-2": 5}), ranked)
    assert parcels == [("WH-2", {"A": 1})]


def test_allocated_units_are_not_available_to_the_next_order():
    ranked = rank_warehouses([warehouse("WH-SH", "Shanghai"), warehouse("WH-BJ", "Beijing")], "Shanghai")
    have = {"A": SkuStock(sku="A", levels={"WH-SH": Level(on_hand=5, allocated=4), "WH-BJ": Level(on_hand=3)})}

    parcels, shortages = plan_allocation({"A": 2}, have, ranked)

    assert parcels == [("WH-BJ", {"A": 2})]
    assert shortages == {}


# --- splits -------------------------------------------------------------------------------------------------------


def test_an_order_no_single_warehouse_can_fill_is_split():
    ranked = rank_warehouses([warehouse("WH-SH", "Shanghai"), warehouse("WH-BJ", "Beijing")], "Shanghai")
    have = stock(A={"WH-SH": 2}, B={"WH-BJ": 3})

    parcels, shortages = plan_allocation({"A": 2, "B": 3}, have, ranked)

    assert sorted(parcels) == [("WH-BJ", {"B": 3}), ("WH-SH", {"A": 2})]
    assert shortages == {}


def test_a_two_warehouse_split_ships_what_the_nearer_one_holds_and_the_rest_from_the_other():
    ranked = rank_warehouses([warehouse("WH-SH", "Shanghai"), warehouse("WH-BJ", "Beijing")], "Shanghai")
    have = stock(A={"WH-SH": 1, "WH-BJ": 3}, B={"WH-BJ": 2})

    parcels, _ = plan_allocation({"A": 4, "B": 2}, have, ranked)

    assert parcels == [("WH-SH", {"A": 1}), ("WH-BJ", {"A": 3, "B": 2})]


def test_a_pair_of_warehouses_that_holds_everything_beats_a_greedy_three_way_split():
    # Greedy would start with WH-3 (it holds the most) and then need both others: three parcels instead of two.
    ranked = rank_warehouses(
        [
            warehouse("WH-1", "Beijing", priority=1),
            warehouse("WH-2", "Beijing", priority=2),
            warehouse("WH-3", "Beijing", priority=3),
        ],
        "Shanghai",
    )
    have = stock(A={"WH-1": 3, "WH-3": 2}, B={"WH-2": 3, "WH-3": 2})

    parcels, _ = plan_allocation({"A": 3, "B": 3}, have, ranked)

    assert parcels == [("WH-1", {"A": 3}), ("WH-2", {"B": 3})]


def test_a_split_beyond_two_warehouses_starts_with_the_one_that_ships_the_most():
    ranked = rank_warehouses(
        [warehouse("WH-1", "Shanghai"), warehouse("WH-2", "Beijing"), warehouse("WH-3", "Guangdong")], "Shanghai"
    )
    have = stock(A={"WH-1": 1, "WH-2": 1, "WH-3": 1}, B={"WH-3": 2})

    parcels, _ = plan_allocation({"A": 3, "B": 2}, have, ranked)

    assert parcels[0] == ("WH-3", {"A": 1, "B": 2})
    assert sorted(parcels[1:]) == [("WH-1", {"A": 1}), ("WH-2", {"A": 1})]


def test_a_split_takes_one_warehouses_units_of_a_line_before_the_next_so_a_line_spans_as_few_as_possible():
    ranked = rank_warehouses(
        [warehouse("WH-1", "Beijing", priority=1), warehouse("WH-2", "Beijing", priority=2)], "Shanghai"
    )
    have = stock(A={"WH-1": 3, "WH-2": 3})

    parcels, shortages = plan_allocation({"A": 5}, have, ranked)

    assert parcels == [("WH-1", {"A": 3}), ("WH-2", {"A": 2})]
    assert shortages == {}


def test_equally_useful_warehouses_in_a_split_are_taken_nearest_first():
    ranked = rank_warehouses(
        [warehouse("WH-FAR", "Beijing"), warehouse("WH-NEAR", "Shanghai"), warehouse("WH-MID", "Beijing", 1)],
        "Shanghai",
    )
    have = stock(A={"WH-FAR": 2, "WH-NEAR": 2, "WH-MID": 2})

    parcels, _ = plan_allocation({"A": 4}, have, ranked)

    assert parcels == [("WH-NEAR", {"A": 2}), ("WH-MID", {"A": 2})]


def test_a_split_uses_no_warehouse_that_has_nothing_left_to_give():
    ranked = rank_warehouses(
        [warehouse("WH-1", "Shanghai"), warehouse("WH-2", "Beijing"), warehouse("WH-3", "Tianjin")], "Shanghai"
    )
    have = stock(A={"WH-1": 2, "WH-2": 5}, B={"WH-3": 1})

    parcels, _ = plan_allocation({"A": 4, "B": 1}, have, ranked)

    assert parcels == [("WH-2", {"A": 4}), ("WH-3", {"B": 1})]
    assert all(lines and all(q > 0 for q in lines.values()) for _, lines in parcels)


def test_every_unit_of_a_split_order_is_planned_exactly_once_and_within_what_each_warehouse_has():
    ranked = rank_warehouses([warehouse(f"WH-{i}", "Beijing", priority=i) for i in range(1, 5)], "Shanghai")
    have = stock(A={"WH-1": 1, "WH-2": 2, "WH-3": 3}, B={"WH-2": 1, "WH-4": 4}, C={"WH-1": 2, "WH-4": 1})
    need = {"A": 5, "B": 4, "C": 3}

    parcels, shortages = plan_allocation(need, have, ranked)

    assert shortages == {}
    planned: dict[str, int] = {}
    for code, lines in parcels:
        for sku, q in lines.items():
            assert q <= have[sku].available(code)
            planned[sku] = planned.get(sku, 0) + q
    assert planned == need
    assert len({code for code, _ in parcels}) == len(parcels)  # one parcel per warehouse


# --- no stock -----------------------------------------------------------------------------------------------------


def test_an_order_the_warehouses_together_cannot_fill_gets_no_parcels_and_the_shortages():
    ranked = rank_warehouses([warehouse("WH-SH", "Shanghai"), warehouse("WH-BJ", "Beijing")], "Shanghai")
    have = stock(A={"WH-SH": 1, "WH-BJ": 1}, B={"WH-BJ": 9})

    parcels, shortages = plan_allocation({"A": 5, "B": 2, "C": 1}, have, ranked)

    assert parcels == []
    assert shortages == {"A": 3, "C": 1}


def test_with_no_warehouses_everything_is_short():
    parcels, shortages = plan_allocation({"A": 1}, stock(A={"WH-SH": 5}), [])
    assert parcels == []
    assert shortages == {"A": 1}


def test_stock_in_an_inactive_warehouse_does_not_fill_an_order():
    houses = [warehouse("WH-SH", "Shanghai", active=False), warehouse("WH-BJ", "Beijing")]
    have = stock(A={"WH-SH": 10, "WH-BJ": 1})

    parcels, shortages = plan_allocation({"A": 2}, have, rank_warehouses(houses, "Shanghai"))

    assert parcels == []
    assert shortages == {"A": 1}


def test_an_inactive_warehouse_is_passed_over_for_an_active_one_further_away():
    houses = [warehouse("WH-SH", "Shanghai", active=False), warehouse("WH-BJ", "Beijing")]
    have = stock(A={"WH-SH": 10, "WH-BJ": 2})

    parcels, _ = plan_allocation({"A": 2}, have, rank_warehouses(houses, "Shanghai"))

    assert parcels == [("WH-BJ", {"A": 2})]


def test_overallocated_stock_counts_as_none_rather_than_negative():
    ranked = rank_warehouses([warehouse("WH-SH", "Shanghai"), warehouse("WH-BJ", "Beijing")], "Shanghai")
    have = {"A": SkuStock(sku="A", levels={"WH-SH": Level(on_hand=1, allocated=3), "WH-BJ": Level(on_hand=2)})}

    parcels, shortages = plan_allocation({"A": 2}, have, ranked)

    assert parcels == [("WH-BJ", {"A": 2})]
    assert shortages == {}
