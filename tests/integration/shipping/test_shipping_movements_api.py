"""POST /admin/inventory/{sku}/movements and GET .../movements: inbound, outbound, stock counts and transfers,
kept as an append-only ledger whose deltas always add up to on hand; each movement publishes one
StockMovementRecorded with what the shop may sell more or less and a stock snapshot whose version grows; a
movement that would spend stock that is not there, or is allocated to orders, is refused and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ADMIN, CATALOG_STAFF, SHOPPER
from tests.integration.shipping.conftest import (
    FULFILMENT_STAFF,
    assert_ledger_matches_stock,
    ledger,
    levels,
    outbox,
    paid_order,
    pay,
)

SKU = "SKU-A"


def move(api, kind: str, warehouse: str = "WH-SH", user=ADMIN, headers=None, sku: str = SKU, **fields: Any):
    body = {"type": kind, "warehouse": warehouse, "reason": f"{kind} by test", **fields}
    return api("POST", f"/admin/inventory/{sku}/movements", body, user=user, headers=headers)


def movements(aws) -> list[dict[str, Any]]:
    return outbox(aws, "StockMovementRecorded")


@pytest.fixture
def two_warehouses(warehouse):
    warehouse("WH-SH", region="Shanghai")
    warehouse("WH-BJ", region="Beijing")


def test_goods_received_go_on_hand_in_one_ledger_entry_and_one_event(aws, api, two_warehouses):
    r = move(api, "inbound", quantity=10, reference="PO-1", user=FULFILMENT_STAFF)

    assert r.status == 201, r.body
    assert r.body["type"] == "inbound"
    (entry,) = r.body["entries"]
    assert (entry["warehouse"], entry["kind"], entry["delta"], entry["on_hand_after"]) == ("WH-SH", "inbound", 10, 10)
    assert (entry["actor"], entry["reference"], entry["reason"]) == (FULFILMENT_STAFF.sub, "PO-1", "inbound by test")
    assert r.body["stock"]["on_hand"] == r.body["stock"]["available"] == 10
    (event,) = movements(aws)
    assert (event["movement_id"], event["sku"], event["type"]) == (r.body["movement_id"], SKU, "inbound")
    assert event["sellable_delta"] == 10
    assert event["actor"] == FULFILMENT_STAFF.sub
    assert event["stock"]["warehouses"] == [{"warehouse": "WH-SH", "on_hand": 10, "allocated": 0, "available": 10}]
    assert event["stock"]["version"] == r.body["stock"]["version"] == 1
    assert assert_ledger_matches_stock(api, SKU)["on_hand"] == 10


def test_every_kind_of_movement_keeps_the_ledger_equal_to_on_hand_and_publishes_its_sellable_change(
    aws, api, two_warehouses
):
    steps = [
        ({"kind": "inbound", "quantity": 10}, 10, {"WH-SH": 10}),
        ({"kind": "inbound", "warehouse": "WH-BJ", "quantity": 4}, 4, {"WH-SH": 10, "WH-BJ": 4}),
        ({"kind": "outbound", "quantity": 3}, -3, {"WH-SH": 7, "WH-BJ": 4}),
        ({"kind": "adjustment", "counted": 9}, 2, {"WH-SH": 9, "WH-BJ": 4}),
        ({"kind": "adjustment", "counted": 5}, -4, {"WH-SH": 5, "WH-BJ": 4}),
        ({"kind": "transfer", "quantity": 2, "to_warehouse": "WH-BJ"}, 0, {"WH-SH": 3, "WH-BJ": 6}),
        ({"kind": "adjustment", "warehouse": "WH-BJ", "counted": 6}, 0, {"WH-SH": 3, "WH-BJ": 6}),
        ({"kind": "outbound", "warehouse": "WH-BJ", "quantity": 6}, -6, {"WH-SH": 3, "WH-BJ": 0}),
    ]
    versions = []
    for n, (fields, sellable, on_hand) in enumerate(steps, start=1):
        r = move(api, **fields)
        assert r.status == 201, (fields, r.body)
        stock = assert_ledger_matches_stock(api, SKU)
        assert {w["warehouse"]: w["on_hand"] for w in stock["warehouses"]} == on_hand, fields
        events = movements(aws)
        assert len(events) == n
        assert events[-1]["movement_id"] == r.body["movement_id"]
        assert events[-1]["sellable_delta"] == sellable, fields
        assert {w["warehouse"]: w["on_hand"] for w in events[-1]["stock"]["warehouses"]} == on_hand
        versions.append(events[-1]["stock"]["version"])
    assert versions == sorted(set(versions))  # every movement, even a count that found no difference, grows it
    assert len(movements(aws)) == len(steps)
    _, entries = ledger(api, SKU)
    kinds = [e["kind"] for e in reversed(entries)]
    # The two entries of the transfer share one movement and one moment; their order between them is not defined.
    assert kinds[:5] + sorted(kinds[5:7]) + kinds[7:] == [
        "inbound",
        "inbound",
        "outbound",
        "adjustment",
        "adjustment",
        "transfer_in",
        "transfer_out",
        "adjustment",
        "outbound",
    ]


def test_a_transfer_writes_one_entry_out_and_one_in_under_one_movement_and_sells_nothing_more(aws, api, two_warehouses):
    move(api, "inbound", quantity=5)

    r = move(api, "transfer", quantity=5, to_warehouse="WH-BJ")

    assert r.status == 201, r.body
    out, into = r.body["entries"]
    assert (out["warehouse"], out["kind"], out["delta"], out["on_hand_after"]) == ("WH-SH", "transfer_out", -5, 0)
    assert (into["warehouse"], into["kind"], into["delta"], into["on_hand_after"]) == ("WH-BJ", "transfer_in", 5, 5)
    assert out["movement_id"] == into["movement_id"] == r.body["movement_id"]
    assert movements(aws)[-1]["type"] == "transfer"
    assert movements(aws)[-1]["sellable_delta"] == 0
    assert levels(api, SKU) == {"WH-SH": (0, 0, 0), "WH-BJ": (5, 0, 5)}


def test_a_stock_count_records_the_difference_from_what_was_on_hand(api, two_warehouses):
    move(api, "inbound", quantity=8)

    up = move(api, "adjustment", counted=11)
    down = move(api, "adjustment", counted=2)

    assert [e["delta"] for e in up.body["entries"]] == [3]
    assert [e["delta"] for e in down.body["entries"]] == [-9]
    assert down.body["stock"]["on_hand"] == 2
    assert_ledger_matches_stock(api, SKU)


def test_a_count_in_a_warehouse_that_never_held_the_sku_puts_the_counted_units_on_hand(aws, api, two_warehouses):
    r = move(api, "adjustment", warehouse="WH-BJ", counted=4)
    assert r.status == 201, r.body
    assert movements(aws)[-1]["sellable_delta"] == 4
    assert levels(api, SKU) == {"WH-BJ": (4, 0, 4)}
    assert_ledger_matches_stock(api, SKU)


def assert_nothing_written(aws, api, before_stock, before_entries, before_events) -> None:
    stock, entries = ledger(api, SKU)
    assert stock == before_stock
    assert entries == before_entries
    assert movements(aws) == before_events


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "outbound", "quantity": 6},
        {"kind": "outbound", "warehouse": "WH-BJ", "quantity": 1},
        {"kind": "transfer", "quantity": 6, "to_warehouse": "WH-BJ"},
    ],
)
def test_moving_out_more_than_a_warehouse_holds_is_a_conflict_and_writes_nothing(aws, api, two_warehouses, fields):
    move(api, "inbound", quantity=5)
    before = (*ledger(api, SKU), movements(aws))

    r = move(api, **fields)

    assert r.status == 409, r.body
    assert r.body["error"]["code"] == "INSUFFICIENT_STOCK"
    assert_nothing_written(aws, api, *before)


def test_an_outbound_of_a_sku_no_warehouse_ever_held_is_a_conflict(api, two_warehouses):
    r = move(api, "outbound", quantity=1, sku="SKU-NEVER")
    assert r.status == 409, r.body
    assert ledger(api, "SKU-NEVER") == (
        {"sku": "SKU-NEVER", "version": 0, "on_hand": 0, "allocated": 0, "available": 0, "warehouses": []},
        [],
    )


def test_units_allocated_to_an_order_cannot_be_moved_out_or_transferred(aws, api, two_warehouses):
    move(api, "inbound", quantity=5)
    pay(paid_order({SKU: 4}))
    assert levels(api, SKU) == {"WH-SH": (5, 4, 1)}
    before = (*ledger(api, SKU), movements(aws))

    out = move(api, "outbound", quantity=2)
    transfer = move(api, "transfer", quantity=2, to_warehouse="WH-BJ")

    assert (out.status, transfer.status) == (409, 409), (out.body, transfer.body)
    assert out.body["error"]["details"] == [{"sku": SKU, "warehouse": "WH-SH", "available": 1}]
    assert_nothing_written(aws, api, *before)
    assert move(api, "outbound", quantity=1).status == 201  # the one unit not allocated may go


def test_a_count_below_what_is_allocated_is_a_conflict_and_a_count_at_it_is_not(aws, api, two_warehouses):
    move(api, "inbound", quantity=5)
    pay(paid_order({SKU: 3}))
    before = (*ledger(api, SKU), movements(aws))

    low = move(api, "adjustment", counted=2)

    assert low.status == 409, low.body
    assert low.body["error"]["code"] == "STOCK_ALLOCATED"
    assert_nothing_written(aws, api, *before)
    at = move(api, "adjustment", counted=3)
    assert at.status == 201, at.body
    assert levels(api, SKU) == {"WH-SH": (3, 3, 0)}
    assert movements(aws)[-1]["sellable_delta"] == -2
    assert_ledger_matches_stock(api, SKU)


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "inbound", "warehouse": "WH-XX", "quantity": 1},
        {"kind": "adjustment", "warehouse": "WH-XX", "counted": 1},
        {"kind": "transfer", "quantity": 1, "to_warehouse": "WH-XX"},
    ],
)
def test_a_movement_in_or_to_an_unknown_warehouse_is_invalid_and_writes_nothing(aws, api, two_warehouses, fields):
    move(api, "inbound", quantity=5)
    before = (*ledger(api, SKU), movements(aws))

    r = move(api, **fields)

    assert r.status == 422, r.body
    assert r.body["error"]["code"] == "WAREHOUSE_NOT_FOUND"
    assert_nothing_written(aws, api, *before)


def test_goods_may_be_received_into_an_inactive_warehouse(api, warehouse):
    warehouse("WH-OLD", active=False)
    assert move(api, "inbound", warehouse="WH-OLD", quantity=2).status == 201
    assert levels(api, SKU) == {"WH-OLD": (2, 0, 2)}


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "inbound", "quantity": -3},
        {"kind": "inbound", "quantity": 0},
        {"kind": "inbound", "quantity": 1.5},
        {"kind": "inbound", "quantity": 2.0},
        {"kind": "inbound", "quantity": "2"},
        {"kind": "outbound", "quantity": -1},
        {"kind": "adjustment", "counted": -1},
        {"kind": "adjustment", "counted": 2.5},
        {"kind": "adjustment", "quantity": 2},
        {"kind": "inbound", "counted": 2},
        {"kind": "transfer", "quantity": 1},
        {"kind": "transfer", "quantity": 1, "to_warehouse": "WH-SH"},
        {"kind": "inbound", "quantity": 1, "to_warehouse": "WH-BJ"},
        {"kind": "stolen", "quantity": 1},
        {"kind": "inbound", "quantity": 1, "reason": ""},
    ],
)
def test_a_malformed_movement_is_invalid_and_writes_nothing(aws, api, two_warehouses, fields):
    move(api, "inbound", quantity=5)
    before = (*ledger(api, SKU), movements(aws))

    r = move(api, **fields)

    assert r.status == 422, r.body
    assert r.body["error"]["code"] == "VALIDATION_FAILED"
    assert_nothing_written(aws, api, *before)


def test_a_sku_is_the_same_whatever_case_it_is_written_in(api, two_warehouses):
    move(api, "inbound", quantity=2, sku="sku-a")
    move(api, "inbound", quantity=3, sku="SKU-A")
    stock = assert_ledger_matches_stock(api, "Sku-A")
    assert stock["sku"] == "SKU-A"
    assert stock["on_hand"] == 5


def test_catalog_staff_record_movements_and_shoppers_cannot(api, two_warehouses):
    assert move(api, "inbound", quantity=1, user=CATALOG_STAFF).status == 201
    assert move(api, "inbound", quantity=1, user=SHOPPER).status == 403
    assert api("GET", f"/admin/inventory/{SKU}/movements", user=SHOPPER).status == 403
    assert move(api, "inbound", quantity=1, user=None).status == 401
    assert levels(api, SKU) == {"WH-SH": (1, 0, 1)}


def test_the_ledger_is_paged_newest_first(api, two_warehouses):
    for q in (1, 2, 3):
        move(api, "inbound", quantity=q)

    first = api("GET", f"/admin/inventory/{SKU}/movements", user=ADMIN, query={"limit": 2})
    assert first.status == 200, first.body
    assert [e["delta"] for e in first.body["items"]] == [3, 2]
    assert first.body["next_cursor"]
    second = api(
        "GET", f"/admin/inventory/{SKU}/movements", user=ADMIN, query={"limit": 2, "cursor": first.body["next_cursor"]}
    )
    assert [e["delta"] for e in second.body["items"]] == [1]
    assert second.body["stock"]["on_hand"] == 6


def test_a_ledger_cursor_for_another_sku_is_refused(api, two_warehouses):
    for q in (1, 2):
        move(api, "inbound", quantity=q)
    page = api("GET", f"/admin/inventory/{SKU}/movements", user=ADMIN, query={"limit": 1}).body
    r = api("GET", "/admin/inventory/SKU-B/movements", user=ADMIN, query={"limit": 1, "cursor": page["next_cursor"]})
    assert r.status == 400, r.body
    assert r.body["error"]["code"] == "INVALID_CURSOR"


# --- Idempotency-Key ----------------------------------------------------------------------------------------------


def test_a_movement_retried_with_the_same_key_and_body_replays_the_first_result_and_moves_stock_once(
    aws, api, two_warehouses
):
    key = {"Idempotency-Key": "goods-in-0001"}
    first = move(api, "inbound", quantity=7, headers=key)
    again = move(api, "inbound", quantity=7, headers=key)

    assert first.status == 201, first.body
    assert again.status == 200, again.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.body == first.body
    assert levels(api, SKU) == {"WH-SH": (7, 0, 7)}
    assert len(movements(aws)) == 1
    assert len(ledger(api, SKU)[1]) == 1


def test_a_key_reused_with_another_body_is_invalid_and_moves_nothing(aws, api, two_warehouses):
    key = {"Idempotency-Key": "goods-in-0002"}
    assert move(api, "inbound", quantity=7, headers=key).status == 201

    other = move(api, "inbound", quantity=8, headers=key)
    other_sku = move(api, "inbound", quantity=7, headers=key, sku="SKU-B")

    assert other.status == 422, other.body
    assert other.body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert other_sku.status == 422, other_sku.body
    assert levels(api, SKU) == {"WH-SH": (7, 0, 7)}
    assert levels(api, "SKU-B") == {}
    assert len(movements(aws)) == 1


def test_a_refused_movement_does_not_use_up_its_key(api, two_warehouses):
    key = {"Idempotency-Key": "goods-out-0001"}
    assert move(api, "outbound", quantity=2, headers=key).status == 409
    move(api, "inbound", quantity=5)

    r = move(api, "outbound", quantity=2, headers=key)

    assert r.status == 201, r.body
    assert levels(api, SKU) == {"WH-SH": (3, 0, 3)}


def test_the_same_key_from_another_staff_member_is_their_own(api, two_warehouses):
    key = {"Idempotency-Key": "goods-in-0003"}
    assert move(api, "inbound", quantity=1, headers=key, user=ADMIN).status == 201
    assert move(api, "inbound", quantity=1, headers=key, user=FULFILMENT_STAFF).status == 201
    assert levels(api, SKU) == {"WH-SH": (2, 0, 2)}


def test_a_malformed_idempotency_key_is_a_bad_request(api, two_warehouses):
    r = move(api, "inbound", quantity=1, headers={"Idempotency-Key": "short"})
    assert r.status == 400, r.body
    assert levels(api, SKU) == {}
