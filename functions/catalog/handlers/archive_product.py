"""DELETE /admin/products/{product_id}: archive (never erase: orders refer to it). Idempotent."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.catalog.manifest import MANIFEST
from functions.catalog.model import Product
from functions.catalog.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.delete("/admin/products/<product_id>", summary="Archive a product")
def archive_product(product_id: Annotated[str, Path(max_length=64)]) -> Product:
    return service().archive_product(product_id)


handler = entrypoint(app)
