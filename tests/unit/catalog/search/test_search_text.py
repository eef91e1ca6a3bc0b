"""Text analysis: what a product text is indexed under and what a query must match."""

import pytest

from functions.catalog.search.text import (
    MAX_QUERY_TERMS,
    QueryWord,
    index_terms,
    normalise,
    plan_query,
    prefixes,
    stem,
    typed_prefix,
)


def matches(query: str, text: str) -> bool:
    """What the index will do: every query word matches through its exact code or through all of its terms."""
    plan = plan_query(query)
    terms = index_terms(text)
    return not plan.empty and all(
        (w.exact is not None and w.exact in terms) or set(w.terms) <= terms for w in plan.words
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("华为智能手机", {"华为", "为智", "智能", "能手", "手机"}),
        ("书", {"书"}),
        ("Wireless Headphones", {"wireless", "headphone"}),
        ("HW-M60P-BLK-256", {"hw-m60p-blk-256", "hw", "m60p", "blk", "256"}),
        ("Mate60", {"mate60", "mate", "60"}),
        ("\uff21\uff22\uff23\u3000\uff30\uff48\uff4f\uff4e\uff45\uff53", {"abc", "phone"}),  # full-width (NFKC)
        ("华为Mate", {"华为", "mate"}),  # no space between scripts
        ("The case for a phone", {"case", "phone"}),
        ("🎧 ✨ !!! ...", set()),
        ("'; DROP TABLE products; --", {"drop", "table", "product"}),
        ('{"$ne": null}', {"ne", "null"}),
    ],
)
def test_texts_are_indexed_under_these_terms(text, expected):
    assert index_terms(text) == expected


@pytest.mark.parametrize(
    ("word", "stemmed"),
    [
        ("headphones", "headphone"),
        ("headphone", "headphone"),
        ("batteries", "battery"),
        ("boxes", "box"),
        ("watches", "watch"),
        ("glasses", "glass"),
        ("glass", "glass"),
        ("series", "series"),
        ("lens", "lens"),
        ("bus", "bus"),
        ("ios", "ios"),
        ("256gb", "256gb"),
        ("pcs", "pcs"),
    ],
)
def test_only_plural_endings_are_stemmed(word, stemmed):
    assert stem(word) == stemmed


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("手机", [("手机",)]),
        ("蓝牙耳机", [("蓝牙", "耳机")]),
        ("降噪耳", [("降噪", "噪耳")]),
        ("无线蓝牙耳", [("无线", "蓝牙", "牙耳")]),
        ("书", [("书",)]),
        ("Headphones", [("headphone",)]),
        ("华为 phones", [("华为",), ("phone",)]),
        ("the", []),
        ("!!! ??? 🎧🔥", []),
        ("", []),
    ],
)
def test_queries_become_words_of_required_terms(query, words):
    assert [w.terms for w in plan_query(query).words] == words


def test_a_code_in_a_query_tries_the_whole_code_then_its_parts():
    (word,) = plan_query("HW-M60P-BLK-256").words
    assert word == QueryWord("hw-m60p-blk-256", ("hw", "m60p", "blk", "256"), exact="hw-m60p-blk-256")
    (mixed,) = plan_query("Mate60").words
    assert (mixed.exact, mixed.terms) == ("mate60", ("mate", "60"))


@pytest.mark.parametrize(
    ("query", "text", "found"),
    [
        ("手机", "华为智能手机", True),
        ("蓝牙耳机", "无线蓝牙降噪耳机", True),
        ("降噪耳机", "无线蓝牙降噪耳机", True),
        ("耳机蓝牙", "无线蓝牙降噪耳机", True),  # bigrams are order-free: an accepted false-positive class
        ("手表", "华为智能手机", False),
        ("headphones", "Sony Headphone", True),
        ("HEADPHONE", "wireless headphones", True),
        ("headphones case", "wireless headphones", False),
        ("hw-m60p-blk-256", "HW-M60P-BLK-256", True),
        ("hw-m60p", "HW-M60P-BLK-256", True),
        ("m60p", "HW-M60P-BLK-256", True),
        ("mate 60", "Mate60 Pro", True),
        ("mate60", "Mate 60 Pro", True),
        ("华为 smartphone", "华为 Mate 60 Pro 智能手机 Huawei Mate 60 Pro Smartphone", True),
        ("华为 tablet", "华为 Mate 60 Pro 智能手机 Huawei Mate 60 Pro Smartphone", False),
        ("🎧", "🎧 Headphones", False),
        ("' OR '1'='1", "anything at all", False),
    ],
)
def test_a_query_finds_a_text_only_when_every_word_matches(query, text, found):
    assert matches(query, text) is found


def test_injection_looking_queries_are_just_words():
    assert [w.terms for w in plan_query('{"$gt": ""} OR 1=1').words] == [("gt",), ("1",)]
    assert plan_query("<script>alert(1)</script>").terms == ("script", "alert", "1")


def test_a_long_query_keeps_the_first_terms_and_says_it_dropped_the_rest():
    plan = plan_query(" ".join(f"word{i}x" for i in range(20)) + " " + "手" * 1000)
    assert len(plan.terms) <= MAX_QUERY_TERMS
    assert plan.truncated
    assert not plan_query("华为 phone").truncated


def test_repeated_words_are_looked_up_once():
    assert plan_query("phone Phones PHONE").terms == ("phone",)


def test_normalise_folds_width_and_case():
    assert normalise("\uff28\uff35\uff21\uff37\uff25\uff29 Straße") == "huawei strasse"


def test_suggestion_prefixes_start_at_each_latin_word_and_each_cjk_character():
    found = prefixes("华为智能手机 Huawei WH-1000XM5")
    assert {"华", "华为", "智能手机", "手机", "h", "huawei", "wh-1000xm5", "1000x"} <= found
    assert "华为智能手" not in found  # CJK prefixes stop at four characters
    assert "uawei" not in found


def test_typed_text_splits_into_a_lookup_prefix_and_required_runs():
    assert typed_prefix("Huawei  sma") == ("sma", ("huawei", "sma"))
    assert typed_prefix("华为智能手机") == ("华为智能", ("华为智能手机",))
    assert typed_prefix("?!") == ("", ())
