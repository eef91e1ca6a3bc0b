"""A shipment's status follows its carrier's events by carrier time, whatever order they arrive in; duplicates are
dropped; ``delivered`` is final (functions.shipping.model.apply_tracking)."""

from __future__ import annotations

from functions.shipping.model import ShipmentStatus, apply_tracking
from tests.unit.shipping.shipping_builders import scan, shipment


def statuses(s):
    return [e.status for e in s.timeline]


def test_events_in_order_move_the_shipment_along_and_all_are_new():
    events = [scan("e1", "in_transit", 1), scan("e2", "out_for_delivery", 20)]

    new, fresh = apply_tracking(shipment(), events)

    assert new.status is ShipmentStatus.OUT_FOR_DELIVERY
    assert [e.event_id for e in fresh] == ["e1", "e2"]
    assert statuses(new) == ["in_transit", "out_for_delivery"]
    assert new.delivered_at is None


def test_a_duplicate_event_is_dropped_and_changes_nothing():
    first, _ = apply_tracking(shipment(), [scan("e1", "in_transit", 1)])

    again, fresh = apply_tracking(first, [scan("e1", "in_transit", 1, received_after=5)])

    assert fresh == []
    assert again == first


def test_a_duplicate_within_one_callback_counts_once():
    new, fresh = apply_tracking(shipment(), [scan("e1", "in_transit", 1), scan("e1", "in_transit", 1)])
    assert [e.event_id for e in fresh] == ["e1"]
    assert len(new.timeline) == 1


def test_only_the_new_events_of_a_callback_that_repeats_some_are_returned():
    first, _ = apply_tracking(shipment(), [scan("e1", "in_transit", 1)])

    new, fresh = apply_tracking(first, [scan("e1", "in_transit", 1), scan("e2", "out_for_delivery", 9)])

    assert [e.event_id for e in fresh] == ["e2"]
    assert statuses(new) == ["in_transit", "out_for_delivery"]


def test_an_older_event_arriving_late_goes_into_the_timeline_by_carrier_time_without_changing_the_status():
    later, _ = apply_tracking(shipment(), [scan("e2", "out_for_delivery", 20)])

    new, fresh = apply_tracking(later, [scan("e1", "in_transit", 1, received_after=30)])

    assert [e.event_id for e in fresh] == ["e1"]
    assert statuses(new) == ["in_transit", "out_for_delivery"]
    assert new.status is ShipmentStatus.OUT_FOR_DELIVERY


def test_events_received_in_one_callback_out_of_order_are_sorted_by_carrier_time():
    new, _ = apply_tracking(
        shipment(), [scan("e3", "out_for_delivery", 30), scan("e1", "in_transit", 1), scan("e2", "in_transit", 10)]
    )
    assert [e.event_id for e in new.timeline] == ["e1", "e2", "e3"]
    assert new.status is ShipmentStatus.OUT_FOR_DELIVERY


def test_delivered_is_final_even_if_an_older_scan_arrives_after_it():
    delivered, _ = apply_tracking(shipment(), [scan("d", "delivered", 40)])

    new, fresh = apply_tracking(delivered, [scan("e1", "in_transit", 1, received_after=50)])

    assert [e.event_id for e in fresh] == ["e1"]
    assert new.status is ShipmentStatus.DELIVERED
    assert statuses(new) == ["in_transit", "delivered"]


def test_delivered_is_final_even_if_the_carrier_reports_a_later_scan():
    delivered, _ = apply_tracking(shipment(), [scan("d", "delivered", 40)])

    new, _ = apply_tracking(delivered, [scan("x", "exception", 45)])

    assert new.status is ShipmentStatus.DELIVERED
    assert new.delivered_at == delivered.delivered_at == scan("d", "delivered", 40).occurred_at
    assert statuses(new) == ["delivered", "exception"]


def test_the_delivery_time_is_the_carriers_not_when_we_heard_of_it():
    new, _ = apply_tracking(shipment(), [scan("d", "delivered", 40, received_after=12)])
    assert new.delivered_at == scan("d", "delivered", 40).occurred_at
    assert new.updated_at == scan("d", "delivered", 40, received_after=12).received_at


def test_an_exception_then_a_delivery_ends_delivered():
    failed, _ = apply_tracking(shipment(), [scan("e1", "in_transit", 1), scan("x", "exception", 20)])
    assert failed.status is ShipmentStatus.EXCEPTION

    new, _ = apply_tracking(failed, [scan("d", "delivered", 44)])

    assert new.status is ShipmentStatus.DELIVERED
    assert statuses(new) == ["in_transit", "exception", "delivered"]


def test_an_exception_is_the_status_until_a_later_scan_moves_the_parcel_on():
    failed, _ = apply_tracking(shipment(), [scan("x", "exception", 20)])

    moving, _ = apply_tracking(failed, [scan("e2", "in_transit", 26)])

    assert moving.status is ShipmentStatus.IN_TRANSIT


def test_every_applied_callback_bumps_the_version_and_a_duplicate_does_not():
    first, _ = apply_tracking(shipment(), [scan("e1", "in_transit", 1)])
    second, _ = apply_tracking(first, [scan("e2", "in_transit", 2)])
    third, _ = apply_tracking(second, [scan("e2", "in_transit", 2)])
    assert [first.version, second.version, third.version] == [2, 3, 3]
