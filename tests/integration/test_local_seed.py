"""The demo data the local platform seeds: what the issue asks of it, and the checks that keep it consistent."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import ValidationError

from local.seed import DATA_FILE, SeedData, load_data

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
