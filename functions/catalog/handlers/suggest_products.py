"""GET /products/suggest: up to ten completions (brands, categories, product names) of what a shopper is typing.
One Query on the search table's prefix rows (see functions.catalog.search.dynamo)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.catalog.manifest import MANIFEST
from functions.catalog.search.model import SuggestionList
from functions.catalog.search.service import search_index
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)
MAX_SUGGESTIONS = 10


@app.get("/products/suggest", summary="Search-box completions")
def suggest_products(
    q: Annotated[str, Query(min_length=1, max_length=100, description="What the shopper has typed so far")],
    limit: Annotated[int, Query(ge=1, le=MAX_SUGGESTIONS)] = MAX_SUGGESTIONS,
) -> SuggestionList:
    return SuggestionList(items=search_index().suggest(q, limit))


handler = entrypoint(app)
