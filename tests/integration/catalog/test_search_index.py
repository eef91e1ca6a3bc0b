"""DynamoSearchIndex against moto: matching and ranking in Chinese and English, filters, facets, suggestions, and
the version guard that makes event replays and out-of-order delivery safe."""

from collections import Counter

import boto3
import pytest

from functions.catalog.model import ProductStatus
from functions.catalog.search.dynamo import DynamoSearchIndex, IndexBusy
from functions.catalog.search.index import PRICE_BANDS, price_band, rebuild
from functions.catalog.search.model import SearchQuery
from functions.shared.errors import BadRequest
from functions.shared.money import Money
from tests.unit.catalog.search.catalogue import bump, catalogue, product

TABLE = "shop-test-search"


@pytest.fixture
def index(aws, cursor_key):
    return DynamoSearchIndex(boto3.client("dynamodb"), TABLE)


@pytest.fixture
def shop(index):
    products = catalogue()
    for p in products.values():
        assert index.apply(p)
    return products


def ids(page):
    return [i["product_id"].removeprefix("prd_") for i in page.model_dump(mode="json")["items"]]


def search(index, q="", **kw):
    return index.search(SearchQuery(q=q, **kw))


# query -> the products expected first (in any order among themselves)
EXPECTED_TOP = [
    ("手机", {"mate", "xm14"}),
    ("智能手机", {"mate", "xm14"}),
    ("蓝牙耳机", {"sony", "buds"}),
    ("降噪耳机", {"sony"}),
    ("headphones", {"sony", "stand"}),
    ("Smartphones", {"mate", "xm14"}),
    ("HW-M60P-BLK-256", {"mate"}),
    ("m60p", {"mate"}),
    ("Huawei", {"mate", "buds"}),
    ("华为", {"mate", "buds"}),
    ("华为 耳机", {"buds"}),
    ("小米 smartphone", {"xm14"}),
    ("sony headphones", {"sony"}),
    ("256GB", {"mate"}),
    ("mate60", {"mate"}),
    ("RICE cookers", {"rice"}),
]
MISSES = ["tablet", "华为 tablet", "手表", "🎧🎧", "!!!", "' OR 'q'='q", '{"$ne": null}', "the"]


def test_each_query_ranks_its_expected_products_first(index, shop):
    # One catalogue for the whole table (building it is the slow part); every row is checked and reported.
    wrong = {}
    for q, top in EXPECTED_TOP:
        found = ids(search(index, q))
        if set(found[: len(top)]) != top:
            wrong[q] = found
    assert not wrong


def test_a_query_whose_words_miss_finds_nothing(index, shop):
    wrong = {}
    for q in MISSES:
        page = search(index, q)
        if (ids(page), page.total, page.next_cursor) != ([], 0, None):
            wrong[q] = ids(page)
    assert not wrong


def test_a_name_match_outranks_a_category_match_which_outranks_a_description_match(index, shop):
    found = ids(search(index, "headphones"))
    assert set(found[:2]) == {"sony", "stand"}  # in the name (and category)
    assert found[2:] == ["buds", "rice"]  # only the category, then only the description


def test_equal_relevance_goes_to_the_newest(index, shop):
    assert ids(search(index, "headphones"))[:2] == ["stand", "sony"]


def test_filters_apply_with_a_query(index, shop):
    assert ids(search(index, "手机", brand="brd_huawei")) == ["mate"]
    assert set(ids(search(index, "耳机", category="cat_audio"))) == {"sony", "buds", "stand"}
    assert set(ids(search(index, "耳机", category="cat_headphones", max_price=149900))) == {"buds", "stand"}
    assert ids(search(index, "耳机", min_price=100000, sort="price_asc")) == ["buds", "sony"]
    assert ids(search(index, "耳机", sort="price_desc")) == ["sony", "buds", "rice", "stand"]
    assert ids(search(index, "手机", category="cat_kitchen")) == []


def test_facet_counts_equal_the_counts_of_the_matching_products(index, shop):
    page = search(index, "耳机", facets=frozenset({"category", "brand", "price"}))
    matching = [shop[k] for k in ("sony", "buds", "stand", "rice")]
    assert page.total == len(matching) and page.exact
    facets = page.facets.model_dump()
    assert {f["value"]: f["count"] for f in facets["category"]} == Counter(p.category_path[0] for p in matching)
    assert {f["value"]: f["count"] for f in facets["brand"]} == Counter(p.brand_id for p in matching)
    assert {f["min_price"]: f["count"] for f in facets["price"]} == Counter(
        PRICE_BANDS[price_band(p.price.amount)] for p in matching
    )
    assert facets["category"][0] == {"value": "cat_audio", "label": "影音 Audio", "count": 3}


def test_category_facet_counts_the_children_of_the_filtered_category(index, shop):
    page = search(index, "", category="cat_audio", facets=frozenset({"category"}))
    assert page.facets.model_dump()["category"] == [{"value": "cat_headphones", "label": "耳机 Headphones", "count": 3}]
    assert page.facets.brand is None


def test_facets_without_a_query_cover_the_whole_filtered_catalogue_newest_first(index, shop):
    page = search(index, "", facets=frozenset({"brand"}))
    assert ids(page) == ["rice", "stand", "buds", "sony", "xm14", "mate"]
    assert {f.value: f.count for f in page.facets.brand} == dict(Counter(p.brand_id for p in shop.values()))


