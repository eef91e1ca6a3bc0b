"""GET /admin/products/{product_id}: a product in any status, read consistently, with the version to edit."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.catalog.manifest import MANIFEST
from functions.catalog.model import Product
from functions.catalog.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/admin/products/<product_id>", summary="A product in any status")
def admin_get_product(product_id: Annotated[str, Path(max_length=64)]) -> Product:
    return service().admin_get_product(product_id)


handler = entrypoint(app)
