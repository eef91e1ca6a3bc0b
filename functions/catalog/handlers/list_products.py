"""GET /products: active products filtered by category (sub-categories included), brand and price, sorted and
paged. Without ``q`` or ``facets``, one Query on a listing index (see functions.catalog.repository); with either,
the search index (see functions.catalog.search.dynamo): keyword matching, relevance and facet counts.

A search's first page also writes the search analytics line (functions.catalog.search.feed) and returns its
``search_id``, which the storefront passes to the product page so a view is attributed to the search."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.catalog.manifest import MANIFEST
from functions.catalog.model import ProductPage
from functions.catalog.search.feed import emit_search, new_search_id
from functions.catalog.search.model import FACET_NAMES, FacetName, SearchPage, SearchQuery
from functions.catalog.service import ListingFilters, Sort, service
from functions.shared.errors import Unprocessable
from functions.shared.http import entrypoint, make_resolver
from functions.shared.money import MAX_AMOUNT

app = make_resolver(MANIFEST)


def _facet_names(raw: str | None) -> frozenset[FacetName]:
    names = [n.strip() for n in (raw or "").split(",") if n.strip()]
    unknown = sorted(set(names) - set(FACET_NAMES))
    if unknown:
        raise Unprocessable(
            f"unknown facets {unknown}; choose from {list(FACET_NAMES)}",
            code="UNKNOWN_FACET",
            details=[{"field": "facets", "issue": f"unknown: {', '.join(unknown)}"}],
        )
    return frozenset(n for n in FACET_NAMES if n in names)


@app.get("/products", summary="List or search active products")
def list_products(
    category: Annotated[str | None, Query(max_length=64, description="Category id; includes sub-categories")] = None,
    brand: Annotated[str | None, Query(max_length=64, description="Brand id")] = None,
    min_price: Annotated[int | None, Query(ge=0, le=MAX_AMOUNT, description="Minor units, inclusive")] = None,
    max_price: Annotated[int | None, Query(ge=0, le=MAX_AMOUNT, description="Minor units, inclusive")] = None,
    sort: Annotated[
        Literal["relevance", "newest", "price_asc", "price_desc"] | None,
        Query(description="Default: relevance with q, newest without"),
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Keywords, Chinese or English; every word must match")
    ] = None,
    facets: Annotated[
        str | None, Query(max_length=100, description="Comma-separated counts to include: category, brand, price")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ProductPage | SearchPage:
    keywords = (q or "").strip()
    wanted = _facet_names(facets)
    if keywords or wanted:
        query = SearchQuery(
            q=keywords,
            category=category,
            brand=brand,
            min_price=min_price,
            max_price=max_price,
            sort=sort,
            limit=limit,
            cursor=cursor,
            facets=wanted,
        )
        page = service().search(query)
        if cursor is not None:
            # A further page of a search already counted; its views are not attributed (the client has no id).
            return page
        search_id, at_ms = new_search_id()
        feed_filters = {
            "category": category,
            "brand": brand,
            "min_price": min_price,
            "max_price": max_price,
            "sort": sort,
            "facets": sorted(wanted),
        }
        emit_search(search_id, at_ms, keywords, feed_filters, page.total, page.exact)
        return page.model_copy(update={"search_id": search_id})
    # Without keywords there is no relevance to sort by: the listing's own order applies.
    listing_sort: Sort = "newest" if sort is None or sort == "relevance" else sort
    filters = ListingFilters(category, brand, min_price, max_price, listing_sort, limit, cursor)
    return service().list_products(filters)


handler = entrypoint(app)
