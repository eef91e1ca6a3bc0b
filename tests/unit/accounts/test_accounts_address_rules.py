"""The default-address rules and the request models, without AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from functions.accounts.addresses.model import Address, AddressInput, default_on_create, ordered, successor

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def addr(address_id: str, minutes: int, is_default: bool = False) -> Address:
    return Address(
        address_id=address_id,
        recipient="Ann",
        phone="+8613812345678",
        region="Shanghai",
        city="Shanghai",
        street="1 Road",
        postcode="200120",
        is_default=is_default,
        version=1,
        created_at=T0,
        updated_at=T0 + timedelta(minutes=minutes),
    )


def test_the_first_address_is_always_the_default() -> None:
    assert default_on_create(0, requested=False) is True
    assert default_on_create(0, requested=True) is True


def test_a_later_address_is_the_default_only_when_asked() -> None:
    assert default_on_create(3, requested=False) is False
    assert default_on_create(3, requested=True) is True


def test_the_successor_is_the_most_recently_updated() -> None:
    assert successor([addr("a", 1), addr("b", 5), addr("c", 3)]) == addr("b", 5)


def test_a_tie_goes_to_the_newest_id() -> None:
    assert successor([addr("adr_1", 2), addr("adr_2", 2)]) == addr("adr_2", 2)


def test_no_successor_when_nothing_is_left() -> None:
    assert successor([]) is None


def test_the_list_shows_the_default_first_then_the_most_recent() -> None:
    items = [addr("a", 1), addr("b", 0, is_default=True), addr("c", 3)]
    assert [a.address_id for a in ordered(items)] == ["b", "c", "a"]


VALID: dict[str, Any] = {
    "recipient": "Ann",
    "phone": "+86 138-1234-5678",
    "region": "Shanghai",
    "city": "Shanghai",
    "street": "1 Road",
    "postcode": "200120",
}


def test_a_valid_address_is_trimmed_and_defaults_to_cn() -> None:
    parsed = AddressInput.model_validate({**VALID, "recipient": "  Ann  "})
    assert parsed.recipient == "Ann" and parsed.country == "CN" and parsed.district == "" and not parsed.is_default


@pytest.mark.parametrize(
    "changes",
    [{"is_default": "yes"}, {"recipient": 1}, {"recipient": "a\tb"}, {"street": "<a>"}, {"nope": True}],
)
def test_invalid_addresses_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AddressInput.model_validate({**VALID, **changes})
