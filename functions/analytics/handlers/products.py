"""GET /admin/analytics/products: the period's top products by units sold, revenue, views or return rate, with
their orders, add-to-cart count and view-to-order rate. Analysts and admins."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.analytics.handlers._params import CurrencyParam, From, To, currency_or_default
from functions.analytics.manifest import MANIFEST
from functions.analytics.model import ProductSort, ProductsReport
from functions.analytics.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/admin/analytics/products", summary="Top products")
def products_report(
    from_: From = None,
    to: To = None,
    sort: Annotated[ProductSort, Query(description="units, revenue, views or return_rate")] = ProductSort.UNITS,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    currency: CurrencyParam = None,
) -> ProductsReport:
    return service().products(from_, to, sort, limit, currency_or_default(currency))


handler = entrypoint(app)