def test_pages_through_a_result_with_a_cursor_bound_to_the_query(index, shop):
    seen, cursor = [], None
    while True:
        page = search(index, "headphones", limit=1, cursor=cursor)
        seen += ids(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ids(search(index, "headphones"))
    first = search(index, "headphones", limit=1).next_cursor
    with pytest.raises(BadRequest):
        search(index, "耳机", limit=1, cursor=first)


def test_a_term_with_more_postings_than_one_search_reads_is_reported_inexact(aws, cursor_key, shop):
    small = DynamoSearchIndex(boto3.client("dynamodb"), TABLE, max_postings_per_term=2)
    page = small.search(SearchQuery(q="headphones"))
    assert page.exact is False
    assert page.total <= 2
    assert search(DynamoSearchIndex(boto3.client("dynamodb"), TABLE), "headphones").exact


def test_replaying_an_event_changes_nothing_and_an_older_one_is_ignored(index, shop):
    v2 = bump(shop["mate"], name="华为 Mate 60 RS 非凡大师 Huawei Mate 60 RS Ultimate")
    assert index.apply(v2)
    assert index.apply(v2) is False
    assert index.apply(shop["mate"]) is False  # v1 after v2
    assert ids(search(index, "非凡大师")) == ["mate"]
    assert ids(search(index, "smartphone")) == ["xm14"]  # the old name's terms are gone
    assert ids(search(index, "m60p")) == ["mate"]


def test_a_price_change_reaches_the_result_cards(index, shop):
    cheaper = shop["buds"].variants[0].model_copy(update={"price": Money(amount=99900)})
    assert index.apply(bump(shop["buds"], variants=[cheaper]))
    (card,) = search(index, "freebuds").model_dump(mode="json")["items"]
    assert card["price"]["amount"] == 99900
    assert ids(search(index, "耳机", min_price=90000, max_price=100000)) == ["buds"]


def test_archived_and_draft_products_disappear_and_stay_gone_after_a_late_event(index, shop):
    archived = bump(shop["buds"], status=ProductStatus.ARCHIVED)
    assert index.apply(archived)
    assert ids(search(index, "华为")) == ["mate"]
    assert index.apply(shop["buds"]) is False
    assert "buds" not in ids(search(index, "", facets=frozenset({"brand"})))
    assert [s.text for s in index.suggest("freeb")] == []
    assert index.apply(bump(shop["mate"], status=ProductStatus.DRAFT))
    assert ids(search(index, "华为")) == []


def test_a_product_being_indexed_elsewhere_is_busy_until_its_lock_expires(index, shop):
    ddb = boto3.client("dynamodb")
    key = {"pk": {"S": "D#prd_sony"}, "sk": {"S": "DOC"}}
    ddb.update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET lk = :t, lu = :u",
        ExpressionAttributeValues={":t": {"S": "other"}, ":u": {"N": "99999999999"}},
    )
    renamed = bump(shop["sony"], name="索尼 Sony Headphones II")
    with pytest.raises(IndexBusy):
        index.apply(renamed)
    ddb.update_item(
        TableName=TABLE, Key=key, UpdateExpression="SET lu = :u", ExpressionAttributeValues={":u": {"N": "1"}}
    )
    assert index.apply(renamed)
    assert ids(search(index, "headphones ii")) == ["sony"]


def test_a_stale_apply_releases_its_lock(index, shop):
    assert index.apply(shop["sony"]) is False
    assert index.apply(bump(shop["sony"]))


def test_rebuild_applies_what_is_new_and_skips_what_is_not(index, shop):
    newer = bump(shop["xm14"])
    fresh = product("pad", "华为 MatePad 平板电脑 Huawei MatePad Tablet", "huawei", "phones", 299900, "HW-MP-1")
    report = rebuild(index, [shop["mate"], newer, fresh])
    assert (report.applied, report.stale) == (2, 1)
    assert ids(search(index, "tablet")) == ["pad"]


def test_suggestions_complete_brands_categories_and_names_with_counts(index, shop):
    found = [(s.kind, s.text, s.count) for s in index.suggest("hua")]
    assert found[0] == ("brand", "华为 Huawei", 2)
    assert {t for k, t, _ in found if k == "product"} == {shop["mate"].name, shop["buds"].name}
    assert index.suggest("华为")[0].text == "华为 Huawei"
    assert ("category", "耳机 Headphones") in [(s.kind, s.text) for s in index.suggest("耳")]
    assert [s.text for s in index.suggest("Sony wh-10")] == [shop["sony"].name]
    assert [s.text for s in index.suggest("手机")][:2] == ["手机 Phones", "手机数码 Phones & Digital"]
    assert index.suggest("🎧") == []
    assert len(index.suggest("h", limit=3)) == 3


def test_a_suggestion_row_goes_when_its_last_product_leaves(index, shop):
    assert index.apply(bump(shop["rice"], status=ProductStatus.ARCHIVED))
    assert index.suggest("midea") == []
    remaining = boto3.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "P#midea"}},
    )["Items"]
    assert remaining == []
