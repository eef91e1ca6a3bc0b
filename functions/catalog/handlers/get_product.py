"""GET /products/{product_id}: one active product with its variants (one GetItem). Drafts and archived products
are a 404, exactly like an unknown id."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.catalog.manifest import MANIFEST
from functions.catalog.model import Product
from functions.catalog.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/products/<product_id>", summary="One active product")
def get_product(product_id: Annotated[str, Path(max_length=64)]) -> Product:
    return service().get_product(product_id)


handler = entrypoint(app)
