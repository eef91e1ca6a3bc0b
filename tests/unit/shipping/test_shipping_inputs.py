"""What staff, shoppers and carriers may send: stock movements, shipments, returns and carrier callbacks are
refused when malformed, before anything is read or written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from functions.shipping.model import (
    MAX_MOVEMENT_UNITS,
    CarrierCallback,
    MovementInput,
    ReturnActionInput,
    ReturnInput,
    ShipmentInput,
    WarehouseInput,
    WarehouseUpdate,
)


def movement(**fields: Any) -> dict[str, Any]:
    return {"type": "inbound", "warehouse": "WH-SH", "quantity": 3, "reason": "goods received", **fields}


def both_ways(model: Any, data: dict[str, Any]) -> Any:
    """Validate as Python and as JSON (what the handler receives): the two must agree."""
    try:
        from_python = model.model_validate(data)
    except ValidationError:
        with pytest.raises(ValidationError):
            model.model_validate_json(json.dumps(data))
        raise
    assert model.model_validate_json(json.dumps(data)) == from_python
    return from_python


# --- movements ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        movement(),
        movement(type="outbound", reason="damaged in storage"),
        {"type": "adjustment", "warehouse": "WH-SH", "counted": 0, "reason": "stock count"},
        {"type": "adjustment", "warehouse": "WH-SH", "counted": 12, "reason": "stock count"},
        movement(type="transfer", to_warehouse="WH-BJ", reason="rebalance"),
        movement(quantity=MAX_MOVEMENT_UNITS, reference="PO-2030-001"),
    ],
)
def test_a_well_formed_movement_is_accepted(data):
    both_ways(MovementInput, data)


@pytest.mark.parametrize(
    "quantity", [0, -1, -100, 1.5, 2.0, "3", "three", True, None, MAX_MOVEMENT_UNITS + 1, [1], {"n": 1}]
)
def test_a_quantity_that_is_not_a_positive_whole_number_is_refused(quantity):
    with pytest.raises(ValidationError):
        both_ways(MovementInput, movement(quantity=quantity))


@pytest.mark.parametrize("counted", [-1, 1.5, 3.0, "4", False, MAX_MOVEMENT_UNITS + 1])
def test_a_count_that_is_not_a_whole_number_of_zero_or_more_is_refused(counted):
    with pytest.raises(ValidationError):
        both_ways(MovementInput, {"type": "adjustment", "warehouse": "WH-SH", "counted": counted, "reason": "count"})


@pytest.mark.parametrize("kind", ["receive", "INBOUND", "", "dispatch", "return"])
def test_a_movement_of_an_unknown_type_is_refused(kind):
    with pytest.raises(ValidationError):
        both_ways(MovementInput, movement(type=kind))


def test_an_adjustment_gives_counted_not_quantity():
    with pytest.raises(ValidationError, match="counted"):
        MovementInput.model_validate(movement(type="adjustment"))
    with pytest.raises(ValidationError, match="counted"):
        MovementInput.model_validate(movement(type="adjustment", counted=4))


@pytest.mark.parametrize("kind", ["inbound", "outbound"])
def test_other_movements_give_quantity_not_counted(kind):
    with pytest.raises(ValidationError, match="quantity"):
        MovementInput.model_validate({"type": kind, "warehouse": "WH-SH", "counted": 4, "reason": "x"})
    with pytest.raises(ValidationError, match="quantity"):
        MovementInput.model_validate(movement(type=kind, counted=4))


def test_a_transfer_needs_the_warehouse_it_goes_to():
    with pytest.raises(ValidationError, match="to_warehouse"):
        MovementInput.model_validate(movement(type="transfer"))


@pytest.mark.parametrize("kind", ["inbound", "outbound"])
def test_only_a_transfer_names_a_warehouse_to_go_to(kind):
    with pytest.raises(ValidationError, match="to_warehouse"):
        MovementInput.model_validate(movement(type=kind, to_warehouse="WH-BJ"))


def test_a_transfer_goes_to_another_warehouse():
    with pytest.raises(ValidationError, match="another warehouse"):
        MovementInput.model_validate(movement(type="transfer", to_warehouse="WH-SH"))


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201, "<script>", "bell\x07"])
def test_a_movement_needs_a_plain_reason(reason):
    with pytest.raises(ValidationError):
        both_ways(MovementInput, movement(reason=reason))


@pytest.mark.parametrize("code", ["wh-sh", "W", "WH SH", "", "WH-" + "X" * 40])
def test_a_movement_names_a_warehouse_by_its_code(code):
    with pytest.raises(ValidationError):
        both_ways(MovementInput, movement(warehouse=code))


def test_a_movement_with_an_unknown_field_is_refused():
    with pytest.raises(ValidationError):
        both_ways(MovementInput, movement(sku="SKU-A"))


# --- warehouses ---------------------------------------------------------------------------------------------------


def warehouse_body(**fields: Any) -> dict[str, Any]:
    return {
        "code": "WH-SH",
        "name": "Shanghai",
        "address": {"region": "Shanghai", "city": "Shanghai", "street": "1 Depot Road"},
        **fields,
    }


def test_a_warehouse_ships_at_priority_100_and_is_active_unless_told_otherwise():
    w = both_ways(WarehouseInput, warehouse_body())
    assert (w.priority, w.active, w.address.country) == (100, True, "CN")


@pytest.mark.parametrize(
    "fields",
    [
        {"priority": -1},
        {"priority": 1001},
        {"priority": "1"},
        {"active": "yes"},
        {"active": 1},
        {"name": ""},
        {"code": "sh"},
        {"address": {"region": "", "city": "Shanghai", "street": "1 Depot Road"}},
        {"address": {"city": "Shanghai", "street": "1 Depot Road"}},
    ],
)
def test_a_malformed_warehouse_is_refused(fields):
    with pytest.raises(ValidationError):
        both_ways(WarehouseInput, warehouse_body(**fields))


def test_a_warehouse_update_says_which_version_it_changes():
    with pytest.raises(ValidationError):
        WarehouseUpdate.model_validate({"priority": 5})
    assert WarehouseUpdate.model_validate({"priority": 5, "version": 1}).priority == 5


# --- shipments ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"carrier": "SF Express"},
        {"tracking_number": "SF1"},
        {"tracking_number": "SF 123 456"},
        {"lines": []},
        {"lines": [{"sku": "SKU-A", "quantity": 0}]},
        {"lines": [{"sku": "SKU-A", "quantity": -2}]},
        {"lines": [{"sku": "SKU-A", "quantity": 1.5}]},
        {"lines": [{"sku": "SKU-A", "quantity": "1"}]},
        {"lines": [{"sku": "SKU-A", "quantity": 1}, {"sku": "sku-a", "quantity": 1}]},
    ],
)
def test_a_malformed_shipment_is_refused(fields):
    with pytest.raises(ValidationError):
        both_ways(ShipmentInput, {"carrier": "sf-express", "tracking_number": "SF100200300", **fields})


# --- returns ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "refund"},
        {"reason": ""},
        {"lines": []},
        {"lines": [{"sku": "SKU-A", "quantity": 0}]},
        {"lines": [{"sku": "SKU-A", "quantity": -1}]},
        {"lines": [{"sku": "SKU-A", "quantity": 1.0}]},
        {"lines": [{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-A", "quantity": 2}]},
    ],
)
def test_a_malformed_return_request_is_refused(fields):
    body = {"kind": "return", "reason": "too big", "lines": [{"sku": "SKU-A", "quantity": 1}], **fields}
    with pytest.raises(ValidationError):
        both_ways(ReturnInput, body)


@pytest.mark.parametrize(
    "fields",
    [{"condition": "broken"}, {"lines": [{"sku": "SKU-A", "quantity": 1, "condition": "used"}]}, {"warehouse": "x"}],
)
def test_a_malformed_return_action_is_refused(fields):
    with pytest.raises(ValidationError):
        both_ways(ReturnActionInput, fields)


# --- carrier callbacks --------------------------------------------------------------------------------------------


def callback(**fields: Any) -> dict[str, Any]:
    event = {"event_id": "ev-1", "status": "in_transit", "occurred_at": "2030-06-01T10:00:00+08:00"}
    return {"tracking_number": "SF100200300", "events": [event], **fields}


def test_a_carrier_event_keeps_its_own_time_zone():
    body = both_ways(CarrierCallback, callback())
    assert body.events[0].occurred_at.utcoffset() is not None
    assert body.events[0].occurred_at.isoformat() == "2030-06-01T10:00:00+08:00"


@pytest.mark.parametrize(
    "fields",
    [
        {"events": []},
        {"events": [{"event_id": "ev-1", "status": "lost", "occurred_at": "2030-06-01T10:00:00Z"}]},
        {"events": [{"event_id": "ev-1", "status": "in_transit", "occurred_at": "2030-06-01T10:00:00"}]},
        {"events": [{"event_id": "ev-1", "status": "in_transit", "occurred_at": "yesterday"}]},
        {"events": [{"event_id": "", "status": "in_transit", "occurred_at": "2030-06-01T10:00:00Z"}]},
        {"events": [{"status": "in_transit", "occurred_at": "2030-06-01T10:00:00Z"}]},
        {"tracking_number": "no"},
    ],
)
def test_a_malformed_carrier_callback_is_refused(fields):
    with pytest.raises(ValidationError):
        both_ways(CarrierCallback, callback(**fields))
