"""GET /admin/analytics/sales: orders, units, gross sales, discounts, refunds, net sales and average order value
per ``interval`` (hour, day or ISO week) over ``from``..``to`` (local days, at most a year; hourly at most 31
days), with the period's totals. Analysts and admins."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.analytics.handlers._params import CurrencyParam, From, To, currency_or_default
from functions.analytics.manifest import MANIFEST
from functions.analytics.model import Interval, SalesReport
from functions.analytics.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/admin/analytics/sales", summary="Sales report")
def sales_report(
    from_: From = None,
    to: To = None,
    interval: Annotated[Interval, Query(description="hour, day or week")] = Interval.DAY,
    currency: CurrencyParam = None,
) -> SalesReport:
    return service().sales(from_, to, interval, currency_or_default(currency))


handler = entrypoint(app)
