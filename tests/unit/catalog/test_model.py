import pytest
from pydantic import ValidationError

from functions.catalog.model import ProductInput


def body(**overrides):
    data = {
        "name": "华为智能手机",
        "brand_id": "brd_1",
        "category_id": "cat_1",
        "variants": [
            {"sku": "HW-1-BLK", "options": {"colour": "black"}, "price": {"amount": 499900, "currency": "CNY"}},
            {"sku": "HW-1-WHT", "options": {"colour": "white"}, "price": {"amount": 509900, "currency": "CNY"}},
        ],
    }
    data.update(overrides)
    return data


def test_a_product_with_two_variants_is_valid():
    assert len(ProductInput.model_validate(body()).variants) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"variants": []},
        {"variants": [{"sku": "A", "price": {"amount": 1.5, "currency": "CNY"}}]},
        {"variants": [{"sku": "A", "price": {"amount": -1, "currency": "CNY"}}]},
        {"variants": [{"sku": "A", "price": {"amount": "100", "currency": "CNY"}}]},
        {"variants": [{"sku": "bad sku!", "price": {"amount": 1, "currency": "CNY"}}]},
        {"name": ""},
        {"name": "x" * 201},
        {"name": "<script>alert(1)</script>"},
        {"product_id": "prd_mine"},
        {"version": 3},
        {"status": "deleted"},
    ],
)
def test_invalid_products_are_refused(change):
    with pytest.raises(ValidationError):
        ProductInput.model_validate(body(**change))


def test_duplicate_skus_in_one_product_are_refused_case_insensitively():
    variants = body()["variants"]
    variants[1]["sku"] = "hw-1-blk"
    with pytest.raises(ValidationError, match="unique"):
        ProductInput.model_validate(body(variants=variants))


def test_variants_must_differ_in_their_options():
    variants = body()["variants"]
    variants[1]["options"] = {"colour": "black"}
    with pytest.raises(ValidationError, match="same option values"):
        ProductInput.model_validate(body(variants=variants))


def test_variants_must_name_the_same_option_keys():
    variants = body()["variants"]
    variants[1]["options"] = {"size": "XL"}
    with pytest.raises(ValidationError, match="same option keys"):
        ProductInput.model_validate(body(variants=variants))


def test_compare_at_price_must_be_above_the_price():
    variants = body()["variants"][:1]
    variants[0]["compare_at_price"] = {"amount": 499900, "currency": "CNY"}
    with pytest.raises(ValidationError, match="higher"):
        ProductInput.model_validate(body(variants=variants))


def test_more_than_fifty_variants_are_refused():
    variants = [
        {"sku": f"S-{i}", "options": {"n": str(i)}, "price": {"amount": 1, "currency": "CNY"}} for i in range(51)
    ]
    with pytest.raises(ValidationError):
        ProductInput.model_validate(body(variants=variants))


@pytest.mark.parametrize(
    "options", [{"colour": "<b>red</b>"}, {"colour\u202e": "red"}, {"colour": "\u200b"}, {"": "red"}]
)
def test_option_names_and_values_follow_the_plain_text_rule(options):
    variants = [{"sku": "A-1", "options": options, "price": {"amount": 1, "currency": "CNY"}}]
    with pytest.raises(ValidationError):
        ProductInput.model_validate(body(variants=variants))


def test_descriptions_may_have_paragraphs():
    assert ProductInput.model_validate(body(description="第一段\n第二段")).description == "第一段\n第二段"
