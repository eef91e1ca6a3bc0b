"""GET /products/{product_id}: one active product with its variants (one GetItem). Drafts and archived products
are a 404, exactly like an unknown id.

A found product writes a ``product_view`` line to the catalogue's activity feed (functions.catalog.search.feed), and
with ``search_id`` (from a search response) also the line that attributes the view to that search; the response does
not wait on anything for them (a log line is a local write)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from functions.catalog.manifest import MANIFEST
from functions.catalog.model import Product
from functions.catalog.search.feed import emit_views
from functions.catalog.service import service
from functions.shared.http import entrypoint, make_resolver
from functions.shared.ids import ID_PATTERN

app = make_resolver(MANIFEST)


@app.get("/products/<product_id>", summary="One active product")
def get_product(
    product_id: Annotated[str, Path(max_length=64)],
    search_id: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="The search_id of the search this product was found by")
    ] = None,
) -> Product:
    product = service().get_product(product_id)
    emit_views(product.product_id, search_id)
    return product


handler = entrypoint(app)
