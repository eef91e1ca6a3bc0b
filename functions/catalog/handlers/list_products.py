"""GET /products: active products filtered by category (sub-categories included), brand and price, sorted and
paged. One Query on an index for the common cases (see functions.catalog.repository)."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.catalog.manifest import MANIFEST
from functions.catalog.model import ProductPage
from functions.catalog.service import ListingFilters, service
from functions.shared.errors import Unprocessable
from functions.shared.http import entrypoint, make_resolver
from functions.shared.money import MAX_AMOUNT

app = make_resolver(MANIFEST)


@app.get("/products", summary="List active products")
def list_products(
    category: Annotated[str | None, Query(max_length=64, description="Category id; includes sub-categories")] = None,
    brand: Annotated[str | None, Query(max_length=64, description="Brand id")] = None,
    min_price: Annotated[int | None, Query(ge=0, le=MAX_AMOUNT, description="Minor units, inclusive")] = None,
    max_price: Annotated[int | None, Query(ge=0, le=MAX_AMOUNT, description="Minor units, inclusive")] = None,
    sort: Annotated[Literal["newest", "price_asc", "price_desc"], Query()] = "newest",
    q: Annotated[str | None, Query(max_length=200, description="Keyword search (not yet supported)")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ProductPage:
    if q is not None:
        # Reserved for keyword search (its own issue). Ignoring it would answer every query with everything.
        raise Unprocessable("keyword search is not available yet", code="SEARCH_UNAVAILABLE")
    filters = ListingFilters(category, brand, min_price, max_price, sort, limit, cursor)
    return service().list_products(filters)


handler = entrypoint(app)
