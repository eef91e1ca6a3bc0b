"""The shared masking rules (issue 7): names, phones, emails, street lines, addresses, any JSON-like value, and the
platform's loggers, which mask every line with the same rules."""

from __future__ import annotations

import copy
import io
import json
import logging
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from functions.shared.logs import shop_logger
from functions.shared.masking import (
    MAX_DEPTH,
    mask_address,
    mask_email,
    mask_name,
    mask_personal,
    mask_phone,
    mask_street,
    mask_text,
)

# --- the examples of the issue ------------------------------------------------------------------------------------


def test_the_examples_of_the_issue_are_masked_exactly() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("John Doe") == "J*** D**"
    assert mask_phone("13800001234") == "138****1234"
    assert mask_email("john@example.com") == "j***@example.com"
    assert mask_street("中关村大街1号院3号楼") == "***"


# --- names --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("欧阳娜娜", "欧***"),
        ("王小明", "王**"),
        ("欧阳 娜娜", "欧***"),
        ("김민수", "김**"),
        ("やまだ", "や**"),
    ],
)
def test_a_cjk_name_keeps_only_its_first_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("John Doe", "J*** D**"),
        ("Mary Jane Watson", "M*** J*** W*****"),
        ("  John   Doe  ", "J*** D**"),
        ("Zoë", "Z**"),
        ("J Doe", "* D**"),
    ],
)
def test_a_latin_name_keeps_the_first_letter_of_each_word(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_a_name_mixing_scripts_is_masked_as_a_cjk_name() -> None:
    assert mask_name("李Lucy") == "李****"
    assert mask_name("Lucy 李") == "L****"


@pytest.mark.parametrize("name", ["张", "J", " J "])
def test_a_one_character_name_is_masked_entirely(name: str) -> None:
    assert mask_name(name) == "*"


@pytest.mark.parametrize("name", ["", "   ", "\t\n", None])
def test_an_empty_name_stays_empty(name: str | None) -> None:
    assert mask_name(name) == ""


def test_a_name_that_is_not_a_string_is_masked_as_its_text() -> None:
    assert mask_name(12345) == "1****"
    assert mask_name(True) == ""


# --- phones -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("+8613812345678", "+86 138****5678"),
        ("+86 138 1234 5678", "+86 138****5678"),
        ("+86-138-1234-5678", "+86 138****5678"),
        ("0086 138 1234 5678", "+86 138****5678"),
        ("+44 7700 900123", "+44 770***0123"),
        ("+1 (415) 555-2671", "+1 415***2671"),
        ("010-12345678", "010****5678"),
    ],
)
def test_a_phone_keeps_the_first_three_and_last_four_digits_of_the_national_number(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(("phone", "masked"), [("12345", "***45"), ("1234567", "*****67"), ("110", "*10")])
def test_a_short_number_keeps_only_its_last_two_digits(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("phone", ["12", "7"])
def test_a_number_of_two_digits_or_fewer_is_masked_entirely(phone: str) -> None:
    assert mask_phone(phone) == "*" * len(phone)


@pytest.mark.parametrize("phone", ["call me", "138abc5678", "+", "--", "13812345678 ext 9"])
def test_something_that_is_not_a_phone_number_is_masked_entirely(phone: str) -> None:
    assert mask_phone(phone) == "***"


def test_a_phone_given_as_a_number_is_masked_as_its_digits() -> None:
    assert mask_phone(13812345678) == "138****5678"


@pytest.mark.parametrize("phone", ["", "  ", None])
def test_an_empty_phone_stays_empty(phone: str | None) -> None:
    assert mask_phone(phone) == ""


# --- emails -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("john@example.com", "j***@example.com"),
        ("john.doe+shop@example.com", "j***@example.com"),
        ("John@Mail.Example.co.uk", "J***@Mail.Example.co.uk"),
        ("  jane@example.com ", "j***@example.com"),
        ("张三@例子.中国", "张***@例子.中国"),
    ],
)
def test_an_email_keeps_the_first_character_and_the_domain(email: str, masked: str) -> None:
    assert mask_email(email) == masked


