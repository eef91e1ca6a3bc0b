"""Saved addresses: the request and response models and the default-address rules (plain Python, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from functions.shared.text import plain_line

MAX_ADDRESSES = 20
ADDRESS_ID_PATTERN = r"^adr_[0-9A-Za-z]{26}$"
# The same rule as the checkout's order address (functions/checkout/model.py), so a saved address always fits.
PHONE_PATTERN = r"^\+?[0-9][0-9 -]{5,19}$"
POSTCODE_PATTERN = r"^[A-Za-z0-9 -]{3,12}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"

Phone = Annotated[str, Field(pattern=PHONE_PATTERN, examples=["+8613812345678"])]


class Strict(BaseModel):
    """Request bodies: unknown fields are refused, and no value is coerced (``"true"`` is not a boolean, ``1`` is
    not a string)."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class AddressFields(Strict):
    recipient: Annotated[str, Field(min_length=1, max_length=100)]
    phone: Phone
    region: Annotated[str, Field(min_length=1, max_length=100, description="Province / state")]
    city: Annotated[str, Field(min_length=1, max_length=100)]
    district: Annotated[str, Field(max_length=100)] = ""
    street: Annotated[str, Field(min_length=1, max_length=300)]
    postcode: Annotated[str, Field(pattern=POSTCODE_PATTERN)]
    country: Annotated[str, Field(pattern=COUNTRY_PATTERN, description="ISO 3166-1 alpha-2")] = "CN"

    _clean = field_validator("recipient", "region", "city", "district", "street")(plain_line)


class AddressInput(AddressFields):
    """POST /me/addresses. The user's first address is the default whatever ``is_default`` says."""

    is_default: bool = False


class AddressUpdate(AddressFields):
    """PUT /me/addresses/{address_id}: the whole address again, with the ``version`` read. ``is_default`` true
    makes it the default; left out, the flag stays as it is; false on the default is refused (make another one the
    default instead)."""

    is_default: bool | None = None
    version: Annotated[int, Field(ge=1)]


class Address(BaseModel):
    address_id: str
    recipient: str
    phone: str
    region: str
    city: str
    district: str = ""
    street: str
    postcode: str
    country: str = "CN"
    is_default: bool
    version: int = Field(description="Send it back with PUT; grows with every change, the default flag included")
    created_at: datetime
    updated_at: datetime


class AddressList(BaseModel):
    items: list[Address]
    next_cursor: str | None = Field(default=None, description=f"Always null: a user has at most {MAX_ADDRESSES}")


class Book(BaseModel):
    """The per-user book item: how many addresses, which is the default, and the version every change moves on."""

    count: int = 0
    default_id: str | None = None
    version: int = 0  # 0: not stored yet


# --- rules ----------------------------------------------------------------------------------------------------


def default_on_create(existing: int, requested: bool) -> bool:
    """Whether a new address is the default: the first one always is; a later one when asked."""
    return existing == 0 or requested


def successor(remaining: Iterable[Address]) -> Address | None:
    """Who becomes the default when the default is deleted: the most recently updated address left (ties: the
    newest id), or nobody when none is left."""
    return max(remaining, key=lambda a: (a.updated_at, a.address_id), default=None)


def ordered(addresses: Sequence[Address]) -> list[Address]:
    """How the book is listed: the default first, then the most recently updated first."""
    by_recent = sorted(addresses, key=lambda a: (a.updated_at, a.address_id), reverse=True)
    return sorted(by_recent, key=lambda a: not a.is_default)
