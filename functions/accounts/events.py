"""Events the accounts context publishes (source ``shop.accounts``), each written through the accounts table's
outbox in the same transaction as the change it describes.

Who listens: the checkout is meant to keep a projection of each shopper's saved addresses (so that an order can
name an ``address_id``); it applies ``AddressSaved`` when its ``version`` is newer than the one it holds and
removes the address on ``AddressDeleted``.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, Field

from functions.shared.events import DomainEvent


class SavedAddressDetails(BaseModel):
    address_id: str
    recipient: str
    phone: str
    region: str
    city: str
    district: str
    street: str
    postcode: str
    country: str
    is_default: bool
    version: int = Field(description="Grows with every change of this address, its default flag included")
    updated_at: datetime


class AddressSaved(DomainEvent):
    """An address was added or changed, or became / stopped being the user's default."""

    SOURCE: ClassVar[str] = "shop.accounts"

    user_id: str
    address: SavedAddressDetails


class AddressDeleted(DomainEvent):
    """An address was deleted. ``default_address_id`` is the user's default afterwards (None: no address left)."""

    SOURCE: ClassVar[str] = "shop.accounts"

    user_id: str
    address_id: str
    version: int = Field(description="The address's last version")
    default_address_id: str | None
