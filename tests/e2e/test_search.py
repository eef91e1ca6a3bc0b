"""Keyword search over real HTTP on the seeded shop: the seed creates products through the admin API, their events
travel outbox -> relay -> bus -> queue -> SearchIndexer on the local platform, and shoppers then find them."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from local.seed import DATA_FILE

pytestmark = pytest.mark.e2e
INDEXING_WAIT_S = 180.0  # eventually consistent: on a loaded 2-core CI machine the seed takes a while to index


def seeded_names(containing: str) -> set[str]:
    products = json.loads(DATA_FILE.read_text(encoding="utf-8"))["products"]
    return {p["name"] for p in products if containing.casefold() in p["name"].casefold()}


def search_until(client: Any, params: dict[str, Any], expected: set[str]) -> list[str]:
    """Search until every expected name is found (or the wait is over); return the names of the last answer."""
    deadline = time.monotonic() + INDEXING_WAIT_S
    while True:
        response = client("GET", "/products", params={**params, "limit": 100})
        assert response.status_code == 200, response.text
        names = [i["name"] for i in response.json()["items"]]
        if expected <= set(names) or time.monotonic() > deadline:
            return names
        time.sleep(1.0)


def test_a_shopper_finds_seeded_products_by_a_chinese_word(anonymous: Any) -> None:
    expected = seeded_names("耳机")
    assert len(expected) >= 3
    names = search_until(anonymous, {"q": "耳机"}, expected)
    assert expected <= set(names)
    assert set(names[: len(expected)]) == expected  # the name matches rank above category or description matches


def test_a_shopper_finds_seeded_products_by_an_english_word_in_any_form(anonymous: Any) -> None:
    expected = seeded_names("smartphone")
    assert expected
    names = search_until(anonymous, {"q": "Smartphones"}, expected)
    assert set(names) == expected


def test_search_with_facets_and_suggestions_on_the_seeded_shop(anonymous: Any) -> None:
    expected = seeded_names("手机")
    search_until(anonymous, {"q": "手机"}, expected)
    body = anonymous("GET", "/products", params={"q": "手机", "facets": "brand,price"}).json()
    assert sum(f["count"] for f in body["facets"]["brand"]) == body["total"]
    assert sum(b["count"] for b in body["facets"]["price"]) == body["total"]
    suggestions = anonymous("GET", "/products/suggest", params={"q": "华为"}).json()["items"]
    assert suggestions[0] == {"text": "华为 Huawei", "kind": "brand", "count": suggestions[0]["count"]}
    assert anonymous("GET", "/products", params={"q": "🎧"}).json()["items"] == []
