"""The demo data the local platform seeds: what the issue asks of it, and the checks that keep it consistent."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from functions.shipping.model import WarehouseInput
from local.seed import DATA_FILE, SeedData, SeedError, load_data, seed_stock

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{2,}")


def bilingual(name: str) -> bool:
    return bool(CJK.search(name) and LATIN.search(name))


def test_the_demo_catalogue_is_big_varied_and_bilingual() -> None:
    data = load_data()
    assert len(data.categories) >= 5
    assert all(top.children for top in data.categories)
    assert all(bilingual(c.name) for c, _ in data.all_categories())
    assert len(data.brands) >= 8
    assert len(data.products) >= 50
    assert all(bilingual(p.name) for p in data.products)
    assert all(1 <= len(p.variants) <= 3 for p in data.products)
    assert len({p.category for p in data.products}) >= 10
    assert len({p.brand for p in data.products}) >= 8
    leaves = {c.key for c, _ in data.all_categories() if not c.children}
    assert {p.category for p in data.products} <= leaves  # products sit in sub-categories
    prices = [v.price.amount for p in data.products for v in p.variants]
    assert all(isinstance(a, int) and a > 0 for a in prices)


def raw() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return loaded


def test_a_duplicate_sku_is_rejected() -> None:
    data = raw()
    data["products"][1]["variants"][0]["sku"] = data["products"][0]["variants"][0]["sku"]
    with pytest.raises(ValidationError, match="duplicate SKU"):
        SeedData.model_validate(data)


def test_a_product_in_an_unknown_category_is_rejected() -> None:
    data = raw()
    data["products"][0]["category"] = "no-such-category"
    with pytest.raises(ValidationError, match="unknown category"):
        SeedData.model_validate(data)


def test_a_price_is_an_integer_amount_of_fen() -> None:
    data = raw()
    data["products"][0]["variants"][0]["price"]["amount"] = 5499.5
    with pytest.raises(ValidationError):
        SeedData.model_validate(data)


def test_the_shop_is_seeded_buyable_with_stock_a_coupon_and_a_flash_sale() -> None:
    data = load_data()
    plan = dict(data.stock_plan())
    assert list(plan) == [v.sku for p in data.products for v in p.variants]
    assert len(data.stock.out_of_stock) >= 2
    assert all(plan[sku] == 0 for sku in data.stock.out_of_stock)
    assert [c.code for c in data.coupons] == ["WELCOME10"]
    (welcome,) = data.coupons
    assert (welcome.kind, welcome.percent_off, welcome.usage_limit) == ("percentage", 10, 1000)
    assert welcome.min_spend is not None and welcome.min_spend.amount == 10000
    (sale,) = data.flash_sales
    assert (sale.quantity, sale.per_user_limit, sale.hours) == (100, 1, 24)
    on_sale = {s.sku: s.quantity for s in data.flash_sales}
    own = {sku: units - on_sale.get(sku, 0) for sku, units in plan.items() if sku not in data.stock.out_of_stock}
    assert all(20 <= units <= 200 for units in own.values()), own
    assert len(set(own.values())) > len(own) // 2  # spread, not one figure for every SKU
    assert data.stock_plan() == load_data().stock_plan()  # deterministic


def test_the_seeded_coupon_and_flash_sale_become_api_bodies_and_banner_lines() -> None:
    data = load_data()
    now = datetime(2026, 3, 1, 8, 30, 15, tzinfo=UTC)
    (welcome,) = data.coupons
    assert welcome.body(now) == {
        "code": "WELCOME10",
        "kind": "percentage",
        "percent_off": 10,
        "min_spend": {"amount": 10000, "currency": "CNY"},
        "usage_limit": 1000,
        "per_user_limit": 1,
        "description": welcome.description,
        "starts_at": "2026-03-01T08:30:15Z",
        "ends_at": "2027-03-01T08:30:15Z",
    }
    assert welcome.describe(now) == "WELCOME10: 10% off from ¥100.00, 1000 uses (1 per shopper), until 2027-03-01"
    (sale,) = data.flash_sales
    body = sale.body(now)
    assert (body["starts_at"], body["ends_at"]) == ("2026-03-01T08:30:15Z", "2026-03-02T08:30:15Z")
    assert set(body) == {"name", "sku", "price", "quantity", "per_user_limit", "starts_at", "ends_at"}
    regular = next(v.price for p in data.products for v in p.variants if v.sku == sale.sku)
    assert sale.describe(now, regular) == (
        f"{sale.sku} at ¥1,999.00 (was ¥2,499.00): 100 units, 1 per shopper, until 2026-03-02 08:30 UTC"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["stock"].update(out_of_stock=["NO-SUCH-SKU"]), "unknown out-of-stock SKUs"),
        (lambda d: d["flash_sales"][0].update(sku="NO-SUCH-SKU"), "unknown SKU"),
        (lambda d: d["flash_sales"][0].update(sku=d["stock"]["out_of_stock"][0]), "is out of stock"),
        (lambda d: d["flash_sales"][0]["price"].update(amount=10**9), "not below"),
        (lambda d: d["flash_sales"].append(dict(d["flash_sales"][0])), "would overlap"),
        (lambda d: d["coupons"].append(dict(d["coupons"][0])), "duplicate coupon codes"),
        (lambda d: d["coupons"][0].update(kind="fixed"), "a percentage coupon has percent_off"),
        (lambda d: d["stock"].update(min_units=300), "min_units is above max_units"),
    ],
)
def test_inconsistent_checkout_seed_data_is_rejected(change: Callable[[dict[str, Any]], None], message: str) -> None:
    data = raw()
    change(data)
    with pytest.raises(ValidationError, match=message):
        SeedData.model_validate(data)


class FakeApi:
    """Answers the seed's stock calls as the platform does while the checkout is still catching up: the shipping
    context records movements at once (``movement_answer`` instead, nothing written, for the first ``refuse_for``
    attempts of each movement); the checkout answers 404 SKU_NOT_FOUND for each SKU's first ``unknown_for`` reads,
    then shows the units received only ``lag`` reads later."""

    def __init__(
        self,
        unknown_for: int = 0,
        lag: int = 0,
        refuse_for: int = 0,
        movement_answer: tuple[int, str] = (409, "TRY_AGAIN"),
        read_answer: tuple[int, str] = (404, "SKU_NOT_FOUND"),
    ) -> None:
        self.unknown_for, self.lag, self.refuse_for = unknown_for, lag, refuse_for
        self.movement_answer, self.read_answer = movement_answer, read_answer
        self.warehouses: dict[str, dict[str, Any]] = {}
        self.movements: dict[str, list[tuple[str, int]]] = {}
        self.keys: dict[str, Any] = {}
        self.posts: dict[tuple[str, str], int] = {}
        self.reads: dict[str, int] = {}
        self.lock = threading.Lock()

    @staticmethod
    def error(status: int, code: str) -> tuple[int, Any]:
        return status, {"error": {"code": code, "message": "not now", "details": []}}

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        with self.lock:
            if path == "/admin/warehouses":
                if body["code"] in self.warehouses:
                    return self.error(409, "WAREHOUSE_EXISTS")
                self.warehouses[body["code"]] = body
                return 201, body
            sku = path.split("/")[3]
            if method == "POST":
                assert body["type"] == "inbound" and body["warehouse"] in self.warehouses, body
                where = (sku, body["warehouse"])
                self.posts[where] = self.posts.get(where, 0) + 1
                if self.posts[where] <= self.refuse_for:
                    return self.error(*self.movement_answer)
                key = (headers or {}).get("Idempotency-Key")
                assert key, "every seed movement carries an Idempotency-Key"
                if key in self.keys:
                    return 200, self.keys[key]
                self.movements.setdefault(sku, []).append((body["warehouse"], body["quantity"]))
                self.keys[key] = {"sku": sku, "movement_id": key}
                return 201, self.keys[key]
            self.reads[sku] = self.reads.get(sku, 0) + 1
            if self.reads[sku] <= self.unknown_for:
                return self.error(*self.read_answer)
            shown = sum(units for _, units in self.movements.get(sku, [])) if self.reads[sku] > self.lag else 0
            return 200, {"sku": sku, "sellable": shown}


def test_every_sku_is_received_in_the_warehouses_and_some_are_split_over_two() -> None:
    data = load_data()
    assert [w.code for w in data.warehouses] == ["WH-SH", "WH-GZ", "WH-BJ"]
    assert [w.priority for w in data.warehouses] == [10, 20, 30]
    assert all(bilingual(w.name) for w in data.warehouses)
    plan = dict(data.stock_plan())
    received: dict[str, dict[str, int]] = {}
    for sku, warehouse, units in data.inbound_plan():
        assert units > 0
        received.setdefault(sku, {})[warehouse] = units
    assert {sku: sum(where.values()) for sku, where in received.items()} == {s: u for s, u in plan.items() if u}
    split = [sku for sku, where in received.items() if len(where) == 2]
    assert len(split) >= 10 and all(len(where) <= 2 for where in received.values())
    per_warehouse = {w.code: sum(1 for where in received.values() if w.code in where) for w in data.warehouses}
    assert all(count >= 20 for count in per_warehouse.values()), per_warehouse
    assert data.inbound_plan() == load_data().inbound_plan()  # deterministic


def test_the_seeded_warehouses_are_api_bodies_and_banner_lines() -> None:
    shanghai = load_data().warehouses[0]
    body = shanghai.body()
    assert WarehouseInput.model_validate(body).model_dump(mode="json") == body  # what POST /admin/warehouses takes
    line = "WH-SH 上海浦东仓 Shanghai Pudong (上海市), priority 10: 3,667 units of 41 SKUs"
    assert shanghai.describe(41, 3667) == line


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["warehouses"].append(dict(d["warehouses"][0])), "duplicate warehouse codes"),
        (lambda d: [w.update(active=False) for w in d["warehouses"]], "no active warehouse"),
    ],
)
def test_inconsistent_warehouses_are_rejected(change: Callable[[dict[str, Any]], None], message: str) -> None:
    data = raw()
    change(data)
    with pytest.raises(ValidationError, match=message):
        SeedData.model_validate(data)


def expected_movements(data: SeedData) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for sku, warehouse, units in data.inbound_plan():
        out.setdefault(sku, []).append((warehouse, units))
    return {sku: sorted(moves) for sku, moves in out.items()}


@pytest.mark.parametrize("answer", [(409, "TRY_AGAIN"), (409, "IDEMPOTENCY_IN_PROGRESS")])
def test_stock_is_received_once_and_the_seed_waits_until_the_checkout_sells_it(answer: tuple[int, str]) -> None:
    data = load_data()
    api = FakeApi(unknown_for=2, lag=3, refuse_for=1, movement_answer=answer)
    sellable = seed_stock(api, data, timeout_s=10, poll_s=0)
    assert sellable == dict(data.stock_plan())
    assert list(api.warehouses) == [w.code for w in data.warehouses]
    # each movement exactly once, though every one was refused at first
    assert {sku: sorted(moves) for sku, moves in api.movements.items()} == expected_movements(data)
    assert set(api.posts.values()) == {2}
    plan = dict(data.stock_plan())
    assert all(api.reads[sku] == (4 if plan[sku] else 3) for sku in plan)  # 404, 404, (0 shown,) then the units


def test_running_the_stock_seed_again_changes_nothing() -> None:
    data = load_data()
    api = FakeApi()
    seed_stock(api, data, timeout_s=10, poll_s=0)
    first = {sku: list(moves) for sku, moves in api.movements.items()}
    assert seed_stock(api, data, timeout_s=10, poll_s=0) == dict(data.stock_plan())
    assert api.movements == first  # the warehouses exist, every movement is replayed by its Idempotency-Key


def test_a_checkout_that_never_learns_the_skus_is_a_clear_seed_error() -> None:
    data = load_data()
    skus = len(data.variants())
    with pytest.raises(SeedError, match=rf"the checkout did not learn {skus} of the {skus} seeded SKUs within 0 s"):
        seed_stock(FakeApi(unknown_for=10**6), data, timeout_s=0, poll_s=0)


def test_a_checkout_that_never_shows_the_stock_is_a_clear_seed_error() -> None:
    data = load_data()
    stocked = sum(1 for _, units in data.stock_plan() if units)
    with pytest.raises(SeedError, match=rf"sellable stock of {stocked} SKUs did not reach .* CheckoutStockSync"):
        seed_stock(FakeApi(lag=10**6), data, timeout_s=0, poll_s=0)


def test_any_other_answer_stops_the_seed_at_once() -> None:
    api = FakeApi(refuse_for=1, movement_answer=(403, "FORBIDDEN"))
    with pytest.raises(SeedError, match="answered 403"):
        seed_stock(api, load_data(), timeout_s=10, poll_s=0)
    assert max(api.posts.values()) == 1
