"""Query parameters the reports share: the period (``from``/``to``, local days) and the currency."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

From = Annotated[
    str | None,
    Query(alias="from", max_length=10, description="First day, YYYY-MM-DD in the shop's time zone; default to - 6"),
]
To = Annotated[str | None, Query(max_length=10, description="Last day, included, YYYY-MM-DD; default today")]
CurrencyParam = Annotated[
    str | None, Query(pattern=r"^[A-Z]{3}$", description="ISO 4217; default the shop's currency (SHOP_CURRENCY)")
]


def currency_or_default(currency: str | None) -> str:
    from functions.shared.settings import env

    return currency or env("SHOP_CURRENCY", "CNY")
