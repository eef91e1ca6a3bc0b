"""The partner request signature of DESIGN.md §5, checked against values computed here independently (hashlib, hmac,
literal strings), never against the module's own helpers alone."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from functions.partners.signing import (
    EMPTY_SHA256,
    MAX_SKEW_S,
    SignatureRejected,
    body_sha256,
    canonical_query,
    parse,
    query_pairs,
    signature,
    string_to_sign,
)

APP_KEY = "app_01M8SXN5K8V9NXKHF8QBX988RT"
NONCE = "n0nce-0123456789abcdef"
SIG = "a" * 64


def headers(**override: str | None) -> dict[str, str]:
    base = {"X-App-Key": APP_KEY, "X-Timestamp": "1796083200", "X-Nonce": NONCE, "X-Signature": SIG}
    for name, value in override.items():
        header = name.replace("_", "-")
        if value is None:
            base.pop(header)
        else:
            base[header] = value
    return base


def test_canonical_query_sorts_by_name_then_value_and_keeps_every_repeated_name() -> None:
    pairs = [("status", "shipped"), ("limit", "50"), ("status", "paid"), ("after", "b"), ("after", "a")]
    assert canonical_query(pairs) == "after=a&after=b&limit=50&status=paid&status=shipped"


def test_canonical_query_percent_encodes_everything_but_rfc3986_unreserved_characters() -> None:
    cases = {
        "a-z.A_Z~09": "a-z.A_Z~09",  # unreserved, `~` included, left alone
        "two words": "two%20words",  # space is %20, never +
        "1+1": "1%2B1",
        "a/b": "a%2Fb",
        "x=y&z": "x%3Dy%26z",
        "*'()!": "%2A%27%28%29%21",
        "北京": "%E5%8C%97%E4%BA%AC",  # UTF-8 bytes
        "café": "caf%C3%A9",
    }
    for raw, encoded in cases.items():
        assert canonical_query([(raw, raw)]) == f"{encoded}={encoded}", raw
    assert canonical_query([("updated_since", "2026-12-01T00:00:00Z")]) == "updated_since=2026-12-01T00%3A00%3A00Z"


def test_canonical_query_is_the_empty_string_without_parameters() -> None:
    assert canonical_query([]) == ""
    assert query_pairs(None, None) == []
    assert query_pairs({}, {}) == []


def test_query_pairs_take_every_value_of_a_repeated_parameter_from_the_multi_value_map() -> None:
    multi = {"status": ["paid", "shipped"], "limit": ["5"]}
    single = {"status": "shipped", "limit": "5"}  # API Gateway keeps only the last value here
    assert sorted(query_pairs(multi, single)) == [("limit", "5"), ("status", "paid"), ("status", "shipped")]
    assert query_pairs(None, {"limit": "5"}) == [("limit", "5")]


def test_string_to_sign_is_the_six_lines_of_design_section_5() -> None:
    text = string_to_sign("post", "/partner/v1/inventory/SKU-1", "a=1", "1796083200", NONCE, EMPTY_SHA256)
    assert text == f"POST\n/partner/v1/inventory/SKU-1\na=1\n1796083200\n{NONCE}\n{EMPTY_SHA256}"
    assert EMPTY_SHA256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_known_answer_vector_for_listing_orders_updated_since() -> None:
    secret = "sk_known_answer_secret"
    query = [("updated_since", "2026-12-01T00:00:00Z"), ("limit", "50")]
    expected_text = (
        "GET\n/partner/v1/orders\nlimit=50&updated_since=2026-12-01T00%3A00%3A00Z\n1796083200\n"
        f"{NONCE}\n{hashlib.sha256(b'').hexdigest()}"
    )
    independent = hmac.new(secret.encode(), expected_text.encode(), hashlib.sha256).hexdigest()
    assert independent == "d5ff60c1fa3a88ab7f9e8970d9614a9aadfa00b941d6df19a6ddccb04bbdf65b"

    signed = parse("GET", "/partner/v1/orders", headers(X_Signature=independent), query)
    assert signed.text == expected_text
    assert signature(secret, signed.text) == independent
    assert signed.matches(secret)
    assert not signed.matches("sk_another_secret")


def test_a_body_with_chinese_text_is_hashed_as_its_utf8_bytes() -> None:
    body = '{"note":"请在周五前发货"}'
    expected = "73337b6588ce298732c6ac0a89ee149763e8a42e55c06e807f397dfdebc4bc97"
    assert hashlib.sha256(body.encode("utf-8")).hexdigest() == expected
    assert body_sha256(body) == body_sha256(body.encode("utf-8")) == expected
    assert body_sha256(None) == body_sha256("") == EMPTY_SHA256


def test_the_declared_body_hash_is_signed_and_defaults_to_the_empty_body() -> None:
    declared = body_sha256('{"quantity":3}')
    signed = parse("POST", "/partner/v1/inventory/SKU-1", {**headers(), "X-Content-SHA256": declared}, [])
    assert signed.body_sha256 == declared
    assert signed.text.endswith("\n" + declared)
    assert parse("GET", "/partner/v1/products", headers(), []).body_sha256 == EMPTY_SHA256


def test_each_missing_signing_header_is_rejected() -> None:
    for name in ("X_App_Key", "X_Timestamp", "X_Nonce", "X_Signature"):
        with pytest.raises(SignatureRejected):
            parse("GET", "/partner/v1/products", headers(**{name: None}), [])
        with pytest.raises(SignatureRejected):
            parse("GET", "/partner/v1/products", headers(**{name: "   "}), [])
    with pytest.raises(SignatureRejected):
        parse("GET", "/partner/v1/products", None, [])


def test_each_malformed_signing_header_is_rejected() -> None:
    malformed = {
        "X_App_Key": ["app_123", "APP_01M8SXN5K8V9NXKHF8QBX988RT", "app_01M8SXN5K8V9NXKHF8QBX988RI", "key"],
        "X_Timestamp": ["-1", "12.5", "1796083200000", "soon", "0x10"],
        "X_Nonce": ["short", "has a space 0123456", "n" * 129, "nonce/with/slash01"],
        "X_Signature": [SIG.upper(), "a" * 63, "a" * 65, "g" * 64],
        "X_Content_SHA256": ["abc", EMPTY_SHA256.upper() + "0"],
    }
    for name, values in malformed.items():
        for value in values:
            with pytest.raises(SignatureRejected):
                parse("GET", "/partner/v1/products", headers(**{name: value}), [])


def test_header_names_are_case_insensitive() -> None:
    lower = {name.lower(): value for name, value in headers().items()}
    shouting = {name.upper(): value for name, value in headers().items()}
    expected = parse("GET", "/partner/v1/products", headers(), [])
    assert parse("GET", "/partner/v1/products", lower, []) == expected
    assert parse("GET", "/partner/v1/products", shouting, []) == expected


def test_the_clock_window_is_300_seconds_either_way_and_301_is_refused() -> None:
    signed = parse("GET", "/partner/v1/products", headers(X_Timestamp="1796083200"), [])
    assert MAX_SKEW_S == 300
    for now in (1796083200 - 300, 1796083200, 1796083200 + 300):
        signed.check_clock(now)
    for now in (1796083200 - 301, 1796083200 + 301):
        with pytest.raises(SignatureRejected):
            signed.check_clock(now)
