"""GET /brands: every brand, by name (one Query)."""

from functions.catalog.manifest import MANIFEST
from functions.catalog.model import BrandList
from functions.catalog.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/brands", summary="All brands")
def list_brands() -> BrandList:
    return BrandList(items=service().brands())


handler = entrypoint(app)