def test_a_one_character_local_part_is_masked_entirely() -> None:
    assert mask_email("j@example.com") == "***@example.com"


@pytest.mark.parametrize("email", ["john", "john@", "@example.com", "john@localhost", "a@@b.com", "a b@example.com"])
def test_an_invalid_email_is_masked_entirely(email: str) -> None:
    assert mask_email(email) == "***"


@pytest.mark.parametrize("email", ["", None])
def test_an_empty_email_stays_empty(email: str | None) -> None:
    assert mask_email(email) == ""


# --- streets and addresses ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("street", ["中关村大街1号", "1 Infinite Loop", "x", 42])
def test_a_street_line_keeps_nothing(street: Any) -> None:
    assert mask_street(street) == "***"


@pytest.mark.parametrize("street", ["", "   ", None])
def test_an_empty_street_stays_empty(street: str | None) -> None:
    assert mask_street(street) == ""


ADDRESS = {
    "recipient": "张三",
    "phone": "+8613812345678",
    "region": "北京市",
    "city": "北京市",
    "district": "海淀区",
    "street": "中关村大街1号院3号楼",
    "postcode": "100080",
    "country": "CN",
}


def test_an_address_masks_recipient_phone_and_street_and_keeps_the_area_and_postcode() -> None:
    assert mask_address(ADDRESS) == {
        "recipient": "张*",
        "phone": "+86 138****5678",
        "region": "北京市",
        "city": "北京市",
        "district": "海淀区",
        "street": "***",
        "postcode": "100080",
        "country": "CN",
    }


def test_an_address_given_as_one_line_is_a_street_line() -> None:
    assert mask_address("北京市海淀区中关村大街1号") == "***"


def test_an_address_of_an_odd_type_is_returned_without_raising() -> None:
    assert mask_address(None) is None
    assert mask_address([ADDRESS])[0]["recipient"] == "张*"


# --- any JSON-like value ------------------------------------------------------------------------------------------


ORDER = {
    "order_id": "o-1",
    "customer": {"Name": "John Doe", "EMAIL": "john+shop@example.com", "phoneNumber": "+44 7700 900123"},
    "shipping_address": ADDRESS,
    "addresses": [ADDRESS, {"recipient": "Jane Roe", "street": "1 Main St", "postcode": "SW1A 1AA"}],
    "lines": [{"sku": "SKU-1", "qty": 2, "price": Decimal("9.90")}],
    "notes": None,
}


def test_personal_fields_are_masked_at_any_depth_and_everything_else_is_kept() -> None:
    masked = mask_personal(ORDER)
    assert masked["order_id"] == "o-1"
    assert masked["customer"] == {"Name": "J*** D**", "EMAIL": "j***@example.com", "phoneNumber": "+44 770***0123"}
    assert masked["shipping_address"]["recipient"] == "张*"
    assert masked["shipping_address"]["street"] == "***"
    assert masked["shipping_address"]["district"] == "海淀区"
    assert masked["addresses"][1] == {"recipient": "J*** R**", "street": "***", "postcode": "SW1A 1AA"}
    assert masked["lines"] == ORDER["lines"]
    assert masked["notes"] is None


@pytest.mark.parametrize(
    "key", ["email", "Email", "E-mail", "e_mail", "customer_email", "contactEmail", "EMAIL_ADDRESS", "e mail"]
)
def test_field_names_match_whatever_their_case_and_separators(key: str) -> None:
    assert mask_personal({key: "john@example.com"}) == {key: "j***@example.com"}


def test_fields_named_like_but_not_personal_are_kept() -> None:
    data = {"email_verified": True, "phone_count": 2, "function_name": "x", "street_count": 1, "names_seen": 3}
    assert mask_personal(data) == data


def test_a_personal_field_holding_a_list_or_dict_has_every_leaf_masked() -> None:
    data = {"phones": None, "phone": ["13812345678", "+8613912345678"], "name": {"first": "John", "last": "Doe"}}
    assert mask_personal(data) == {
        "phones": None,
        "phone": ["138****5678", "+86 139****5678"],
        "name": {"first": "J***", "last": "D**"},
    }


