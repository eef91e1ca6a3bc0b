"""The storage-agnostic half of search: what a product is indexed under, matching, ranking, filters and facets,
driven by an in-memory posting store built from the same documents DynamoDB would hold."""

from collections import Counter

import pytest

from functions.catalog.model import ProductStatus
from functions.catalog.search.index import (
    ALL,
    BRAND,
    CATEGORY,
    DESCRIPTION,
    DESCRIPTION_CHARS,
    NAME,
    NAME_BONUS,
    OPTION,
    PRICE_BANDS,
    SKU,
    Posting,
    brand_term,
    category_term,
    document,
    evaluate,
    filter_plan,
    price_band,
    weight,
)
from functions.catalog.search.model import SearchQuery
from functions.catalog.search.text import plan_query
from tests.unit.catalog.search.catalogue import bump, catalogue, product


class MemoryPostings:
    """term -> postings, as the index table would return them; counts lookups and can cap a term's reads."""

    def __init__(self, products, cap=None):
        self.by_term = {}
        self.lookups = []
        self.cap = cap
        for p in products:
            doc = document(p)
            for term, mask in doc.terms.items():
                self.by_term.setdefault(term, []).append(Posting(p.product_id, mask, doc.card))

    def __call__(self, term):
        self.lookups.append(term)
        found = self.by_term.get(term, [])
        if self.cap is not None and len(found) > self.cap:
            return found[: self.cap], False
        return found, True


@pytest.fixture
def shop():
    return catalogue()


def run(shop, q="", cap=None, **kw):
    query = SearchQuery(q=q, **kw)
    postings = MemoryPostings(shop.values(), cap)
    plan = plan_query(q) if q.strip() else filter_plan(query)
    return evaluate(plan, query, postings), postings


def ranked_ids(result):
    return [c.posting.product_id.removeprefix("prd_") for c in result.ranked]


def test_a_term_carries_the_fields_it_occurs_in():
    doc = document(catalogue()["mate"])
    assert doc.terms["华为"] == NAME | BRAND
    assert doc.terms["手机"] == NAME | CATEGORY
    assert doc.terms["hw-m60p-blk-256"] == SKU
    assert doc.terms["256gb"] == OPTION
    assert doc.terms["卫星"] == DESCRIPTION
    assert {ALL, brand_term("brd_huawei"), category_term("cat_digital"), category_term("cat_phones")} <= set(doc.terms)


def test_only_the_start_of_a_long_description_is_indexed():
    long = product("long", "Plain Box", "xiaomi", "phones", 100, "PB-1", "filler " * 60 + "zebra")
    assert len("filler " * 60) > DESCRIPTION_CHARS
    assert "zebra" not in document(long).terms
    assert "filler" in document(long).terms


def test_products_that_are_not_active_have_no_terms():
    draft = catalogue()["mate"].model_copy(update={"status": ProductStatus.DRAFT})
    assert document(draft).terms == {}
    assert document(draft).version == 1


def test_field_weights_rank_name_over_sku_over_brand_over_category_over_options_over_description():
    assert weight(NAME) > weight(SKU) > weight(BRAND) > weight(CATEGORY) > weight(OPTION) > weight(DESCRIPTION) > 0
    assert weight(NAME | DESCRIPTION) == weight(NAME) + weight(DESCRIPTION)


def test_score_sums_the_weights_of_every_term_with_a_bonus_when_all_are_in_the_name(shop):
    result, _ = run(shop, "蓝牙耳机")
    scores = {c.posting.product_id: c.score for c in result.ranked}
    in_name_and_category = weight(NAME | CATEGORY)
    assert scores["prd_buds"] == weight(NAME) + in_name_and_category + NAME_BONUS


def test_every_word_must_match_and_reading_stops_at_the_first_word_that_matches_nothing(shop):
    result, postings = run(shop, "zebra 华为 耳机")
    assert result.ranked == []
    assert postings.lookups == ["zebra"]


def test_a_code_is_looked_up_whole_and_its_parts_only_when_the_whole_misses(shop):
    _, whole = run(shop, "HW-M60P-BLK-256")
    assert whole.lookups == ["hw-m60p-blk-256"]
    result, partial = run(shop, "hw-m60p")
    assert partial.lookups == ["hw-m60p", "hw", "m60p"]
    assert ranked_ids(result) == ["mate"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price_asc", ["stand", "rice", "buds", "sony"]),
        ("price_desc", ["sony", "buds", "rice", "stand"]),
        ("newest", ["rice", "stand", "buds", "sony"]),
    ],
)
def test_explicit_sorts_override_relevance(shop, sort, expected):
    result, _ = run(shop, "耳机", sort=sort)
    assert ranked_ids(result) == expected


def test_relevance_ties_go_to_the_newest_product(shop):
    twin = bump(shop["stand"], product_id="prd_twin", created_at=shop["stand"].created_at.replace(year=2025))
    result, _ = run({**shop, "twin": twin}, "headphone stand")
    assert ranked_ids(result)[:2] == ["twin", "stand"]


def test_filters_narrow_the_matches(shop):
    assert ranked_ids(run(shop, "华为", category="cat_audio")[0]) == ["buds"]
    assert ranked_ids(run(shop, "华为", brand="brd_sony")[0]) == []
    assert set(ranked_ids(run(shop, "耳机", min_price=39900, max_price=149900)[0])) == {"rice", "buds"}


def test_without_keywords_the_smallest_filter_list_is_read(shop):
    assert filter_plan(SearchQuery(category="cat_audio", brand="brd_sony")).terms == (category_term("cat_audio"),)
    assert filter_plan(SearchQuery(brand="brd_sony")).terms == (brand_term("brd_sony"),)
    assert filter_plan(SearchQuery()).terms == (ALL,)
    result, postings = run(shop, category="cat_audio", brand="brd_huawei")
    assert ranked_ids(result) == ["buds"]
    assert postings.lookups == [category_term("cat_audio")]


def test_facets_count_the_filtered_matches(shop):
    result, _ = run(shop, "耳机", max_price=200000, facets=frozenset({"category", "brand", "price"}))
    matching = [shop[k] for k in ranked_ids(result)]
    facets = result.facets
    assert {f.value: f.count for f in facets.brand} == dict(Counter(p.brand_id for p in matching))
    assert {f.value: f.count for f in facets.category} == dict(Counter(p.category_path[0] for p in matching))
    assert sum(b.count for b in facets.price) == len(matching)
    assert [f.count for f in facets.brand] == sorted((f.count for f in facets.brand), reverse=True)


def test_only_requested_facets_are_computed(shop):
    result, _ = run(shop, "耳机", facets=frozenset({"price"}))
    assert result.facets.category is None and result.facets.brand is None
    assert run(shop, "耳机")[0].facets is None


@pytest.mark.parametrize(
    ("amount", "band"), [(0, 0), (9999, 0), (10000, 1), (499999, 4), (500000, 5), (10**9, len(PRICE_BANDS) - 1)]
)
def test_price_bands_include_their_lower_bound(amount, band):
    assert price_band(amount) == band


def test_a_capped_term_makes_the_result_inexact(shop):
    result, _ = run(shop, "耳机", cap=2)
    assert result.exact is False
    assert run(shop, "耳机")[0].exact is True
