"""PUT /admin/products/{product_id}: replace a product's editable fields at the version read (stale -> 409)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.catalog.manifest import MANIFEST
from functions.catalog.model import Product, ProductUpdate
from functions.catalog.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.put("/admin/products/<product_id>", summary="Update a product")
def update_product(product_id: Annotated[str, Path(max_length=64)], body: ProductUpdate) -> Product:
    return service().update_product(product_id, body)


handler = entrypoint(app)