def test_non_string_values_under_personal_fields_never_raise() -> None:
    data = {"phone": 13812345678, "name": 3.5, "email": True, "street": None, "address": 7}
    assert mask_personal(data) == {
        "phone": "138****5678",
        "name": "3**",
        "email": True,
        "street": None,
        "address": "***",
    }


@pytest.mark.parametrize("value", [None, 1, 2.5, "text", True, [1, [2, [3]]], (1, "a"), set()])
def test_values_without_personal_fields_come_back_equal(value: Any) -> None:
    assert mask_personal(value) == value


def test_tuples_stay_tuples_and_non_string_keys_are_kept() -> None:
    assert mask_personal({1: ("a", {"email": "john@example.com"})}) == {1: ("a", {"email": "j***@example.com"})}


def test_the_input_is_never_mutated() -> None:
    before = copy.deepcopy(ORDER)
    masked = mask_personal(ORDER)
    assert before == ORDER
    assert masked["customer"] is not ORDER["customer"]
    mask_address(ADDRESS)
    assert before["shipping_address"] == ADDRESS


def test_the_caller_can_choose_which_fields_are_personal() -> None:
    product = {"name": "Tea cup", "owner": {"email": "john@example.com"}, "contact_phone": "13812345678"}
    assert mask_personal(product, fields={"email"}) == {
        "name": "Tea cup",
        "owner": {"email": "j***@example.com"},
        "contact_phone": "13812345678",
    }


def test_nesting_beyond_the_depth_limit_is_masked_instead_of_raising() -> None:
    deep: Any = "john@example.com"
    for _ in range(MAX_DEPTH + 10):
        deep = [deep]
    flat = json.dumps(mask_personal({"x": deep}))
    assert "john" not in flat


# --- free text ----------------------------------------------------------------------------------------------------


def test_emails_and_phones_inside_free_text_are_masked() -> None:
    text = "signup failed for john@example.com (+8613812345678, 13912345678) at 1700000000000"
    assert mask_text(text) == "signup failed for j***@example.com (+86 138****5678, 139****5678) at 1700000000000"


def test_free_text_without_personal_data_is_unchanged() -> None:
    text = "order 01HX3Y5Z7Q8R9S0T1U2V3W4X5Y paid 129.00 CNY, sku SKU-12345678901"
    assert mask_text(text) == text
    assert mask_text(None) is None


# --- the platform's loggers ---------------------------------------------------------------------------------------


def _capture(**extra: Any) -> dict[str, Any]:
    stream = io.StringIO()
    log = shop_logger(service=f"masking-test-{uuid4().hex}", level="INFO", logger_handler=logging.StreamHandler(stream))
    log.info("checkout by john@example.com", extra=extra)
    line: dict[str, Any] = json.loads(stream.getvalue())
    return line


def test_a_log_line_masks_personal_data_in_extra_fields_and_the_message() -> None:
    line = _capture(
        order_id="o-1", email="john@example.com", phone="+8613812345678", address=ADDRESS, customer={"name": "张三"}
    )
    assert line["message"] == "checkout by j***@example.com"
    assert line["order_id"] == "o-1"
    assert line["email"] == "j***@example.com"
    assert line["phone"] == "+86 138****5678"
    assert line["address"]["recipient"] == "张*"
    assert line["address"]["street"] == "***"
    assert line["address"]["city"] == "北京市"
    assert line["customer"] == {"name": "张*"}
    assert line["level"] == "INFO"
    assert "john@" not in json.dumps(line, ensure_ascii=False)


def test_keys_appended_to_the_logger_are_masked_too() -> None:
    stream = io.StringIO()
    log = shop_logger(service=f"masking-test-{uuid4().hex}", level="INFO", logger_handler=logging.StreamHandler(stream))
    log.append_keys(user_email="jane@example.com")
    try:
        raise ValueError("no account for jane@example.com")
    except ValueError:
        log.exception("lookup failed")
    line = json.loads(stream.getvalue())
    assert line["user_email"] == "j***@example.com"
    assert "jane@" not in line["exception"]
