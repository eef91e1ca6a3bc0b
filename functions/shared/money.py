"""Money: an integer amount of minor units (fen, cents) and an ISO-4217 currency code. Never a float."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["CNY"])]
MAX_AMOUNT = 10**12  # ten billion in major units: far above any real price, far below int64


class Money(BaseModel):
    """``{"amount": 1999, "currency": "CNY"}`` is 19.99 yuan. ``amount`` must be a JSON integer, not 19.99 or "1999"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)]
    currency: Currency = "CNY"

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        """Refuses to go below zero: a discount larger than what it discounts is a bug to surface, not to hide.
        Callers that mean "at most down to zero" say so with :meth:`minus_capped`."""
        self._same(other)
        if other.amount > self.amount:
            raise ValueError(f"{other.amount} is more than {self.amount}")
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def minus_capped(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=max(0, self.amount - other.amount), currency=self.currency)

    def times(self, quantity: int) -> Money:
        return Money(amount=self.amount * quantity, currency=self.currency)

    @classmethod
    def zero(cls, currency: str = "CNY") -> Self:
        return cls(amount=0, currency=currency)
