"""The catalogue over real HTTP: the seeded demo catalogue, an admin building a corner of it, and a shopper
finding what was built; who may do what."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.support import error_of

pytestmark = pytest.mark.e2e
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{3,}")


def all_pages(client: Any, query: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        params = {**query, **({"cursor": cursor} if cursor else {})}
        response = client("GET", "/products", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return items
    pytest.fail("paging did not end")


def test_the_seeded_catalogue_has_over_50_bilingual_products(anonymous: Any) -> None:
    products = all_pages(anonymous, {"limit": 20})
    ids = [p["product_id"] for p in products]
    assert len(ids) == len(set(ids)), "paging repeated a product"
    assert len(ids) >= 50
    assert all(CJK.search(p["name"]) and LATIN.search(p["name"]) for p in products)
    assert all(p["price"]["currency"] == "CNY" and isinstance(p["price"]["amount"], int) for p in products)
    assert len({p["brand_id"] for p in products}) >= 8


def test_the_seeded_category_tree_and_brands(anonymous: Any) -> None:
    tree = anonymous("GET", "/categories").json()["items"]
    assert len(tree) >= 5
    assert all(node["children"] for node in tree)
    assert all(CJK.search(node["name"]) and LATIN.search(node["name"]) for node in tree)
    brands = anonymous("GET", "/brands").json()["items"]
    assert len(brands) >= 8
    assert "华为 Huawei" in {b["name"] for b in brands}


def test_an_admin_builds_a_product_that_a_shopper_then_finds(
    admin: Any, shopper: Any, unique: Callable[[str], str]
) -> None:
    parent = admin("POST", "/admin/categories", json={"name": unique("户外 Outdoor"), "parent_id": None})
    assert parent.status_code == 201, parent.text
    parent_id = parent.json()["category_id"]
    child = admin("POST", "/admin/categories", json={"name": unique("帐篷 Tents"), "parent_id": parent_id})
    assert child.status_code == 201, child.text
    child_id = child.json()["category_id"]
    assert child.json()["path"] == [parent_id, child_id]
    brand = admin("POST", "/admin/brands", json={"name": unique("牧高笛 Mobi Garden")})
    assert brand.status_code == 201, brand.text
    brand_id = brand.json()["brand_id"]

    body = {
        "name": "牧高笛 冷山 2 帐篷 Mobi Garden Cold Mountain 2 Tent",
        "description": "双人双层帐篷。Two-person double-wall tent.",
        "brand_id": brand_id,
        "category_id": child_id,
        "status": "active",
        "variants": [
            {
                "sku": unique("MG-CM2-GRN").upper(),
                "options": {"colour": "绿色 Green"},
                "price": {"amount": 89900, "currency": "CNY"},
                "compare_at_price": {"amount": 109900, "currency": "CNY"},
                "weight_grams": 2300,
            },
            {
                "sku": unique("MG-CM2-SND").upper(),
                "options": {"colour": "沙色 Sand"},
                "price": {"amount": 92900, "currency": "CNY"},
                "compare_at_price": None,
                "weight_grams": 2300,
            },
        ],
    }
    created = admin("POST", "/admin/products", json=body)
    assert created.status_code == 201, created.text
    product = created.json()
    assert product["version"] == 1 and product["status"] == "active"
    product_id = product["product_id"]

    for query in ({"category": child_id}, {"category": parent_id}, {"brand": brand_id}):
        found = [p["product_id"] for p in all_pages(shopper, query)]
        assert found == [product_id], query
    listed = all_pages(shopper, {"brand": brand_id})[0]
    assert listed["price"] == {"amount": 89900, "currency": "CNY"}  # the cheapest variant
    page = shopper("GET", f"/products/{product_id}")
    assert page.status_code == 200
    assert sorted(v["options"]["colour"] for v in page.json()["variants"]) == ["沙色 Sand", "绿色 Green"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/admin/products", {"name": "x"}),
        ("POST", "/admin/categories", {"name": "x", "parent_id": None}),
        ("POST", "/admin/brands", {"name": "x"}),
        ("GET", "/admin/products/any", None),
        ("DELETE", "/admin/products/any", None),
    ],
)
def test_a_shopper_may_not_use_the_back_office(shopper: Any, method: str, path: str, body: Any) -> None:
    response = shopper(method, path, json=body)
    assert response.status_code == 403
    assert error_of(response)["code"] == "FORBIDDEN"
