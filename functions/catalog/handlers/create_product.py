"""POST /admin/products: create a product with its variants; publishes ProductCreated through the outbox."""

from functions.catalog.manifest import MANIFEST
from functions.catalog.model import Product, ProductInput
from functions.catalog.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/admin/products", summary="Create a product", status_code=201)
def create_product(body: ProductInput) -> Product:
    return service().create_product(body)


handler = entrypoint(app)
