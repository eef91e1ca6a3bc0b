"""GET|POST /admin/warehouses and PUT /admin/warehouses/{code}: warehouses are created once per code, listed by
code, changed only with the version that was read, and refused cleanly when malformed or for the wrong role."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ADMIN, CATALOG_STAFF, SHOPPER
from tests.integration.shipping.conftest import FULFILMENT_STAFF, paid_order, pay, shipments_of


def body(code: str = "WH-SH", **fields: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": f"Warehouse {code}",
        "address": {"region": "Shanghai", "city": "Shanghai", "street": "1 Depot Road", "postcode": "200120"},
        **fields,
    }


def test_fulfilment_staff_create_a_warehouse_and_everyone_on_the_stock_side_lists_it(api):
    created = api("POST", "/admin/warehouses", body(priority=5), user=FULFILMENT_STAFF)

    assert created.status == 201, created.body
    assert created.body["code"] == "WH-SH"
    assert created.body["priority"] == 5
    assert created.body["active"] is True
    assert created.body["version"] == 1
    assert created.body["address"]["region"] == "Shanghai"
    for user in (FULFILMENT_STAFF, CATALOG_STAFF, ADMIN):
        listed = api("GET", "/admin/warehouses", user=user)
        assert listed.status == 200, listed.body
        assert [w["code"] for w in listed.body["items"]] == ["WH-SH"]
        assert listed.body["items"][0] == created.body


def test_warehouses_are_listed_by_code(api, warehouse):
    for code in ("WH-SZ", "WH-BJ", "WH-SH"):
        warehouse(code)
    listed = api("GET", "/admin/warehouses", user=ADMIN)
    assert [w["code"] for w in listed.body["items"]] == ["WH-BJ", "WH-SH", "WH-SZ"]


def test_a_second_warehouse_with_the_same_code_is_a_conflict_and_the_first_is_unchanged(api, warehouse):
    first = warehouse("WH-SH", priority=7)

    again = api("POST", "/admin/warehouses", body("WH-SH", name="Another", priority=1), user=ADMIN)

    assert again.status == 409, again.body
    assert again.body["error"]["code"] == "WAREHOUSE_EXISTS"
    assert api("GET", "/admin/warehouses", user=ADMIN).body["items"] == [first]


@pytest.mark.parametrize(
    "bad",
    [
        body("wh-sh"),
        body(priority=-1),
        body(priority=1001),
        body(priority="5"),
        body(active="no"),
        body(name=""),
        body(name="<b>bold</b>"),
        body(address={"region": "Shanghai"}),
        body(unknown_field=1),
        {"code": "WH-SH"},
    ],
)
def test_a_malformed_warehouse_is_refused_and_nothing_is_created(api, bad):
    r = api("POST", "/admin/warehouses", bad, user=ADMIN)

    assert r.status == 422, r.body
    assert r.body["error"]["code"] == "VALIDATION_FAILED"
    assert api("GET", "/admin/warehouses", user=ADMIN).body["items"] == []


def test_a_body_that_is_not_json_is_a_bad_request(api):
    r = api("POST", "/admin/warehouses", raw_body="{not json", user=ADMIN)
    assert r.status == 400, r.body
    assert r.body["error"]["code"] == "MALFORMED_REQUEST"
    assert api("GET", "/admin/warehouses", user=ADMIN).body["items"] == []


@pytest.mark.parametrize(("user", "status"), [(SHOPPER, 403), (CATALOG_STAFF, 403), (None, 401)])
def test_only_fulfilment_staff_and_admins_create_warehouses(api, user, status):
    r = api("POST", "/admin/warehouses", body(), user=user)
    assert r.status == status, r.body
    assert api("GET", "/admin/warehouses", user=ADMIN).body["items"] == []


def test_a_shopper_cannot_list_warehouses(api, warehouse):
    warehouse("WH-SH")
    assert api("GET", "/admin/warehouses", user=SHOPPER).status == 403


def test_an_update_with_the_version_read_changes_the_warehouse_and_bumps_its_version(api, warehouse):
    warehouse("WH-SH", priority=100)

    r = api(
        "PUT",
        "/admin/warehouses/WH-SH",
        {"name": "Shanghai Pudong", "priority": 3, "version": 1},
        user=FULFILMENT_STAFF,
    )

    assert r.status == 200, r.body
    assert (r.body["name"], r.body["priority"], r.body["version"]) == ("Shanghai Pudong", 3, 2)
    assert r.body["active"] is True  # what the update does not name stays as it was
    assert r.body["address"]["region"] == "Shanghai"
    assert api("GET", "/admin/warehouses", user=ADMIN).body["items"] == [r.body]


def test_an_update_can_move_a_warehouse_to_another_region(api, warehouse):
    warehouse("WH-1", region="Shanghai")
    address = {"region": "Beijing", "city": "Beijing", "street": "9 Ring Road"}

    r = api("PUT", "/admin/warehouses/WH-1", {"address": address, "version": 1}, user=ADMIN)

    assert r.status == 200, r.body
    assert r.body["address"]["region"] == "Beijing"
    assert r.body["address"]["postcode"] == "000000"


def test_an_update_with_a_stale_version_is_a_conflict_and_changes_nothing(api, warehouse):
    warehouse("WH-SH", priority=100)
    assert api("PUT", "/admin/warehouses/WH-SH", {"priority": 5, "version": 1}, user=ADMIN).status == 200

    stale = api("PUT", "/admin/warehouses/WH-SH", {"priority": 9, "version": 1}, user=ADMIN)

    assert stale.status == 409, stale.body
    assert stale.body["error"]["code"] == "VERSION_CONFLICT"
    (current,) = api("GET", "/admin/warehouses", user=ADMIN).body["items"]
    assert (current["priority"], current["version"]) == (5, 2)


def test_an_update_of_an_unknown_warehouse_is_not_found(api, warehouse):
    warehouse("WH-SH")
    r = api("PUT", "/admin/warehouses/WH-XX", {"priority": 5, "version": 1}, user=ADMIN)
    assert r.status == 404, r.body
    assert r.body["error"]["code"] == "WAREHOUSE_NOT_FOUND"


@pytest.mark.parametrize(
    "bad", [{"priority": 5}, {"priority": 5000, "version": 1}, {"version": "1"}, {"active": "off", "version": 1}]
)
def test_a_malformed_update_is_refused(api, warehouse, bad):
    warehouse("WH-SH")
    r = api("PUT", "/admin/warehouses/WH-SH", bad, user=ADMIN)
    assert r.status == 422, r.body
    (current,) = api("GET", "/admin/warehouses", user=ADMIN).body["items"]
    assert current["version"] == 1


def test_catalog_staff_cannot_change_a_warehouse(api, warehouse):
    warehouse("WH-SH")
    r = api("PUT", "/admin/warehouses/WH-SH", {"active": False, "version": 1}, user=CATALOG_STAFF)
    assert r.status == 403, r.body


def test_a_deactivated_warehouse_keeps_its_stock_but_no_longer_ships_orders(api, warehouse, inbound):
    warehouse("WH-SH", region="Shanghai")
    warehouse("WH-BJ", region="Beijing")
    inbound("SKU-A", "WH-SH", 5)
    inbound("SKU-A", "WH-BJ", 5)
    assert api("PUT", "/admin/warehouses/WH-SH", {"active": False, "version": 1}, user=ADMIN).status == 200

    order = pay(paid_order({"SKU-A": 1}, region="Shanghai"))

    assert [p["warehouse"] for p in shipments_of(api, order["order_id"])["parcels"]] == ["WH-BJ"]
    stock = api("GET", "/admin/inventory/SKU-A/movements", user=ADMIN).body["stock"]
    assert {w["warehouse"]: w["on_hand"] for w in stock["warehouses"]} == {"WH-SH": 5, "WH-BJ": 5}
